package report

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bulksend/bulksend/sender"
)

const (
	inflight  = sender.StatusInFlight
	sent      = sender.StatusSent
	failed    = sender.StatusFailed
	unknown   = sender.StatusUnknown
	duplicate = sender.StatusDuplicate
)

// journal is a run's rows: line, id and status only.
func journal(rows ...Row) []Row { return rows }

func r(line int, id string, st sender.Status) Row { return Row{Line: line, ID: id, Status: st} }

func TestLoad(t *testing.T) {
	tests := []struct {
		name   string
		rows   []Row
		line   int
		want   sender.Status // "" means no row
		id     string
		counts map[sender.Status]int
	}{
		{"inflight then sent", journal(r(2, "a", inflight), r(2, "a", sent)), 2, sent, "a",
			map[sender.Status]int{sent: 1}},
		{"sent then failed resend", journal(r(2, "a", inflight), r(2, "a", sent), r(2, "a", inflight), r(2, "a", failed)),
			2, failed, "a", map[sender.Status]int{failed: 1}},
		{"inflight only", journal(r(2, "a", inflight)), 2, inflight, "a", map[sender.Status]int{inflight: 1}},
		{"retry crashed after failure", journal(r(2, "a", failed), r(2, "a", inflight)), 2, inflight, "a",
			map[sender.Status]int{inflight: 1}},
		{"interleaved lines", journal(r(2, "a", inflight), r(3, "b", inflight), r(3, "b", sent), r(2, "a", unknown),
			r(9000, "z", duplicate)), 2, unknown, "a", map[sender.Status]int{sent: 1, unknown: 1, duplicate: 1}},
		{"line not in report", journal(r(2, "a", sent)), 3, "", "", map[sender.Status]int{sent: 1}},
		{"empty report", nil, 2, "", "", map[sender.Status]int{}},
	}
	for _, tt := range tests {
		for _, file := range []string{"out.csv", "out.jsonl"} {
			t.Run(tt.name+"/"+file, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), file)
				writeFile(t, path, tt.rows)
				s, err := Load(path)
				if err != nil {
					t.Fatal(err)
				}
				st, ok := s.Status(tt.line)
				if st != tt.want || ok != (tt.want != "") {
					t.Errorf("Status(%d) = %q, %v; want %q", tt.line, st, ok, tt.want)
				}
				if tt.id != "" && !s.SameID(tt.line, tt.id) {
					t.Errorf("SameID(%d, %q) = false", tt.line, tt.id)
				}
				if s.SameID(tt.line, tt.id+"?") {
					t.Errorf("SameID(%d, %q) = true", tt.line, tt.id+"?")
				}
				if got := s.Counts(); !reflect.DeepEqual(got, tt.counts) {
					t.Errorf("Counts = %v, want %v", got, tt.counts)
				}
				n := 0
				for _, c := range tt.counts {
					n += c
				}
				if s.Len() != n {
					t.Errorf("Len = %d, want %d", s.Len(), n)
				}
			})
		}
	}
}

func TestLoadSameIDInvalidUTF8(t *testing.T) {
	id := "bad\xffid\xfe"
	for _, file := range []string{"out.csv", "out.jsonl"} {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), file)
			writeFile(t, path, journal(r(2, id, sent)))
			s, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if !s.SameID(2, id) {
				t.Errorf("SameID with the id as written = false")
			}
			if s.SameID(2, "bad\xffid") {
				t.Errorf("SameID with another id = true")
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "out.csv")
	if err := os.WriteFile(corrupt, []byte(csvHeader+"2,a,sent\n3,b,sent,200,1,0,,,5,,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		is   error
		text string
	}{
		{"missing", filepath.Join(dir, "none.csv"), fs.ErrNotExist, "load report: open "},
		{"corrupt middle", corrupt, nil, "load report: " + corrupt + ":2: wrong number of fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.path)
			if err == nil || tt.is != nil && !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("Load = %v, want %v containing %q", err, tt.is, tt.text)
			}
		})
	}
}

