package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulksend/bulksend/bench/internal/benchcli"
	"github.com/bulksend/bulksend/internal/testkit/golden"
)

// good is a trial that delivered every row once with eff and share.
func good(mode string, eff, share float64) trial {
	code := 0
	t := trial{Mode: mode, Efficiency: eff, ThrottledShare: share, Acked: 400, DeliveredOnce: true, Delivered: "400/400",
		Server: serverStats{Requests: 400, Delivered: 400, Distinct: 400}}
	if mode != modeNaive {
		t.ExitCode = &code
		t.Summary = &summary{Sent: 400, ElapsedSeconds: 4}
	}
	return t
}

func TestCellSettle(t *testing.T) {
	lost := good(modeAdaptive, 0.99, 0)
	lost.DeliveredOnce, lost.Delivered, lost.Server.Distinct = false, "399/400", 399
	slow := good(modeFixed, 0.5, 0)
	slow.TimedOut = true
	tests := []struct {
		name        string
		c           cell
		wantEff     float64
		wantRep     int
		wantVerdict string
		wantMisses  []string
	}{
		{"adaptive pass", cell{Mode: modeAdaptive, Trials: []trial{good(modeAdaptive, 0.92, 0.04)}}, 0.92, 0, benchcli.Pass, nil},
		{"adaptive slow and throttled", cell{Mode: modeAdaptive, Trials: []trial{good(modeAdaptive, 0.6, 0.06)}}, 0.6, 0, benchcli.Miss,
			[]string{"efficiency 0.60 < 0.90", "429s 6.0% > 5.0%"}},
		{"fixed needs 0.97", cell{Mode: modeFixed, Trials: []trial{good(modeFixed, 0.95, 0)}}, 0.95, 0, benchcli.Miss,
			[]string{"efficiency 0.95 < 0.97"}},
		{"fixed share limit", cell{Mode: modeFixed, Trials: []trial{good(modeFixed, 0.99, 0.011)}}, 0.99, 0, benchcli.Miss,
			[]string{"429s 1.1% > 1.0%"}},
		{"median of three", cell{Mode: modeAdaptive, Trials: []trial{good(modeAdaptive, 0.3, 0), good(modeAdaptive, 0.95, 0), good(modeAdaptive, 0.91, 0)}},
			0.91, 2, benchcli.Pass, nil},
		{"median of two is the mean", cell{Mode: modeAdaptive, Trials: []trial{good(modeAdaptive, 0.8, 0), good(modeAdaptive, 1.0, 0)}},
			0.9, 0, benchcli.Pass, nil},
		{"one lost row in any run misses", cell{Mode: modeAdaptive, Trials: []trial{good(modeAdaptive, 0.91, 0), lost, good(modeAdaptive, 0.95, 0)}},
			0.95, 2, benchcli.Miss, []string{"delivered 399/400"}},
		{"timeout", cell{Mode: modeFixed, Trials: []trial{slow}}, 0.5, 0, benchcli.Miss, []string{"timeout", "efficiency 0.50 < 0.97"}},
		{"naive is not judged", cell{Mode: modeNaive, Trials: []trial{good(modeNaive, 0.1, 0.9)}}, 0.1, 0, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			c.settle(400)
			if c.Efficiency != tt.wantEff || c.Representative != tt.wantRep || c.Verdict != tt.wantVerdict || !slices.Equal(c.Misses, tt.wantMisses) {
				t.Errorf("settle = eff %v rep %d verdict %q misses %q; want %v %d %q %q",
					c.Efficiency, c.Representative, c.Verdict, c.Misses, tt.wantEff, tt.wantRep, tt.wantVerdict, tt.wantMisses)
			}
		})
	}
}

func TestCellText(t *testing.T) {
	naive := good(modeNaive, 40, 0.98)
	naive.Dropped, naive.Delivered = 377, "23/400"
	adaptive := good(modeAdaptive, 0.58, 0.017)
	adaptive.WallSeconds = 6.62
	adaptive.Summary = &summary{ElapsedSeconds: 6.6, LearnedRate: 103, LearnedBurst: 12, Pauses: 3, PausedSeconds: 3}
	tests := []struct {
		name string
		c    cell
		want string
	}{
		{"adaptive", cell{Mode: modeAdaptive, Trials: []trial{adaptive}},
			"**MISS** · 400/400 · eff 0.58 (6.62 s; summary 6.60 s) · 429s 1.7% · exit 0 · learned 103.0/s burst 12 · 3 pauses 3.0 s"},
		{"naive", cell{Mode: modeNaive, Trials: []trial{naive}}, "23/400 · 377 dropped · eff 40.00 (0.00 s) · 429s 98.0%"},
		{"pipes are escaped", cell{Mode: modeNaive, Trials: []trial{{Mode: modeNaive, Delivered: "0/400", Error: "a|b"}}},
			`0/400 · eff 0.00 (0.00 s) · 429s 0.0% · error: a\|b`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			c.settle(400)
			if got := c.text(); got != tt.want {
				t.Errorf("text =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestResultOutput(t *testing.T) {
	o := options{rows: 400, repeat: 1, modes: allModes, args: []string{"-rows", "400"}}
	r := newResult(o, "/tmp/bulksend")
	sc := scenarioResult{scenario: scenario{Name: "retry-after", Style: "retry-after"}}
	for _, m := range allModes {
		c := cell{Mode: m, Trials: []trial{good(m, 0.99, 0)}}
		c.settle(400)
		r.add(c)
		sc.Cells = append(sc.Cells, c)
	}
	r.Scenarios = append(r.Scenarios, sc)
	r.ElapsedSeconds = (12 * time.Second).Seconds()

	md := r.markdown()
	// The whole table, as BENCHMARKS.md shows it; the checks below name
	// the parts that matter.
	golden.Check(t, "testdata/result.md", []byte(md))
	for _, want := range []string{
		"| scenario | adaptive | fixed | naive |\n|---|---|---|---|\n| retry-after | **PASS** · 400/400",
		"2 PASS, 0 MISS; benchmark took 12 s.",
		"Command line: `go run ./bench/limits -rows 400`",
		"- fixed: `/tmp/bulksend send $ROWS --url $BASE/send --body '{\"id\": {{json .id}}, \"to\": {{json .to}}}' --report $REPORT --json --quiet --rate 100/s --burst 15`",
		"ideal 3.85 s",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}

	var buf bytes.Buffer
	if err := benchcli.WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Pass, Miss int
		Scenarios  []struct {
			Name  string
			Cells []struct {
				Mode          string
				Verdict       string
				DeliveredOnce bool `json:"delivered_once"`
			}
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Pass != 2 || len(back.Scenarios) != 1 || back.Scenarios[0].Name != "retry-after" ||
		len(back.Scenarios[0].Cells) != 3 || back.Scenarios[0].Cells[1].Verdict != benchcli.Pass || !back.Scenarios[0].Cells[2].DeliveredOnce {
		t.Errorf("JSON round trip = %+v\n%s", back, buf.String())
	}
}
