package cmd

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunErrorsAreTerminalSafe checks the one place that prints a
// command's error: text from a server, a row or a file name can neither
// drive the terminal nor start a line of its own, while a usage error keeps
// its "Run --help" line.
func TestRunErrorsAreTerminalSafe(t *testing.T) {
	hostile := filepath.Join(t.TempDir(), "\x1b]0;pwned\a\x1b[2J\r\nbulksend: all rows sent.csv")
	tests := []struct {
		name  string
		args  []string
		want  string
		lines int
	}{
		{"run error", []string{"send", hostile, "--quiet", "--url", "http://127.0.0.1:1/"}, `\x1b]0;pwned\a\x1b[2J\r\nbulksend: all rows sent.csv`, 1},
		{"usage error keeps its help line", []string{"send", "--no-such-flag\x1b[2J"}, `unknown flag: --no-such-flag\x1b[2J`, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, errOut := TestStreams()
			run(context.Background(), ios, tt.args, nil, func(string) string { return "" })
			got := errOut.String()
			if strings.ContainsAny(got, "\x1b\a\r") {
				t.Errorf("stderr has control characters: %q", got)
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("stderr %q lacks %q", got, tt.want)
			}
			if n := strings.Count(got, "\n"); n != tt.lines {
				t.Errorf("stderr has %d lines, want %d: %q", n, tt.lines, got)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	ios, _, out, _ := TestStreams()
	if code := run(context.Background(), ios, []string{"version"}, nil, func(string) string { return "" }); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if got := out.String(); !strings.HasPrefix(got, "bulksend ") || strings.Contains(got, "bulksend dev\n") || !strings.Contains(got, "(go1.") {
		t.Errorf("version printed %q, want the version and the Go version", got)
	}
}

func TestSummaryPlurals(t *testing.T) {
	tests := []struct {
		name string
		s    runSummary
		want []string
	}{
		{"one of each", runSummary{Rows: 1, Sent: 1, Requests: 1, Throttled: 1, Pauses: 1, Retries: 1, Report: "r.csv"},
			[]string{"bulksend: 1 row in", "  1 request, ", "throttled once in 1 pause ", "; 1 retry\n"}},
		{"several", runSummary{Rows: 3, Requests: 4, Throttled: 2, Pauses: 2, Retries: 3, Unfinished: 2, Report: "r.csv"},
			[]string{"bulksend: 3 rows in", "  4 requests, ", "throttled twice in 2 pauses ", "; 3 retries\n", "2 rows were left in flight"}},
		{"none", runSummary{Report: "r.csv", Unfinished: 1},
			[]string{"bulksend: 0 rows in", "  0 requests, ", "throttled 0 times in 0 pauses ", "; 0 retries\n", "1 row was left in flight"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			printSummary(&b, &tt.s)
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("summary lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
}
