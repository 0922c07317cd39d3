package csvinput

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/bulksend/bulksend/sender"
)

const (
	// bufferSize is how far ahead of the current row the input is read.
	bufferSize = 64 << 10
	// maxRecordBytes bounds one CSV record or JSONL line. It is far above any
	// real message, and it keeps memory flat when a quoted field is left open
	// and encoding/csv would otherwise buffer the rest of the file.
	maxRecordBytes = 64 << 20
)

// bom is the UTF-8 byte order mark some spreadsheet tools write first.
var bom = []byte{0xEF, 0xBB, 0xBF}

// errRecordTooLong is what input returns once a record passes its limit.
var errRecordTooLong = errors.New("record too long")

// Reader streams rows from a CSV or JSONL input. It implements
// sender.RowReader. It is not safe for concurrent use; the rows it returns
// are independent of it and of each other.
type Reader struct {
	name   string
	format Format
	in     *input
	br     *bufio.Reader
	err    error // once the input cannot be read, every Next returns this

	// CSV
	csv      *csv.Reader
	columns  []string
	lastLine int // the line the last record started on, for errors that have none
	// A malformed record may have swallowed the lines after its first one;
	// each of them is still reported, from swallowedNext to swallowedLast.
	swallowedFrom, swallowedNext, swallowedLast int

	// JSONL
	line     int    // physical lines read so far
	long     []byte // reused for lines longer than the bufio buffer
	maxLine  int
	lastSize int // fields in the last object, to size the next map
}

var _ sender.RowReader = (*Reader)(nil)

// NewReader reads r as format; FormatAuto sniffs the first non-blank byte
// after any BOM ('{' means JSONL, anything else CSV) by peeking, so r may be
// a pipe such as stdin. name appears in every error ("-" reads as "stdin").
// For CSV the header row is read and checked here, so an empty input or a
// header with an empty or repeated name fails now rather than at the first
// row.
func NewReader(r io.Reader, name string, format Format) (*Reader, error) {
	switch name {
	case "-":
		name = "stdin"
	case "":
		name = "input"
	}
	if format != FormatAuto && format != FormatCSV && format != FormatJSONL {
		return nil, fmt.Errorf("read %s: unknown input format %q", name, string(format))
	}
	in := &input{r: r}
	rd := &Reader{name: name, in: in, br: bufio.NewReaderSize(in, bufferSize), maxLine: maxRecordBytes}
	if b, _ := rd.br.Peek(1); len(b) == 1 && b[0] == bom[0] {
		if b, _ := rd.br.Peek(len(bom)); string(b) == string(bom) {
			_, _ = rd.br.Discard(len(bom)) // cannot fail: the bytes are buffered
		}
	}
	if format == FormatAuto {
		format = sniff(rd.br)
	}
	rd.format = format
	if format == FormatCSV {
		if err := rd.startCSV(); err != nil {
			return nil, err
		}
	}
	return rd, nil
}

// Next returns the next row. A row that cannot be parsed comes back with
// Row.Err set and reading goes on; Next itself fails only with io.EOF after
// the last row, or when the input cannot be read at all.
func (r *Reader) Next() (sender.Row, error) {
	if r.err != nil {
		return sender.Row{}, r.err
	}
	var row sender.Row
	var err error
	if r.format == FormatCSV {
		row, err = r.nextCSV()
	} else {
		row, err = r.nextJSONL()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		r.err = err
	}
	return row, err
}

// Format is the format in use, after sniffing.
func (r *Reader) Format() Format { return r.format }

// Columns is the CSV header, trimmed, in file order; nil for JSONL, whose
// objects need not share their keys.
func (r *Reader) Columns() []string { return slices.Clone(r.columns) }

// input sits under the bufio.Reader. It remembers the first error so that a
// terminal's end of input, once seen while sniffing, is not waited for a
// second time, and while limit is set it stops a single CSV record from
// being buffered without bound.
type input struct {
	r     io.Reader
	err   error
	n     int // bytes read since the last reset
	limit int // 0 means no limit
}

// Read reads from the wrapped input, within the limit.
func (in *input) Read(p []byte) (int, error) {
	if in.err != nil {
		return 0, in.err
	}
	if in.limit > 0 && in.n > in.limit {
		return 0, errRecordTooLong
	}
	n, err := in.r.Read(p)
	in.n += n
	if err != nil {
		in.err = err
	}
	return n, err
}
