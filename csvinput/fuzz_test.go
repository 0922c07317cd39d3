package csvinput

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/bulksend/bulksend/sender"
)

// fuzzRows reads every row, checking what must hold for any input: no
// panic, an end (a row per physical line at most), line numbers from 1 and
// increasing, and each row either an error or fields.
func fuzzRows(t *testing.T, r *Reader, data []byte) []sender.Row {
	var rows []sender.Row
	limit := bytes.Count(data, []byte("\n")) + 1
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return rows
		}
		if err != nil {
			t.Fatalf("Next on an in-memory input: %v", err)
		}
		if len(rows) == limit {
			t.Fatalf("more than %d rows from %d lines", limit, limit)
		}
		if row.Line < 1 || (len(rows) > 0 && row.Line <= rows[len(rows)-1].Line) {
			t.Fatalf("row %d has line %d after %v", len(rows), row.Line, rows)
		}
		if (row.Err == nil) == (row.Fields == nil) {
			t.Fatalf("line %d: want either an error or fields, got %v and %q", row.Line, row.Err, row.Fields)
		}
		rows = append(rows, row)
	}
}

func FuzzCSV(f *testing.F) {
	for _, seed := range []string{
		"id,to,text\n1,+15550001,hi\n",
		"\ufeffid,to\r\n1,a\r\n\r\n2,b",
		"id,text\n1,\"Hello, \"\"world\"\"\"\n2,\"two\nlines\"\n",
		"a,b\n1,2,3\n4\n",
		"a,b\n1,5\" x\n3,4\n",
		"a,b\n1,\"open\n2,3\n4,\"5\"6\n7,8\n",
		"a,b\n1,\"open\n2,3\n",
		"\n\n a , b \n\n1,2\n",
		"a,a\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), "f.csv", FormatCSV)
		if err != nil {
			return
		}
		rows := fuzzRows(t, r, data)
		columns := r.Columns()
		for _, row := range rows {
			if row.Fields != nil && len(row.Fields) != len(columns) {
				t.Fatalf("line %d: fields %q for columns %q", row.Line, row.Fields, columns)
			}
		}

		// Where encoding/csv reads the whole input without an error, the
		// rows must be its records, the ragged ones as errors.
		cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, bom)))
		cr.FieldsPerRecord = -1
		records, err := cr.ReadAll()
		if err != nil {
			return
		}
		if len(records)-1 != len(rows) {
			t.Fatalf("%d rows, encoding/csv has %d records after the header", len(rows), len(records)-1)
		}
		for i, rec := range records[1:] {
			if len(rec) != len(columns) {
				if rows[i].Err == nil {
					t.Fatalf("line %d: ragged record %q read as %q", rows[i].Line, rec, rows[i].Fields)
				}
				continue
			}
			if !slices.ContainsFunc(rec, func(f string) bool { return !utf8.ValidString(f) }) == (rows[i].Err != nil) {
				t.Fatalf("line %d: record %q read with error %v", rows[i].Line, rec, rows[i].Err)
			}
			for j, c := range columns {
				if rows[i].Err == nil && rows[i].Fields[c] != rec[j] {
					t.Fatalf("line %d: column %q is %q, encoding/csv says %q", rows[i].Line, c, rows[i].Fields[c], rec[j])
				}
			}
		}
	})
}

func FuzzJSONL(f *testing.F) {
	for _, seed := range []string{
		`{"id":"1","to":"+15550001"}` + "\n" + `{"id":"2"}`,
		"\ufeff" + `{"a":1e5,"b":-0.50,"c":true,"d":null}` + "\r\n\r\n  \n",
		`{"o": { "b" : 1, "a" : [ 1, "x y", {"<": "\u00e9"} ] }}`,
		`{"t":"caf\u00e9 \"q\" \\ \/ \ud83d\ude00 \ud800","k\u0065y":"v"}`,
		"{\"a\":\"x\xffy\"}",
		`[1]` + "\n" + `5` + "\n" + `{"a":` + "\n" + `{"a":1} x` + "\n" + `{}`,
		`{"a":"1","a":"2"}`,
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), "f.jsonl", FormatJSONL)
		if err != nil {
			t.Fatalf("NewReader: %v", err)
		}
		rows := fuzzRows(t, r, data)

		// Every non-blank line must read as encoding/json reads it.
		lines := bytes.Split(bytes.TrimPrefix(data, bom), []byte("\n"))
		if len(lines[len(lines)-1]) == 0 {
			lines = lines[:len(lines)-1]
		}
		i := 0
		for n, line := range lines {
			line = bytes.TrimSuffix(line, []byte("\r"))
			if len(bytes.Trim(line, " \t\r")) == 0 {
				continue
			}
			if i == len(rows) {
				t.Fatalf("line %d (%q) has no row", n+1, line)
			}
			row := rows[i]
			i++
			if row.Line != n+1 {
				t.Fatalf("row for line %d says line %d", n+1, row.Line)
			}
			want, ok := referenceObject(line)
			if !ok {
				if row.Err == nil {
					t.Fatalf("line %d: %q read as %q, want an error", n+1, line, row.Fields)
				}
				continue
			}
			if row.Err != nil {
				t.Fatalf("line %d: %q: unexpected error %v", n+1, line, row.Err)
			}
			if !maps.Equal(row.Fields, want) {
				t.Fatalf("line %d: %q read as\n%q\nwant\n%q", n+1, line, row.Fields, want)
			}
		}
		if i != len(rows) {
			t.Fatalf("%d rows for %d non-blank lines", len(rows), i)
		}
	})
}

// referenceObject reads a line the slow, obvious way with encoding/json.
func referenceObject(line []byte) (map[string]string, bool) {
	trimmed := bytes.TrimLeft(line, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, false
	}
	if !utf8.Valid(line) {
		return nil, false // an invalid row, not U+FFFD
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(line, &raw); err != nil {
		return nil, false
	}
	fields := make(map[string]string, len(raw))
	for k, v := range raw {
		switch v[0] {
		case '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, false
			}
			fields[k] = s
		case 'n':
			fields[k] = ""
		case '{', '[':
			var b bytes.Buffer
			if err := json.Compact(&b, v); err != nil {
				return nil, false
			}
			fields[k] = b.String()
		default:
			fields[k] = string(v)
		}
	}
	return fields, true
}
