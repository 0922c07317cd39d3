package csvinput

import (
	"strings"
	"testing"
)

func TestParseEncoding(t *testing.T) {
	tests := []struct {
		in   string
		want Encoding
		err  bool
	}{
		{"", EncodingUTF8, false},
		{"UTF-8", EncodingUTF8, false},
		{"latin1", EncodingLatin1, false},
		{"ISO-8859-1", EncodingLatin1, false},
		{"windows-1252", EncodingWindows1252, false},
		{"cp1252", EncodingWindows1252, false},
		{"ebcdic", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseEncoding(tt.in)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("ParseEncoding(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestEncodings(t *testing.T) {
	type m = map[string]string
	tests := []struct {
		name  string
		enc   Encoding
		input string
		rows  []wantRow
	}{
		{"utf-8 refuses latin-1", EncodingUTF8, "id,text\n1,caf\xe9\n2,café\n", []wantRow{
			{line: 2, err: `data.csv:2: column "text": byte 3 (0xe9) is not UTF-8; if the file is Latin-1 or Windows-1252, give --input-encoding`},
			{line: 3, fields: m{"id": "2", "text": "café"}},
		}},
		{"latin1", EncodingLatin1, "id,text\n1,caf\xe9\n", []wantRow{{line: 2, fields: m{"id": "1", "text": "café"}}}},
		{"windows-1252 quotes and euro", EncodingWindows1252, "id,text\n1,\x93hi\x94 5\x80\n", []wantRow{{line: 2, fields: m{"id": "1", "text": "“hi” 5€"}}}},
		{"jsonl latin1", EncodingLatin1, "{\"text\":\"na\xefve\"}\n", []wantRow{{line: 1, fields: m{"text": "naïve"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(tt.enc.Reader(strings.NewReader(tt.input)), "data.csv", FormatAuto)
			if err != nil {
				t.Fatal(err)
			}
			checkRows(t, readRows(t, r), tt.rows)
		})
	}
}

func TestHeaderNotUTF8(t *testing.T) {
	_, err := NewReader(strings.NewReader("id,t\xe9l\n1,2\n"), "data.csv", FormatCSV)
	want := `data.csv:1: column 2: header name byte 1 (0xe9) is not UTF-8`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
}
