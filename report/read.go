package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/bulksend/bulksend/sender"

	"github.com/gocarina/gocsv"
)

// readBufferSize is the read buffer for report files: rows are small, and a
// large buffer keeps a 10M-row resume to few read calls.
const readBufferSize = 64 << 10

// Read calls fn for each row in file order. A damaged LAST line (crash
// mid-write: truncated CSV record or JSON) is ignored; a damaged line
// elsewhere is an error naming file and line ("out.csv:17: ..."). A last row
// without its terminating newline counts as damaged even if it parses,
// because Append cuts such a row off, and resume must not rely on a row the
// next run's journal will not contain. An error from fn stops Read and is
// returned as is.
//
// The input ends at its first NUL byte: the rest is what a killed run left
// half copied (see tailReader).
//
// A CSV quoted field left open (an unbalanced quote) swallows the rest of
// the file, so a record damaged that way is indistinguishable from a cut
// last record and is ignored along with everything after it.
func Read(r io.Reader, name string, format Format, fn func(Row) error) error {
	_, err := scan(r, name, format, fn)
	return err
}

// record is one decoded record and where it lies in the file.
type record struct {
	row    Row
	line   int   // the line the record starts on, for error messages
	end    int64 // the offset just past the record
	header bool  // the CSV header: checked, never handed to fn
	err    error // why the record is damaged
}

// decoder yields a format's records; ok is false at the end of the input.
type decoder interface {
	next() (rec record, ok bool)
}

// scan is Read that also returns the offset just past the last row accepted
// (or the header), where Append cuts a damaged tail off.
func scan(r io.Reader, name string, format Format, fn func(Row) error) (int64, error) {
	if err := format.check(); err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	src := &tailReader{r: r}
	var dec decoder
	if format == FormatJSONL {
		dec = &jsonlDecoder{br: bufio.NewReaderSize(src, readBufferSize)}
	} else {
		dec = &csvDecoder{src: src, cr: csv.NewReader(bufio.NewReaderSize(src, readBufferSize))}
	}
	var (
		end     int64
		pending record
		has     bool
	)
	// Each record is held back until the next one is read: only then is it
	// known not to be the last, whose damage is forgiven.
	accept := func(rec *record) error {
		end = rec.end
		if rec.header {
			return nil
		}
		return fn(rec.row)
	}
	for {
		rec, ok := dec.next()
		if src.err != nil {
			return end, fmt.Errorf("read %s: %w", name, src.err)
		}
		if !ok {
			break
		}
		if has {
			if pending.err != nil {
				return end, fmt.Errorf("%s:%d: %w", name, pending.line, pending.err)
			}
			if err := accept(&pending); err != nil {
				return end, err
			}
		}
		pending, has = rec, true
	}
	if has && pending.err == nil && src.last == '\n' {
		if err := accept(&pending); err != nil {
			return end, err
		}
	}
	return end, nil
}

// tailReader remembers the last byte read, to tell whether the input ends
// with a complete line, and any read error, so a failing disk is reported
// rather than mistaken for a damaged record.
//
// It ends the input at the first NUL byte. No report row holds one (the
// CSV encoder replaces it, JSON escapes it), and a run killed while
// copying rows into the mapped file (mapped_linux.go) can leave a hole of
// zero bytes anywhere in that last copy, not only after it: memmove stores
// the first 32 bytes of a large copy last, so a complete-looking row after
// the hole would otherwise make the row cut by it a damaged row before the
// last. Nothing the killed write held was acted on (Begin had not
// returned), so it is all dropped, and Append cuts it off.
type tailReader struct {
	r    io.Reader
	last byte
	err  error
	nul  bool // a NUL byte was met: the input ends there
}

func (t *tailReader) Read(p []byte) (int, error) {
	if t.nul {
		return 0, io.EOF
	}
	n, err := t.r.Read(p)
	if i := bytes.IndexByte(p[:n], 0); i >= 0 {
		n, err, t.nul = i, io.EOF, true
	}
	if n > 0 {
		t.last = p[n-1]
	}
	if err != nil && err != io.EOF && t.err == nil {
		t.err = err
	}
	return n, err
}

// csvDecoder reads CSV through gocsv, which maps columns to Row by header
// name, so a report stays readable if columns are added or reordered.
type csvDecoder struct {
	src     *tailReader
	cr      *csv.Reader
	um      *gocsv.Unmarshaller
	started bool
	// fast: the header is exactly the columns this package writes, in
	// order (cols says which), so records are decoded by position without
	// reflection.
	fast bool
	cols columns
}

// canonicalHeader is the header Writer writes.
var canonicalHeader = []string{"line", "id", "status", "http_status", "attempts", "throttled", "error", "message_id", "latency_ms", "sent_at", "response"}

// segmentsColumn is the optional last column a vendor preset's report has.
const segmentsColumn = "segments"

// fingerprintColumn is the optional column every report has since
// fingerprints are recorded, after segments.
const fingerprintColumn = "fingerprint"

// deliveryColumns are the optional columns `bulksend status` adds, after
// response, segments and fingerprint.
var deliveryColumns = []string{"delivery_status", "delivery_error", "delivery_at"}

// columns says which optional columns a CSV report has after response.
type columns struct{ segments, fingerprint, delivery bool }

// header is the CSV header of a report with these columns.
func (c columns) header() []string {
	h := slices.Clip(canonicalHeader)
	if c.segments {
		h = append(h, segmentsColumn)
	}
	if c.fingerprint {
		h = append(h, fingerprintColumn)
	}
	if c.delivery {
		h = append(h, deliveryColumns...)
	}
	return h
}

