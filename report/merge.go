package report

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bulksend/bulksend/internal/extsort"
	"github.com/bulksend/bulksend/sender"
)

// ErrExists means Merge's output exists and MergeOptions.Overwrite is not set.
var ErrExists = errors.New("report exists")

// Unfinished describes an input of Merge that is the journal of a run that
// did not finish: a run that ends, however it ends, rewrites its journal
// into one row per line, so a report with several rows for a line was left
// by a killed run, and one with rows in flight by a run that stopped before
// their answers came. Either may lack the rows its run never reached.
type Unfinished struct {
	// Report is the input's path.
	Report string
	// Compacted is false when some line has several rows: the run that
	// wrote the report never rewrote it at its end.
	Compacted bool
	// InFlight counts the lines whose last row is in flight: the request
	// may have arrived, and nothing settled it.
	InFlight int
}

// UnfinishedError is Merge's refusal of unfinished inputs (all of them,
// in the order given) without MergeOptions.Partial. Finishing a report
// means running its send again with --resume.
type UnfinishedError struct {
	Reports []Unfinished
}

func (e *UnfinishedError) Error() string {
	s := make([]string, len(e.Reports))
	for i, u := range e.Reports {
		s[i] = u.String()
	}
	return strings.Join(s, "; ")
}

// String says which report is unfinished and why, e.g. "s2.csv is
// unfinished (1 row in flight)".
func (u Unfinished) String() string {
	return u.Report + " is unfinished (" + u.reason() + ")"
}

// reason says in words why u is unfinished.
func (u Unfinished) reason() string {
	var why []string
	if !u.Compacted {
		why = append(why, "its run was killed before it finished")
	}
	switch u.InFlight {
	case 0:
	case 1:
		why = append(why, "1 row in flight")
	default:
		why = append(why, fmt.Sprintf("%d rows in flight", u.InFlight))
	}
	return strings.Join(why, ", ")
}

// MergeOptions says which reports Merge combines into which.
type MergeOptions struct {
	// Out is the merged report, CSV or JSONL by its extension. It may be
	// one of Inputs.
	Out string
	// Inputs are the reports of the shards of one file (send --shard i/n),
	// each CSV or JSONL by its extension.
	Inputs []string
	// Overwrite replaces an existing Out that is not one of Inputs; without
	// it Merge returns ErrExists.
	Overwrite bool
	// Partial merges unfinished inputs (see Unfinished) as they are, each
	// line by its last row, and lists them in MergeResult.Unfinished;
	// without it Merge refuses them with an *UnfinishedError.
	Partial bool

	chunk int // records the sort holds in memory at a time; 0: the default. Tests make it spill.
}

// MergeResult is what Merge wrote.
type MergeResult struct {
	// Rows is the number of rows of the merged report, one per input line.
	Rows int
	// Counts is the merged rows by status.
	Counts map[sender.Status]int
	// Unfinished lists the unfinished inputs merged with Partial.
	Unfinished []Unfinished

	spilled bool // the sort went through a temp file, for tests
}

// mergeCheckEvery is how many rows Merge handles between looks at its
// context.
const mergeCheckEvery = 4096

