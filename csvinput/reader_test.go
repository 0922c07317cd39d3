package csvinput

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/bulksend/bulksend/sender"
)

// wantRow is one expected row: fields when it parsed, else a substring of
// its error.
type wantRow struct {
	line   int
	fields map[string]string
	err    string
}

// readRows reads every row up to io.EOF, failing on any other error and on
// an implausible number of rows (a reader that loops).
func readRows(t *testing.T, r *Reader) []sender.Row {
	t.Helper()
	var rows []sender.Row
	for range 100000 {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return rows
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		rows = append(rows, row)
	}
	t.Fatalf("no io.EOF after %d rows", len(rows))
	return nil
}

func checkRows(t *testing.T, got []sender.Row, want []wantRow) {
	t.Helper()
	if len(got) != len(want) {
		for _, g := range got {
			t.Logf("got line %d fields %q err %v", g.Line, g.Fields, g.Err)
		}
		t.Fatalf("got %d rows, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Line != w.line {
			t.Errorf("row %d: line %d, want %d", i, g.Line, w.line)
		}
		switch {
		case w.err == "" && g.Err != nil:
			t.Errorf("row %d (line %d): unexpected error %v", i, g.Line, g.Err)
		case w.err != "" && (g.Err == nil || !strings.Contains(g.Err.Error(), w.err)):
			t.Errorf("row %d (line %d): error %v, want it to contain %q", i, g.Line, g.Err, w.err)
		case w.err != "" && g.Fields != nil:
			t.Errorf("row %d (line %d): has both an error and fields %q", i, g.Line, g.Fields)
		case w.err == "" && !reflect.DeepEqual(g.Fields, w.fields):
			t.Errorf("row %d (line %d): fields\n got %q\nwant %q", i, g.Line, g.Fields, w.fields)
		}
	}
}

// repeatReader is an endless input: head once, then line again and again.
// It never allocates, so benchmarks and allocation tests measure the Reader.
type repeatReader struct {
	head, line string
	off        int // into head, then into line
	inHead     bool
	total      int64
}

func newRepeatReader(head, line string) *repeatReader {
	return &repeatReader{head: head, line: line, inHead: head != ""}
}

func (g *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		src := g.line
		if g.inHead {
			src = g.head
		}
		c := copy(p[n:], src[g.off:])
		n += c
		g.off += c
		if g.off == len(src) {
			g.off, g.inHead = 0, false
		}
	}
	g.total += int64(n)
	return n, nil
}

// eofOnceReader behaves like a terminal: after it has said io.EOF, reading
// again would block for more input, so the test fails if anyone does.
type eofOnceReader struct {
	t   *testing.T
	r   io.Reader
	eof bool
}

func (e *eofOnceReader) Read(p []byte) (int, error) {
	if e.eof {
		e.t.Error("Read called again after io.EOF")
		return 0, io.EOF
	}
	n, err := e.r.Read(p)
	if errors.Is(err, io.EOF) {
		e.eof = true
	}
	return n, err
}

func TestStreamsWithBoundedReadAhead(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		head   string
		line   string
	}{
		{name: "csv", format: FormatCSV, head: "id,to,text\n", line: "1,+15550001,hello there\n"},
		{name: "jsonl", format: FormatJSONL, line: `{"id":"1","to":"+15550001","text":"hello there"}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The input never ends: a reader that held the file would never
			// return a row.
			src := newRepeatReader(tt.head, tt.line)
			r, err := NewReader(src, "big", tt.format)
			if err != nil {
				t.Fatal(err)
			}
			const rows = 50000
			first := 1
			if tt.head != "" {
				first = 2
			}
			for i := range rows {
				row, err := r.Next()
				if err != nil || row.Err != nil {
					t.Fatalf("row %d: %v %v", i, err, row.Err)
				}
				if row.Line != first+i {
					t.Fatalf("row %d: line %d, want %d", i, row.Line, first+i)
				}
			}
			consumed := int64(len(tt.head) + rows*len(tt.line))
			if ahead := src.total - consumed; ahead > 2*bufferSize {
				t.Errorf("read %d bytes beyond the rows returned, want at most %d", ahead, 2*bufferSize)
			}
		})
	}
}

func TestAllocationsPerRow(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		head   string
		line   string
		max    float64
	}{
		// A string for the record, the map and its storage.
		{name: "csv", format: FormatCSV, head: "id,to,text,n\n", line: "1,+15550001,hello there,5\n", max: 4},
		{name: "jsonl", format: FormatJSONL, line: `{"id":"1","to":"+15550001","text":"hello there","n":5}` + "\n", max: 4},
		// Escapes and spaced-out nesting go through encoding/json: rarer, dearer.
		{name: "jsonl escapes and nesting", format: FormatJSONL, line: `{"id":"1","text":"caf\u00e9","o":{"a": 1}}` + "\n", max: 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(newRepeatReader(tt.head, tt.line), "big", tt.format)
			if err != nil {
				t.Fatal(err)
			}
			allocs := testing.AllocsPerRun(2000, func() {
				if row, err := r.Next(); err != nil || row.Err != nil {
					t.Fatalf("Next: %v %v", err, row.Err)
				}
			})
			if allocs > tt.max {
				t.Errorf("%.1f allocations per row, want at most %.0f", allocs, tt.max)
			}
		})
	}
}

func TestRowsAreIndependent(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		input  string
	}{
		{name: "csv", format: FormatCSV, input: "to\na\nb\n"},
		{name: "jsonl", format: FormatJSONL, input: `{"to":"a"}` + "\n" + `{"to":"b"}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(tt.input), "f", tt.format)
			if err != nil {
				t.Fatal(err)
			}
			rows := readRows(t, r)
			if len(rows) != 2 {
				t.Fatalf("got %d rows, want 2", len(rows))
			}
			rows[0].Fields["to"] = "changed"
			rows[0].Fields["extra"] = "x"
			if rows[1].Fields["to"] != "b" || len(rows[1].Fields) != 1 {
				t.Errorf("changing row 1 changed row 2: %q", rows[1].Fields)
			}
		})
	}
}

