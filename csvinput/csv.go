package csvinput

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bulksend/bulksend/sender"
)

// startCSV reads and checks the header. Names are trimmed because a stray
// space after a comma in a hand-written header is never meant to be part of
// the name, while values are kept exactly as written.
func (r *Reader) startCSV() error {
	cr := csv.NewReader(r.br) // reuses r.br: it is already a large bufio.Reader
	// Ragged rows are reported one by one instead of stopping the reader.
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	r.csv = cr
	r.in.limit = maxRecordBytes
	header, err := cr.Read()
	r.in.n = 0
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: empty input: no CSV header row", r.name)
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return r.syntaxError(pe, "header: ")
		}
		return r.readError(err)
	}
	line, _ := cr.FieldPos(0)
	r.lastLine = line
	r.columns = make([]string, len(header))
	seen := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.TrimSpace(h)
		if off := invalidUTF8(h); off >= 0 {
			return errNotUTF8(fmt.Sprintf("%s:%d: column %d: header name", r.name, line, i+1), off, h[off])
		}
		if h == "" {
			return fmt.Errorf("%s:%d: column %d: empty header name", r.name, line, i+1)
		}
		if j, ok := seen[h]; ok {
			return fmt.Errorf("%s:%d: column %d: duplicate header name %q (also column %d)", r.name, line, i+1, h, j+1)
		}
		seen[h] = i
		r.columns[i] = h
	}
	return nil
}

func (r *Reader) nextCSV() (sender.Row, error) {
	if r.swallowedFrom > 0 && r.swallowedNext <= r.swallowedLast {
		n := r.swallowedNext
		r.swallowedNext++
		return sender.Row{Line: n, Err: fmt.Errorf("%s:%d: not read: part of the malformed record that starts on line %d", r.name, n, r.swallowedFrom)}, nil
	}
	rec, err := r.csv.Read()
	r.in.n = 0
	if err != nil {
		var pe *csv.ParseError
		switch {
		case errors.Is(err, io.EOF):
			return sender.Row{}, io.EOF
		case errors.As(err, &pe):
			// encoding/csv has consumed lines StartLine..Line and goes on
			// after them; the lines after the first cannot be told apart
			// from records a stray quote swallowed, so each is reported.
			r.lastLine = pe.Line
			r.swallowedFrom, r.swallowedNext, r.swallowedLast = pe.StartLine, pe.StartLine+1, pe.Line
			return sender.Row{Line: pe.StartLine, Err: r.syntaxError(pe, "")}, nil
		}
		return sender.Row{}, r.readError(err)
	}
	line, _ := r.csv.FieldPos(0)
	r.lastLine = line
	if len(rec) != len(r.columns) {
		return sender.Row{Line: line, Err: fmt.Errorf("%s:%d: has %d fields, header has %d", r.name, line, len(rec), len(r.columns))}, nil
	}
	fields := make(map[string]string, len(rec))
	for i, v := range rec {
		if off := invalidUTF8(v); off >= 0 {
			return sender.Row{Line: line, Err: errNotUTF8(fmt.Sprintf("%s:%d: column %q:", r.name, line, r.columns[i]), off, v[off])}, nil
		}
		fields[r.columns[i]] = v
	}
	return sender.Row{Line: line, Fields: fields}, nil
}

// syntaxError names the line a malformed record starts on, as every row
// error does, and where encoding/csv gave up if that is further on.
func (r *Reader) syntaxError(pe *csv.ParseError, what string) error {
	if pe.Line != pe.StartLine {
		return fmt.Errorf("%s:%d: %srecord runs on to line %d, byte %d: %w", r.name, pe.StartLine, what, pe.Line, pe.Column, pe.Err)
	}
	return fmt.Errorf("%s:%d: %sbyte %d: %w", r.name, pe.StartLine, what, pe.Column, pe.Err)
}

// readError is a failure to read the input at all, which ends the reader.
func (r *Reader) readError(err error) error {
	if errors.Is(err, errRecordTooLong) && r.lastLine == 0 {
		return fmt.Errorf("%s: the header is longer than %d MiB: %w", r.name, maxRecordBytes>>20, err)
	}
	if errors.Is(err, errRecordTooLong) {
		return fmt.Errorf("%s: the record after line %d is longer than %d MiB (is a quoted field left open?): %w",
			r.name, r.lastLine, maxRecordBytes>>20, err)
	}
	return fmt.Errorf("read %s: %w", r.name, err)
}
