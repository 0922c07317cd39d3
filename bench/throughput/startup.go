package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/bulksend/bulksend/bench/internal/benchcli"
)

// startupWarmups are untimed runs before the timed ones, so the binary and
// the page cache are warm, as they are for a user's second run.
const startupWarmups = 2

// startupCase is one command timed again and again.
type startupCase struct {
	Name    string    `json:"name"`
	Command string    `json:"command"`
	Millis  []float64 `json:"millis"` // wall time of each timed run
	Median  float64   `json:"median_ms"`
	Min     float64   `json:"min_ms"`
	P90     float64   `json:"p90_ms"`
	Error   string    `json:"error,omitempty"`
}

// measureStartup times `bulksend version` and a 1-row send (to one sandbox
// for all the runs), each as a whole process, start to exit.
func measureStartup(ctx context.Context, e *env) (*startupResult, error) {
	rows := filepath.Join(e.dir, "one.csv")
	if err := writeRows(rows, 1); err != nil {
		return nil, err
	}
	defer os.Remove(rows)
	sb, err := startSandbox(ctx, e.bin, e.dir)
	if err != nil {
		return nil, err
	}
	defer sb.stop()
	report := filepath.Join(e.dir, "one.report.csv")
	defer os.Remove(report)
	oneRow := func(rows, base, report string) []string {
		return []string{"send", rows, "--url", base + "/send", "--body", bodyTemplate, "--rate", "0", "--report", report, "--force", "--quiet"}
	}
	cases := []struct {
		name, cmdline string
		args          []string
	}{
		{"bulksend version", "bulksend version", []string{"version"}},
		{"1-row send, report on", benchcli.ShellJoin(append([]string{"bulksend"}, oneRow("one.csv", "$SANDBOX", "one.report.csv")...)...),
			oneRow(rows, sb.base, report)},
	}
	res := &startupResult{Runs: e.o.startupRuns}
	for _, c := range cases {
		sc := startupCase{Name: c.name, Command: c.cmdline}
		for i := range startupWarmups + e.o.startupRuns {
			ps, tail, err := runProc(ctx, io.Discard, e.bin, c.args...)
			if err != nil {
				return nil, err
			}
			if ps.ExitCode != 0 {
				sc.Error = fmt.Sprintf("exit %d: %s", ps.ExitCode, tail)
				break
			}
			if i >= startupWarmups {
				sc.Millis = append(sc.Millis, round(ps.WallSeconds*1000, 2))
			}
		}
		sc.settle()
		fmt.Fprintf(e.log, "startup: %s: median %.1f ms, min %.1f ms, p90 %.1f ms\n", sc.Name, sc.Median, sc.Min, sc.P90)
		res.Cases = append(res.Cases, sc)
	}
	return res, nil
}

// settle computes the order statistics of the timed runs.
func (c *startupCase) settle() {
	if len(c.Millis) == 0 {
		return
	}
	s := slices.Sorted(slices.Values(c.Millis))
	c.Median = round(median(s), 2)
	c.Min = s[0]
	c.P90 = s[min(len(s)-1, (len(s)*9+9)/10-1)]
}
