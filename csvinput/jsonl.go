package csvinput

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/bulksend/bulksend/sender"
)

// keepLongBuffer is the largest line buffer kept between lines; one huge
// line should not pin its memory for the rest of the run.
const keepLongBuffer = 1 << 20

func (r *Reader) nextJSONL() (sender.Row, error) {
	for {
		line, tooLong, err := r.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return sender.Row{}, io.EOF
			}
			return sender.Row{}, r.readError(err)
		}
		if tooLong {
			return sender.Row{Line: r.line, Err: fmt.Errorf("%s:%d: line is longer than %d bytes", r.name, r.line, r.maxLine)}, nil
		}
		if isBlank(line) {
			continue
		}
		if !utf8.Valid(line) {
			off := invalidUTF8(string(line))
			return sender.Row{Line: r.line, Err: errNotUTF8(fmt.Sprintf("%s:%d:", r.name, r.line), off, line[off])}, nil
		}
		fields, err := parseObject(line, r.lastSize)
		if err != nil {
			return sender.Row{Line: r.line, Err: fmt.Errorf("%s:%d: %w", r.name, r.line, err)}, nil
		}
		r.lastSize = len(fields)
		return sender.Row{Line: r.line, Fields: fields}, nil
	}
}

// readLine returns the next physical line without its line ending. The
// slice is only valid until the next call. A line longer than maxLine is
// read to its end but not kept, and reported with tooLong.
func (r *Reader) readLine() (line []byte, tooLong bool, err error) {
	if cap(r.long) > keepLongBuffer {
		r.long = nil // the last line was huge; do not keep its memory
	}
	line, err = r.br.ReadSlice('\n')
	size := len(line)
	if errors.Is(err, bufio.ErrBufferFull) {
		r.long = append(r.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = r.br.ReadSlice('\n')
			size += len(line)
			if size <= r.maxLine+2 { // +2: the line ending is not part of the line
				r.long = append(r.long, line...)
			}
		}
		line = r.long
	}
	if err != nil && (!errors.Is(err, io.EOF) || size == 0) {
		return nil, false, err
	}
	r.line++
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if size > r.maxLine+2 || len(line) > r.maxLine {
		return nil, true, nil
	}
	return line, false, nil
}

// isBlank reports a line holding only JSON whitespace.
func isBlank(line []byte) bool {
	for _, c := range line {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// parseObject turns one JSON object into fields, each exactly as written:
// strings unescaped, numbers, true and false as their literal text, null as
// "", and nested objects and arrays as compact JSON. The line is converted
// to a string once and values without escapes are slices of it, so a row
// costs a handful of allocations however many fields it has. Duplicate keys
// keep the last value, as encoding/json does.
func parseObject(line []byte, sizeHint int) (map[string]string, error) {
	if !json.Valid(line) {
		var v any
		err := json.Unmarshal(line, &v) // only to say what is wrong
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	// The scanning below relies on the input being valid JSON.
	s := string(line)
	i := skipSpace(s, 0)
	if s[i] != '{' {
		return nil, fmt.Errorf("not a JSON object: got %s", kindOf(s[i]))
	}
	fields := make(map[string]string, sizeHint)
	i = skipSpace(s, i+1)
	if s[i] == '}' {
		return fields, nil
	}
	for {
		end := stringEnd(s, i)
		key, err := unquote(s[i:end])
		if err != nil {
			return nil, err
		}
		i = skipSpace(s, skipSpace(s, end)+1) // past the colon
		end = valueEnd(s, i)
		v, err := fieldText(s[i:end])
		if err != nil {
			return nil, err
		}
		fields[key] = v
		i = skipSpace(s, end)
		if s[i] == '}' {
			return fields, nil
		}
		i = skipSpace(s, i+1) // past the comma
	}
}

func kindOf(c byte) string {
	switch c {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
		i++
	}
	return i
}

// stringEnd returns the index just past the JSON string starting at s[i].
func stringEnd(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(s)
}

// valueEnd returns the index just past the JSON value starting at s[i].
func valueEnd(s string, i int) int {
	switch s[i] {
	case '"':
		return stringEnd(s, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				j = stringEnd(s, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(s)
	}
	for j := i; j < len(s); j++ {
		switch s[j] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return j
		}
	}
	return len(s)
}

// fieldText is the field value for the JSON value v.
func fieldText(v string) (string, error) {
	switch v[0] {
	case '"':
		return unquote(v)
	case 'n':
		return "", nil
	case '{', '[':
		if !strings.ContainsAny(v, " \t\r\n") {
			return v, nil // already compact
		}
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(v)); err != nil {
			return "", fmt.Errorf("not a JSON object: %w", err)
		}
		return b.String(), nil
	}
	return v, nil // a number, true or false: its literal text
}

// unquote decodes the JSON string q. Without escapes and with valid UTF-8 the
// text between the quotes is the value; otherwise encoding/json decodes it,
// which also turns invalid UTF-8 into U+FFFD as it always does.
func unquote(q string) (string, error) {
	if strings.IndexByte(q, '\\') < 0 && utf8.ValidString(q) {
		return q[1 : len(q)-1], nil
	}
	var s string
	if err := json.Unmarshal([]byte(q), &s); err != nil {
		return "", fmt.Errorf("not a JSON object: %w", err)
	}
	return s, nil
}
