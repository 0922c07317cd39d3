package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bulksend/bulksend/bench/internal/benchcli"
	"github.com/bulksend/bulksend/internal/testkit"
)

// TestMain lets the test binary stand in for the harness binary when the
// throughput section runs the minimal client as a child process.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == minimalClientCmd {
		os.Exit(minimalClientMain(os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name         string
		args         []string
		wantSections []string
		wantClients  []string
		wantSend     []int
		wantErr      string
	}{
		{"defaults", nil, allSections, allClients, []int{10_000, 100_000, 200_000, 1_000_000}, ""},
		{"filters keep table order", []string{"-sections", "startup, throughput", "-clients", "vegeta,bulksend"},
			[]string{sectionThroughput, sectionStartup}, []string{clientBulksend, clientVegeta}, []int{10_000, 100_000, 200_000, 1_000_000}, ""},
		{"sizes sorted", []string{"-send-sizes", "1M,5k"}, allSections, allClients, []int{5_000, 1_000_000}, ""},
		{"unknown section", []string{"-sections", "cpu"}, nil, nil, nil, `-sections: unknown "cpu"`},
		{"unknown client", []string{"-clients", "curl"}, nil, nil, nil, `-clients: unknown "curl"`},
		{"no client", []string{"-clients", ","}, nil, nil, nil, "name at least one"},
		{"bad size", []string{"-dry-sizes", "10x"}, nil, nil, nil, "-dry-sizes"},
		{"zero rows", []string{"-rows", "0"}, nil, nil, nil, "-rows 0"},
		{"zero concurrency", []string{"-concurrency", "0"}, nil, nil, nil, "-concurrency 0"},
		{"zero repeat", []string{"-repeat", "0"}, nil, nil, nil, "-repeat 0"},
		{"zero startup runs", []string{"-startup-runs", "0"}, nil, nil, nil, "-startup-runs 0"},
		{"stray argument", []string{"rows.csv"}, nil, nil, nil, "unexpected arguments"},
		{"bad flag", []string{"-nope"}, nil, nil, nil, "not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			o, err := parseOptions(tt.args, &stderr)
			if testkit.WantError(t, "parseOptions", err, tt.wantErr) {
				return
			}
			if !slices.Equal(o.sections, tt.wantSections) || !slices.Equal(o.clients, tt.wantClients) || !slices.Equal(o.sendSizes, tt.wantSend) {
				t.Errorf("parseOptions = sections %v, clients %v, send sizes %v; want %v, %v, %v",
					o.sections, o.clients, o.sendSizes, tt.wantSections, tt.wantClients, tt.wantSend)
			}
		})
	}
}

func TestRunUsageError(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-rows", "-1"}, &stdout, &stderr); code != benchcli.ExitUsage {
		t.Fatalf("run = %d, want %d (stderr %q)", code, benchcli.ExitUsage, stderr.String())
	}
}

// TestEndToEnd runs every section at a small size with the real binary,
// sandbox and minimal client (and vegeta when it is on PATH).
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds bulksend and runs it; skipped with -short")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build bulksend")
	}
	clients := "bulksend,minimal"
	if _, err := exec.LookPath("vegeta"); err == nil {
		clients += ",vegeta"
	}
	out := filepath.Join(t.TempDir(), "bench.md")
	var stdout, stderr bytes.Buffer
	args := []string{"-rows", "300", "-repeat", "1", "-clients", clients, "-send-sizes", "200,400",
		"-dry-sizes", "200,400", "-startup-runs", "2", "-json", "-out", out}
	if code := run(context.Background(), args, &stdout, &stderr); code != benchcli.ExitOK {
		t.Fatalf("run = %d; stderr:\n%s", code, stderr.String())
	}
	var res result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("JSON output: %v\n%s", err, stdout.String())
	}
	if res.Throughput == nil || res.Memory == nil || res.Startup == nil {
		t.Fatalf("missing sections: %+v", res)
	}
	for _, c := range res.Throughput.Clients {
		if !c.DeliveredOnce {
			t.Errorf("%s did not deliver every row once: %+v", c.Client, c.Trials)
		}
		if c.WallRate <= 0 {
			t.Errorf("%s: no rate", c.Client)
		}
	}
	if res.Throughput.RatioWall <= 0 {
		t.Errorf("no bulksend/minimal ratio: %+v", res.Throughput)
	}
	for _, r := range res.Memory.Runs {
		if r.Error != "" || r.Proc.MaxRSSKB <= 0 {
			t.Errorf("memory run %s %d: error %q, peak RSS %d KiB", r.Mode, r.Rows, r.Error, r.Proc.MaxRSSKB)
		}
	}
	if len(res.Memory.Runs) != 4 {
		t.Errorf("memory runs = %d, want 4", len(res.Memory.Runs))
	}
	for _, c := range res.Startup.Cases {
		if c.Error != "" || len(c.Millis) != 2 || c.Median <= 0 {
			t.Errorf("startup %s: %+v", c.Name, c)
		}
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### Throughput", "### Memory", "### Startup", "| bulksend send, report on |", "| minimal Go client |", "| 400 |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}
