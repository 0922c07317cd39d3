package csvinput

import (
	"strings"
	"testing"
)

func TestJSONL(t *testing.T) {
	type m = map[string]string
	tests := []struct {
		name  string
		input string
		rows  []wantRow
	}{
		{
			name:  "simple",
			input: `{"id":"1","to":"+15550001"}` + "\n" + `{"id":"2","to":"+15550002"}` + "\n",
			rows: []wantRow{
				{line: 1, fields: m{"id": "1", "to": "+15550001"}},
				{line: 2, fields: m{"id": "2", "to": "+15550002"}},
			},
		},
		{
			name:  "numbers keep their literal text",
			input: `{"zip":"007","i":10,"e":1e5,"E":2.5E-3,"f":-0.50,"big":12345678901234567890123,"zero":0}`,
			rows: []wantRow{{line: 1, fields: m{
				"zip": "007", "i": "10", "e": "1e5", "E": "2.5E-3", "f": "-0.50", "big": "12345678901234567890123", "zero": "0",
			}}},
		},
		{
			name:  "booleans and null",
			input: `{"t":true,"f":false,"n":null}`,
			rows:  []wantRow{{line: 1, fields: m{"t": "true", "f": "false", "n": ""}}},
		},
		{
			name:  "nested values as compact json, order and text kept",
			input: `{"o": { "b" : 1, "a" : [ 1, "x y", {"<&>": "\u00e9"} ] }, "a": [], "e": {}, "tight":{"z":[1,2]}}`,
			rows: []wantRow{{line: 1, fields: m{
				"o": `{"b":1,"a":[1,"x y",{"<&>":"\u00e9"}]}`, "a": "[]", "e": "{}", "tight": `{"z":[1,2]}`,
			}}},
		},
		{
			name:  "escapes decoded",
			input: `{"t":"caf\u00e9 \"q\" \\ \/ \n\t","k\u0065y":"v","emoji":"\ud83d\ude00","<":"<&>"}`,
			rows:  []wantRow{{line: 1, fields: m{"t": "café \"q\" \\ / \n\t", "key": "v", "emoji": "😀", "<": "<&>"}}},
		},
		{
			name:  "accents as raw utf-8",
			input: `{"name":"Zoë Ñúñez","text":"✓ 日本"}`,
			rows:  []wantRow{{line: 1, fields: m{"name": "Zoë Ñúñez", "text": "✓ 日本"}}},
		},
		{
			name:  "invalid utf-8 is an invalid row with its offset",
			input: "{\"a\":\"caf\xe9\"}\n{\"a\":\"ok\"}",
			rows: []wantRow{
				{line: 1, err: `data.jsonl:1: byte 9 (0xe9) is not UTF-8; if the file is Latin-1 or Windows-1252, give --input-encoding`},
				{line: 2, fields: m{"a": "ok"}},
			},
		},
		{
			name:  "bom",
			input: "\ufeff" + `{"a":"1"}` + "\n",
			rows:  []wantRow{{line: 1, fields: m{"a": "1"}}},
		},
		{
			name:  "crlf",
			input: `{"a":"1"}` + "\r\n" + `{"a":"2"}` + "\r\n",
			rows: []wantRow{
				{line: 1, fields: m{"a": "1"}},
				{line: 2, fields: m{"a": "2"}},
			},
		},
		{
			name:  "blank lines skipped, physical line numbers kept",
			input: "\n" + `{"a":"1"}` + "\n\n \t \r\n\r\n" + `{"a":"2"}` + "\n\n\n",
			rows: []wantRow{
				{line: 2, fields: m{"a": "1"}},
				{line: 6, fields: m{"a": "2"}},
			},
		},
		{
			name:  "surrounding space",
			input: "  \t{ \"a\" : \"b\" , \"c\" : 1 }  \r\n",
			rows:  []wantRow{{line: 1, fields: m{"a": "b", "c": "1"}}},
		},
		{
			name: "lines that are not objects reported, reading goes on",
			input: strings.Join([]string{
				`[1,2]`, `5`, `"text"`, `null`, `true`, `{"a":`, `{"a" 1}`, `{"a":1} x`, `{"a":1}{"b":2}`, `{'a':1}`, `{"a":1}`,
			}, "\n"),
			rows: []wantRow{
				{line: 1, err: "data.jsonl:1: not a JSON object: got an array"},
				{line: 2, err: "data.jsonl:2: not a JSON object: got a number"},
				{line: 3, err: "data.jsonl:3: not a JSON object: got a string"},
				{line: 4, err: "data.jsonl:4: not a JSON object: got null"},
				{line: 5, err: "data.jsonl:5: not a JSON object: got a boolean"},
				{line: 6, err: "data.jsonl:6: not a JSON object: unexpected end of JSON input"},
				{line: 7, err: "data.jsonl:7: not a JSON object: invalid character '1' after object key"},
				{line: 8, err: "data.jsonl:8: not a JSON object: invalid character 'x' after top-level value"},
				{line: 9, err: "data.jsonl:9: not a JSON object: invalid character '{' after top-level value"},
				{line: 10, err: "data.jsonl:10: not a JSON object: invalid character '\\''"},
				{line: 11, fields: m{"a": "1"}},
			},
		},
		{
			name:  "duplicate keys: the last wins",
			input: `{"a":"1","b":"x","a":"2"}`,
			rows:  []wantRow{{line: 1, fields: m{"a": "2", "b": "x"}}},
		},
		{
			name:  "empty object has empty fields",
			input: "{}\n{ }\n",
			rows:  []wantRow{{line: 1, fields: m{}}, {line: 2, fields: m{}}},
		},
		{
			name:  "empty key",
			input: `{"":"v"}`,
			rows:  []wantRow{{line: 1, fields: m{"": "v"}}},
		},
		{name: "empty input", input: ""},
		{name: "only blank lines", input: "\n \n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(tt.input), "data.jsonl", FormatJSONL)
			if err != nil {
				t.Fatal(err)
			}
			if r.Columns() != nil {
				t.Errorf("Columns() = %q, want nil", r.Columns())
			}
			checkRows(t, readRows(t, r), tt.rows)
		})
	}
}

