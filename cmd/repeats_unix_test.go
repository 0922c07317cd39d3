//go:build unix

package cmd

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestFindRepeatsPipe: a named pipe is read once, by the run, so it gets no
// pre-pass (which would eat its rows) and keeps the in-memory index.
func TestFindRepeatsPipe(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "rows.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no named pipes here:", err)
	}
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err == nil {
			f.WriteString("id,to\na,+1\na,+2\nb,+3\n")
			f.Close()
		}
	}()
	ios, _, out, _ := TestStreams()
	opts := &SendOptions{IO: ios, Input: fifo, Preset: "generic", URL: "http://127.0.0.1:1/send",
		Body: `{"to":{{json .to}}}`, Method: "POST", Concurrency: 1, IdempotencyHeader: "Idempotency-Key",
		DryRun: true, JSON: true, Quiet: true}
	p, err := newPlan(opts)
	if err != nil {
		t.Fatal(err)
	}
	_ = dryRun(context.Background(), p)
	var s dryRunSummary
	if err := json.NewDecoder(strings.NewReader(out.String())).Decode(&s); err != nil {
		t.Fatalf("summary %q: %v", out, err)
	}
	if s.Rows != 3 || s.Duplicate != 1 {
		t.Fatalf("rows %d, duplicates %d; want 3 rows, 1 duplicate (summary %+v)", s.Rows, s.Duplicate, s)
	}
}
