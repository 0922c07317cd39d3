package cmd

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/bulksend/bulksend/internal/extsort"
	"github.com/bulksend/bulksend/report"
	"github.com/bulksend/bulksend/sender"
)

// MergeOptions is what `bulksend report merge` was asked to do.
type MergeOptions struct {
	IO     *IOStreams
	Out    string
	Inputs []string
	Force  bool

	chunk int // records the merge sorts in memory at a time; 0: the default. Tests make it spill.
}

// NewCmdReport builds `bulksend report`, the commands that work on reports.
func NewCmdReport(ios *IOStreams) *cobra.Command {
	c := &cobra.Command{
		Use:   "report",
		Short: "Work with send reports",
		Args:  cobra.NoArgs,
	}
	c.AddCommand(NewCmdReportMerge(ios, nil))
	return c
}

// NewCmdReportMerge builds `bulksend report merge`. runF replaces mergeRun
// in tests that only check flag parsing.
func NewCmdReportMerge(ios *IOStreams, runF func(*MergeOptions) error) *cobra.Command {
	opts := &MergeOptions{IO: ios}
	c := &cobra.Command{
		Use:   "merge OUT IN...",
		Short: "Combine the reports of the shards of one file into one report",
		Long: `Combine the reports of processes that each sent one shard of the same
file (send --shard i/n) into OUT: one row per input line, sorted by line.
Each report is CSV or JSONL by its extension, and so is OUT.

A report that is still a journal (a run that crashed or was stopped) counts
by its last row per line, as --resume reads it. Two reports with different
rows for the same line are refused: they are not shards of one run.
Reports in use by a running send are refused too.`,
		Example: `  bulksend report merge all.report.csv shard1.report.csv shard2.report.csv shard3.report.csv`,
		Args:    cobra.MinimumNArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Out, opts.Inputs = args[0], args[1:]
			if runF != nil {
				return runF(opts)
			}
			return mergeRun(opts)
		},
	}
	c.SetHelpTemplate(c.HelpTemplate() + exitStatusHelp(
		"0    merged",
		"1    a report could not be read, is in use, or conflicts with another",
		"2    usage error, or OUT exists (use --force)"))
	c.Flags().BoolVar(&opts.Force, "force", false, "overwrite OUT if it exists")
	return c
}

func mergeRun(opts *MergeOptions) error {
	outIsInput := slices.Contains(opts.Inputs, opts.Out)
	if !outIsInput && !opts.Force {
		if _, err := os.Stat(opts.Out); err == nil {
			return usageError("%s exists: --force overwrites it", opts.Out)
		}
	}
	locked := slices.Clone(opts.Inputs)
	if !outIsInput {
		locked = append(locked, opts.Out)
	}
	slices.Sort(locked)
	for _, name := range slices.Compact(locked) {
		release, err := report.Lock(name)
		if err != nil {
			return runError(err)
		}
		defer func() { _ = release() }()
	}

	stats, err := mergeReports(opts.Out, opts.Inputs, opts.chunk)
	if err != nil {
		return runError(err)
	}
	fmt.Fprintf(opts.IO.ErrOut, "bulksend: merged %d reports into %s: %d rows (%s)\n",
		len(opts.Inputs), opts.Out, stats.rows, statusCounts(stats.counts))
	return nil
}

// mergeStats is what a merge wrote, for the summary line.
type mergeStats struct {
	rows    int
	counts  map[sender.Status]int
	spilled bool // the sort went through a temp file, for tests
}

