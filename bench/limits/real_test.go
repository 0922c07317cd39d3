package main

import (
	"strings"
	"testing"
	"time"

	"github.com/bulksend/bulksend/bench/internal/benchcli"
)

// TestRealIdeal: issue 11's ideal times for 400 rows.
func TestRealIdeal(t *testing.T) {
	want := map[string]float64{
		"nginx":               3.85, // (400-15)/100
		"nginx-503":           3.85,
		"nginx-noburst":       3.99, // (400-1)/100
		"haproxy-150ms":       3.85, // (400-15)/(15/0.15)
		"haproxy-1s":          3,    // (400-100)/100
		"express-150ms":       3.9,  // (ceil(400/15)-1) x 0.15
		"express-1s":          3,    // (ceil(400/100)-1) x 1
		"express-ra-150ms":    3.9,
		"express-ra-1s":       3,
		"httprate-150ms":      3.85,
		"httprate-1s":         3,
		"fastify-150ms":       3.9,
		"fastify-1s":          3,
		"flexible-150ms":      3.9,
		"flexible-1s":         3,
		"flexible-iso-1s":     3,
		"flexible-date-150ms": 3.9,
		"flexible-date-1s":    3,
		"ulule-150ms":         3.9, // a fixed window from the first request
		"ulule-1s":            3,
		"throttled-150ms":     3.85, // a bucket of 15 at 100/s
		"throttled-1s":        3,
		"golimiter-150ms":     3.9, // fixed windows phased at the first request
		"golimiter-1s":        3,
		"tollbooth-150ms":     3.85, // a bucket of 15 at 100/s
		"tollbooth-1s":        3,
		"sandbox-refill":      3.85,
	}
	all := allRealScenarios()
	if len(all) != len(want) {
		t.Fatalf("%d scenarios, %d ideals", len(all), len(want))
	}
	for _, sc := range all {
		t.Run(sc.Name, func(t *testing.T) {
			w, ok := want[sc.Name]
			if got := round(sc.idealSeconds(400), 3); !ok || got != w {
				t.Errorf("ideal = %v, want %v", got, w)
			}
		})
	}
}

// TestRealTargets: issue 11's targets by mode and algorithm.
func TestRealTargets(t *testing.T) {
	tests := []struct {
		name      string
		algorithm string
		mode      string
		want      target
		judged    bool
	}{
		{"adaptive", algoFixed, modeAdaptive, target{MinEfficiency: 0.85, MaxThrottledShare: 0.03}, true},
		{"default as adaptive", algoSliding, modeDefault, target{MinEfficiency: 0.85, MaxThrottledShare: 0.03}, true},
		{"pinned bucket", algoLeaky, modePinned, target{MinEfficiency: 0.95}, true},
		{"pinned sliding", algoSliding, modePinned, target{MinEfficiency: 0.95}, true},
		{"pinned fixed", algoFixed, modePinned, target{MinEfficiency: 0.9, MaxThrottledShare: 1}, true},
		{"curl is the baseline", algoSliding, modeCurl, target{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, judged := realScenario{Algorithm: tt.algorithm}.target(tt.mode)
			if got != tt.want || judged != tt.judged {
				t.Errorf("target = %+v %v, want %+v %v", got, judged, tt.want, tt.judged)
			}
		})
	}
}