// TestLoadEveryCut cuts a journal at every byte offset, as a crash may: each
// cut must load, and give the rows of a prefix of the journal.
func TestLoadEveryCut(t *testing.T) {
	for _, format := range []Format{FormatCSV, FormatJSONL} {
		t.Run(string(format), func(t *testing.T) {
			full := encodeRows(t, format, nastyRows())
			all, err := readAll(t, full, format)
			if err != nil {
				t.Fatal(err)
			}
			for cut := range len(full) + 1 {
				got, err := readAll(t, full[:cut], format)
				if err != nil {
					t.Fatalf("cut at %d: %v", cut, err)
				}
				if len(got) > 0 && !reflect.DeepEqual(got, all[:len(got)]) {
					t.Fatalf("cut at %d: rows are not a prefix:\n%+v", cut, got)
				}
				if cut == len(full) && len(got) != len(all) {
					t.Fatalf("uncut journal lost rows")
				}
			}
		})
	}
}

// FuzzLoadTruncated encodes a journal holding fuzzed text as the Writer
// does (without its fsyncs, which would slow fuzzing), cuts it at a fuzzed offset and loads it: a crash at any byte must
// leave a journal that loads, with the statuses of a prefix of its rows.
func FuzzLoadTruncated(f *testing.F) {
	f.Add("id,1", "err \"x\"\ny", "resp\r\nbody", false, uint16(70))
	f.Add("", "", "", true, uint16(0))
	f.Add("日本", "a\nb", "{\"k\":\"v\"}\n", true, uint16(200))
	f.Fuzz(func(t *testing.T, id, errText, response string, jsonl bool, cut uint16) {
		file := "out.csv"
		if jsonl {
			file = "out.jsonl"
		}
		path := filepath.Join(t.TempDir(), file)
		rows := journal(
			r(2, id, inflight),
			Row{Line: 2, ID: id, Status: failed, Error: errText, Response: response},
			r(3, id+"3", inflight),
			Row{Line: 2, ID: id, Status: sent, Response: response, Error: errText},
			r(3, id+"3", unknown),
		)
		data := encodeRows(t, FormatFromName(path), rows)
		n := int(cut) % (len(data) + 1)
		if err := os.WriteFile(path, data[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Load(path)
		if err != nil {
			t.Fatalf("cut at %d of %q: %v", n, data, err)
		}
		defer s.Close()
		// The loaded state must be that of some prefix of rows. State
		// answers in line order, once: read it all first.
		got := map[int]sender.Status{}
		for _, line := range []int{2, 3} {
			if st, ok := s.Status(line); ok {
				got[line] = st
			}
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		for k := 0; k <= len(rows); k++ {
			want := map[int]sender.Status{}
			for _, row := range rows[:k] {
				want[row.Line] = row.Status
			}
			if s.Len() == len(want) && reflect.DeepEqual(got, want) {
				return
			}
		}
		t.Fatalf("cut at %d: state matches no prefix of the journal: %v", n, s.Counts())
	})
}

func TestCompact(t *testing.T) {
	rows := journal(
		r(2, "a", inflight), r(3, "b", inflight), r(3, "b", sent), r(4, "c", inflight),
		r(2, "a", unknown), r(5, "d", inflight), r(4, "c", failed), r(4, "c", inflight),
		r(4, "c", sent), r(6, "e", inflight),
	)
	rows[2].Response = "x,\"y\"\nz"
	want := []Row{rows[2], rows[4], rows[5], rows[8], rows[9]} // each line's last row, in journal order
	for _, file := range []string{"out.csv", "out.jsonl"} {
		t.Run(file, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, file)
			writeFile(t, path, rows)
			// A crash cut the last row: Compact drops it.
			data, _ := os.ReadFile(path)
			if err := os.WriteFile(path, append(data, "7,f,sen"...), 0o640); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, 0o640); err != nil {
				t.Fatal(err)
			}
			before, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := Compact(path, FormatFromName(path)); err != nil {
				t.Fatal(err)
			}
			data, err = os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := readAll(t, data, FormatFromName(path))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("compacted\n%+v\nwant\n%+v", got, want)
			}
			after, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(after.Counts(), before.Counts()) || after.Len() != before.Len() {
				t.Errorf("Compact changed the state: %v, was %v", after.Counts(), before.Counts())
			}
			if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o640 {
				t.Errorf("mode after Compact = %v, %v; want 0640", info.Mode(), err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("temp files left: %v", entries)
			}
		})
	}
}

