// Package csvinput reads bulksend's recipients: CSV with a header row, or
// JSONL with one object per line. Both are streamed row by row, keep every
// value exactly as written and carry the physical line number each row
// starts on, so a bad row is reported with its line and the rest still run.
package csvinput

import (
	"bufio"
	"fmt"
	"path/filepath"
	"strings"
)

// Format names an input format. The zero value asks NewReader to sniff.
type Format string

// The formats NewReader understands.
const (
	FormatAuto  Format = ""      // sniff: JSONL when the first non-blank byte is '{', else CSV
	FormatCSV   Format = "csv"   // a header row, then one record per row
	FormatJSONL Format = "jsonl" // one JSON object per line
)

// ParseFormat reads a --format value. "json" and "ndjson" mean JSONL because
// that is what people holding a file of objects usually call it.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return FormatAuto, nil
	case "csv":
		return FormatCSV, nil
	case "jsonl", "ndjson", "json":
		return FormatJSONL, nil
	}
	return FormatAuto, fmt.Errorf("unknown input format %q (want csv or jsonl)", s)
}

// FormatFromName guesses the format from a file name's extension, and leaves
// anything it does not know (including "-" for stdin) to sniffing. A .tsv is
// deliberately not CSV: its fields are tab-separated and reading it with
// commas would silently produce one-column rows.
func FormatFromName(name string) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return FormatCSV
	case ".jsonl", ".ndjson", ".json":
		return FormatJSONL
	}
	return FormatAuto
}

// sniff decides the format from the first byte that is not blank, peeking
// one more byte at a time so that a slow pipe is never waited on for more
// than it has sent and nothing is consumed. Input that is all blank, or
// blank beyond the buffer, is treated as CSV: that is the format whose
// reader explains an empty input.
func sniff(br *bufio.Reader) Format {
	for i := 0; ; i++ {
		b, _ := br.Peek(i + 1)
		if len(b) <= i {
			return FormatCSV
		}
		switch b[i] {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return FormatJSONL
		}
		return FormatCSV
	}
}
