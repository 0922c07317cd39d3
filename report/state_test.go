package report

import (
	"errors"
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
		// The loaded state must be that of some prefix of rows.
		for k := 0; k <= len(rows); k++ {
			want := map[int]sender.Status{}
			for _, row := range rows[:k] {
				want[row.Line] = row.Status
			}
			match := s.Len() == len(want)
			for line, st := range want {
				got, _ := s.Status(line)
				match = match && got == st
			}
			if match {
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