// Merge writes each line's last row of opts.Inputs, sorted by line, to
// opts.Out: one row per input line, as --resume reads a journal. Two inputs
// with different rows for one line are refused: they are not shards of one
// run. So are unfinished inputs (see Unfinished), unless opts.Partial. Merge holds every report's Lock while it works, so reports in use by
// a running send are refused too, and it writes Out through a temp file
// renamed into place, so a failed or cancelled merge leaves no half report.
//
// Memory does not grow with the reports: every input's last rows
// (LastRows) go to a temp file, and fixed-size references to them are
// sorted by (line, input) through temp files; the sorted walk reads each
// line's rows back, checks that the inputs agree and writes one. The temp
// files lie next to Out, whose folder is writable (the merged report goes
// there) where the system's temp folder may be a small RAM disk.
func Merge(ctx context.Context, opts MergeOptions) (MergeResult, error) {
	if len(opts.Inputs) == 0 {
		return MergeResult{}, errors.New("merge reports: no input report")
	}
	if err := ctx.Err(); err != nil {
		return MergeResult{}, fmt.Errorf("merge reports: %w", err)
	}
	outIsInput := slices.Contains(opts.Inputs, opts.Out)
	if !outIsInput && !opts.Overwrite {
		if _, err := os.Stat(opts.Out); err == nil {
			return MergeResult{}, fmt.Errorf("merge reports: %s: %w", opts.Out, ErrExists)
		}
	}
	locked := slices.Clone(opts.Inputs)
	if !outIsInput {
		locked = append(locked, opts.Out)
	}
	slices.Sort(locked)
	for _, name := range slices.Compact(locked) {
		release, err := Lock(name)
		if err != nil {
			return MergeResult{}, fmt.Errorf("merge reports: %w", err)
		}
		defer func() { _ = release() }()
	}
	res, err := merge(ctx, opts)
	if err != nil {
		return MergeResult{}, fmt.Errorf("merge reports: %w", err)
	}
	return res, nil
}

// merger is one Merge at work: the inputs' last rows in a row heap, and
// references to them sorted by (line, input).
type merger struct {
	ctx        context.Context
	inputs     []string
	heap       *rowHeap
	refs       *extsort.Sorter[mergeRef]
	seen       int // rows handled, to look at ctx every mergeCheckEvery
	unfinished []Unfinished
}

// merge is Merge once the reports are locked.
func merge(ctx context.Context, opts MergeOptions) (MergeResult, error) {
	dir, base := filepath.Dir(opts.Out), filepath.Base(opts.Out)
	heap, err := newRowHeap(dir, base+".merge-rows-*")
	if err != nil {
		return MergeResult{}, err
	}
	defer heap.close()
	m := &merger{ctx: ctx, inputs: opts.Inputs, heap: heap,
		refs: extsort.New(byLineInput, mergeRefCodec, extsort.Options{Chunk: opts.chunk, Dir: dir, Pattern: base + ".merge-sort-*"})}
	defer m.refs.Close()
	for i, in := range opts.Inputs {
		if err := m.spool(i, in); err != nil {
			return MergeResult{}, err
		}
	}
	if len(m.unfinished) > 0 && !opts.Partial {
		return MergeResult{}, &UnfinishedError{Reports: m.unfinished}
	}
	if err := heap.finish(); err != nil {
		return MergeResult{}, err
	}
	res := MergeResult{Counts: make(map[sender.Status]int), Unfinished: m.unfinished}
	// The merged report has each optional column (segments, delivery) a
	// shard's has.
	var cols columns
	for _, in := range opts.Inputs {
		c := pathColumns(in)
		cols.segments = cols.segments || c.segments
		cols.delivery = cols.delivery || c.delivery
	}
	err = writeMerged(opts.Out, cols, func(emit func(*Row) error) error {
		return m.walk(&res, emit)
	})
	return res, err
}

// tick looks at the context every mergeCheckEvery rows.
func (m *merger) tick() error {
	if m.seen++; m.seen%mergeCheckEvery == 0 {
		return m.ctx.Err()
	}
	return nil
}

// spool adds input i's last rows to the heap and their references to the
// sort (LastRows, whose two passes are used here to count the journal's
// rows too), and notes the input if it is unfinished.
func (m *merger) spool(i int, in string) error {
	format := FormatFromName(in)
	last, err := findLast(in, format, 0)
	if err != nil {
		return fmt.Errorf("read report: %w", err)
	}
	defer last.close()
	var (
		spoolErr error // told apart from a failure to read the input
		lines    uint64
		inFlight int
	)
	err = last.visit(in, format, func(r Row) error {
		lines++
		if r.Status == sender.StatusInFlight {
			inFlight++
		}
		off, n, err := m.heap.add(&r)
		if err == nil {
			err = m.refs.Add(mergeRef{line: uint64(r.Line), input: uint32(i), off: uint64(off), n: uint32(n)})
		}
		if err == nil {
			err = m.tick()
		}
		spoolErr = err
		return err
	})
	if err != nil && spoolErr == nil {
		err = fmt.Errorf("read report: %w", err)
	}
	if err == nil && (lines != last.rows || inFlight > 0) {
		m.unfinished = append(m.unfinished, Unfinished{Report: in, Compacted: lines == last.rows, InFlight: inFlight})
	}
	return err
}

