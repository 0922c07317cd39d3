package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gocarina/gocsv"

	"github.com/bulksend/bulksend/sender"
)

// DefaultSyncInterval is how often, at most, a file report is fsynced when
// Options.SyncInterval is zero: only a power loss (not a crash or kill)
// can lose the rows of the last interval.
const DefaultSyncInterval = 100 * time.Millisecond

// DefaultCommitDelay is how long, at most, a result row waits in memory for
// the next write when Options.CommitDelay is zero.
const DefaultCommitDelay = time.Millisecond

// Options configures a Writer. The zero value writes the format implied by
// the file name and group-commits fsyncs every DefaultSyncInterval.
type Options struct {
	// Format of the rows; "" means FormatFromName of the path (CSV for
	// NewWriter).
	Format Format
	// SyncInterval batches fsync: rows reach the OS (the page cache, by a
	// write call or through the mapping) as CommitDelay says, so a kill -9
	// loses nothing they hold; fsync runs at most every SyncInterval in the
	// background and at Close. 0 -> DefaultSyncInterval. <0 -> fsync on
	// every write.
	SyncInterval time.Duration
	// CommitDelay lets result rows share a write call (group commit): a
	// Record is written together with the next in-flight row, or by a timer
	// after at most CommitDelay, whichever comes first. In-flight rows are
	// always written before Begin returns, so no request leaves unrecorded.
	// A kill -9 can lose at most the last CommitDelay of results, whose rows
	// --resume then finds in flight. 0 -> DefaultCommitDelay; <0 -> every row
	// is written before its call returns.
	CommitDelay time.Duration
	// Now stamps the in-flight rows' sent_at; nil means time.Now.
	Now func() time.Time
	// Segments adds the segments column to a new CSV report, Delivery the
	// delivery columns (a merge of reports that have them). A report that
	// is appended to keeps the columns it has.
	Segments bool
	Delivery bool
	// Redact rewrites a result's error and response columns before they
	// are stored: the caller's secret masker, since a server may echo the
	// request's credentials in an error body. nil stores them as they are.
	Redact func(string) string
}

// Writer appends report rows. It implements sender.Journal and is safe for
// concurrent use: the engine's workers share one.
type Writer struct {
	name     string
	out      io.Writer
	closer   io.Closer    // nil for NewWriter: the caller owns the stream
	fsync    func() error // nil for NewWriter: nothing to sync
	syncEach bool
	now      func() time.Time
	redact   func(string) string

	mu     sync.Mutex
	enc    *encoder // its buffer holds the rows not yet written
	err    error    // the first write or sync error; every later call returns it
	closed bool

	// Group commit of result rows: delay > 0 lets a Record wait for the
	// next write; commit writes it when none comes in time.
	delay  time.Duration
	commit *time.Timer
	armed  bool

	// fresh: this Writer wrote the file from its first byte, so each line
	// has at most one in-flight and one final row, and open holds the lines
	// begun and not recorded. Compact uses that to copy rows in one pass.
	fresh bool
	open  map[int]struct{}

	// The group-commit goroutine: a write kicks it, it waits the interval
	// and syncs once for everything written meanwhile.
	kick chan struct{}
	stop chan struct{}
	done chan struct{}

	closeOnce sync.Once
	closeErr  error
}

var _ sender.Journal = (*Writer)(nil)

// reportPerm is a new report's mode: it holds recipients' numbers, their
// messages and the servers' answers, which are nobody else's business. (A
// truncated existing file keeps its mode, as the user may have chosen it.)
const reportPerm = 0o600

// Create creates (or truncates) the report at path and writes the CSV header
// (JSONL has none).
func Create(path string, opts Options) (*Writer, error) {
	format, err := fileFormat(path, opts.Format)
	if err != nil {
		return nil, fmt.Errorf("write report %s: %w", path, err)
	}
	// Read-write, so mapFile can map it; a report the user may write but
	// not read is still written, with write calls.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND, reportPerm)
	if errors.Is(err, os.ErrPermission) {
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, reportPerm)
	}
	if err != nil {
		return nil, fmt.Errorf("write report %s: %w", path, err)
	}
	return openFile(f, path, format, 0, opts)
}