func TestInputErrorsEndTheReader(t *testing.T) {
	boom := errors.New("disk on fire")
	tests := []struct {
		name      string
		format    Format
		input     string
		wantRows  int
		newReader bool // the error already surfaces in NewReader
	}{
		{name: "csv after rows", format: FormatCSV, input: "a,b\n1,2\n", wantRows: 1},
		{name: "csv inside a quoted field", format: FormatCSV, input: "a,b\n1,2\n3,\"unfinished", wantRows: 1},
		{name: "csv before the header", format: FormatCSV, newReader: true},
		{name: "sniffed before anything", format: FormatAuto, newReader: true},
		{name: "jsonl after rows", format: FormatJSONL, input: `{"a":"1"}` + "\n", wantRows: 1},
		{name: "jsonl inside a line", format: FormatJSONL, input: `{"a":"1"}` + "\n" + `{"a":`, wantRows: 1},
		{name: "jsonl before anything", format: FormatJSONL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := io.MultiReader(strings.NewReader(tt.input), iotest.ErrReader(boom))
			r, err := NewReader(src, "f", tt.format)
			if tt.newReader {
				if !errors.Is(err, boom) || !strings.Contains(err.Error(), "read f: ") {
					t.Fatalf("NewReader error %v, want it to wrap %v and name the input", err, boom)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.wantRows {
				if row, err := r.Next(); err != nil || row.Err != nil {
					t.Fatalf("row %d: %v %v", i, err, row.Err)
				}
			}
			for range 2 { // the error sticks
				if _, err := r.Next(); !errors.Is(err, boom) || !strings.Contains(err.Error(), "read f: ") {
					t.Fatalf("Next error %v, want it to wrap %v and name the input", err, boom)
				}
			}
		})
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "stdin", in: "-", want: "stdin:2: "},
		{name: "file", in: "data/recipients.csv", want: "data/recipients.csv:2: "},
		{name: "none", in: "", want: "input:2: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader("a,b\n1\n"), tt.in, FormatAuto)
			if err != nil {
				t.Fatal(err)
			}
			row, _ := r.Next()
			if row.Err == nil || !strings.HasPrefix(row.Err.Error(), tt.want) {
				t.Errorf("error %v, want prefix %q", row.Err, tt.want)
			}
		})
	}
}

func TestUnknownFormat(t *testing.T) {
	_, err := NewReader(strings.NewReader("a\n1\n"), "f", Format("xml"))
	if err == nil || !strings.Contains(err.Error(), `"xml"`) {
		t.Errorf("error %v, want one naming the format", err)
	}
}

func ExampleReader() {
	in := "\ufeffid,to,text\r\n1,+15550001,\"Hello, world\"\r\n2,007\r\n"
	r, err := NewReader(strings.NewReader(in), "recipients.csv", FormatFromName("recipients.csv"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for {
		row, err := r.Next()
		if err != nil {
			break // io.EOF
		}
		if row.Err != nil {
			fmt.Println(row.Err)
			continue
		}
		fmt.Println(row.Line, row.Fields["to"], row.Fields["text"])
	}
	// Output:
	// 2 +15550001 Hello, world
	// recipients.csv:3: has 2 fields, header has 3
}