func TestCompactErrors(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "out.jsonl")
	data := "{\"line\":1\n" + `{"line":2,"id":"a","status":"sent"}` + "\n"
	if err := os.WriteFile(corrupt, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		path   string
		format Format
		text   string
	}{
		{"missing", filepath.Join(dir, "none.csv"), FormatCSV, "compact report: open "},
		{"corrupt", corrupt, FormatJSONL, corrupt + ":1: "},
		{"bad format", corrupt, "xml", "unknown report format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Compact(tt.path, tt.format); err == nil || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("Compact = %v, want an error containing %q", err, tt.text)
			}
		})
	}
	if after, _ := os.ReadFile(corrupt); string(after) != data {
		t.Error("a failed Compact changed the file")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temp files left: %v", entries)
	}
}

// model is the naive, in-memory reading of a journal that State and
// Compact must agree with: each line's last row, and where it lies.
type model struct {
	last map[int]Row
	pos  map[int]int // the line's last row's index in the journal
	rows []Row
}

func newModel(rows []Row) model {
	m := model{last: map[int]Row{}, pos: map[int]int{}, rows: rows}
	for i, r := range rows {
		m.last[r.Line], m.pos[r.Line] = r, i
	}
	return m
}

// compacted is the journal Compact must leave: each line's last row, in
// journal order.
func (m model) compacted() []Row {
	var out []Row
	for i, r := range m.rows {
		if m.pos[r.Line] == i {
			out = append(out, r)
		}
	}
	return out
}

// checkState queries s about lines 0 to maxLine+1, in order, as a resumed
// run does, and compares every answer with the model.
func checkState(t *testing.T, s *State, m model, maxLine int) {
	t.Helper()
	counts := map[sender.Status]int{}
	for _, r := range m.last {
		counts[r.Status]++
	}
	if got := s.Counts(); !reflect.DeepEqual(got, counts) || s.Len() != len(m.last) {
		t.Errorf("Counts = %v, Len %d; want %v, %d", got, s.Len(), counts, len(m.last))
	}
	for line := 0; line <= maxLine+1; line++ {
		want, has := m.last[line]
		st, ok := s.Status(line)
		if ok != has || st != want.Status {
			t.Errorf("Status(%d) = %q, %v; want %q, %v", line, st, ok, want.Status, has)
		}
		if has && !s.SameID(line, want.ID) {
			t.Errorf("SameID(%d, %q) = false", line, want.ID)
		}
		if s.SameID(line, want.ID+"?") {
			t.Errorf("SameID(%d, %q) = true", line, want.ID+"?")
		}
		key, _ := strings.CutPrefix(want.Response, keyPrefix)
		if want.Status != inflight || !strings.HasPrefix(want.Response, keyPrefix) {
			key = ""
		}
		if got := s.InFlightKey(line); got != key {
			t.Errorf("InFlightKey(%d) = %q, want %q", line, got, key)
		}
	}
	if err := s.Err(); err != nil {
		t.Errorf("Err = %v after queries in order", err)
	}
}

// spillJournal has lines spread over many rows out of line order, with
// retries and in-flight rows with and without keys, so a small chunk
// makes several runs whose merge must keep each line's last row.
func spillJournal() []Row {
	keyed := func(line int, id, key string) Row {
		return Row{Line: line, ID: id, Status: inflight, Response: keyPrefix + key}
	}
	return journal(
		keyed(5, "e", "k5"), r(3, "c", inflight), keyed(9, "i", "k9a"), r(5, "e", sent),
		r(3, "c", failed), r(1, "a", invalid), keyed(3, "c", "k3"), r(9, "i", unknown),
		r(7, "g", duplicate), keyed(9, "i", "k9b"), r(2, "b", inflight), r(1000, "z", sent),
		r(4, "d", sent), r(4, "d", inflight), keyed(6, "f", "k6"), r(6, "f", sent),
	)
}

const invalid = sender.StatusInvalid

func TestLoadSpills(t *testing.T) {
	rows := spillJournal()
	tests := []struct {
		name    string
		chunk   int
		spilled bool
	}{
		{"chunk of one", 1, true},
		{"chunk of three", 3, true},
		{"chunk of seven", 7, true},
		{"all in memory", 0, false},
	}
	for _, tt := range tests {
		for _, file := range []string{"out.csv", "out.jsonl"} {
			t.Run(tt.name+"/"+file, func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, file)
				writeFile(t, path, rows)
				s, err := load(context.Background(), path, tt.chunk)
				if err != nil {
					t.Fatal(err)
				}
				if s.sorted.Spilled() != tt.spilled {
					t.Errorf("spilled = %v, want %v", s.sorted.Spilled(), tt.spilled)
				}
				checkState(t, s, newModel(rows), 1000)
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				if st, _ := s.Status(2000); st != inflight || s.Err() == nil {
					t.Errorf("a query after Close answered %q, Err %v; want in flight and an error", st, s.Err())
				}
				if entries, _ := os.ReadDir(dir); len(entries) != 1 {
					t.Errorf("temp files left: %v", entries)
				}
			})
		}
	}
}

