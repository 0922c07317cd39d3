package cmd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDryRunInterrupted: a Ctrl-C ends a dry run at once, pre-pass
// included, with exit 130; it used to be ignored until the end. The signal
// is waiting before the run starts, and the input is long enough (100k
// rows) that the run cannot finish before the watcher sees it.
func TestDryRunInterrupted(t *testing.T) {
	ios, _, _, errOut := TestStreams()
	path := filepath.Join(t.TempDir(), "rows.csv")
	var b strings.Builder
	b.WriteString("id,to\n")
	for i := range 100_000 {
		fmt.Fprintf(&b, "r%d,+1555%07d\n", i, i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	sig := make(chan os.Signal, 1)
	sig <- syscall.SIGINT
	opts := &SendOptions{IO: ios, Input: path, Preset: "generic", URL: "http://127.0.0.1:1/send",
		Body: `{"to":{{json .to}}}`, Method: "POST", Concurrency: 1, IdempotencyHeader: "Idempotency-Key",
		DryRun: true, Quiet: true, Signal: sig, Timeout: time.Second, MaxWait: time.Minute, ProgressInterval: time.Second}
	p, err := newPlan(opts)
	if err != nil {
		t.Fatal(err)
	}
	err = dryRun(context.Background(), p)
	if code := exitCode(err); code != ExitInterrupted || !strings.Contains(errOut.String(), "interrupted") {
		t.Fatalf("exit %d (%v), stderr %q; want 130, interrupted", code, err, errOut)
	}
}

// TestResumeInterruptedWhileLoading: a Ctrl-C while --resume reads a long
// report ends the run before anything is sent, with exit 130, and leaves
// the report as it was.
func TestResumeInterruptedWhileLoading(t *testing.T) {
	dir := t.TempDir()
	input, rep := filepath.Join(dir, "rows.csv"), filepath.Join(dir, "rows.report.csv")
	var in, journal strings.Builder
	in.WriteString("id,to\n")
	journal.WriteString("line,id,status,http_status,attempts,throttled,error,message_id,latency_ms,sent_at,response\n")
	for i := range 20_000 {
		fmt.Fprintf(&in, "r%d,+1555%07d\n", i, i)
		fmt.Fprintf(&journal, "%d,r%d,failed,500,1,0,boom,,1,,\n", i+2, i)
	}
	if err := os.WriteFile(input, []byte(in.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rep, []byte(journal.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	ios, _, _, errOut := TestStreams()
	sig := make(chan os.Signal, 1)
	sig <- syscall.SIGINT
	opts := &SendOptions{IO: ios, Input: input, Report: rep, Resume: true, RetryFailed: true,
		Preset: "generic", URL: "http://127.0.0.1:1/send", Body: `{"to":{{json .to}}}`, Method: "POST",
		Concurrency: 1, IdempotencyHeader: "Idempotency-Key", Rate: "0", Quiet: true, Signal: sig,
		Timeout: time.Second, MaxWait: time.Minute, ProgressInterval: time.Second}
	p, err := newPlan(opts)
	if err != nil {
		t.Fatal(err)
	}
	err = p.send(context.Background())
	if code := exitCode(err); code != ExitInterrupted || !strings.Contains(errOut.String(), "before sending anything") {
		t.Fatalf("exit %d (%v), stderr %q; want 130, interrupted before sending anything", code, err, errOut)
	}
	if b, _ := os.ReadFile(rep); string(b) != journal.String() {
		t.Error("the report changed")
	}
}
