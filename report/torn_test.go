package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bulksend/bulksend/sender"
)

// tornBatch returns a closed journal of five settled lines and the bytes of
// the next group-commit batch (lines 6 to 9, in flight then sent).
func tornBatch(t *testing.T, format Format) (path string, good []byte, batch []byte) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "out."+string(format))
	w, err := Create(path, Options{CommitDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	for line := 1; line <= 5; line++ {
		if err := w.Begin(&sender.Message{Line: line, ID: fmt.Sprintf("r%05d", line)}); err != nil {
			t.Fatal(err)
		}
		if err := w.Record(sentResult(line)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if good, err = os.ReadFile(path); err != nil {
		t.Fatal(err)
	}
	enc := newEncoder(format)
	for line := 6; line <= 9; line++ {
		in := Row{Line: line, ID: fmt.Sprintf("r%05d", line), Status: sender.StatusInFlight,
			SentAt: "2026-12-03T15:00:00.000Z", Response: keyPrefix + "0123456789abcdef"}
		sent := FromResult(sentResult(line))
		for _, r := range []*Row{&in, &sent} {
			if err := enc.encode(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	return path, good, bytes.Clone(enc.buf.Bytes())
}

// readRows is every row Read accepts from data.
func readRows(data []byte, name string, format Format) ([]Row, error) {
	var rows []Row
	err := Read(bytes.NewReader(data), name, format, func(r Row) error {
		rows = append(rows, r)
		return nil
	})
	return rows, err
}

// TestTornMappedWrite: a run killed while copying a batch of rows into the
// mapped report can leave a hole of zero bytes at the START of that batch
// with rows after it whole (memmove stores the first 32 bytes of a copy
// over 256 bytes last), then zeros up to the end of the window. Readers
// used to take the row the hole cut for a damaged row before the last
// ("wrong number of fields") and --resume refused the report. Every hole
// of 1 to 32 bytes, with the copy stopped at every byte after it, reads as
// the rows before the batch, and Append cuts the batch off.
func TestTornMappedWrite(t *testing.T) {
	for _, format := range []Format{FormatCSV, FormatJSONL} {
		t.Run(string(format), func(t *testing.T) {
			path, good, batch := tornBatch(t, format)
			want, err := readRows(good, path, format)
			if err != nil || len(want) != 10 {
				t.Fatalf("the journal before the batch: %d rows, %v", len(want), err)
			}
			if len(batch) <= 256 {
				t.Fatalf("the batch is %d bytes; memmove only reorders copies over 256", len(batch))
			}
			for hole := 1; hole <= 32; hole++ {
				for stop := hole; stop <= len(batch); stop++ {
					torn := slices.Concat(good, make([]byte, hole), batch[hole:stop], make([]byte, len(batch)-stop+64))
					got, err := readRows(torn, path, format)
					if err != nil {
						t.Fatalf("hole %d, copy stopped at %d: %v", hole, stop, err)
					}
					if !slices.Equal(got, want) {
						t.Fatalf("hole %d, copy stopped at %d: read %d rows, want the %d before the batch", hole, stop, len(got), len(want))
					}
				}
			}
			// Append on such a file cuts the batch off, and a resumed
			// run's rows follow the last whole row.
			for _, hole := range []int{1, 12, 32} {
				torn := slices.Concat(good, make([]byte, hole), batch[hole:], make([]byte, 4096))
				if err := os.WriteFile(path, torn, 0o600); err != nil {
					t.Fatal(err)
				}
				w, err := Append(path, Options{CommitDelay: -1})
				if err != nil {
					t.Fatalf("hole %d: %v", hole, err)
				}
				if err := w.Record(sentResult(6)); err != nil {
					t.Fatal(err)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				st, err := Load(path)
				if err != nil {
					t.Fatalf("hole %d: %v", hole, err)
				}
				if status, ok := st.Status(6); !ok || status != sender.StatusSent {
					t.Errorf("hole %d: line 6 is %q, %v after the resumed run; want sent", hole, status, ok)
				}
				st.Close()
			}
		})
	}
}

// TestNULNeverWritten: a NUL in a cell is stored as U+FFFD (readers end a
// journal at a NUL), and a resumed run still knows the row by its id.
func TestNULNeverWritten(t *testing.T) {
	for _, format := range []Format{FormatCSV, FormatJSONL} {
		t.Run(string(format), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out."+string(format))
			w, err := Create(path, Options{CommitDelay: -1})
			if err != nil {
				t.Fatal(err)
			}
			id := "a\x00b"
			r := sentResult(1)
			r.ID, r.Error = id, "bad\x00answer"
			if err := w.Record(r); err != nil {
				t.Fatal(err)
			}
			if err := w.Record(sentResult(2)); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.IndexByte(data, 0) >= 0 {
				t.Fatalf("the report holds a NUL: %q", data)
			}
			st, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if !st.SameID(1, id) {
				t.Error("SameID(1) is false for the id with a NUL")
			}
			if _, ok := st.Status(2); !ok {
				t.Error("line 2, after the NUL's row, is lost")
			}
		})
	}
}
