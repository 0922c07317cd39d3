package campaign

import (
	"cmp"
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/bulksend/bulksend/report"
	"github.com/bulksend/bulksend/sender"
)

// TestResumeFilter: what --resume does with each row of an earlier report.
// A row that may have arrived (in flight when a run died, or unknown) is
// resent only when the server can tell the resend is a replay (it
// deduplicates, and the key is the same) or with --resend-unknown; a failed
// row, proven not taken, with --retry-failed, which never resends the former.
func TestResumeFilter(t *testing.T) {
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
	record := func(line int, id string, st sender.Status, fp ...string) {
		t.Helper()
		r := &sender.Result{Line: line, ID: id, Status: st}
		if len(fp) > 0 {
			r.Fingerprint = fp[0]
		}
		if err := w.Record(r); err != nil {
			t.Fatal(err)
		}
	}
	begin(2, "a", "k-a")  // keyed run, same key now
	begin(3, "b", "")     // a --no-idempotency run
	begin(4, "c", "k-c0") // the body changed since: a different key now
	record(5, "d", sender.StatusSent)
	record(6, "f", sender.StatusFailed)
	record(7, "u", sender.StatusUnknown)
	record(8, "p", sender.StatusPending)
	const fp = "0123456789abcdef0123456789abcdef"
	record(10, "v", sender.StatusUnknown, fp)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	type flags struct{ keyed, retryFailed, resendUnknown bool }
	keyed := flags{keyed: true}
	tests := []struct {
		name        string
		m           sender.Message
		flags       flags
		wantEarlier sender.Status
		wantSkip    sender.Status
		wantKey     string // the key a resent row goes with; "" means as given
		// wantMaybe: resent although it may have arrived, so it must end
		// sent or unknown whatever the resend meets.
		wantMaybe bool
	}{
		{"in flight, same key, server deduplicates: resent", sender.Message{Line: 2, ID: "a", IdempotencyKey: "k-a"}, keyed, "", "", "", true},
		{"in flight without a key: unknown", sender.Message{Line: 3, ID: "b", IdempotencyKey: "k-b"}, keyed, "", sender.StatusUnknown, "", false},
		{"in flight, key changed: resent with the key it went with", sender.Message{Line: 4, ID: "c", IdempotencyKey: "k-c1"}, keyed, "", "", "k-c0", true},
		{"in flight, server not known to deduplicate: unknown", sender.Message{Line: 2, ID: "a", IdempotencyKey: "k-a"}, flags{}, "", sender.StatusUnknown, "", false},
		{"in flight, --retry-failed: still unknown", sender.Message{Line: 3, ID: "b"}, flags{retryFailed: true}, "", sender.StatusUnknown, "", false},
		{"in flight, --resend-unknown: resent", sender.Message{Line: 3, ID: "b"}, flags{resendUnknown: true}, "", "", "", true},
		{"sent earlier: settled", sender.Message{Line: 5, ID: "d"}, keyed, sender.StatusSent, "", "", false},
		{"failed: stays failed", sender.Message{Line: 6, ID: "f"}, flags{}, sender.StatusFailed, "", "", false},
		{"failed, --retry-failed: resent", sender.Message{Line: 6, ID: "f"}, flags{retryFailed: true}, "", "", "", false},
		{"unknown: stays unknown", sender.Message{Line: 7, ID: "u"}, flags{}, sender.StatusUnknown, "", "", false},
		{"unknown, --retry-failed: stays unknown", sender.Message{Line: 7, ID: "u"}, flags{retryFailed: true}, sender.StatusUnknown, "", "", false},
		{"unknown without a fingerprint, server deduplicates: resent with the key of its id and body", sender.Message{Line: 7, ID: "u", IdempotencyKey: "k-u", Body: []byte("b")},
			keyed, "", "", sender.IdempotencyKey("u", []byte("b")), true},
		{"unknown, server deduplicates: resent with the key of its recorded fingerprint", sender.Message{Line: 10, ID: "v", IdempotencyKey: "k-v", Fingerprint: fp},
			keyed, "", "", sender.KeyOf(fp), true},
		{"unknown, --resend-unknown: resent", sender.Message{Line: 7, ID: "u"}, flags{resendUnknown: true}, "", "", "", true},
		{"pending: sent", sender.Message{Line: 8, ID: "p"}, flags{}, "", "", "", false},
		{"not in the report: sent", sender.Message{Line: 9, ID: "e"}, keyed, "", "", "", false},
		// A row the input cannot send now (an empty id an older bulksend
		// made the line number, say) is never recorded invalid over a row
		// whose message may have arrived.
		{"invalid, sent earlier: stays sent", sender.Message{Line: 5, Invalid: errEmptyID}, flags{}, sender.StatusSent, "", "", false},
		{"invalid, unknown: stays unknown", sender.Message{Line: 7, Invalid: errEmptyID}, flags{resendUnknown: true}, sender.StatusUnknown, "", "", false},
		{"invalid, in flight: unknown", sender.Message{Line: 3, Invalid: errEmptyID}, flags{resendUnknown: true}, "", sender.StatusUnknown, "", false},
		{"invalid, failed: invalid", sender.Message{Line: 6, Invalid: errEmptyID}, flags{}, "", "", "", false},
		{"invalid, pending: invalid", sender.Message{Line: 8, Invalid: errEmptyID}, flags{}, "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A State is read once, in line order: one per case.
			state, err := report.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			defer state.Close()
			f := &resumeFilter{state: state, keyed: tt.flags.keyed, retryFailed: tt.flags.retryFailed,
				resendUnknown: tt.flags.resendUnknown}
			m := tt.m
			earlier, skip := f.filter(&m)
			if skip || earlier != tt.wantEarlier || m.Skip != tt.wantSkip {
				t.Errorf("filter = %q, skip %v, Skip %q; want %q, false, %q", earlier, skip, m.Skip, tt.wantEarlier, tt.wantSkip)
			}
			if m.MayHaveArrived != tt.wantMaybe {
				t.Errorf("MayHaveArrived = %v, want %v", m.MayHaveArrived, tt.wantMaybe)
			}
			if want := cmp.Or(tt.wantKey, tt.m.IdempotencyKey); m.IdempotencyKey != want {
				t.Errorf("key %q, want %q", m.IdempotencyKey, want)
			}
		})
	}
}

