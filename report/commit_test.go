package report

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulksend/bulksend/sender"
)

// callWriter records each write call, so a test can see which rows shared one.
type callWriter struct {
	mu    sync.Mutex
	calls []string
}

func (c *callWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, string(p))
	return len(p), nil
}

func (c *callWriter) snapshot() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

func sentResult(line int) *sender.Result {
	return &sender.Result{Line: line, ID: "id", Status: sender.StatusSent, HTTPStatus: 200, Attempts: 1}
}

// TestGroupCommit: a result row waits for the next in-flight row and shares
// its write call; an in-flight row never waits; Close writes what is left.
func TestGroupCommit(t *testing.T) {
	var out callWriter
	w := NewWriter(&out, Options{Now: fixedNow, CommitDelay: time.Hour})
	if err := w.Begin(&sender.Message{Line: 1, ID: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Record(sentResult(1)); err != nil {
		t.Fatal(err)
	}
	if err := w.Record(sentResult(2)); err != nil {
		t.Fatal(err)
	}
	if got := len(out.snapshot()); got != 2 { // the header, then line 1 in flight
		t.Fatalf("results were written before anything carried them: %d write calls, want 2", got)
	}
	if err := w.Begin(&sender.Message{Line: 3, ID: "c"}); err != nil {
		t.Fatal(err)
	}
	calls := out.snapshot()
	if len(calls) != 3 {
		t.Fatalf("%d write calls, want 3", len(calls))
	}
	if last := calls[2]; strings.Count(last, "\n") != 3 || !strings.HasPrefix(last, "1,id,sent,") ||
		!strings.HasPrefix(strings.SplitN(last, "\n", 3)[2], "3,c,inflight,") {
		t.Fatalf("the in-flight row did not carry both results, in order:\n%s", last)
	}
	if err := w.Record(sentResult(3)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if calls := out.snapshot(); len(calls) != 4 || !strings.HasPrefix(calls[3], "3,id,sent,") {
		t.Fatalf("Close did not write the last result: %q", calls)
	}
}

// TestGroupCommitTimer: with nothing to carry it, a result is written by the
// timer, on its own.
func TestGroupCommitTimer(t *testing.T) {
	var out callWriter
	w := NewWriter(&out, Options{Now: fixedNow, CommitDelay: time.Millisecond})
	defer w.Close()
	if err := w.Record(sentResult(7)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(out.snapshot()) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the timer never wrote the result")
		}
		time.Sleep(time.Millisecond)
	}
	if calls := out.snapshot(); !strings.HasPrefix(calls[1], "7,id,sent,") {
		t.Fatalf("second write = %q, want the result", calls[1])
	}
}

// TestNoCommitDelay: a negative delay writes every row before its call returns.
func TestNoCommitDelay(t *testing.T) {
	var out callWriter
	w := NewWriter(&out, Options{Now: fixedNow, CommitDelay: -1})
	if err := w.Record(sentResult(1)); err != nil {
		t.Fatal(err)
	}
	if got := len(out.snapshot()); got != 2 {
		t.Fatalf("%d write calls after one Record, want 2 (header and row)", got)
	}
	w.Close()
}

// TestWriterCompact: the one-pass compaction of a fresh journal gives the
// same file, byte for byte, as Compact, in both formats and with fields that
// need quoting; an appended-to journal goes through Compact.
func TestWriterCompact(t *testing.T) {
	awkward := "a,\"b\"\nc"
	for _, file := range []string{"out.csv", "out.jsonl"} {
		t.Run(file, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, file)
			w, err := Create(path, Options{Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			steps := []func() error{
				func() error { return w.Begin(&sender.Message{Line: 1, ID: awkward, IdempotencyKey: "k1"}) },
				func() error { return w.Begin(&sender.Message{Line: 2, ID: "waiting"}) },
				func() error {
					return w.Record(&sender.Result{Line: 3, ID: "x", Status: sender.StatusInvalid, Error: awkward})
				},
				func() error {
					return w.Record(&sender.Result{Line: 1, ID: awkward, Status: sender.StatusSent, Response: "ok"})
				},
				func() error { return w.Begin(&sender.Message{Line: 4, ID: "done"}) },
				func() error { return w.Record(&sender.Result{Line: 4, ID: "done", Status: sender.StatusFailed}) },
			}
			for _, step := range steps {
				if err := step(); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			slow := filepath.Join(dir, "slow-"+file)
			copyFile(t, path, slow)
			if err := w.Compact(); err != nil {
				t.Fatal(err)
			}
			if err := Compact(slow, FormatFromName(file)); err != nil {
				t.Fatal(err)
			}
			got, want := fileText(t, path), fileText(t, slow)
			if got != want {
				t.Fatalf("one-pass compaction:\n%s\nCompact:\n%s", got, want)
			}
			if n := strings.Count(got, "inflight"); n != 1 || !strings.Contains(got, "waiting") {
				t.Fatalf("want exactly line 2's in-flight row kept:\n%s", got)
			}
		})
	}
}

// TestWriterCompactNotFresh: a Writer that appended to an existing journal
// compacts through Compact, so the earlier run's rows are merged too.
func TestWriterCompactNotFresh(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.csv")
	w, err := Create(path, Options{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	w.Record(&sender.Result{Line: 1, ID: "a", Status: sender.StatusFailed})
	w.Close()
	w, err = Append(path, Options{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	w.Begin(&sender.Message{Line: 1, ID: "a"})
	w.Record(&sender.Result{Line: 1, ID: "a", Status: sender.StatusSent})
	if err := w.Compact(); err == nil {
		t.Fatal("Compact of an open writer succeeded")
	}
	w.Close()
	if err := w.Compact(); err != nil {
		t.Fatal(err)
	}
	got := fileText(t, path)
	if strings.Count(got, "\n") != 1 || !strings.Contains(got, "1,a,sent,") {
		t.Fatalf("want the header and line 1 sent:\n%s", got)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func fileText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSpace(b))
}

// FuzzWriterCompact: for any journal a Writer writes from scratch (each line
// begun at most once and settled at most once, as the engine does), the
// one-pass compaction keeps exactly the rows Compact's rule keeps.
func FuzzWriterCompact(f *testing.F) {
	f.Add([]byte{1, 9, 2, 17, 3}, "a,\"b\"\nc", "resp\r\nx")
	f.Add([]byte("1212"), "0", "\r\r\n")
	f.Add([]byte{}, "", "")
	f.Add([]byte{0, 8, 16, 24, 32, 40}, " lead", "\\.")
	f.Fuzz(func(t *testing.T, ops []byte, id, text string) {
		for _, file := range []string{"out.csv", "out.jsonl"} {
			dir := t.TempDir()
			path := filepath.Join(dir, file)
			w, err := Create(path, Options{Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			begun, settled := map[int]bool{}, map[int]bool{}
			for _, op := range ops {
				line := int(op%8) + 1
				switch {
				case op/8%2 == 0 && !begun[line] && !settled[line]:
					begun[line] = true
					err = w.Begin(&sender.Message{Line: line, ID: id, IdempotencyKey: text})
				case !settled[line]:
					settled[line] = true
					err = w.Record(&sender.Result{Line: line, ID: id, Status: sender.StatusFailed, Error: text, Response: text})
				}
				if err != nil {
					t.Skip(err) // a row Writer refuses (say, invalid UTF-8) is not this test's business
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			// The model: the journal's rows as Read gives them back, each
			// line's last final row, else its in-flight row, in journal
			// order. (Compact itself is no model for fields holding "\r":
			// encoding/csv reads a quoted "\r\n" as "\n", so decoding and
			// encoding again is not the identity the byte copy is.)
			var want []Row
			final := map[int]bool{}
			all := fileRows(t, path)
			for _, r := range all {
				if r.Status != sender.StatusInFlight {
					final[r.Line] = true
				}
			}
			for _, r := range all {
				if r.Status != sender.StatusInFlight || !final[r.Line] {
					want = append(want, r)
				}
			}
			if err := w.Compact(); err != nil {
				t.Fatal(err)
			}
			if got := fileRows(t, path); !reflect.DeepEqual(got, want) {
				t.Fatalf("%s one-pass:\n%+v\nwant:\n%+v", file, got, want)
			}
		}
	})
}

func fileRows(t *testing.T, path string) []Row {
	t.Helper()
	var rows []Row
	err := readFile(path, FormatFromName(path), func(r Row) error {
		rows = append(rows, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestWriterCompactLongRecord: a quoted field longer than the read buffer
// (an id, an error text) keeps the one-pass compaction's quote count right,
// so no row is merged into its neighbour and lost.
func TestWriterCompactLongRecord(t *testing.T) {
	long := strings.Repeat("x,", readBufferSize) // needs quoting, spans two buffers
	path := filepath.Join(t.TempDir(), "out.csv")
	w, err := Create(path, Options{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	steps := []func() error{
		func() error { return w.Begin(&sender.Message{Line: 2, ID: long}) },
		func() error { return w.Begin(&sender.Message{Line: 3, ID: "b"}) },
		func() error { return w.Record(&sender.Result{Line: 3, ID: "b", Status: sender.StatusSent}) },
		func() error { return w.Record(&sender.Result{Line: 2, ID: long, Status: sender.StatusSent}) },
		func() error { return w.Begin(&sender.Message{Line: 4, ID: "c"}) },
		func() error { return w.Record(&sender.Result{Line: 4, ID: "c", Status: sender.StatusSent}) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Compact(); err != nil {
		t.Fatal(err)
	}
	rows := fileRows(t, path)
	if len(rows) != 3 {
		t.Fatalf("%d rows after compaction, want lines 2, 3 and 4", len(rows))
	}
	for _, r := range rows {
		if r.Status != sender.StatusSent {
			t.Errorf("line %d = %s, want sent", r.Line, r.Status)
		}
	}
}
