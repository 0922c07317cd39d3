package main

import (
	"strings"
	"testing"

	"github.com/bulksend/bulksend/bench/internal/benchcli"
)

func TestThousands(t *testing.T) {
	tests := []struct {
		name string
		n    int
		want string
	}{
		{"small", 999, "999"},
		{"four digits", 1000, "1,000"},
		{"rows", 30000, "30,000"},
		{"million", 1_000_000, "1,000,000"},
		{"zero", 0, "0"},
		{"negative", -1234567, "-1,234,567"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := thousands(tt.n); got != tt.want {
				t.Errorf("thousands(%d) = %q, want %q", tt.n, got, tt.want)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name   string
		sorted []float64
		want   float64
	}{
		{"none", nil, 0},
		{"one", []float64{3}, 3},
		{"odd", []float64{1, 2, 10}, 2},
		{"even", []float64{1, 2, 4, 10}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := median(tt.sorted); got != tt.want {
				t.Errorf("median(%v) = %v, want %v", tt.sorted, got, tt.want)
			}
		})
	}
}

func TestStartupSettle(t *testing.T) {
	c := startupCase{Millis: []float64{9, 1, 5, 3, 7, 2, 8, 4, 6, 10}}
	c.settle()
	if c.Median != 5.5 || c.Min != 1 || c.P90 != 9 {
		t.Errorf("settle = median %v, min %v, p90 %v; want 5.5, 1, 9", c.Median, c.Min, c.P90)
	}
}

// trialAt makes a trial that delivered rows in wall seconds with the
// given client CPU seconds.
func trialAt(client string, rows int, wall, cpu float64) trial {
	return trial{Client: client, Delivered: int64(rows), Acked: rows, ServerSeconds: wall * 0.9,
		ClientProc: procStats{WallSeconds: wall, CPUSeconds: cpu, MaxRSSKB: 20 * 1024},
		ServerProc: procStats{CPUSeconds: cpu / 2}}
}

func TestThroughputJudge(t *testing.T) {
	tests := []struct {
		name      string
		bulksend  []trial
		wantRatio float64
		want      []string // verdicts, in check order
	}{
		{"fast enough", []trial{trialAt(clientBulksend, 1000, 1.05, 0.5)}, 0.952, []string{benchcli.Pass, benchcli.Pass}},
		{"too slow", []trial{trialAt(clientBulksend, 1000, 2, 0.5)}, 0.5, []string{benchcli.Pass, benchcli.Miss}},
		{"lost a row", []trial{func() trial { t := trialAt(clientBulksend, 1000, 1, 0.5); t.Delivered = 999; return t }()},
			0.999, []string{benchcli.Miss, benchcli.Pass}},
		{"median of three", []trial{trialAt(clientBulksend, 1000, 5, 0.5), trialAt(clientBulksend, 1000, 1, 0.5), trialAt(clientBulksend, 1000, 1.1, 0.5)},
			0.909, []string{benchcli.Pass, benchcli.Pass}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &throughputResult{Rows: 1000, Concurrency: 32, Repeat: len(tt.bulksend), Commands: map[string]string{}}
			bs := clientCell{Client: clientBulksend, Trials: tt.bulksend}
			mc := clientCell{Client: clientMinimal, Trials: []trial{trialAt(clientMinimal, 1000, 1, 0.25)}}
			vg := clientCell{Client: clientVegeta, Skipped: "go install failed"}
			for _, c := range []*clientCell{&bs, &mc, &vg} {
				c.settle(1000)
			}
			r.Clients = []clientCell{bs, mc, vg}
			r.judge()
			if r.RatioWall != tt.wantRatio {
				t.Errorf("ratio = %v, want %v", r.RatioWall, tt.wantRatio)
			}
			var got []string
			for _, c := range r.Checks {
				got = append(got, c.Verdict)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("verdicts = %v, want %v (%+v)", got, tt.want, r.Checks)
			}
			var b strings.Builder
			r.markdown(&b)
			for _, want := range []string{"| bulksend send, report on |", "| vegeta attack -rate 0 | not run: go install failed |", "1,000 rows"} {
				if !strings.Contains(b.String(), want) {
					t.Errorf("markdown lacks %q:\n%s", want, b.String())
				}
			}
		})
	}
}

func TestMemoryJudge(t *testing.T) {
	run := func(mode string, rows int, kb int64, errText string) memRun {
		return memRun{Mode: mode, Rows: rows, Proc: procStats{MaxRSSKB: kb, WallSeconds: 1}, Error: errText}
	}
	tests := []struct {
		name string
		runs []memRun
		want map[string]string // check "what" prefix -> verdict
	}{
		{"flat and small", []memRun{run(memSend, 10, 20000, ""), run(memSend, 100, 21000, ""), run(memDryRun, 10, 15000, ""), run(memDryRun, 100, 15500, "")},
			map[string]string{"send: peak": benchcli.Pass, "send flat": benchcli.Pass, "dry-run: peak": benchcli.Pass, "dry-run flat": benchcli.Pass}},
		{"grows", []memRun{run(memSend, 10, 20000, ""), run(memSend, 100, 80000, ""), run(memDryRun, 10, 15000, ""), run(memDryRun, 100, 15500, "")},
			map[string]string{"send: peak": benchcli.Miss, "send flat": benchcli.Miss, "dry-run flat": benchcli.Pass}},
		{"a smaller file peaks", []memRun{run(memSend, 10, 90000, ""), run(memSend, 100, 80000, ""), run(memDryRun, 10, 15000, ""), run(memDryRun, 100, 15500, "")},
			map[string]string{"send: peak": benchcli.Miss, "send flat": benchcli.Pass}},
		{"a run failed", []memRun{run(memSend, 10, 20000, "exit 1: boom"), run(memSend, 100, 20000, ""), run(memDryRun, 10, 15000, ""), run(memDryRun, 100, 15500, "")},
			map[string]string{"send of 10 rows ran": benchcli.Miss, "send: peak": benchcli.Pass}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &memoryResult{SendSizes: []int{10, 100}, DrySizes: []int{10, 100}, Runs: tt.runs}
			m.judge()
			for prefix, want := range tt.want {
				found := false
				for _, c := range m.Checks {
					if strings.HasPrefix(c.What, prefix) {
						found = true
						if c.Verdict != want {
							t.Errorf("%s: %s, want %s", c.What, c.Verdict, want)
						}
					}
				}
				if !found {
					t.Errorf("no check %q in %+v", prefix, m.Checks)
				}
			}
			var b strings.Builder
			m.markdown(&b)
			if !strings.Contains(b.String(), "| 100 |") {
				t.Errorf("markdown lacks the 100-row line:\n%s", b.String())
			}
		})
	}
}