// walk hands emit one row per line in line order, and counts them in res.
// It refuses a line whose inputs disagree.
func (m *merger) walk(res *MergeResult, emit func(*Row) error) error {
	it, err := m.refs.Sorted()
	if err != nil {
		return err
	}
	res.spilled = m.refs.Spilled()
	var (
		first Row // the current line's row from its first input
		from  uint32
	)
	for {
		ref, ok, err := it.Next()
		if err != nil || !ok {
			return err
		}
		if err := m.tick(); err != nil {
			return err
		}
		r, err := m.heap.get(ref)
		if err != nil {
			return err
		}
		if r.Line == first.Line { // never true for the first ref: lines start at 1
			if r != first {
				return fmt.Errorf("line %d: %s has %s for id %q, %s has %s for id %q: these are not reports of shards of one run",
					r.Line, m.inputs[from], first.Status, first.ID, m.inputs[ref.input], r.Status, r.ID)
			}
			continue
		}
		first, from = r, ref.input
		res.Rows++
		res.Counts[r.Status]++
		if err := emit(&r); err != nil {
			return err
		}
	}
}

// mergeRef locates one input's last row for a line in the row heap.
type mergeRef struct {
	line  uint64
	input uint32
	off   uint64
	n     uint32
}

// mergeRefCodec stores a mergeRef in 24 bytes.
var mergeRefCodec = extsort.Codec[mergeRef]{
	Size: 24,
	Put: func(b []byte, r mergeRef) {
		binary.LittleEndian.PutUint64(b, r.line)
		binary.LittleEndian.PutUint32(b[8:], r.input)
		binary.LittleEndian.PutUint64(b[12:], r.off)
		binary.LittleEndian.PutUint32(b[20:], r.n)
	},
	Get: func(b []byte) mergeRef {
		return mergeRef{line: binary.LittleEndian.Uint64(b), input: binary.LittleEndian.Uint32(b[8:]),
			off: binary.LittleEndian.Uint64(b[12:]), n: binary.LittleEndian.Uint32(b[20:])}
	},
}

// byLineInput orders refs by line, then input: each input has one row per
// line, so this is a total order, and a line's rows come out together with
// the first input's first, as the conflict message names them.
func byLineInput(a, b mergeRef) int {
	if c := cmp.Compare(a.line, b.line); c != 0 {
		return c
	}
	return cmp.Compare(a.input, b.input)
}

// rowHeap is a temp file of encoded rows, appended while the inputs are
// read and read back by offset in line order. On Unix it is unlinked at
// once, so even a killed merge leaves nothing behind.
type rowHeap struct {
	f        *os.File
	w        *bufio.Writer
	size     int64
	buf      []byte
	unlinked bool
}

func newRowHeap(dir, pattern string) (*rowHeap, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, fmt.Errorf("create temp file: %w", err)
	}
	return &rowHeap{f: f, w: bufio.NewWriterSize(f, 64<<10), unlinked: os.Remove(f.Name()) == nil}, nil
}

// add appends r and returns where it lies.
func (h *rowHeap) add(r *Row) (off int64, n int, err error) {
	h.buf = appendRow(h.buf[:0], r)
	if _, err := h.w.Write(h.buf); err != nil {
		return 0, 0, fmt.Errorf("write %s: %w", h.f.Name(), err)
	}
	off, h.size = h.size, h.size+int64(len(h.buf))
	return off, len(h.buf), nil
}