// mergeReports writes each line's last row of inputs, sorted by line, to
// out, in memory that does not grow with the reports: every input's last
// rows (report.LastRows) go to a temp file, and fixed-size references to
// them are sorted by (line, input) through package extsort; the sorted walk
// reads each line's rows back, checks that the inputs agree and writes one.
// chunk is the sort's records per chunk (0: the default), so tests can make
// a small merge spill. The temp files lie next to out, whose folder is
// writable (the merged report goes there) where the system's temp folder may
// be a small RAM disk.
func mergeReports(out string, inputs []string, chunk int) (mergeStats, error) {
	dir, base := filepath.Dir(out), filepath.Base(out)
	heap, err := newRowHeap(dir, base+".merge-rows-*")
	if err != nil {
		return mergeStats{}, fmt.Errorf("merge reports: %w", err)
	}
	defer heap.close()
	refs := extsort.New(byLineInput, mergeRefCodec, extsort.Options{Chunk: chunk, Dir: dir, Pattern: base + ".merge-sort-*"})
	defer refs.Close()
	for i, in := range inputs {
		var spoolErr error // told apart from a failure to read the input
		err := report.LastRows(in, report.FormatFromName(in), func(r report.Row) error {
			off, n, err := heap.add(&r)
			if err == nil {
				err = refs.Add(mergeRef{line: uint64(r.Line), input: uint32(i), off: uint64(off), n: uint32(n)})
			}
			if err != nil {
				spoolErr = fmt.Errorf("merge reports: %w", err)
			}
			return spoolErr
		})
		if err != nil {
			if spoolErr == nil {
				err = fmt.Errorf("read report: %w", err)
			}
			return mergeStats{}, err
		}
	}
	if err := heap.finish(); err != nil {
		return mergeStats{}, fmt.Errorf("merge reports: %w", err)
	}
	stats := mergeStats{counts: make(map[sender.Status]int)}
	err = writeMerged(out, func(emit func(report.Row) error) error {
		it, err := refs.Sorted()
		if err != nil {
			return fmt.Errorf("merge reports: %w", err)
		}
		stats.spilled = refs.Spilled()
		var (
			first report.Row // the current line's row from its first input
			from  uint32
		)
		for {
			ref, ok, err := it.Next()
			if err != nil {
				return fmt.Errorf("merge reports: %w", err)
			}
			if !ok {
				return nil
			}
			r, err := heap.get(ref)
			if err != nil {
				return fmt.Errorf("merge reports: %w", err)
			}
			if r.Line == first.Line { // never true for the first ref: lines start at 1
				if r != first {
					return fmt.Errorf("line %d: %s has %s for id %q, %s has %s for id %q: these are not reports of shards of one run",
						r.Line, inputs[from], first.Status, first.ID, inputs[ref.input], r.Status, r.ID)
				}
				continue
			}
			first, from = r, ref.input
			stats.rows++
			stats.counts[r.Status]++
			if err := emit(r); err != nil {
				return err
			}
		}
	})
	return stats, err
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
func (h *rowHeap) add(r *report.Row) (off int64, n int, err error) {
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
func (h *rowHeap) get(ref mergeRef) (report.Row, error) {
	h.buf = slices.Grow(h.buf[:0], int(ref.n))[:ref.n]
	if _, err := h.f.ReadAt(h.buf, int64(ref.off)); err != nil {
		return report.Row{}, fmt.Errorf("read %s: %w", h.f.Name(), err)
	}
	r, err := decodeRow(h.buf)
	if err != nil || uint64(r.Line) != ref.line {
		return report.Row{}, fmt.Errorf("read %s: offset %d: damaged row", h.f.Name(), ref.off)
	}
	return r, nil
}

func (h *rowHeap) close() {
	h.f.Close()
	if !h.unlinked {
		os.Remove(h.f.Name())
	}
}

// appendRow encodes r for the row heap: its integers as varints, its
// strings length-prefixed. Every byte survives, where JSON would turn
// invalid UTF-8 into U+FFFD and make two inputs' rows compare differently
// than they were read.
func appendRow(b []byte, r *report.Row) []byte {
	for _, v := range [...]int64{int64(r.Line), int64(r.HTTPStatus), int64(r.Attempts), int64(r.Throttled), r.LatencyMS} {
		b = binary.AppendVarint(b, v)
	}
	for _, s := range [...]string{r.ID, string(r.Status), r.Error, r.MessageID, r.SentAt, r.Response} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// errDamagedRow is decodeRow's answer to bytes appendRow did not write.
var errDamagedRow = errors.New("damaged row")

// decodeRow reverses appendRow.
func decodeRow(b []byte) (report.Row, error) {
	var r report.Row
	var ints [5]int64
	for i := range ints {
		v, n := binary.Varint(b)
		if n <= 0 {
			return r, errDamagedRow
		}
		ints[i], b = v, b[n:]
	}
	var strs [6]string
	for i := range strs {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return r, errDamagedRow
		}
		strs[i], b = string(b[n:n+int(l)]), b[n+int(l):]
	}
	if len(b) != 0 {
		return r, errDamagedRow
	}
	r.Line, r.HTTPStatus, r.Attempts, r.Throttled, r.LatencyMS = int(ints[0]), int(ints[1]), int(ints[2]), int(ints[3]), ints[4]
	r.ID, r.Status, r.Error, r.MessageID, r.SentAt, r.Response = strs[0], sender.Status(strs[1]), strs[2], strs[3], strs[4], strs[5]
	return r, nil
}

// writeMerged writes the rows rows emits to path, through a temp file in
// the same folder renamed into place, so a failed merge (rows' error)
// leaves no half report.
func writeMerged(path string, rows func(emit func(report.Row) error) error) (err error) {
	format := report.FormatFromName(path)
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
	w, err := report.Create(name, report.Options{Format: format, SyncInterval: time.Hour})
	if err != nil {
		return fmt.Errorf("write merged report: %w", err)
	}
	err = rows(func(r report.Row) error {
		res, err := rowResult(r)
		if err == nil {
			err = w.Record(res)
		}
		if err != nil {
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
	return nil
}

// rowResult turns a report row back into the result it was written from,
// so the merged report is written by the same Writer as any other.
func rowResult(r report.Row) (*sender.Result, error) {
	res := &sender.Result{
		Line: r.Line, ID: r.ID, Status: r.Status, HTTPStatus: r.HTTPStatus,
		Attempts: r.Attempts, Throttled: r.Throttled, Error: r.Error,
		MessageID: r.MessageID, Latency: time.Duration(r.LatencyMS) * time.Millisecond,
		Response: r.Response,
	}
	if r.SentAt != "" {
		t, err := time.Parse(time.RFC3339Nano, r.SentAt)
		if err != nil {
			return nil, fmt.Errorf("sent_at %q: %w", r.SentAt, err)
		}
		res.SentAt = t
	}
	return res, nil
}

// statusCounts lists the non-zero counts in the order of a report's life.
func statusCounts(counts map[sender.Status]int) string {
	s := ""
	for _, st := range []sender.Status{sender.StatusSent, sender.StatusFailed, sender.StatusInvalid,
		sender.StatusDuplicate, sender.StatusUnknown, sender.StatusSkipped, sender.StatusInFlight} {
		if counts[st] == 0 {
			continue
		}
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("%s %d", st, counts[st])
	}
	if s == "" {
		return "none"
	}
	return s
}
