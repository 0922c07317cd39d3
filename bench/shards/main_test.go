package main

import (
	"io"
	"slices"
	"testing"
	"time"

	"github.com/bulksend/bulksend/internal/testkit"
	"github.com/bulksend/bulksend/sandbox"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		procs   []int
		styles  []string
		wantErr string
	}{
		{name: "defaults", procs: []int{2, 3}, styles: []string{sandbox.StyleRetryAfter, sandbox.StyleResetUnixMS}},
		{name: "lists", args: []string{"-procs", "1, 4", "-styles", "none"}, procs: []int{1, 4}, styles: []string{"none"}},
		{name: "bad count", args: []string{"-procs", "two"}, wantErr: "-procs"},
		{name: "zero processes", args: []string{"-procs", "0"}, wantErr: "-procs"},
		{name: "bad style", args: []string{"-styles", "smoke-signals"}, wantErr: "unknown style"},
		{name: "too few rows", args: []string{"-rows", "15"}, wantErr: "-rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseOptions(tt.args, io.Discard)
			if testkit.WantError(t, "parseOptions", err, tt.wantErr) {
				return
			}
			if !slices.Equal(o.procs, tt.procs) || !slices.Equal(o.styles, tt.styles) {
				t.Errorf("procs %v styles %v, want %v %v", o.procs, o.styles, tt.procs, tt.styles)
			}
		})
	}
}

func TestTrialVerdict(t *testing.T) {
	const rows = 600
	ok := sandbox.Stats{Requests: 600, Distinct: 600, Delivered: 600}
	tests := []struct {
		name string
		t    trial
		want bool
	}{
		{name: "ideal", t: trial{wall: 5850 * time.Millisecond, stats: ok, sent: rows}, want: true},
		{name: "slow", t: trial{wall: 7 * time.Second, stats: ok, sent: rows}},
		{name: "throttled", t: trial{wall: 6 * time.Second, sent: rows,
			stats: sandbox.Stats{Requests: 640, Throttled: 40, Distinct: 600, Delivered: 600}}},
		{name: "a duplicate", t: trial{wall: 6 * time.Second, sent: rows,
			stats: sandbox.Stats{Requests: 601, Distinct: 600, Delivered: 601, Duplicates: 1}}},
		{name: "report short", t: trial{wall: 6 * time.Second, stats: ok, sent: rows - 1}},
		{name: "a process failed", t: trial{wall: 6 * time.Second, stats: ok, sent: rows, failures: []string{"x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.t.pass(rows); got != tt.want {
				t.Errorf("pass = %v, want %v (eff %.2f, 429s %.3f)", got, tt.want, tt.t.efficiency(rows), tt.t.throttled())
			}
		})
	}
}
