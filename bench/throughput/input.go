package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/bulksend/bulksend/csvinput"
	"github.com/bulksend/bulksend/preset"
	"github.com/bulksend/bulksend/sender"
)

// bodyTemplate is the --body of every bulksend run; the baselines send what
// it renders to, byte for byte.
const bodyTemplate = `{"id": {{json .id}}, "to": {{json .to}}, "text": {{json .text}}}`

// writeRows writes an input of n rows: an id, a phone number and a text
// with a comma, so the CSV reader meets a quoted field on every row.
func writeRows(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write rows: %w", err)
	}
	w := bufio.NewWriterSize(f, 256<<10)
	w.WriteString("id,to,text\n")
	var b []byte
	for i := range n {
		b = fmt.Appendf(b[:0], "r%08d,+1555%07d,\"Hello friend, your code is %d\"\n", i, i%10_000_000, i)
		w.Write(b)
	}
	err = w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write rows: %w", err)
	}
	return nil
}

// target is one request in vegeta's JSON target format, which the minimal
// client reads too: one object a line, the body base64 (as encoding/json
// writes a []byte).
type target struct {
	Method string      `json:"method"`
	URL    string      `json:"url"`
	Body   []byte      `json:"body,omitempty"`
	Header http.Header `json:"header,omitempty"`
}

// renderTargets renders the rows file exactly as `bulksend send --body
// bodyTemplate` does (the same csvinput reader and generic preset) and
// returns every request with its idempotency key, URL left empty: each run
// has its own sandbox port.
func renderTargets(rowsPath string) ([]target, error) {
	f, err := os.Open(rowsPath)
	if err != nil {
		return nil, fmt.Errorf("render targets: %w", err)
	}
	defer f.Close()
	rows, err := csvinput.NewReader(f, rowsPath, csvinput.FormatCSV)
	if err != nil {
		return nil, fmt.Errorf("render targets: %w", err)
	}
	p, err := preset.NewGeneric(preset.GenericConfig{URL: "http://127.0.0.1/send", Body: bodyTemplate})
	if err != nil {
		return nil, fmt.Errorf("render targets: %w", err)
	}
	var out []target
	for {
		row, err := rows.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("render targets: %w", err)
		}
		m := p.Builder.Build(row)
		if m.Invalid != nil {
			return nil, fmt.Errorf("render targets: %w", m.Invalid)
		}
		h := m.Header.Clone()
		if h == nil {
			h = http.Header{}
		}
		h.Set(sender.DefaultIdempotencyHeader, m.IdempotencyKey)
		out = append(out, target{Method: m.Method, Body: m.Body, Header: h})
	}
}

// writeTargets writes ts as vegeta JSON targets, each to url.
func writeTargets(path, url string, ts []target) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write targets: %w", err)
	}
	w := bufio.NewWriterSize(f, 256<<10)
	enc := json.NewEncoder(w)
	for _, t := range ts {
		t.URL = url
		if err = enc.Encode(t); err != nil {
			break
		}
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write targets: %w", err)
	}
	return nil
}

// maxTargetLine bounds one line of a targets file.
const maxTargetLine = 4 << 20

// readTargets reads vegeta JSON targets, one object a line; blank lines
// are skipped. Every target needs a method and an http(s) URL.
func readTargets(r io.Reader) ([]target, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxTargetLine)
	var out []target
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var t target
		if err := json.Unmarshal(b, &t); err != nil {
			return nil, fmt.Errorf("read targets: line %d: %w", line, err)
		}
		if t.Method == "" {
			return nil, fmt.Errorf("read targets: line %d: no method", line)
		}
		req, err := http.NewRequest(t.Method, t.URL, nil)
		if err != nil {
			return nil, fmt.Errorf("read targets: line %d: %w", line, err)
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" || req.URL.Host == "" {
			return nil, fmt.Errorf("read targets: line %d: url %q is not an absolute http(s) URL", line, t.URL)
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read targets: %w", err)
	}
	return out, nil
}