func TestJSONLLongLines(t *testing.T) {
	line := func(n int) string { // an object line of exactly n bytes
		return `{"t":"` + strings.Repeat("x", n-len(`{"t":""}`)) + `"}`
	}
	value := func(n int) map[string]string {
		return map[string]string{"t": strings.Repeat("x", n-len(`{"t":""}`))}
	}
	tests := []struct {
		name    string
		maxLine int
		input   string
		rows    []wantRow
	}{
		{
			name: "17 MiB line with the default limit", maxLine: maxRecordBytes,
			input: line(17<<20) + "\n" + `{"a":"1"}`,
			rows:  []wantRow{{line: 1, fields: value(17 << 20)}, {line: 2, fields: map[string]string{"a": "1"}}},
		},
		{
			name: "limit inside the buffer", maxLine: 100,
			input: line(100) + "\r\n" + line(101) + "\n" + line(100) + "\n" + line(101),
			rows: []wantRow{
				{line: 1, fields: value(100)},
				{line: 2, err: "data.jsonl:2: line is longer than 100 bytes"},
				{line: 3, fields: value(100)},
				{line: 4, err: "data.jsonl:4: line is longer than 100 bytes"},
			},
		},
		{
			name: "limit beyond the buffer", maxLine: 3 * bufferSize,
			input: line(3*bufferSize) + "\r\n" + line(3*bufferSize+1) + "\n" + `{"a":"1"}` + "\n" + line(5*bufferSize),
			rows: []wantRow{
				{line: 1, fields: value(3 * bufferSize)},
				{line: 2, err: "data.jsonl:2: line is longer than"},
				{line: 3, fields: map[string]string{"a": "1"}},
				{line: 4, err: "data.jsonl:4: line is longer than"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(tt.input), "data.jsonl", FormatJSONL)
			if err != nil {
				t.Fatal(err)
			}
			r.maxLine = tt.maxLine
			checkRows(t, readRows(t, r), tt.rows)
		})
	}
}
