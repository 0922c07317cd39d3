package cmd

import (
	"strings"
	"testing"
	"time"
)

func TestProgressFrame(t *testing.T) {
	at := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		f    frame
		want string
	}{
		{"first frame has no rate", frame{total: 250, elapsed: 200 * time.Millisecond},
			"2026-12-03T14:00:00Z progress: 0/250 rows done · sent 0 · failed 0 · throttled 0 · retries 0 · in flight 0 · elapsed 0s"},
		{"rate and time left", frame{done: 40, sent: 38, failed: 2, retries: 3, inFlight: 8, total: 250, elapsed: 10 * time.Second},
			"2026-12-03T14:00:00Z progress: 40/250 rows done · sent 38 · failed 2 · throttled 0 · retries 3 · in flight 8 · elapsed 10s · 4.0 rows/s · ETA 53s"},
		{"paused, and why", frame{done: 15, sent: 15, throttled: 1, total: -1, elapsed: 2 * time.Second,
			pausedFor: 700 * time.Millisecond, pauseReason: "HTTP 429, Retry-After: 1"},
			"2026-12-03T14:00:00Z progress: 15 rows done · sent 15 · failed 0 · throttled 1 · retries 0 · in flight 0 · paused 0.7s (HTTP 429, Retry-After: 1) · elapsed 2s · 7.5 rows/s"},
		{"rows waiting for a lookup: waiting, not hung", frame{done: 553, sent: 553, settling: 47, total: 600, elapsed: 34 * time.Second},
			"2026-12-03T14:00:00Z progress: 553/600 rows done · sent 553 · failed 0 · throttled 0 · retries 0 · in flight 0 · awaiting lookup 47 · elapsed 34s · 16.3 rows/s · ETA 3s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := progressLine(at, tt.f); got != tt.want {
				t.Errorf("progressLine =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestStartLine(t *testing.T) {
	ios, _, _, _ := TestStreams()
	opts := &SendOptions{IO: ios, Input: "rows.csv", Preset: "generic", URL: "https://alice:pw-12345@api.example.com/send",
		Method: "POST", Concurrency: 8, IdempotencyHeader: "Idempotency-Key",
		Timeout: time.Second, MaxWait: time.Minute, ProgressInterval: time.Second,
		Headers: []string{"Authorization: Bearer literal-s3cret", "X-Trace: 1"},
		Flags: []string{"--url=https://alice:pw-12345@api.example.com/send", "--header=Authorization: Bearer literal-s3cret",
			"--header=X-Trace: 1", "--rate=5/s"}}
	p, err := newPlan(opts)
	if err != nil {
		t.Fatal(err)
	}
	got := p.startLine(time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC))
	for _, want := range []string{"2026-12-03T02:00:00Z bulksend ", " start: input rows.csv, report rows.csv.report.csv, flags: ",
		`"--url=https://alice:***@api.example.com/send" "--header=Authorization: ***" "--header=X-Trace: 1" "--rate=5/s"`} {
		if !strings.Contains(got, want) {
			t.Errorf("start line %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "s3cret") || strings.Contains(got, "pw-12345") {
		t.Errorf("start line shows a secret: %s", got)
	}
}