// Append opens the report at path for --resume, creating it if missing. A
// crash can leave a partly written last row (a record without its newline,
// or a quoted field cut after an embedded newline); Append truncates the file
// back to the end of the last complete row first, so new rows never run into
// the damaged one. It writes the CSV header if nothing valid is left. A
// damaged row before the last is an error: that file is not a journal this
// package wrote, and appending would hide the damage.
func Append(path string, opts Options) (*Writer, error) {
	format, err := fileFormat(path, opts.Format)
	if err != nil {
		return nil, fmt.Errorf("write report %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, reportPerm)
	if err != nil {
		return nil, fmt.Errorf("write report %s: %w", path, err)
	}
	end, err := scan(f, path, format, func(Row) error { return nil })
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("append report: %w", err)
	}
	info, err := f.Stat()
	if err == nil && info.Size() > end {
		err = f.Truncate(end)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("write report %s: %w", path, err)
	}
	return openFile(f, path, format, end, opts)
}

// NewWriter writes the report to w (stdout for "--report -"). It never
// fsyncs and never closes w. A header write error is returned by the first
// later call.
func NewWriter(w io.Writer, opts Options) *Writer {
	format := opts.Format
	if format == "" {
		format = FormatCSV
	}
	wr := newWriter(w, "-", format, opts)
	if err := format.check(); err != nil {
		wr.err = fmt.Errorf("write report -: %w", err)
		return wr
	}
	wr.mu.Lock()
	defer wr.mu.Unlock()
	_ = wr.writeHeader() // sticky: the next call reports it
	return wr
}

// fileFormat resolves Options.Format for a report file.
func fileFormat(path string, f Format) (Format, error) {
	if f == "" {
		f = FormatFromName(path)
	}
	return f, f.check()
}

// openFile wraps an open report file whose valid content ends at size.
func openFile(f *os.File, path string, format Format, size int64, opts Options) (*Writer, error) {
	w := newWriter(f, path, format, opts)
	if size > 0 {
		w.enc.cols = fileColumns(f)
	}
	if w.fresh = size == 0; w.fresh {
		w.open = make(map[int]struct{}) // only the one-pass compaction reads it
	}
	w.closer = f
	w.fsync = f.Sync
	if mf := mapFile(f, size); mf != nil {
		w.out, w.closer, w.fsync = mf, mf, mf.Sync
	}
	w.startSync(opts.SyncInterval)
	// A new file is only durable once its directory entry is.
	if err := SyncDir(filepath.Dir(path)); err != nil {
		w.Close()
		return nil, fmt.Errorf("write report %s: %w", path, err)
	}
	if size == 0 {
		w.mu.Lock()
		err := w.writeHeader()
		w.mu.Unlock()
		if err != nil {
			w.Close()
			return nil, err
		}
	}
	return w, nil
}

func newWriter(out io.Writer, name string, format Format, opts Options) *Writer {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	w := &Writer{name: name, out: out, now: now, redact: opts.Redact, enc: newEncoder(format), delay: opts.CommitDelay}
	w.enc.cols.segments, w.enc.cols.delivery = opts.Segments, opts.Delivery
	// Every new report records fingerprints; one appended to keeps the
	// columns it has (openFile).
	w.enc.cols.fingerprint = true
	if w.delay == 0 {
		w.delay = DefaultCommitDelay
	}
	if w.delay > 0 {
		w.commit = time.AfterFunc(time.Hour, w.commitPending)
		w.commit.Stop()
	}
	return w
}

// commitPending writes the result rows no in-flight row has carried.
func (w *Writer) commitPending() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed = false
	if w.err == nil && !w.closed {
		_ = w.flush() // sticky: the next call reports it
	}
}

// startSync sets up group commit for a file writer.
func (w *Writer) startSync(interval time.Duration) {
	if interval < 0 {
		w.syncEach = true
		return
	}
	if interval == 0 {
		interval = DefaultSyncInterval
	}
	w.kick = make(chan struct{}, 1)
	w.stop = make(chan struct{})
	w.done = make(chan struct{})
	go w.syncLoop(interval)
}

// syncLoop fsyncs at most once per interval, and only after a write.
func (w *Writer) syncLoop(interval time.Duration) {
	defer close(w.done)
	for {
		select {
		case <-w.stop:
			return
		case <-w.kick:
		}
		t := time.NewTimer(interval)
		select {
		case <-w.stop:
			t.Stop()
			return // Close syncs
		case <-t.C:
		}
		if err := w.fsync(); err != nil {
			w.mu.Lock()
			w.fail(err)
			w.mu.Unlock()
		}
	}
}

