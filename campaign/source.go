package campaign

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/bulksend/bulksend/csvinput"
	"github.com/bulksend/bulksend/dupindex"
	"github.com/bulksend/bulksend/report"
	"github.com/bulksend/bulksend/sender"
)

// fromReader reports whether the rows come from Reader rather than a file.
func (in Input) fromReader() bool { return in.Path == "" || in.Path == "-" }

// withDefaults fills in the name and the format.
func (in Input) withDefaults() Input {
	if in.Name == "" {
		in.Name = in.Path
		if in.fromReader() {
			in.Name = "stdin"
		}
	}
	if in.Format == csvinput.FormatAuto && !in.fromReader() {
		in.Format = csvinput.FormatFromName(in.Path)
	}
	return in
}

// open opens the input and its row reader; close the returned closer.
func (in Input) open() (*csvinput.Reader, io.Closer, error) {
	var r io.ReadCloser = io.NopCloser(in.Reader)
	if in.fromReader() && in.Reader == nil {
		return nil, nil, fmt.Errorf("open input: no file and no reader")
	}
	if !in.fromReader() {
		f, err := os.Open(in.Path)
		if err != nil {
			return nil, nil, fmt.Errorf("open input: %w", err)
		}
		r = f
	}
	rows, err := csvinput.NewReader(in.Encoding.Reader(r), in.Name, in.Format)
	if err == nil {
		err = in.checkColumns(rows.Columns())
	}
	if err != nil {
		r.Close()
		return nil, nil, err
	}
	return rows, r, nil
}

