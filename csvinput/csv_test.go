package csvinput

import (
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestCSV(t *testing.T) {
	type m = map[string]string
	tests := []struct {
		name    string
		input   string
		columns []string
		rows    []wantRow
	}{
		{
			name: "simple", input: "id,to,text\n1,+15550001,hi\n2,+15550002,yo\n",
			columns: []string{"id", "to", "text"},
			rows: []wantRow{
				{line: 2, fields: m{"id": "1", "to": "+15550001", "text": "hi"}},
				{line: 3, fields: m{"id": "2", "to": "+15550002", "text": "yo"}},
			},
		},
		{
			name: "values exactly as written", input: "id,to,e,f,pad\n007,+15550001,1e5,-0.50, x \n",
			columns: []string{"id", "to", "e", "f", "pad"},
			rows:    []wantRow{{line: 2, fields: m{"id": "007", "to": "+15550001", "e": "1e5", "f": "-0.50", "pad": " x "}}},
		},
		{
			name: "bom", input: "\ufeffid,to\n1,a\n",
			columns: []string{"id", "to"},
			rows:    []wantRow{{line: 2, fields: m{"id": "1", "to": "a"}}},
		},
		{
			name: "bom is only special at the start", input: "id,to\n\ufeff1,a\n",
			columns: []string{"id", "to"},
			rows:    []wantRow{{line: 2, fields: m{"id": "\ufeff1", "to": "a"}}},
		},
		{
			name: "crlf", input: "id,to\r\n1,a\r\n2,b\r\n",
			columns: []string{"id", "to"},
			rows: []wantRow{
				{line: 2, fields: m{"id": "1", "to": "a"}},
				{line: 3, fields: m{"id": "2", "to": "b"}},
			},
		},
		{
			name:    "quotes, commas, newlines and accents",
			input:   "id,text\n1,\"Hello, \"\"world\"\"\"\n2,\"two\nlines\r\nthree\"\n3,Ünïcödé café ✓\n4,\"\"\n",
			columns: []string{"id", "text"},
			rows: []wantRow{
				{line: 2, fields: m{"id": "1", "text": `Hello, "world"`}},
				// A record spanning lines has the line it starts on; a CRLF
				// inside quotes reads as LF, as encoding/csv does.
				{line: 3, fields: m{"id": "2", "text": "two\nlines\nthree"}},
				{line: 6, fields: m{"id": "3", "text": "Ünïcödé café ✓"}},
				{line: 7, fields: m{"id": "4", "text": ""}},
			},
		},
		{
			name: "blank lines skipped, physical line numbers kept", input: "\n\nid,to\n\n1,a\n\r\n\n2,b\n\n",
			columns: []string{"id", "to"},
			rows: []wantRow{
				{line: 5, fields: m{"id": "1", "to": "a"}},
				{line: 8, fields: m{"id": "2", "to": "b"}},
			},
		},
		{
			name: "blank line in a one-column file is skipped", input: "to\n+1\n\n+2\n",
			columns: []string{"to"},
			rows: []wantRow{
				{line: 2, fields: m{"to": "+1"}},
				{line: 4, fields: m{"to": "+2"}},
			},
		},
		{
			name: "header names trimmed, values not", input: " id ,\tto \n1, a \n",
			columns: []string{"id", "to"},
			rows:    []wantRow{{line: 2, fields: m{"id": "1", "to": " a "}}},
		},
		{
			name: "quoted header", input: "\"id\",\"to, really\"\n1,a\n",
			columns: []string{"id", "to, really"},
			rows:    []wantRow{{line: 2, fields: m{"id": "1", "to, really": "a"}}},
		},
		{
			name: "ragged rows reported, reading goes on", input: "a,b\n1,2,3\n4\n5,6\n,\n",
			columns: []string{"a", "b"},
			rows: []wantRow{
				{line: 2, err: "f.csv:2: has 3 fields, header has 2"},
				{line: 3, err: "f.csv:3: has 1 fields, header has 2"},
				{line: 4, fields: m{"a": "5", "b": "6"}},
				{line: 5, fields: m{"a": "", "b": ""}},
			},
		},
		{
			name: "a line of spaces is a one-field record", input: "a,b\n  \n1,2\n",
			columns: []string{"a", "b"},
			rows: []wantRow{
				{line: 2, err: "f.csv:2: has 1 fields, header has 2"},
				{line: 3, fields: m{"a": "1", "b": "2"}},
			},
		},
		{
			name: "bare quote reported, reading goes on", input: "a,b\n1,5\" screen\n3,4\n",
			columns: []string{"a", "b"},
			rows: []wantRow{
				{line: 2, err: `f.csv:2: byte 4: bare " in non-quoted-field`},
				{line: 3, fields: m{"a": "3", "b": "4"}},
			},
		},
		{
			name: "text after a closing quote", input: "a,b\n1,\"x\"y\n3,4\n",
			columns: []string{"a", "b"},
			rows: []wantRow{
				{line: 2, err: `f.csv:2: byte 5: extraneous or missing " in quoted-field`},
				{line: 3, fields: m{"a": "3", "b": "4"}},
			},
		},
		{
			name: "every line a bad quoted field swallowed is reported", input: "a,b\n1,\"open\n2,3\n4,\"5\"6\n7,8\n",
			columns: []string{"a", "b"},
			rows: []wantRow{
				{line: 2, err: `f.csv:2: record runs on to line 4`},
				{line: 3, err: "f.csv:3: not read: part of the malformed record that starts on line 2"},
				{line: 4, err: "f.csv:4: not read: part of the malformed record that starts on line 2"},
				{line: 5, fields: m{"a": "7", "b": "8"}},
			},
		},
		{
			name: "quoted field left open to the end", input: "a,b\n0,1\n1,\"open\n2,3\n\n4,5\n",
			columns: []string{"a", "b"},
			rows: []wantRow{
				{line: 2, fields: m{"a": "0", "b": "1"}},
				{line: 3, err: `f.csv:3: record runs on to line 6`},
				{line: 4, err: "f.csv:4: not read"},
				{line: 5, err: "f.csv:5: not read"},
				{line: 6, err: "f.csv:6: not read"},
			},
		},
		{name: "header only", input: "id,to\n", columns: []string{"id", "to"}},
		{name: "header only without newline", input: "id,to", columns: []string{"id", "to"}},
		{name: "header and blank lines", input: "id,to\n\n\r\n", columns: []string{"id", "to"}},
		{
			name: "last row without newline", input: "id,to\n1,a",
			columns: []string{"id", "to"},
			rows:    []wantRow{{line: 2, fields: m{"id": "1", "to": "a"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(tt.input), "f.csv", FormatCSV)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Columns(); !slices.Equal(got, tt.columns) {
				t.Errorf("Columns() = %q, want %q", got, tt.columns)
			}
			checkRows(t, readRows(t, r), tt.rows)
		})
	}
}

func TestCSVHeaderErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{name: "empty file", input: "", want: "f.csv: empty input: no CSV header row"},
		{name: "only a bom", input: "\ufeff", want: "f.csv: empty input"},
		{name: "only blank lines", input: "\n\r\n\n", want: "f.csv: empty input"},
		{name: "empty name", input: "id,,to\n1,2,3\n", want: "f.csv:1: column 2: empty header name"},
		{name: "blank name", input: "id, \n", want: "f.csv:1: column 2: empty header name"},
		{name: "empty one-column header", input: "\"\"\n1\n", want: "f.csv:1: column 1: empty header name"},
		{name: "duplicate name", input: "id,to,id\n", want: `f.csv:1: column 3: duplicate header name "id" (also column 1)`},
		{name: "duplicate after trimming", input: "id, to,to \n", want: `f.csv:1: column 3: duplicate header name "to" (also column 2)`},
		{name: "header after blank lines", input: "\n\nid,id\n", want: `f.csv:3: column 2: duplicate header name "id"`},
		{name: "bare quote", input: "i\"d,to\n", want: `f.csv:1: header: byte 2: bare " in non-quoted-field`},
		{name: "open quote", input: "id,\"to\n1,2\n", want: "f.csv:1: header: record runs on to line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(tt.input), "f.csv", FormatCSV)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewReader error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestCSVRecordLimit(t *testing.T) {
	big := strings.Repeat("x", 3*bufferSize)
	tests := []struct {
		name    string
		input   string
		rows    []wantRow
		wantErr string
	}{
		{
			name:  "records under the limit",
			input: "a,b\n1,\"" + big + "\n" + big + "\"\n2,3\n",
			rows: []wantRow{
				{line: 2, fields: map[string]string{"a": "1", "b": big + "\n" + big}},
				{line: 4, fields: map[string]string{"a": "2", "b": "3"}},
			},
		},
		{
			name:    "an open quote does not buffer the rest of the file",
			input:   "a,b\n1,2\n3,\"open\n" + strings.Repeat(big+"\n", 20) + "5,6\n",
			rows:    []wantRow{{line: 2, fields: map[string]string{"a": "1", "b": "2"}}},
			wantErr: "f.csv: the record after line 2 is longer than",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(tt.input), "f.csv", FormatCSV)
			if err != nil {
				t.Fatal(err)
			}
			r.in.limit = 10 * bufferSize
			var got []wantRow
			for range 10 {
				row, err := r.Next()
				if errors.Is(err, io.EOF) && tt.wantErr == "" {
					break
				}
				if err != nil {
					if tt.wantErr == "" {
						t.Fatalf("Next: %v", err)
					}
					if !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, errRecordTooLong) {
						t.Fatalf("Next error %v, want %q", err, tt.wantErr)
					}
					if _, again := r.Next(); again == nil || again.Error() != err.Error() {
						t.Errorf("second Next error %v, want the same error", again)
					}
					break
				}
				if row.Err != nil {
					t.Fatalf("row error: %v", row.Err)
				}
				got = append(got, wantRow{line: row.Line, fields: row.Fields})
			}
			if len(got) != len(tt.rows) {
				t.Fatalf("got %d rows, want %d", len(got), len(tt.rows))
			}
			for i := range got {
				if got[i].line != tt.rows[i].line || !maps.Equal(got[i].fields, tt.rows[i].fields) {
					t.Errorf("row %d: line %d, want %d (or fields differ)", i, got[i].line, tt.rows[i].line)
				}
			}
		})
	}
}
