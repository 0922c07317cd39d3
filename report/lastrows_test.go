package report

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// visitLast collects what lastRows hands its callback.
func visitLast(path string, chunk int) ([]Row, error) {
	var got []Row
	err := lastRows(path, FormatFromName(path), chunk, func(r Row) error {
		got = append(got, r)
		return nil
	})
	return got, err
}

// checkNoTemp fails if dir holds anything but want files.
func checkNoTemp(t *testing.T, dir string, want int) {
	t.Helper()
	if entries, _ := os.ReadDir(dir); len(entries) != want {
		t.Errorf("temp files left: %v", entries)
	}
}

func TestLastRows(t *testing.T) {
	keyed := r(1, "a", inflight)
	keyed.Response = keyPrefix + "k1"
	tests := []struct {
		name string
		rows []Row
		tail string // bytes a crash left after the last whole row
		want []int  // indexes into rows, in the order fn must see them
	}{
		{name: "one row per line", rows: journal(r(1, "a", sent), r(2, "b", failed)), want: []int{0, 1}},
		{name: "retries: the last result wins",
			rows: journal(r(1, "a", inflight), r(1, "a", failed), r(2, "b", inflight), r(1, "a", inflight),
				r(2, "b", sent), r(1, "a", sent)),
			want: []int{4, 5}},
		{name: "in flight after final: the retry may have left",
			rows: journal(r(1, "a", inflight), r(1, "a", failed), r(2, "b", sent), keyed),
			want: []int{2, 3}},
		{name: "journal order, not line order",
			rows: journal(r(9, "i", inflight), r(3, "c", sent), r(9, "i", sent), r(1, "a", unknown)),
			want: []int{1, 2, 3}},
		{name: "a damaged last row is ignored",
			rows: journal(r(1, "a", inflight), r(2, "b", sent)), tail: "1,a,sent,200",
			want: []int{0, 1}},
		{name: "a damaged row alone", tail: "1,a,se", want: nil},
		{name: "no rows", want: nil},
	}
	for _, tt := range tests {
		for _, file := range []string{"out.csv", "out.jsonl"} {
			for _, chunk := range []int{0, 1, 2} {
				t.Run(fmt.Sprintf("%s/%s/chunk %d", tt.name, file, chunk), func(t *testing.T) {
					dir := t.TempDir()
					path := filepath.Join(dir, file)
					data := append(encodeRows(t, FormatFromName(file), tt.rows), tt.tail...)
					if err := os.WriteFile(path, data, 0o644); err != nil {
						t.Fatal(err)
					}
					got, err := visitLast(path, chunk)
					if err != nil {
						t.Fatal(err)
					}
					var want []Row
					for _, i := range tt.want {
						want = append(want, tt.rows[i])
					}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("LastRows gave\n%+v\nwant\n%+v", got, want)
					}
					checkNoTemp(t, dir, 1)
				})
			}
		}
	}
}