// TestStateOutOfOrder: a query for a lower line than the one before cannot
// be answered from a cursor; it must say so, and answer so that nothing is
// resent, never with a silent "no row".
func TestStateOutOfOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.csv")
	writeFile(t, path, spillJournal())
	for _, chunk := range []int{1, 0} {
		t.Run(fmt.Sprint("chunk ", chunk), func(t *testing.T) {
			s, err := load(context.Background(), path, chunk)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if st, ok := s.Status(5); st != sent || !ok || !s.SameID(5, "e") || s.Err() != nil {
				t.Fatalf("Status(5) = %q, %v, Err %v", st, ok, s.Err())
			}
			if st, ok := s.Status(5); st != sent || !ok {
				t.Fatalf("asking line 5 again = %q, %v; want sent", st, ok)
			}
			st, ok := s.Status(2)
			if !errors.Is(s.Err(), ErrOutOfOrder) {
				t.Fatalf("Err after asking line 2 after 5 = %v, want ErrOutOfOrder", s.Err())
			}
			if st != inflight || !ok || s.SameID(2, "b") || s.InFlightKey(9) != "" {
				t.Errorf("after the error: Status = %q, %v; SameID true or a key; want in flight, no match", st, ok)
			}
			if _, ok := s.Status(1000); !ok || !errors.Is(s.Err(), ErrOutOfOrder) {
				t.Error("the error did not stick")
			}
		})
	}
}

func TestCompactSpills(t *testing.T) {
	rows := spillJournal()
	want := newModel(rows).compacted()
	for _, chunk := range []int{1, 2, 5, 0} {
		for _, file := range []string{"out.csv", "out.jsonl"} {
			t.Run(fmt.Sprintf("chunk %d/%s", chunk, file), func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, file)
				writeFile(t, path, rows)
				if err := compact(path, FormatFromName(path), chunk); err != nil {
					t.Fatal(err)
				}
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				got, err := readAll(t, data, FormatFromName(path))
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("compacted\n%+v\nwant\n%+v", got, want)
				}
				if entries, _ := os.ReadDir(dir); len(entries) != 1 {
					t.Errorf("temp files left: %v", entries)
				}
			})
		}
	}
}

// FuzzStateCompact builds a journal from fuzzed operations, cuts it at a
// fuzzed byte as a crash may, and checks Load (queried in line order) and
// Compact, each sorting in fuzzed tiny chunks, against the naive model of
// the rows Read gives back.
func FuzzStateCompact(f *testing.F) {
	f.Add([]byte{0x01, 0x12, 0x23, 0x11, 0x05, 0x31}, "id,\"x\"", uint8(1), false, uint16(0))
	f.Add([]byte{0x10, 0x10, 0x10, 0x21, 0x41, 0x51, 0x61, 0x71}, "日本\xff", uint8(2), true, uint16(90))
	f.Add([]byte{}, "", uint8(0), false, uint16(0))
	f.Fuzz(func(t *testing.T, ops []byte, id string, chunk uint8, jsonl bool, cut uint16) {
		file, data, kept := fuzzJournal(t, ops, id, jsonl, cut)
		format := FormatFromName(file)
		dir := t.TempDir()
		path := filepath.Join(dir, file)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		m := newModel(kept)
		s, err := load(context.Background(), path, int(chunk%5))
		if err != nil {
			t.Fatal(err)
		}
		checkState(t, s, m, 17)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := compact(path, format, int(chunk%5)); err != nil {
			t.Fatal(err)
		}
		out, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := readAll(t, out, format)
		if err != nil {
			t.Fatal(err)
		}
		if want := m.compacted(); len(got)+len(want) > 0 && !reflect.DeepEqual(got, want) {
			t.Errorf("compacted\n%+v\nwant\n%+v", got, want)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("temp files left: %v", entries)
		}
	})
}