// TestRealMarkdown: a table row per (scenario, mode) with the columns the
// issue asks for, and a MISS that says why.
func TestRealMarkdown(t *testing.T) {
	sc := allRealScenarios()[0]
	ad := trial{Mode: modeAdaptive, Acked: 400, Summary: &summary{SuggestedFlags: "--rate 101/s --burst 17", LearnedModel: "bucket"},
		Server: serverStats{Requests: 410, Distinct: 400, Delivered: 400, Throttled: 10}}
	ad.finish(400, 4e9, sc.idealSeconds(400))
	sc.measureBest(&ad, 400, time.Time{})
	cu := trial{Mode: modeCurl, Server: serverStats{Requests: 460, Distinct: 390, Delivered: 390, Throttled: 70}}
	cu.Acked = int(cu.Server.Distinct)
	cu.finish(400, 5e9, sc.idealSeconds(400))
	sc.measureBest(&cu, 400, time.Time{})
	de := ad
	de.Mode, de.Summary = modeDefault, &summary{LearnedModel: "bucket", SuggestedFlags: "--rate 100/s --burst 16"}
	r := &realResult{Rows: 400, Repeat: 1, Concurrency: 8, Modes: []string{modeAdaptive, modeDefault, modeCurl}}
	sr := realScenarioResult{realScenario: sc, Desc: describeReal(sc), IdealSeconds: sc.idealSeconds(400)}
	for _, tr := range []trial{ad, de, cu} {
		tg, judged := sc.target(tr.Mode)
		sr.Cells = append(sr.Cells, newRealCell(tr.Mode, []trial{tr}, 400, tg, judged))
	}
	zero := 0
	sr.Probes = []probeRun{{ExitCode: &zero, WallSeconds: 0.5, Right: true, Output: map[string]any{"model": "bucket"}}}
	r.Scenarios = []realScenarioResult{sr}
	r.Pass, r.PassVsBest = 2, 2
	md := r.markdown()
	for _, want := range []string{
		"| nginx: burst 15, 100/s | leaky bucket | adaptive | yes | 0 | 10 (2.4%) | 4.00 | 3.85 | 0.96 | PASS | 3.84 | 0.96 | PASS | learned bucket; suggests `--rate 101/s --burst 17` |",
		"| nginx: burst 15, 100/s | leaky bucket | curl | **no**: 390/400 | 0 | 70 (15.2%) | 5.00 | 3.85 | 0.77 | - | 3.84 | 0.77 | - | 10 rows never delivered |",
		"| nginx: burst 15, 100/s | leaky bucket | default | yes | 0 | 10 (2.4%) | 4.00 | 3.85 | 0.96 | PASS | 3.84 | 0.96 | PASS | learned bucket; suggests `--rate 100/s --burst 16` |",
		"2 PASS, 0 MISS against issue 11's ideal (2 PASS, 0 MISS against the server's best)",
		"- default: the same without `--concurrency` (bulksend's own pool of 8, not pinned), a row's own too",
		"| nginx: burst 15, 100/s | leaky bucket | probe | - | - | 0 (0.0%) | 0.50 | - | - | PASS 1/1 | - | - | - | model bucket",
		"xargs -d '\\n' -P 8",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

// TestNewRealCell: pinned trials that never ran (no flags suggested) are
// left out of the median; a cell with none that ran misses, saying so.
func TestNewRealCell(t *testing.T) {
	skipped := trial{Mode: modePinned, Error: "the adaptive run suggested no flags"}
	code := 0
	ran := trial{Mode: modePinned, ExitCode: &code, Acked: 400, Efficiency: 0.97, DeliveredOnce: true,
		Server: serverStats{Requests: 400, Distinct: 400, Delivered: 400}}
	tg := target{MinEfficiency: 0.95}
	tests := []struct {
		name    string
		trials  []trial
		verdict string
		detail  string
	}{
		{"none ran", []trial{skipped, skipped, skipped}, benchcli.Miss, "3 of 3 not run: the adaptive run suggested no flags"},
		{"one ran", []trial{skipped, ran, skipped}, benchcli.Pass, "2 of 3 not run: the adaptive run suggested no flags"},
		{"all ran", []trial{ran, ran, ran}, benchcli.Pass, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newRealCell(modePinned, tt.trials, 400, tg, true)
			if c.Verdict != tt.verdict || !strings.HasPrefix(c.detail(sendConcurrency), tt.detail) {
				t.Errorf("verdict %s, detail %q; want %s, %q", c.Verdict, c.detail(sendConcurrency), tt.verdict, tt.detail)
			}
		})
	}
}

// TestPinnedDetailConcurrency: a pinned cell shows the flags after the
// scenario's own --concurrency, whatever it is.
func TestPinnedDetailConcurrency(t *testing.T) {
	code := 0
	tr := trial{Mode: modePinned, ExitCode: &code, Acked: 400, Efficiency: 0.97, DeliveredOnce: true,
		Command: "bulksend send rows.csv --concurrency 32 --rate 100/s --burst 100",
		Server:  serverStats{Requests: 400, Distinct: 400, Delivered: 400}}
	c := newRealCell(modePinned, []trial{tr}, 400, target{MinEfficiency: 0.95}, true)
	if got, want := c.detail(32), "`--rate 100/s --burst 100`"; got != want {
		t.Errorf("detail(32) = %q, want %q", got, want)
	}
}

// TestRealSendArgs: the adaptive and pinned runs give the pool's size,
// the scenario's own or the table's, and pinned its flags after it; the
// default run gives no --concurrency, not even a scenario's own.
func TestRealSendArgs(t *testing.T) {
	table, own := realScenario{}, realScenario{Concurrency: 32}
	pinned := []string{"--rate", "100/s", "--burst", "15"}
	tests := []struct {
		name  string
		sc    realScenario
		mode  string
		flags []string
		want  string
	}{
		{"adaptive", table, modeAdaptive, nil, " --concurrency 8"},
		{"adaptive, own pool", own, modeAdaptive, nil, " --concurrency 32"},
		{"pinned", own, modePinned, pinned, " --concurrency 32 --rate 100/s --burst 15"},
		{"default", table, modeDefault, nil, ""},
		{"default ignores own pool", own, modeDefault, nil, ""},
	}
	base := strings.Join(sendArgs(modeAdaptive, "rows.csv", "http://127.0.0.1:1", "r.csv"), " ")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(tt.sc.sendArgs(tt.mode, "rows.csv", "http://127.0.0.1:1", "r.csv", tt.flags), " ")
			if got != base+tt.want {
				t.Errorf("args = %q, want %q", got, base+tt.want)
			}
		})
	}
}

