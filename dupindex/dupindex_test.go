package dupindex

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/bulksend/bulksend/sender"
)

// idRows is a RowReader over ids, row i+1 holding ids[i] in its "id" field.
// "!" stands for a row the reader could not parse, "" for a row without id.
type idRows struct {
	ids  []string
	next int
	err  error // returned after the ids instead of io.EOF, when set
	cols []string
	// onRow, when set, is called before each row is returned.
	onRow func(n int)
}

func (r *idRows) Next() (sender.Row, error) {
	if r.next == len(r.ids) {
		if r.err != nil {
			return sender.Row{}, r.err
		}
		return sender.Row{}, io.EOF
	}
	v := r.ids[r.next]
	r.next++
	if r.onRow != nil {
		r.onRow(r.next)
	}
	row := sender.Row{Line: r.next + 1, Fields: map[string]string{"to": "+1555"}}
	switch v {
	case "!":
		row.Fields, row.Err = nil, errors.New("input: ragged row")
	case "":
	default:
		row.Fields["id"] = v
	}
	return row, nil
}

// csvRows is an idRows that knows its columns, as a CSV reader does.
type csvRows struct{ *idRows }

func (r csvRows) Columns() []string { return r.cols }

// byID identifies a row by its "id" field, as the preset builders do.
type byID struct{}

func (byID) RowID(row sender.Row) (string, bool) { v := row.Fields["id"]; return v, v != "" }
func (byID) IDField() string                     { return "id" }

// fnvHash is a deterministic hash; masked, it forces collisions.
func fnvHash(mask uint64) func(string) uint64 {
	return func(s string) uint64 {
		h := fnv.New64a()
		h.Write([]byte(s))
		return h.Sum64() & mask
	}
}

// candidatesOf asks x about every row from 1 to n and returns the yes.
func candidatesOf(t testing.TB, x *Index, n int) []int {
	t.Helper()
	var out []int
	for i := 1; i <= n; i++ {
		may, err := x.MayRepeat(i)
		if err != nil {
			t.Fatalf("MayRepeat(%d): %v", i, err)
		}
		if may {
			out = append(out, i)
		}
	}
	return out
}

// seq returns "<prefix>0", "<prefix>1", ... n of them.
func seq(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint(prefix, i)
	}
	return out
}

// rowsFrom returns the numbers from..to inclusive.
func rowsFrom(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name  string
		ids   []string
		cols  []string // the reader's columns; nil: it has no Columns method
		chunk int
		hash  func(string) uint64
		want  []int
	}{
		{name: "empty input", ids: nil},
		{name: "no duplicates", ids: seq("u", 1000)},
		{name: "no duplicates, spilled", ids: seq("u", 1000), chunk: 7},
		{
			name: "a repeat marks every row with that id",
			ids:  []string{"a", "b", "a", "c", "a", "d"},
			want: []int{1, 3, 5},
		},
		{
			name:  "all duplicates, spilled, candidates spilled too",
			ids:   append(seq("u", 50), seq("u", 50)...),
			chunk: 8, // 100 candidates, far more than one chunk
			want:  rowsFrom(1, 100),
		},
		{
			name:  "a repeat across chunk boundaries",
			ids:   []string{"x", "a", "b", "c", "d", "e", "f", "g", "x", "h", "x"},
			chunk: 3,
			want:  []int{1, 9, 11},
		},
		{
			name:  "ids are compared exactly",
			ids:   []string{"a", "A", "a ", "007", "7"},
			chunk: 2,
		},
		{
			name: "a hash collision makes candidates, not duplicates",
			ids:  []string{"a", "b", "c", "d"},
			hash: func(s string) uint64 { return uint64(len(s)) },
			want: []int{1, 2, 3, 4},
		},
		{
			name:  "collisions and repeats across chunks",
			ids:   []string{"a", "bb", "c", "dd", "a", "eee"},
			chunk: 2,
			hash:  func(s string) uint64 { return uint64(len(s)) },
			want:  []int{1, 2, 3, 4, 5},
		},
		{
			name: "unparsed rows and rows without id are left out",
			ids:  []string{"a", "!", "", "a", "!", ""},
			want: []int{1, 4},
		},
		{
			name: "csv with the id column is read",
			ids:  []string{"a", "a"},
			cols: []string{"id", "to"},
			want: []int{1, 2},
		},
		{
			name: "csv without the id column: ids are line numbers, none repeats",
			ids:  []string{"a", "a"}, // never read
			cols: []string{"to", "text"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var rows sender.RowReader = &idRows{ids: tc.ids}
			if tc.cols != nil {
				rows = csvRows{&idRows{ids: tc.ids, cols: tc.cols}}
			}
			x, err := Build(context.Background(), rows, byID{}, Options{ChunkSize: tc.chunk, Hash: tc.hash, TempDir: dir})
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			got := candidatesOf(t, x, len(tc.ids))
			if !slices.Equal(got, tc.want) {
				t.Errorf("candidates %v, want %v", got, tc.want)
			}
			if x.Len() != len(tc.want) {
				t.Errorf("Len %d, want %d", x.Len(), len(tc.want))
			}
			wantRows := len(tc.ids) // every row, bad ones included
			if tc.cols != nil && !slices.Contains(tc.cols, "id") {
				wantRows = -1 // nothing read
			}
			if x.Rows() != wantRows {
				t.Errorf("Rows %d, want %d", x.Rows(), wantRows)
			}
			if err := x.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			assertEmptyDir(t, dir)
		})
	}
}

