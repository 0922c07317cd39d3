// Package report writes bulksend's per-message result report and reads it
// back. The report doubles as the crash-safe journal that --resume reads:
// every message is recorded as in flight before its request leaves and again
// with its result, each row handed to the OS before the call returns.
//
// The same rows are written as CSV (through gocsv's column mapping) or as
// JSONL, chosen by the report's file name.
//
// Around the Writer: Lock keeps two runs off one report (and clears what a
// killed holder left), Load reads a journal back for --resume, Compact
// rewrites it into one row per line at the end of a run, and Merge joins
// the reports of the shards of one file, refusing those whose run did not
// finish.
package report

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/bulksend/bulksend/sender"
)

// Format is the report's file format.
type Format string

// The formats a report can be written in.
const (
	FormatCSV   Format = "csv"
	FormatJSONL Format = "jsonl"
)

// FormatFromName picks the format from a report path's extension, so
// "--report out.jsonl" needs no extra flag: .jsonl, .ndjson and .json are
// JSONL, anything else (including "-") is CSV.
func FormatFromName(path string) Format {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".ndjson", ".json":
		return FormatJSONL
	}
	return FormatCSV
}

// check rejects formats this package cannot read back, so a typo fails when
// the report is opened rather than producing a file resume cannot use.
func (f Format) check() error {
	switch f {
	case FormatCSV, FormatJSONL:
		return nil
	}
	return fmt.Errorf("unknown report format %q", string(f))
}

// Row is one report line. Its field order is the column order of both
// formats, and the csv tags are what gocsv uses for the CSV header.
type Row struct {
	Line       int           `csv:"line" json:"line"`
	ID         string        `csv:"id" json:"id"`
	Status     sender.Status `csv:"status" json:"status"`
	HTTPStatus int           `csv:"http_status" json:"http_status"`
	Attempts   int           `csv:"attempts" json:"attempts"`
	Throttled  int           `csv:"throttled" json:"throttled"`
	Error      string        `csv:"error" json:"error"`
	MessageID  string        `csv:"message_id" json:"message_id"`
	LatencyMS  int64         `csv:"latency_ms" json:"latency_ms"`
	SentAt     string        `csv:"sent_at" json:"sent_at"`
	Response   string        `csv:"response" json:"response"`
	// Segments is the SMS segments the message is billed as, for the
	// presets that count them; its CSV column is written only when the
	// report has one (Options.Segments), so gocsv does not map it.
	Segments int `csv:"-" json:"segments,omitempty"`
	// Fingerprint is the hash of the request the row became (of the row
	// itself for an invalid row; sender.Fingerprint), so --resume can tell
	// that the input or a template changed under the report. A report
	// written before it was recorded has none: those rows are not
	// compared. Like Segments, its CSV column is optional (Options and
	// the file's header say), after segments.
	Fingerprint string `csv:"-" json:"fingerprint,omitempty"`
	// DeliveryStatus, DeliveryError and DeliveryAt are what `bulksend
	// status` learned of a sent message from its vendor: the vendor's word
	// for its state (delivered, undelivered, delivery-success, ...), the
	// error code and text of a message that did not arrive, and when the
	// vendor last changed the state. Like Segments, their CSV columns are
	// written only when the report has them (UpdateDelivery adds them).
	DeliveryStatus string `csv:"-" json:"delivery_status,omitempty"`
	DeliveryError  string `csv:"-" json:"delivery_error,omitempty"`
	DeliveryAt     string `csv:"-" json:"delivery_at,omitempty"`
}

// numColumns is the number of fields in Row, as a report row has them.
const numColumns = 11

// timeLayout is RFC 3339 with a fixed millisecond part, so sent_at columns
// line up and sort as text.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// formatTime renders t in UTC, or "" for the zero time (a row never sent).
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.Format(timeLayout)
	}
	h, mi, s := t.Clock()
	ms := t.Nanosecond() / 1e6
	var b [24]byte
	put := func(i, v, n int) {
		for k := i + n - 1; k >= i; k-- {
			b[k] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, y, 4)
	b[4] = '-'
	put(5, int(mo), 2)
	b[7] = '-'
	put(8, d, 2)
	b[10] = 'T'
	put(11, h, 2)
	b[13] = ':'
	put(14, mi, 2)
	b[16] = ':'
	put(17, s, 2)
	b[19] = '.'
	put(20, ms, 3)
	b[23] = 'Z'
	return string(b[:])
}

// FromResult converts an engine result into its report row.
func FromResult(r *sender.Result) Row {
	return Row{
		Line:        r.Line,
		ID:          r.ID,
		Status:      r.Status,
		HTTPStatus:  r.HTTPStatus,
		Attempts:    r.Attempts,
		Throttled:   r.Throttled,
		Error:       r.Error,
		MessageID:   r.MessageID,
		LatencyMS:   r.Latency.Milliseconds(),
		SentAt:      formatTime(r.SentAt),
		Response:    r.Response,
		Segments:    r.Segments,
		Fingerprint: r.Fingerprint,
	}
}

// statusCodes numbers the statuses so State can keep one byte per line;
// 0 means "no row for this line".
var statusCodes = map[sender.Status]uint8{
	sender.StatusInFlight:  1,
	sender.StatusSent:      2,
	sender.StatusFailed:    3,
	sender.StatusInvalid:   4,
	sender.StatusDuplicate: 5,
	sender.StatusUnknown:   6,
	sender.StatusSkipped:   7,
	sender.StatusPending:   8,
}

// statusByCode inverts statusCodes.
var statusByCode = [...]sender.Status{
	1: sender.StatusInFlight,
	2: sender.StatusSent,
	3: sender.StatusFailed,
	4: sender.StatusInvalid,
	5: sender.StatusDuplicate,
	6: sender.StatusUnknown,
	7: sender.StatusSkipped,
	8: sender.StatusPending,
}

// check rejects a row that Read would refuse. The writer applies it too, so
// a bad result can never poison the journal for a later --resume.
func (r *Row) check() error {
	if r.Line < 1 {
		return fmt.Errorf("line %d is not a row number", r.Line)
	}
	if statusCodes[r.Status] == 0 {
		return fmt.Errorf("line %d: unknown status %q", r.Line, string(r.Status))
	}
	return nil
}