// checkColumns refuses a CSV header (header is nil for JSONL) that lacks
// one of in.Columns.
func (in Input) checkColumns(header []string) error {
	if header == nil {
		return nil
	}
	var missing []string
	for _, c := range in.Columns {
		if !slices.Contains(header, c) && !slices.Contains(missing, c) {
			missing = append(missing, c)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %w %s: the header has %s", in.Name, ErrMissingColumns, quoteAll(missing), quoteAll(header))
}

// quoteAll is names as "a", "b".
func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// findRepeats is the duplicate pre-pass: it reads the input file once more
// to find the rows whose id may repeat, so the run remembers only their ids
// and memory stays flat. runIn is the input as the run opened it. stdin, a
// pipe or a device can be read only once, and a builder that cannot name
// ids without rendering has no pre-pass: then the set is nil and the run
// keeps a hash of every id, about 35 bytes each.
//
// With check (a resumed run), the same pass compares every row with the
// report, rendered by staged, and fails with ErrInputChanged at the first
// difference, before anything is sent. Input read once (stdin) is checked
// by the resume filter instead, as the run reads it.
func (in Input) findRepeats(ctx context.Context, runIn io.Closer, b sender.Builder, check *report.Check, staged sender.Builder) (_ sender.RepeatSet, _ func(), err error) {
	id, ok := b.(sender.RowIdentifier)
	runFile, isFile := runIn.(*os.File)
	if in.fromReader() || !ok || !isFile {
		return nil, func() {}, nil
	}
	runInfo, err := runFile.Stat()
	if err != nil || !runInfo.Mode().IsRegular() {
		return nil, func() {}, nil
	}
	rows, again, err := in.open()
	if err != nil {
		return nil, nil, err
	}
	defer again.Close()
	// The same file, not whatever the name points at now: one renamed into
	// its place since the run opened it would be checked instead.
	if info, err := again.(*os.File).Stat(); err != nil || !os.SameFile(runInfo, info) {
		return nil, nil, fmt.Errorf("input %s was replaced while the run started; run again", in.Name)
	}
	var src sender.RowReader = rows
	if check != nil {
		checked := &checkedRows{RowReader: rows, check: check, build: staged, input: in.Name}
		src = checked
		defer func() {
			if checked.err != nil {
				err = checked.err // not wrapped by the pre-pass: it is the user's answer
			}
		}()
	}
	x, err := dupindex.Build(ctx, src, id, dupindex.Options{})
	if err != nil {
		return nil, nil, err
	}
	// Close only removes a temp file the system has already unlinked where
	// it can; there is nothing to report to the user.
	return x, func() { _ = x.Close() }, nil
}

// rowTotal is the progress display's estimate of the input's rows: the
// pre-pass's count when it ran, else the file's lines; -1 when unknown.
func (in Input) rowTotal(repeats sender.RepeatSet, format csvinput.Format) int64 {
	if x, ok := repeats.(*dupindex.Index); ok && x.Rows() >= 0 {
		return int64(x.Rows())
	}
	// A pipe is read once, by the run: counting would eat its rows.
	if st, err := os.Stat(in.Path); !in.fromReader() && err == nil && st.Mode().IsRegular() {
		return countRows(in.Path, format)
	}
	return -1
}

// countRows estimates a file's rows from its line count; -1 when it cannot
// tell. A quoted CSV field spanning lines makes it an overestimate, which
// only makes an ETA cautious.
func countRows(path string, format csvinput.Format) int64 {
	f, err := os.Open(path)
	if err != nil {
		return -1
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 256<<10)
	var lines int64
	var last byte = '\n'
	buf := make([]byte, 256<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			lines += int64(bytes.Count(buf[:n], []byte{'\n'}))
			last = buf[n-1]
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return -1
		}
	}
	if last != '\n' {
		lines++
	}
	if format != csvinput.FormatJSONL {
		lines-- // the header
	}
	return max(lines, 0)
}

// compose builds the run's source, stage by stage: rows rendered by the
// preset and checked for duplicates, the earlier run's report applied
// (state, when resuming; inline, when no pre-pass compared the input with
// it), then this process's shard kept.
func compose(rows sender.RowReader, opts Options, state *report.State, inline *report.Check, repeats sender.RepeatSet) sender.Source {
	srcOpts := sender.SourceOptions{Repeats: repeats}
	var filter *resumeFilter
	if state != nil {
		filter = &resumeFilter{state: state, input: opts.Input.Name, retryFailed: opts.Report.RetryFailed, resendUnknown: opts.Report.ResendUnknown,
			keyed: opts.Engine.IdempotentServer && !opts.Engine.NoIdempotency && !opts.Preset.NoKeyHeader}
		srcOpts.Filter = filter.filter
	}
	src := sender.NewSource(rows, stage(opts.Preset.Builder, opts), srcOpts)
	if filter != nil {
		src = filter.wrap(src)
	}
	if inline != nil {
		src = checkedSource(src, inline, opts.Input.Name)
	}
	return opts.Shard.filter(src)
}

// sourceFunc is a Source written as a function, for the stages.
type sourceFunc func(ctx context.Context) (*sender.Message, error)

func (f sourceFunc) Next(ctx context.Context) (*sender.Message, error) { return f(ctx) }

// filter keeps only this shard of src (the zero Shard keeps everything).
// Rows of other shards get no report row, so each shard's report holds just
// its rows, Resume works on it as on a whole file, and report merge joins
// the reports. A row belongs to the shard of its id, or of its line number
// when it has none (a row too broken to name), so every row, invalid ones
// included, is reported by exactly one shard. It wraps the source rather
// than using SourceOptions.Filter because the filter never sees invalid
// rows.
func (s Shard) filter(src sender.Source) sender.Source {
	if s.Count < 2 {
		return src
	}
	return sourceFunc(func(ctx context.Context) (*sender.Message, error) {
		for {
			m, err := src.Next(ctx)
			if err != nil || m == nil || sender.Shard(shardKey(m), s.Count) == s.Index {
				return m, err
			}
		}
	})
}

// shardKey is what places a message in a shard.
func shardKey(m *sender.Message) string {
	if m.ID != "" {
		return m.ID
	}
	return strconv.Itoa(m.Line)
}

// total is the estimate of this shard's rows from the whole file's; -1
// (unknown) stays.
func (s Shard) total(rows int64) int64 {
	if s.Count < 2 || rows < 0 {
		return rows
	}
	return (rows + int64(s.Count) - 1) / int64(s.Count)
}

// check rejects a shard outside its count.
func (s Shard) check() error {
	if s.Count < 0 || (s.Count > 0 && (s.Index < 1 || s.Index > s.Count)) {
		return fmt.Errorf("check shard: %d of %d is not a shard", s.Index, s.Count)
	}
	return nil
}
