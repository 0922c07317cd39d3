package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestDryRunDuplicates: a file (pre-pass, exact ids for repeats only) and
// the same rows on stdin (every id in memory) find the same duplicates.
func TestDryRunDuplicates(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		idField string
		rows    string
		want    int
	}{
		{name: "csv repeats", file: "rows.csv", want: 2,
			rows: "id,to\na,+1\nb,+2\na,+3\nc,+4\na,+5\n"},
		{name: "csv without id column", file: "rows.csv", want: 0,
			rows: "to,text\n+1,x\n+1,x\n"},
		{name: "invalid rows claim no id", file: "rows.csv", want: 1,
			rows: "id,to\na\na,+1\na,+2\n"},
		{name: "a line number taken as an explicit id", file: "rows.jsonl", want: 1,
			rows: `{"to":"+1"}` + "\n" + `{"id":"1","to":"+2"}` + "\n"},
		{name: "named id field", file: "rows.csv", idField: "to", want: 1,
			rows: "id,to\na,+1\nb,+2\nc,+1\n"},
	}
	for _, tt := range tests {
		for _, input := range []string{"file", "stdin"} {
			t.Run(tt.name+"/"+input, func(t *testing.T) {
				ios, in, out, _ := TestStreams()
				path := filepath.Join(t.TempDir(), tt.file)
				if err := os.WriteFile(path, []byte(tt.rows), 0o600); err != nil {
					t.Fatal(err)
				}
				opts := &SendOptions{IO: ios, Input: path, Preset: "generic", URL: "http://127.0.0.1:1/send",
					Body: `{"to":{{json .to}}}`, Method: "POST", Concurrency: 1, IdempotencyHeader: "Idempotency-Key",
					IDField: tt.idField, DryRun: true, JSON: true, Quiet: true}
				if input == "stdin" {
					opts.Input = "-"
					in.WriteString(tt.rows)
				}
				p, err := newPlan(opts)
				if err != nil {
					t.Fatal(err)
				}
				_ = dryRun(context.Background(), p) // exit 3 when rows are invalid
				var s dryRunSummary
				if err := json.NewDecoder(strings.NewReader(out.String())).Decode(&s); err != nil {
					t.Fatalf("summary %q: %v", out, err)
				}
				if s.Duplicate != tt.want {
					t.Errorf("%d duplicates, want %d (summary %+v)", s.Duplicate, tt.want, s)
				}
			})
		}
	}
}

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
		DryRun: true, Quiet: true, Signal: sig}
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
		Concurrency: 1, IdempotencyHeader: "Idempotency-Key", Rate: "0", Quiet: true, Signal: sig}
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
