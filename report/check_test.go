package report

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulksend/bulksend/sender"
)

// TestCheck: what a resumed run counts as an input that differs from the
// report, in both formats.
func TestCheck(t *testing.T) {
	fp := func(c byte) string { return strings.Repeat(string(c), sender.FingerprintLen) }
	type in struct {
		line    int
		id, fp  string
		invalid bool
	}
	base := []in{{2, "a", fp('a'), false}, {3, "b", fp('b'), false}, {4, "c", fp('c'), false},
		{5, "d", fp('d'), false}, {6, "e", fp('e'), false}, {7, "f", fp('f'), false}, {8, "g", fp('8'), false}}
	with := func(i int, r in) []in {
		out := append([]in(nil), base...)
		out[i] = r
		return out
	}
	tests := []struct {
		name       string
		input      []in
		wantLine   int
		wantReason string
		wantID     string
	}{
		{name: "the same input", input: base},
		{name: "rows appended", input: append(append([]in(nil), base...), in{9, "h", fp('9'), false}, in{10, "i", fp('1'), false})},
		{name: "another id", input: with(1, in{3, "x", fp('b'), false}), wantLine: 3, wantReason: IDDiffers, wantID: "x"},
		{name: "another request", input: with(1, in{3, "b", fp('0'), false}), wantLine: 3, wantReason: RequestDiffers, wantID: "b"},
		{name: "a failed row fixed", input: with(2, in{4, "c", fp('0'), false})},
		{name: "a sent row now invalid", input: with(0, in{2, "a", fp('0'), true}), wantLine: 2, wantReason: RequestDiffers, wantID: "a"},
		{name: "an invalid row fixed", input: with(3, in{5, "dd", fp('0'), false})},
		{name: "a pending row changed", input: with(4, in{6, "e", fp('0'), false})},
		{name: "a row without a fingerprint is compared by id only", input: with(5, in{7, "f", fp('0'), false})},
		{name: "a row without a fingerprint, another id", input: with(5, in{7, "y", fp('f'), false}), wantLine: 7, wantReason: IDDiffers, wantID: "y"},
		{name: "a row removed in the middle", input: append(append([]in(nil), base[:2]...), base[3:]...), wantLine: 4, wantReason: RowRemoved, wantID: "c"},
		{name: "rows removed at the end", input: base[:5], wantLine: 7, wantReason: RowRemoved, wantID: "f"},
		{name: "an empty input", input: nil, wantLine: 2, wantReason: RowRemoved, wantID: "a"},
	}
	for _, file := range []string{"r.csv", "r.jsonl"} {
		path := filepath.Join(t.TempDir(), file)
		w, err := Create(path, Options{CommitDelay: -1})
		if err != nil {
			t.Fatal(err)
		}
		// d was invalid, e pending, f written before fingerprints; g's
		// request was in flight, then sent.
		for _, r := range []sender.Result{
			{Line: 2, ID: "a", Status: sender.StatusSent, Fingerprint: fp('a')},
			{Line: 3, ID: "b", Status: sender.StatusUnknown, Fingerprint: fp('b')},
			{Line: 4, ID: "c", Status: sender.StatusFailed, Fingerprint: fp('c')},
			{Line: 5, ID: "", Status: sender.StatusInvalid, Fingerprint: fp('d')},
			{Line: 6, ID: "e", Status: sender.StatusPending, Fingerprint: fp('e')},
			{Line: 7, ID: "f", Status: sender.StatusSent},
		} {
			if err := w.Record(&r); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Begin(&sender.Message{Line: 8, ID: "g", Fingerprint: fp('8')}); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		for _, tt := range tests {
			t.Run(file+"/"+tt.name, func(t *testing.T) {
				s, err := Load(path)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				if s.Unchecked() != 1 {
					t.Errorf("Unchecked = %d, want 1 (line 7)", s.Unchecked())
				}
				c, err := s.Check()
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range tt.input {
					if err = c.Row(r.line, r.id, r.fp, !r.invalid); err != nil {
						break
					}
				}
				if err == nil {
					err = c.End()
				}
				var mm *Mismatch
				switch {
				case tt.wantLine == 0 && err != nil:
					t.Fatalf("check: %v, want no difference", err)
				case tt.wantLine == 0:
				case !errors.As(err, &mm):
					t.Fatalf("check: %v, want a Mismatch on line %d", err, tt.wantLine)
				case mm.Line != tt.wantLine || mm.Reason != tt.wantReason || mm.ID != tt.wantID || mm.Report != path:
					t.Errorf("mismatch %+v, want line %d, %s, id %q", *mm, tt.wantLine, tt.wantReason, tt.wantID)
				}
				// The run's queries still start from the first line.
				if st, ok := s.Status(2); !ok || st != sender.StatusSent || s.Compare(2, "", fp('a'), false) != nil || s.Compare(2, "", fp('0'), false) == nil {
					t.Errorf("after the check: Status(2) = %q, %v; Compare wrong", st, ok)
				}
				if k := s.Key(3); k != sender.KeyOf(fp('b')) {
					t.Errorf("Key(3) = %q, want the key of its fingerprint", k)
				}
			})
		}
	}
}

// TestCheckOrder: lines asked out of order are an error, not a match.
func TestCheckOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.csv")
	w, err := Create(path, Options{CommitDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Record(&sender.Result{Line: 2, ID: "a", Status: sender.StatusSent}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.Check()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Row(3, "x", "", true); err == nil {
		t.Fatal("line 3 before line 2: no error")
	}
	if err := c.Row(3, "x", "", true); !errors.Is(err, errCheckOrder) {
		t.Errorf("line 3 again: %v, want errCheckOrder", err)
	}
}