// width is the number of fields of a record with these columns.
func (c columns) width() int {
	n := numColumns
	if c.segments {
		n++
	}
	if c.fingerprint {
		n++
	}
	if c.delivery {
		n += len(deliveryColumns)
	}
	return n
}

// knownColumns lists every column layout this package writes.
var knownColumns = func() []columns {
	var all []columns
	for _, s := range []bool{false, true} {
		for _, f := range []bool{false, true} {
			for _, d := range []bool{false, true} {
				all = append(all, columns{segments: s, fingerprint: f, delivery: d})
			}
		}
	}
	return all
}()

// columnsOf finds the layout whose header is h; ok is false for a header
// this package does not write as is.
func columnsOf(h []string) (c columns, ok bool) {
	for _, c := range knownColumns {
		if slices.Equal(h, c.header()) {
			return c, true
		}
	}
	return columns{}, false
}

// decodeFast fills a Row from a record in the column order of cols.
func decodeFast(f []string, cols columns) (Row, error) {
	var r Row
	if len(f) != cols.width() {
		return r, fmt.Errorf("%d fields, want %d", len(f), cols.width())
	}
	var err error
	atoi := func(s string) int {
		if s == "" || err != nil {
			return 0
		}
		n, e := strconv.Atoi(s)
		if e != nil {
			err = e
		}
		return n
	}
	r.Line = atoi(f[0])
	r.ID = unguard(f[1])
	r.Status = sender.Status(f[2])
	r.HTTPStatus = atoi(f[3])
	r.Attempts = atoi(f[4])
	r.Throttled = atoi(f[5])
	r.Error = unguard(f[6])
	r.MessageID = unguard(f[7])
	r.LatencyMS = int64(atoi(f[8]))
	r.SentAt = f[9]
	r.Response = unguard(f[10])
	i := numColumns
	if cols.segments {
		r.Segments = atoi(f[i])
		i++
	}
	if cols.fingerprint {
		r.Fingerprint = f[i]
		i++
	}
	if cols.delivery {
		r.DeliveryStatus, r.DeliveryError, r.DeliveryAt = unguard(f[i]), unguard(f[i+1]), f[i+2]
	}
	return r, err
}

// errNoHeader marks the records after a damaged header.
var errNoHeader = errors.New("no valid header before this record")

func (d *csvDecoder) next() (record, bool) {
	if !d.started {
		d.started = true
		return d.header()
	}
	var (
		v   any
		err error
	)
	if d.fast {
		var f []string
		if f, err = d.cr.Read(); err == nil {
			var row Row
			row, err = decodeFast(f, d.cols)
			v = row
		}
	} else if d.um != nil {
		v, err = d.um.Read()
	} else if _, err = d.cr.Read(); err == nil {
		err = errNoHeader // the driver reports the header's damage first
	}
	if err == io.EOF || d.src.err != nil {
		return record{}, false
	}
	rec := record{end: d.cr.InputOffset()}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		rec.line, rec.err = pe.StartLine, pe.Err
		return rec, true
	}
	// Any other error is about a record the reader returned whole.
	rec.line, _ = d.cr.FieldPos(0)
	if err != nil {
		rec.err = err
		return rec, true
	}
	rec.row = v.(Row)
	if !d.fast {
		r := &rec.row
		r.ID, r.Error, r.MessageID, r.Response = unguard(r.ID), unguard(r.Error), unguard(r.MessageID), unguard(r.Response)
	}
	rec.err = rec.row.check()
	return rec, true
}

// header reads and checks the header row.
func (d *csvDecoder) header() (record, bool) {
	d.cr.ReuseRecord = true
	um, err := gocsv.NewUnmarshaller(d.cr, Row{})
	if err == nil {
		d.cols, d.fast = columnsOf(um.Headers)
	}
	if err == io.EOF {
		return record{}, false
	}
	rec := record{header: true, line: 1, end: d.cr.InputOffset()}
	var pe *csv.ParseError
	switch {
	case errors.As(err, &pe):
		rec.line, rec.err = pe.StartLine, fmt.Errorf("header: %w", pe.Err)
	case err != nil:
		rec.err = fmt.Errorf("header: %w", err)
	case len(um.MismatchedStructFields) > 0:
		rec.err = fmt.Errorf("header lacks columns %s", strings.Join(um.MismatchedStructFields, ", "))
	default:
		d.um = um
	}
	return rec, true
}

// jsonlDecoder reads one JSON object per line; blank lines are skipped.
type jsonlDecoder struct {
	br   *bufio.Reader
	line int
	off  int64
	long []byte // a line longer than br's buffer
}

func (d *jsonlDecoder) next() (record, bool) {
	for {
		b := d.readLine()
		if len(b) == 0 {
			return record{}, false
		}
		d.line++
		d.off += int64(len(b))
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		rec := record{line: d.line, end: d.off}
		if err := json.Unmarshal(b, &rec.row); err != nil {
			rec.err = err
		} else {
			rec.err = rec.row.check()
		}
		return rec, true
	}
}

// readLine returns the next line with its newline, if any; the slice is
// valid until the next call. Read errors surface through tailReader.
func (d *jsonlDecoder) readLine() []byte {
	b, err := d.br.ReadSlice('\n')
	if err != bufio.ErrBufferFull {
		return b
	}
	d.long = append(d.long[:0], b...)
	for err == bufio.ErrBufferFull {
		b, err = d.br.ReadSlice('\n')
		d.long = append(d.long, b...)
	}
	return d.long
}