// Begin records m as in flight, stamped now. The engine calls it just
// before the request leaves, so after a crash --resume knows which rows may
// have reached the server.
//
// Its response column names the idempotency key the request carries (empty
// when none), so --resume resends the row only when the server can
// recognise the resend as a replay.
func (w *Writer) Begin(m *sender.Message) error {
	row := Row{Line: m.Line, ID: m.ID, Status: sender.StatusInFlight, SentAt: formatTime(w.now()), Fingerprint: m.Fingerprint}
	if m.IdempotencyKey != "" {
		row.Response = keyPrefix + m.IdempotencyKey
	}
	return w.write(&row, true)
}

// Record writes r's result row, at once or within Options.CommitDelay.
func (w *Writer) Record(r *sender.Result) error {
	row := FromResult(r)
	if w.redact != nil {
		row.Error, row.Response = w.redact(row.Error), w.redact(row.Response)
	}
	return w.write(&row, w.delay < 0)
}

// keyPrefix starts an in-flight row's response column when the request
// carries an idempotency key.
const keyPrefix = "idempotency key "

// write appends row to the rows waiting to be written and, when now is set
// or nothing will carry it in time, hands them all to the OS in a single
// write call, so a killed process leaves each row whole or not at all.
func (w *Writer) write(row *Row, now bool) error {
	if err := row.check(); err != nil {
		return fmt.Errorf("write report %s: %w", w.name, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return fmt.Errorf("write report %s: %w", w.name, os.ErrClosed)
	}
	if err := w.enc.encode(row); err != nil {
		return w.fail(err)
	}
	if w.open != nil {
		if row.Status == sender.StatusInFlight {
			w.open[row.Line] = struct{}{}
		} else {
			delete(w.open, row.Line)
		}
	}
	if now {
		return w.flush()
	}
	if !w.armed {
		w.armed = true
		w.commit.Reset(w.delay)
	}
	return nil
}

// writeHeader writes the CSV header; w.mu must be held.
func (w *Writer) writeHeader() error {
	if err := w.enc.header(); err != nil {
		return w.fail(err)
	}
	return w.flush()
}

// flush writes the encoded rows and syncs or schedules a sync; w.mu must
// be held.
func (w *Writer) flush() error {
	if w.enc.buf.Len() == 0 {
		return nil
	}
	if err := w.enc.drain(w.out); err != nil {
		return w.fail(err)
	}
	switch {
	case w.fsync == nil:
	case w.syncEach:
		if err := w.fsync(); err != nil {
			return w.fail(err)
		}
	default:
		select {
		case w.kick <- struct{}{}:
		default: // a sync is already due
		}
	}
	return nil
}

// fail records the first error; w.mu must be held.
func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = fmt.Errorf("write report %s: %w", w.name, err)
	}
	return w.err
}

// Close syncs and closes the report file (NewWriter's stream is left open).
// It is idempotent, and returns the first error the writer met, if any.
func (w *Writer) Close() error {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		if w.err == nil {
			_ = w.flush()
		}
		if w.commit != nil {
			w.commit.Stop()
		}
		w.closed = true
		w.mu.Unlock()
		if w.stop != nil {
			close(w.stop)
			<-w.done
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.fsync != nil {
			if err := w.fsync(); err != nil {
				w.fail(err)
			}
		}
		if w.closer != nil {
			if err := w.closer.Close(); err != nil {
				w.fail(err)
			}
		}
		w.closeErr = w.err
	})
	return w.closeErr
}

// Compact rewrites the closed report file into exactly one row per line, as
// the package's Compact does. A report this Writer wrote from its first byte
// is compacted in one pass that copies each kept row as it is (it knows
// which in-flight rows stay); any other, or one that is not as the Writer
// left it, goes through Compact. A stream (NewWriter) has nothing to do.
// Hold the report's Lock.
func (w *Writer) Compact() error {
	w.mu.Lock()
	closed, fresh := w.closed, w.fresh && w.err == nil
	w.mu.Unlock()
	if w.closer == nil {
		return nil
	}
	if !closed {
		return fmt.Errorf("compact report %s: the writer is still open", w.name)
	}
	if fresh {
		err := compactFresh(w.name, w.enc.format, w.open)
		if !errors.Is(err, errNotFresh) {
			return err
		}
	}
	return Compact(w.name, w.enc.format)
}

// encoder renders rows into buf. CSV records are appended field by field,
// quoted exactly as encoding/csv quotes them (TestAppendField pins that),
// rather than through gocsv's reflection, which costs several times more time
// and allocations per row (BenchmarkCSVRecord); the header still comes from
// gocsv, so the column names have one source: Row's csv tags.
type encoder struct {
	format Format
	buf    bytes.Buffer
	csv    *csv.Writer
	json   *json.Encoder
	// cols says which optional CSV columns follow response.
	cols columns
}

