package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bulksend/bulksend/bench/internal/benchcli"
	"github.com/bulksend/bulksend/internal/testkit"
	"github.com/bulksend/bulksend/sandbox"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name          string
		args          []string
		wantScenarios int
		wantModes     []string
		wantErr       string
	}{
		// Every sandbox style, three of them at two clock skews, and the penalty box.
		{"defaults", nil, len(sandbox.Styles()) + 7, allModes, ""},
		{"real defaults", []string{"-real"}, 0, defaultRealModes, ""},
		{"real with probe", []string{"-real", "-modes", "probe,adaptive"}, 0, []string{modeAdaptive, modeProbe}, ""},
		{"real default mode", []string{"-real", "-modes", "pinned,default,adaptive"}, 0, []string{modeAdaptive, modeDefault, modePinned}, ""},
		{"real picks", []string{"-real", "-limiters", "express-1s,nginx", "-modes", "curl"}, 0, []string{modeCurl}, ""},
		{"real unknown limiter", []string{"-real", "-limiters", "envoy"}, 0, nil, `unknown limiter "envoy"`},
		{"real pinned needs adaptive", []string{"-real", "-modes", "pinned,curl"}, 0, nil, "name adaptive too"},
		{"real mode unknown", []string{"-real", "-modes", "naive"}, 0, nil, `unknown mode "naive"`},
		{"limiters without real", []string{"-limiters", "nginx"}, 0, nil, "only with -real"},
		{"real custom", []string{"-real", "-custom", "nginx:20/1s:burst=5", "-modes", "adaptive,pinned"}, 0, []string{modeAdaptive, modePinned}, ""},
		{"real custom bad", []string{"-real", "-custom", "nginx:20"}, 0, nil, "want LIMIT/WINDOW"},
		{"custom without real", []string{"-custom", "nginx:20/1s"}, 0, nil, "only with -real"},
		{"filters keep table order", []string{"-scenarios", "retry-after/penalty, none", "-modes", "naive,adaptive"}, 2, []string{modeAdaptive, modeNaive}, ""},
		{"unknown scenario", []string{"-scenarios", "none,bogus"}, 0, nil, "unknown bogus"},
		{"unknown mode", []string{"-modes", "fast"}, 0, nil, `unknown mode "fast"`},
		{"no mode", []string{"-modes", ","}, 0, nil, "name at least one"},
		{"rows within the burst", []string{"-rows", "15"}, 0, nil, "need more than the burst"},
		{"repeat zero", []string{"-repeat", "0"}, 0, nil, "need at least 1"},
		{"stray argument", []string{"rows.csv"}, 0, nil, "unexpected arguments"},
		{"bad flag", []string{"-nope"}, 0, nil, "not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			o, err := parseOptions(tt.args, &stderr)
			if testkit.WantError(t, "parseOptions", err, tt.wantErr) {
				return
			}
			if len(o.scenarios) != tt.wantScenarios || !slices.Equal(o.modes, tt.wantModes) {
				t.Errorf("parseOptions = %d scenarios, modes %v; want %d, %v", len(o.scenarios), o.modes, tt.wantScenarios, tt.wantModes)
			}
		})
	}
}

func TestAllScenarios(t *testing.T) {
	all := allScenarios()
	names := scenarioNames(all)
	for _, want := range []string{"none", "retry-after", "x-ratelimit-reset/skew+5m", "x-ratelimit-reset-ms/skew-5m", "retry-after-date/skew+5m", "retry-after/penalty"} {
		if !slices.Contains(names, want) {
			t.Errorf("no scenario %q in %v", want, names)
		}
	}
	seen := map[string]bool{}
	for _, sc := range all {
		if seen[sc.Name] {
			t.Errorf("scenario %q twice", sc.Name)
		}
		seen[sc.Name] = true
		if _, _, stop, err := startSandbox(t.Context(), sc); err != nil {
			t.Errorf("scenario %q: %v", sc.Name, err)
		} else {
			stop()
		}
	}
}

// TestRunEndToEnd builds the real binary and runs one scenario in every
// mode with few rows. Timing is not asserted (it flakes on a busy machine);
// exactly-once delivery is, since it must hold however slow the run is.
func TestRunEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	var log bytes.Buffer
	bin, err := testkit.Build(t.Context(), testkit.Module, t.TempDir(), "bulksend", false, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	out := filepath.Join(t.TempDir(), "table.md")
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"-bin", bin, "-rows", "40", "-scenarios", "x-ratelimit-reset-after", "-json", "-out", out}, &stdout, &stderr)
	if code != benchcli.ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	var res result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("decode: %v\n%s", err, stdout.String())
	}
	if len(res.Scenarios) != 1 || len(res.Scenarios[0].Cells) != 3 {
		t.Fatalf("result shape: %+v", res)
	}
	for _, c := range res.Scenarios[0].Cells {
		tr := c.Trials[0]
		if tr.Server.Duplicates != 0 {
			t.Errorf("%s: %d duplicates", c.Mode, tr.Server.Duplicates)
		}
		if c.Mode == modeNaive {
			continue
		}
		if !c.DeliveredOnce || tr.ExitCode == nil || *tr.ExitCode != 0 || tr.Summary == nil || tr.Summary.Sent != 40 || tr.Error != "" {
			t.Errorf("%s: %+v", c.Mode, tr)
		}
	}
	if md, err := os.ReadFile(out); err != nil || !strings.Contains(string(md), "| x-ratelimit-reset-after |") {
		t.Errorf("-out file: %v\n%s", err, md)
	}
}
