package campaign

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/bulksend/bulksend/report"
	"github.com/bulksend/bulksend/sender"
)

// TestResumeFilterInFlight: a row in flight when a run died is resent only
// when the server can tell the resend is a replay: the key it left with
// equals the key it would get now. Otherwise it is unknown, never sent twice.
func TestResumeFilterInFlight(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.csv")
	w, err := report.Create(path, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	begin := func(line int, id, key string) {
		t.Helper()
		if err := w.Begin(&sender.Message{Line: line, ID: id, IdempotencyKey: key}); err != nil {
			t.Fatal(err)
		}
	}
	begin(2, "a", "k-a")  // keyed run, same key now
	begin(3, "b", "")     // a --no-idempotency run
	begin(4, "c", "k-c0") // the body changed since: a different key now
	if err := w.Record(&sender.Result{Line: 5, ID: "d", Status: sender.StatusSent}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		m           sender.Message
		keyed       bool
		retryFailed bool
		wantEarlier sender.Status
		wantSkip    sender.Status
	}{
		{"same key: resent", sender.Message{Line: 2, ID: "a", IdempotencyKey: "k-a"}, true, false, "", ""},
		{"left without a key: unknown", sender.Message{Line: 3, ID: "b", IdempotencyKey: "k-b"}, true, false, "", sender.StatusUnknown},
		{"key changed: unknown", sender.Message{Line: 4, ID: "c", IdempotencyKey: "k-c1"}, true, false, "", sender.StatusUnknown},
		{"this run sends no key: unknown", sender.Message{Line: 2, ID: "a", IdempotencyKey: "k-a"}, false, false, "", sender.StatusUnknown},
		{"--retry-failed resends anyway", sender.Message{Line: 3, ID: "b"}, true, true, "", ""},
		{"sent earlier: settled", sender.Message{Line: 5, ID: "d"}, true, false, sender.StatusSent, ""},
		{"not in the report: sent", sender.Message{Line: 6, ID: "e"}, true, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A State is read once, in line order: one per case.
			state, err := report.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			defer state.Close()
			f := &resumeFilter{state: state, keyed: tt.keyed, retryFailed: tt.retryFailed}
			m := tt.m
			earlier, skip := f.filter(&m)
			if skip || earlier != tt.wantEarlier || m.Skip != tt.wantSkip {
				t.Errorf("filter = %q, skip %v, Skip %q; want %q, false, %q", earlier, skip, m.Skip, tt.wantEarlier, tt.wantSkip)
			}
		})
	}
}

// TestResumeFilterOutOfOrder: should rows ever reach the filter out of line
// order, the state cannot answer; the row is held back and the run stops
// with the reason rather than resend on a wrong "not in the report".
func TestResumeFilterOutOfOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.csv")
	w, err := report.Create(path, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for line := 2; line <= 3; line++ {
		if err := w.Record(&sender.Result{Line: line, ID: "x", Status: sender.StatusSent}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	state, err := report.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	defer state.Close()
	f := &resumeFilter{state: state, keyed: true}
	if earlier, skip := f.filter(&sender.Message{Line: 3, ID: "x"}); earlier != sender.StatusSent || skip {
		t.Fatalf("line 3: filter = %q, %v; want sent, false", earlier, skip)
	}
	if _, skip := f.filter(&sender.Message{Line: 2, ID: "x"}); !skip {
		t.Error("line 2 after line 3 was not held back")
	}
	src := f.wrap(sourceFunc(func(context.Context) (*sender.Message, error) { return nil, io.EOF }))
	if _, err := src.Next(context.Background()); !errors.Is(err, report.ErrOutOfOrder) || errors.Is(err, ErrInputChanged) {
		t.Errorf("source after the error = %v; want report.ErrOutOfOrder, not ErrInputChanged", err)
	}
}
