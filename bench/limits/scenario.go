package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/bulksend/bulksend/internal/testkit/sandboxtest"
	"github.com/bulksend/bulksend/sandbox"
)

// scenario is one way the server signals its limit.
type scenario struct {
	Name  string `json:"name"`
	Style string `json:"style"`
	// SkewSeconds shifts the server's clock: absolute reset times and the
	// Date header are off by this much, as a client with a wrong clock sees.
	SkewSeconds int  `json:"skew_seconds,omitempty"`
	Penalty     bool `json:"penalty,omitempty"`
}

// allScenarios is every style unskewed, the absolute-time styles with the
// server's clock five minutes either way, and the penalty box.
func allScenarios() []scenario {
	var out []scenario
	for _, st := range sandbox.Styles() {
		out = append(out, scenario{Name: st, Style: st})
	}
	for _, st := range []string{sandbox.StyleResetUnix, sandbox.StyleResetUnixMS, sandbox.StyleRetryAfterDate} {
		for _, skew := range []int{300, -300} {
			out = append(out, scenario{Name: fmt.Sprintf("%s/skew%+dm", st, skew/60), Style: st, SkewSeconds: skew})
		}
	}
	return append(out, scenario{Name: sandbox.StyleRetryAfter + "/penalty", Style: sandbox.StyleRetryAfter, Penalty: true})
}

func scenarioNames(s []scenario) []string {
	names := make([]string, len(s))
	for i, sc := range s {
		names[i] = sc.Name
	}
	return names
}

// pickScenarios keeps the scenarios named, in all's order; no names means all.
func pickScenarios(all []scenario, names []string) ([]scenario, error) {
	if len(names) == 0 {
		return all, nil
	}
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	var out []scenario
	for _, sc := range all {
		if want[sc.Name] {
			out = append(out, sc)
			delete(want, sc.Name)
		}
	}
	if len(want) > 0 {
		var unknown []string
		for _, n := range names {
			if want[n] {
				unknown = append(unknown, n)
			}
		}
		return nil, fmt.Errorf("-scenarios: unknown %s (want some of %s)", strings.Join(unknown, ", "), strings.Join(scenarioNames(all), ", "))
	}
	return out, nil
}

func (sc scenario) config() sandbox.Config {
	return sandbox.Config{
		Burst:   serverBurst,
		Rate:    serverRate,
		Style:   sc.Style,
		Skew:    time.Duration(sc.SkewSeconds) * time.Second,
		Penalty: sc.Penalty,
	}
}

// startSandbox serves a fresh sandbox for sc on a loopback port. stop shuts
// it down and waits until it has.
func startSandbox(ctx context.Context, sc scenario) (srv *sandbox.Server, base string, stop func(), err error) {
	return sandboxtest.Serve(ctx, sc.config())
}

// row is one recipient; ids and numbers are unique so the sandbox's
// Distinct count is the number of rows delivered.
type row struct{ ID, To, Text string }

func makeRows(n int) []row {
	rows := make([]row, n)
	for i := range rows {
		rows[i] = row{
			ID:   fmt.Sprintf("m%05d", i+1),
			To:   fmt.Sprintf("+1555%07d", i+1),
			Text: fmt.Sprintf("hello %d", i+1),
		}
	}
	return rows
}

func writeRows(path string, rows []row) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write rows: %w", err)
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"id", "to", "text"}) // errors stick in w and show at Flush
	for _, r := range rows {
		_ = w.Write([]string{r.ID, r.To, r.Text})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("write rows: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write rows: %w", err)
	}
	return nil
}