// TestJudgeProbe: issue 11's probe targets, the model named, a window's
// limit within 10% and length within 20%, a bucket's rate within 10%.
func TestJudgeProbe(t *testing.T) {
	fixed := realScenario{Algorithm: algoFixed, Limit: 15, WindowSeconds: 0.15}
	bucket := realScenario{Algorithm: algoLeaky, Limit: 15, WindowSeconds: 0.15, Burst: 15}
	zero, one := 0, 1
	tests := []struct {
		name   string
		sc     realScenario
		exit   *int
		out    map[string]any
		misses string
	}{
		{"window right", fixed, &zero, map[string]any{"model": "fixed window", "limit_per_window": 14.0, "window_seconds": 0.17}, ""},
		{"window too long", fixed, &zero, map[string]any{"model": "fixed", "limit_per_window": 15.0, "window_seconds": 1.0}, "window 1, not 0.15±20%"},
		{"wrong model, no window", fixed, &zero, map[string]any{"model": "bucket", "sustained_per_second": 100.0}, "model bucket, not fixed, no limit, no window"},
		{"bucket rate", bucket, &zero, map[string]any{"model": "token bucket", "sustained_per_second": 95.0}, ""},
		{"no model, slow", bucket, &zero, map[string]any{"sustained_per_second": 40.0}, "no model, rate 40, not 100±10%"},
		{"exit 1", bucket, &one, map[string]any{"note": "no 429 in 100 requests", "model": "bucket", "sustained_per_second": 100.0}, "exit 1: no 429 in 100 requests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := probeRun{ExitCode: tt.exit, Output: tt.out}
			tt.sc.judgeProbe(&p)
			if got := strings.Join(p.Misses, ", "); got != tt.misses || p.Right != (tt.misses == "") {
				t.Errorf("misses %q right %v, want %q", got, p.Right, tt.misses)
			}
		})
	}
}