func newEncoder(format Format) *encoder {
	e := &encoder{format: format}
	e.csv = csv.NewWriter(&e.buf)
	e.json = json.NewEncoder(&e.buf)
	// Responses often hold HTML or URLs; keep them readable.
	e.json.SetEscapeHTML(false)
	return e
}

// drain writes the rows encoded so far to w and empties the buffer.
func (e *encoder) drain(w io.Writer) error {
	_, err := w.Write(e.buf.Bytes())
	e.buf.Reset()
	return err
}

// header appends the CSV header row; JSONL has none.
func (e *encoder) header() error {
	if e.format != FormatCSV {
		return nil
	}
	if e.cols != (columns{}) {
		// gocsv does not map the optional columns: the header is written
		// here, from the same names.
		if err := e.csv.Write(e.cols.header()); err != nil {
			return err
		}
		e.csv.Flush()
		return e.csv.Error()
	}
	return gocsv.MarshalCSV([]Row(nil), gocsv.NewSafeCSVWriter(e.csv))
}

// encode appends one row, newline-terminated. CSV text cells are guarded
// against formula injection (see guard).
func (e *encoder) encode(r *Row) error {
	if e.format == FormatJSONL {
		return e.json.Encode(r)
	}
	b := e.buf.AvailableBuffer()
	b = strconv.AppendInt(b, int64(r.Line), 10)
	b = appendField(append(b, ','), guard(r.ID))
	b = appendField(append(b, ','), string(r.Status))
	b = strconv.AppendInt(append(b, ','), int64(r.HTTPStatus), 10)
	b = strconv.AppendInt(append(b, ','), int64(r.Attempts), 10)
	b = strconv.AppendInt(append(b, ','), int64(r.Throttled), 10)
	b = appendField(append(b, ','), guard(r.Error))
	b = appendField(append(b, ','), guard(r.MessageID))
	b = strconv.AppendInt(append(b, ','), r.LatencyMS, 10)
	b = appendField(append(b, ','), r.SentAt)
	b = appendField(append(b, ','), guard(r.Response))
	if e.cols.segments {
		b = append(b, ',')
		if r.Segments > 0 {
			b = strconv.AppendInt(b, int64(r.Segments), 10)
		}
	}
	if e.cols.fingerprint {
		b = appendField(append(b, ','), r.Fingerprint)
	}
	if e.cols.delivery {
		b = appendField(append(b, ','), guard(r.DeliveryStatus))
		b = appendField(append(b, ','), guard(r.DeliveryError))
		b = appendField(append(b, ','), r.DeliveryAt)
	}
	b = append(b, '\n')
	e.buf.Write(b)
	return nil
}

// SyncDir makes a file's creation or rename in dir durable. Windows cannot
// fsync a directory, and its file system orders metadata itself.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}

// appendField appends f as encoding/csv writes it (comma ',', LF line ends),
// with each NUL byte replaced by U+FFFD: readers take a NUL for the end of
// a journal a killed run left (see tailReader).
func appendField(b []byte, f string) []byte {
	if strings.IndexByte(f, 0) >= 0 {
		f = strings.ReplaceAll(f, "\x00", "\uFFFD")
	}
	quote := f == `\.`
	for i := 0; i < len(f) && !quote; i++ {
		switch f[i] {
		case ',', '"', '\r', '\n':
			quote = true
		}
	}
	if !quote && f != "" {
		r, _ := utf8.DecodeRuneInString(f)
		quote = unicode.IsSpace(r)
	}
	if !quote {
		return append(b, f...)
	}
	b = append(b, '"')
	for {
		i := strings.IndexByte(f, '"')
		if i < 0 {
			break
		}
		b = append(b, f[:i+1]...)
		b = append(b, '"')
		f = f[i+1:]
	}
	b = append(b, f...)
	return append(b, '"')
}

// fileColumns reports which optional columns the CSV report f's header
// has (the segments column, the delivery columns), so rows appended to it,
// or its compaction, keep the file's columns.
func fileColumns(f *os.File) columns {
	buf := make([]byte, 512)
	n, _ := f.ReadAt(buf, 0)
	line, _, _ := bytes.Cut(buf[:n], []byte("\n"))
	c, _ := columnsOf(strings.Split(string(bytes.TrimSuffix(line, []byte("\r"))), ","))
	return c
}

// pathColumns is fileColumns for the CSV report at path.
func pathColumns(path string) columns {
	f, err := os.Open(path)
	if err != nil {
		return columns{}
	}
	defer f.Close()
	return fileColumns(f)
}