// TestMayRepeatGaps: MayRepeat may be asked about some rows only.
func TestMayRepeatGaps(t *testing.T) {
	ids := []string{"a", "b", "a", "c", "b", "d", "a"} // candidates 1 2 3 5 7
	for _, chunk := range []int{0, 2} {
		t.Run(fmt.Sprint("chunk ", chunk), func(t *testing.T) {
			x, err := Build(context.Background(), &idRows{ids: ids}, byID{}, Options{ChunkSize: chunk, TempDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer x.Close()
			for _, q := range []struct {
				n    int
				want bool
			}{{2, true}, {2, true}, {4, false}, {6, false}, {7, true}} {
				if got, err := x.MayRepeat(q.n); err != nil || got != q.want {
					t.Errorf("MayRepeat(%d) = %v, %v; want %v", q.n, got, err, q.want)
				}
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	diskErr := errors.New("read rows.csv: input/output error")
	tests := []struct {
		name    string
		rows    func(cancel context.CancelFunc) sender.RowReader
		opts    Options
		want    error
		wantMsg string
	}{
		{
			name:    "a read error names the input",
			rows:    func(context.CancelFunc) sender.RowReader { return &idRows{ids: seq("u", 10), err: diskErr} },
			want:    diskErr,
			wantMsg: "find duplicate ids: read rows.csv: input/output error",
		},
		{
			name: "cancelled while reading, after spilling",
			rows: func(cancel context.CancelFunc) sender.RowReader {
				return &idRows{ids: seq("u", 5000), onRow: func(n int) {
					if n == 3000 {
						cancel()
					}
				}}
			},
			opts: Options{ChunkSize: 100},
			want: context.Canceled,
		},
		{
			name: "no temp dir",
			rows: func(context.CancelFunc) sender.RowReader { return &idRows{ids: seq("u", 10)} },
			opts: Options{ChunkSize: 2, TempDir: "/nonexistent/dupindex"},
			want: os.ErrNotExist,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opts.TempDir == "" {
				tc.opts.TempDir = t.TempDir()
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			x, err := Build(ctx, tc.rows(cancel), byID{}, tc.opts)
			if !errors.Is(err, tc.want) || x != nil {
				t.Fatalf("Build = %v, %v; want error %v", x, err, tc.want)
			}
			if tc.wantMsg != "" && err.Error() != tc.wantMsg {
				t.Errorf("error %q, want %q", err, tc.wantMsg)
			}
			if !strings.HasPrefix(tc.opts.TempDir, "/nonexistent") {
				assertEmptyDir(t, tc.opts.TempDir)
			}
		})
	}
}

// TestMayRepeatInputGrew: a row past those the pre-pass read was never
// checked, so the run must stop rather than risk sending an id twice.
func TestMayRepeatInputGrew(t *testing.T) {
	x, err := Build(context.Background(), &idRows{ids: []string{"a", "a", "b"}}, byID{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if got, err := x.MayRepeat(3); got || err != nil {
		t.Fatalf("MayRepeat(3) = %v, %v", got, err)
	}
	_, err = x.MayRepeat(4)
	if !errors.Is(err, ErrInputChanged) {
		t.Fatalf("MayRepeat(4) error %v, want ErrInputChanged", err)
	}
	if _, err2 := x.MayRepeat(5); !errors.Is(err2, ErrInputChanged) {
		t.Errorf("the error does not stick: %v", err2)
	}
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("temp files left behind: %v", left)
	}
}

// FuzzBuild compares Build with a map from hash to rows on small inputs:
// byte 0 picks the chunk size, byte 1 how many hash bits are kept (few
// force collisions), and each further byte is a row: an id from a small
// alphabet, or (0xff) an unparsed row or (0xfe) a row without id.
func FuzzBuild(f *testing.F) {
	f.Add([]byte{0, 64, 'a', 'b', 'a'})
	f.Add([]byte{1, 1, 'a', 'b', 'c', 'd', 'e'})
	f.Add([]byte{2, 64, 'a', 0xff, 'a', 0xfe, 'b', 'b', 'c'})
	f.Add([]byte{3, 2, 'x', 'y', 'x', 'y', 'z', 'z', 'w', 'v', 'u', 't'})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		chunk := int(data[0]%8) + 1
		mask := uint64(1)<<(data[1]%64) - 1
		if data[1]%64 == 0 {
			mask = ^uint64(0)
		}
		hash := fnvHash(mask)
		ids := make([]string, 0, len(data)-2)
		for _, b := range data[2:] {
			switch b {
			case 0xff:
				ids = append(ids, "!")
			case 0xfe:
				ids = append(ids, "")
			default:
				ids = append(ids, string(rune('a'+b%20)))
			}
		}
		byHash := make(map[uint64][]int)
		for i, id := range ids {
			if id != "!" && id != "" {
				byHash[hash(id)] = append(byHash[hash(id)], i+1)
			}
		}
		var want []int
		for _, rows := range byHash {
			if len(rows) > 1 {
				want = append(want, rows...)
			}
		}
		slices.Sort(want)

		dir := t.TempDir()
		x, err := Build(context.Background(), &idRows{ids: ids}, byID{}, Options{ChunkSize: chunk, Hash: hash, TempDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		got := candidatesOf(t, x, len(ids))
		if err := x.Close(); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("ids %q: candidates %v, want %v", ids, got, want)
		}
		assertEmptyDir(t, dir)
	})
}