// TestResumeFilterComparesAsCheck: input read once (a pipe) is compared
// row by row by the rule the pre-pass over a file uses (report.Check):
// an invalid row is compared by its fingerprint too, so a row that may
// have arrived is never kept or changed under an input that differs.
func TestResumeFilterComparesAsCheck(t *testing.T) {
	const fpA, fpB = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
	path := filepath.Join(t.TempDir(), "r.csv")
	w, err := report.Create(path, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Record(&sender.Result{Line: 2, ID: "a", Status: sender.StatusSent, Fingerprint: fpA}); err != nil {
		t.Fatal(err)
	}
	if err := w.Record(&sender.Result{Line: 3, ID: "b", Status: sender.StatusFailed, Fingerprint: fpA}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		m          sender.Message
		wantReason string // "" for no difference
	}{
		{"same row", sender.Message{Line: 2, ID: "a", Fingerprint: fpA}, ""},
		{"another id", sender.Message{Line: 2, ID: "x", Fingerprint: fpA}, report.IDDiffers},
		{"another request", sender.Message{Line: 2, ID: "a", Fingerprint: fpB}, report.RequestDiffers},
		{"invalid now, same fingerprint", sender.Message{Line: 2, Fingerprint: fpA, Invalid: errEmptyID}, ""},
		{"invalid now, another fingerprint", sender.Message{Line: 2, Fingerprint: fpB, Invalid: errEmptyID}, report.RequestDiffers},
		{"failed rows may change", sender.Message{Line: 3, ID: "b", Fingerprint: fpB}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, err := report.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			defer state.Close()
			f := &resumeFilter{state: state, input: "stdin"}
			m := tt.m
			_, skip := f.filter(&m)
			var mm *report.Mismatch
			switch {
			case tt.wantReason == "" && (skip || f.mismatch != nil):
				t.Errorf("skip %v, mismatch %v; want the row taken", skip, f.mismatch)
			case tt.wantReason == "":
			case !skip || !errors.As(f.mismatch, &mm) || !errors.Is(f.mismatch, ErrInputChanged):
				t.Errorf("skip %v, mismatch %v; want a %s mismatch", skip, f.mismatch, tt.wantReason)
			case mm.Reason != tt.wantReason || mm.Line != tt.m.Line:
				t.Errorf("mismatch %+v, want line %d, %s", *mm, tt.m.Line, tt.wantReason)
			}
		})
	}
}

var errEmptyID = errors.New("empty id")

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
