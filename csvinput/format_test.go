package csvinput

import (
	"strings"
	"testing"
	"testing/iotest"
)

func TestParseFormat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Format
		wantErr bool
	}{
		{name: "empty is auto", in: "", want: FormatAuto},
		{name: "auto", in: "auto", want: FormatAuto},
		{name: "csv", in: "csv", want: FormatCSV},
		{name: "upper case and spaces", in: " CSV ", want: FormatCSV},
		{name: "jsonl", in: "jsonl", want: FormatJSONL},
		{name: "ndjson", in: "ndjson", want: FormatJSONL},
		{name: "json", in: "json", want: FormatJSONL},
		{name: "unknown", in: "xml", wantErr: true},
		{name: "tsv is not csv", in: "tsv", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFormat(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseFormat(%q) error %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tt.in) {
				t.Errorf("error %q does not name the value", err)
			}
			if got != tt.want {
				t.Errorf("ParseFormat(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFormatFromName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Format
	}{
		{name: "csv", in: "recipients.csv", want: FormatCSV},
		{name: "csv upper case", in: "DATA/RECIPIENTS.CSV", want: FormatCSV},
		{name: "jsonl", in: "r.jsonl", want: FormatJSONL},
		{name: "ndjson", in: "r.ndjson", want: FormatJSONL},
		{name: "json", in: "/tmp/r.json", want: FormatJSONL},
		{name: "stdin", in: "-", want: FormatAuto},
		{name: "no extension", in: "recipients", want: FormatAuto},
		{name: "tsv", in: "r.tsv", want: FormatAuto},
		{name: "txt", in: "r.txt", want: FormatAuto},
		{name: "dot in folder only", in: "v1.csv/recipients", want: FormatAuto},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatFromName(tt.in); got != tt.want {
				t.Errorf("FormatFromName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		force   Format
		want    Format
		columns []string
		rows    []wantRow
		newErr  string
	}{
		{
			name: "object means jsonl", input: `{"to":"+1"}` + "\n",
			want: FormatJSONL, rows: []wantRow{{line: 1, fields: map[string]string{"to": "+1"}}},
		},
		{
			name: "bom and blank lines before the object", input: "\ufeff\n \r\n\t\n" + `{"to":"+1"}`,
			want: FormatJSONL, rows: []wantRow{{line: 4, fields: map[string]string{"to": "+1"}}},
		},
		{
			name: "header means csv", input: "to,text\n+1,hi\n",
			want: FormatCSV, columns: []string{"to", "text"},
			rows: []wantRow{{line: 2, fields: map[string]string{"to": "+1", "text": "hi"}}},
		},
		{
			name: "bom then header", input: "\ufeffto\n+1\n",
			want: FormatCSV, columns: []string{"to"},
			rows: []wantRow{{line: 2, fields: map[string]string{"to": "+1"}}},
		},
		{
			name: "blank lines then header", input: "\n\r\nto\n+1\n",
			want: FormatCSV, columns: []string{"to"},
			rows: []wantRow{{line: 4, fields: map[string]string{"to": "+1"}}},
		},
		{
			name: "a json array is not jsonl", input: "[1]\n",
			want: FormatCSV, columns: []string{"[1]"},
		},
		{name: "empty input", input: "", newErr: "f: empty input"},
		{name: "only blank lines", input: "\n\n\r\n", newErr: "f: empty input"},
		{
			name: "forced csv is not sniffed", input: "{a}\n{b}\n", force: FormatCSV,
			want: FormatCSV, columns: []string{"{a}"},
			rows: []wantRow{{line: 2, fields: map[string]string{"{a}": "{b}"}}},
		},
		{
			name: "forced jsonl is not sniffed", input: "to\n", force: FormatJSONL,
			want: FormatJSONL, rows: []wantRow{{line: 1, err: "f:1: not a JSON object"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Like stdin: no seeking, data a byte at a time, and end of
			// input said only once.
			src := &eofOnceReader{t: t, r: iotest.OneByteReader(strings.NewReader(tt.input))}
			r, err := NewReader(src, "f", tt.force)
			if tt.newErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.newErr) {
					t.Fatalf("NewReader error %v, want %q", err, tt.newErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Format() != tt.want {
				t.Errorf("Format() = %q, want %q", r.Format(), tt.want)
			}
			if got := r.Columns(); strings.Join(got, "|") != strings.Join(tt.columns, "|") || (got == nil) != (tt.columns == nil) {
				t.Errorf("Columns() = %q, want %q", got, tt.columns)
			}
			checkRows(t, readRows(t, r), tt.rows)
		})
	}
}