// finish makes every row added readable.
func (h *rowHeap) finish() error {
	if err := h.w.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", h.f.Name(), err)
	}
	return nil
}

// get reads back the row ref points to.
func (h *rowHeap) get(ref mergeRef) (Row, error) {
	h.buf = slices.Grow(h.buf[:0], int(ref.n))[:ref.n]
	if _, err := h.f.ReadAt(h.buf, int64(ref.off)); err != nil {
		return Row{}, fmt.Errorf("read %s: %w", h.f.Name(), err)
	}
	r, err := decodeRow(h.buf)
	if err != nil || uint64(r.Line) != ref.line {
		return Row{}, fmt.Errorf("read %s: offset %d: damaged row", h.f.Name(), ref.off)
	}
	return r, nil
}

func (h *rowHeap) close() {
	h.f.Close()
	if !h.unlinked {
		os.Remove(h.f.Name())
	}
}

// rowStrings are the text fields of r the row heap carries, in its
// order: every text column a report can have.
func rowStrings(r *Row) [10]*string {
	return [...]*string{&r.ID, (*string)(&r.Status), &r.Error, &r.MessageID, &r.SentAt, &r.Response,
		&r.DeliveryStatus, &r.DeliveryError, &r.DeliveryAt, &r.Fingerprint}
}

// appendRow encodes r for the row heap: its integers as varints, its
// strings length-prefixed. Every byte survives, where JSON would turn
// invalid UTF-8 into U+FFFD and make two inputs' rows compare differently
// than they were read.
func appendRow(b []byte, r *Row) []byte {
	for _, v := range [...]int64{int64(r.Line), int64(r.HTTPStatus), int64(r.Attempts), int64(r.Throttled), r.LatencyMS, int64(r.Segments)} {
		b = binary.AppendVarint(b, v)
	}
	for _, s := range rowStrings(r) {
		b = binary.AppendUvarint(b, uint64(len(*s)))
		b = append(b, *s...)
	}
	return b
}

// errDamagedRow is decodeRow's answer to bytes appendRow did not write.
var errDamagedRow = errors.New("damaged row")

// decodeRow reverses appendRow.
func decodeRow(b []byte) (Row, error) {
	var r Row
	var ints [6]int64
	for i := range ints {
		v, n := binary.Varint(b)
		if n <= 0 {
			return r, errDamagedRow
		}
		ints[i], b = v, b[n:]
	}
	for _, s := range rowStrings(&r) {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return r, errDamagedRow
		}
		*s, b = string(b[n:n+int(l)]), b[n+int(l):]
	}
	if len(b) != 0 {
		return r, errDamagedRow
	}
	r.Line, r.HTTPStatus, r.Attempts, r.Throttled, r.LatencyMS = int(ints[0]), int(ints[1]), int(ints[2]), int(ints[3]), ints[4]
	r.Segments = int(ints[5])
	return r, nil
}

// writeMerged writes the rows rows emits to path, through a temp file in
// the same folder renamed into place, so a failed merge (rows' error)
// leaves no half report. Rows are written as they were read, every column
// byte for byte, by the same Writer as any other report.
func writeMerged(path string, cols columns, rows func(emit func(*Row) error) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".merge-*")
	if err != nil {
		return fmt.Errorf("write merged report: %w", err)
	}
	name := tmp.Name()
	tmp.Close()
	defer func() {
		if err != nil {
			os.Remove(name)
		}
	}()
	w, err := Create(name, Options{Format: FormatFromName(path), SyncInterval: time.Hour, Segments: cols.segments, Delivery: cols.delivery})
	if err != nil {
		return fmt.Errorf("write merged report: %w", err)
	}
	err = rows(func(r *Row) error {
		if err := w.write(r, w.delay < 0); err != nil {
			return fmt.Errorf("write merged report: line %d: %w", r.Line, err)
		}
		return nil
	})
	if err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("write merged report: %w", err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("write merged report: %w", err)
	}
	if err := SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("write merged report: %w", err)
	}
	return nil
}