func TestLastRowsErrors(t *testing.T) {
	stop := errors.New("stop")
	tests := []struct {
		name    string
		file    string
		data    string // "" for no file
		format  Format
		fn      func(path string) func(Row) error
		wantIs  error
		wantErr string
		calls   int
	}{
		{name: "missing", file: "none.csv", wantErr: "none.csv: no such file"},
		{name: "damaged middle row", file: "out.jsonl", data: "{\"line\":1\n" + `{"line":2,"id":"a","status":"sent"}` + "\n",
			wantErr: "out.jsonl:1: "},
		{name: "bad format", file: "out.csv", data: "line,id,status\n", format: "xml", wantErr: "unknown report format"},
		{name: "fn's error as is, and no call after it", file: "out.csv",
			data:   string(encodeRows(t, FormatCSV, journal(r(1, "a", sent), r(2, "b", sent)))),
			fn:     func(string) func(Row) error { return func(Row) error { return stop } },
			wantIs: stop, calls: 1},
		{name: "the journal grows between the passes", file: "out.csv",
			data: string(encodeRows(t, FormatCSV, journal(r(1, "a", sent), r(2, "b", sent)))),
			fn: func(path string) func(Row) error {
				return func(Row) error {
					f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
					if err != nil {
						return err
					}
					defer f.Close()
					_, err = f.WriteString("3,c,sent,200,1,0,,,0,,\n")
					return err
				}
			},
			wantIs: errChanged, wantErr: "out.csv: ", calls: 2},
	}
	for _, tt := range tests {
		for _, chunk := range []int{0, 1} {
			t.Run(fmt.Sprintf("%s/chunk %d", tt.name, chunk), func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, tt.file)
				files := 0
				if tt.data != "" {
					if err := os.WriteFile(path, []byte(tt.data), 0o644); err != nil {
						t.Fatal(err)
					}
					files = 1
				}
				format := tt.format
				if format == "" {
					format = FormatFromName(path)
				}
				calls := 0
				fn := func(Row) error { return nil }
				if tt.fn != nil {
					fn = tt.fn(path)
				}
				err := lastRows(path, format, chunk, func(r Row) error { calls++; return fn(r) })
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || (tt.wantIs != nil && !errors.Is(err, tt.wantIs)) {
					t.Errorf("LastRows = %v, want an error containing %q (is %v)", err, tt.wantErr, tt.wantIs)
				}
				if calls != tt.calls {
					t.Errorf("fn called %d times, want %d", calls, tt.calls)
				}
				checkNoTemp(t, dir, files)
			})
		}
	}
}

// FuzzLastRows builds a journal from fuzzed operations, cuts it at a fuzzed
// byte as a crash may, and checks LastRows, sorting in fuzzed tiny chunks,
// against a map of each line's last row over the rows Read gives back.
func FuzzLastRows(f *testing.F) {
	f.Add([]byte{0x01, 0x12, 0x23, 0x11, 0x05, 0x31}, "id,\"x\"\n", uint8(1), false, uint16(0))
	f.Add([]byte{0x10, 0x10, 0x10, 0x21, 0x41, 0x51, 0x61, 0x71}, "日本\xff", uint8(2), true, uint16(90))
	f.Add([]byte{0x0f, 0x1f, 0x2e, 0x0f}, " lead", uint8(3), false, uint16(150))
	f.Add([]byte{}, "", uint8(0), false, uint16(0))
	f.Fuzz(func(t *testing.T, ops []byte, text string, chunk uint8, jsonl bool, cut uint16) {
		file, data, kept := fuzzJournal(t, ops, text, jsonl, cut)
		last, pos := map[int]Row{}, map[int]int{}
		for i, r := range kept {
			last[r.Line], pos[r.Line] = r, i
		}
		var want []Row
		for i, r := range kept {
			if pos[r.Line] == i {
				want = append(want, last[r.Line])
			}
		}
		dir := t.TempDir()
		path := filepath.Join(dir, file)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := visitLast(path, int(chunk%5))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("LastRows gave\n%+v\nwant\n%+v", got, want)
		}
		checkNoTemp(t, dir, 1)
	})
}

// fuzzJournal is the journal a fuzz target's input describes: one row per
// op (line from its low bits, status from its high ones, text in the id and
// error, an idempotency key on every other in-flight row), encoded as CSV
// or JSONL, cut at cut as a crash may; and the rows Read gives back of it.
// It skips inputs cut inside the header, which are no journal.
func fuzzJournal(t *testing.T, ops []byte, text string, jsonl bool, cut uint16) (file string, data []byte, kept []Row) {
	t.Helper()
	file = "out.csv"
	if jsonl {
		file = "out.jsonl"
	}
	format := FormatFromName(file)
	rows := make([]Row, 0, len(ops))
	for i, op := range ops {
		line := int(op&0x0f) + 1
		row := Row{Line: line, ID: fmt.Sprint(text, line), Status: statusByCode[int(op>>4)%(len(statusByCode)-1)+1],
			Attempts: i, Error: text}
		if row.Status == inflight && i%2 == 0 {
			row.Response = keyPrefix + fmt.Sprint("k", i)
		}
		rows = append(rows, row)
	}
	data = encodeRows(t, format, rows)
	if cut > 0 {
		data = data[:int(cut)%(len(data)+1)]
	}
	kept, err := readAll(t, data, format)
	if err != nil {
		t.Skip(err)
	}
	return file, data, kept
}
