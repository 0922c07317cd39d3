package report

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bulksend/bulksend/internal/extsort"
	"github.com/bulksend/bulksend/sender"
)

// mark is what resume and compaction keep of one journal row, so a journal
// of any size is sorted by line in bounded memory (package extsort): the
// row's line, its place in the journal, a hash of its id, its status and
// its fingerprint, when it has one.
type mark struct {
	line uint64
	seq  uint64 // the row's place in the journal, from 1: later rows win
	hash uint64
	code uint8
	fpOK bool // fp holds the row's fingerprint
	fp   [sender.FingerprintLen / 2]byte
}

// markCodec stores a mark in 42 bytes.
var markCodec = extsort.Codec[mark]{
	Size: 42,
	Put: func(b []byte, m mark) {
		binary.LittleEndian.PutUint64(b, m.line)
		binary.LittleEndian.PutUint64(b[8:], m.seq)
		binary.LittleEndian.PutUint64(b[16:], m.hash)
		b[24] = m.code
		b[25] = 0
		if m.fpOK {
			b[25] = 1
		}
		copy(b[26:42], m.fp[:])
	},
	Get: func(b []byte) mark {
		m := mark{line: binary.LittleEndian.Uint64(b), seq: binary.LittleEndian.Uint64(b[8:]),
			hash: binary.LittleEndian.Uint64(b[16:]), code: b[24], fpOK: b[25] == 1}
		copy(m.fp[:], b[26:42])
		return m
	},
}

// setFingerprint stores fp in m when it is one (sender.ValidFingerprint);
// a row without one, or with a damaged one, is not compared.
func (m *mark) setFingerprint(fp string) {
	if !sender.ValidFingerprint(fp) {
		return
	}
	_, err := hex.Decode(m.fp[:], []byte(fp))
	m.fpOK = err == nil
}

// fingerprint is the fingerprint m records, "" when none.
func (m *mark) fingerprint() string {
	if !m.fpOK {
		return ""
	}
	return hex.EncodeToString(m.fp[:])
}

// sameFingerprint reports whether m records fp, without allocating: the
// pre-pass asks it for every row.
func (m *mark) sameFingerprint(fp string) bool {
	var b [sender.FingerprintLen / 2]byte
	if len(fp) != sender.FingerprintLen {
		return false
	}
	for i := range b {
		hi, ok1 := unhex(fp[2*i])
		lo, ok2 := unhex(fp[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		b[i] = hi<<4 | lo
	}
	return b == m.fp
}

// unhex is the value of the lower-case hex digit c.
func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// compared reports whether a resumed run compares the row m records with
// the input's: every row but those the server took no request of, which a
// fixed input is meant to send: invalid and pending rows, and failed ones
// (each attempt proven not taken), which --retry-failed sends fixed.
func (m *mark) compared() bool {
	switch statusByCode[m.code] {
	case sender.StatusInvalid, sender.StatusPending, sender.StatusFailed:
		return false
	}
	return true
}

// byLine orders marks by line, then journal order: a total order, so a
// line's rows come out together and its last row last.
func byLine(a, b mark) int {
	if c := cmp.Compare(a.line, b.line); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// bySeq orders marks in journal order.
func bySeq(a, b mark) int { return cmp.Compare(a.seq, b.seq) }

// newMarkSorter sorts the marks of the journal at path, spilling next to
// it: the report's folder is writable and has room for a file smaller than
// the report, where the system's temp folder may be a small RAM disk.
// chunk 0 means extsort's default, a couple of MiB of marks.
func newMarkSorter(path string, chunk int, order func(a, b mark) int) *extsort.Sorter[mark] {
	return extsort.New(order, markCodec, extsort.Options{
		Chunk: chunk, Dir: filepath.Dir(path), Pattern: filepath.Base(path) + ".sort-*"})
}

// latest reads marks sorted byLine and yields each line's last one, the
// row Load and Compact keep.
type latest struct {
	it   *extsort.Iterator[mark]
	next mark // the first mark of the next line, when has
	has  bool
}

func latestOf(s *extsort.Sorter[mark]) (*latest, error) {
	it, err := s.Sorted()
	if err != nil {
		return nil, err
	}
	l := &latest{it: it}
	if l.next, l.has, err = it.Next(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *latest) Next() (mark, bool, error) {
	if !l.has {
		return mark{}, false, nil
	}
	cur := l.next
	for {
		m, ok, err := l.it.Next()
		if err != nil {
			return mark{}, false, err
		}
		if !ok || m.line != cur.line {
			l.next, l.has = m, ok
			return cur, true, nil
		}
		cur = m
	}
}

// ErrOutOfOrder is State's answer to a query for a lower line than the one
// before: it reads the report in line order, once, and cannot go back.
var ErrOutOfOrder = errors.New("lines asked out of order")

// errStateClosed answers queries after Close.
var errStateClosed = errors.New("report state closed")

// State is what an earlier run recorded for each input line, as --resume
// needs it: the status and a hash of the id, never the whole row. It is
// kept in a temp file sorted by line and read with a cursor, so its memory
// does not grow with the report: ask about lines in increasing order (the
// same line may be asked again), as a resumed run reads its input. Close
// it to remove the file.
//
// A query for a lower line than the previous one, or a failure to read the
// temp file, is recorded as Err, and from then on every line reads as in
// flight with an id that differs: the answer that resends nothing.
type State struct {
	path   string
	seed   maphash.Seed
	lines  int
	counts [len(statusByCode)]int
	// unchecked counts the lines compared (mark.compared) whose row has no
	// fingerprint: written before fingerprints were recorded.
	unchecked int
	// keys holds the idempotency key of each line whose latest row is in
	// flight: a handful after a crash, so a map costs nothing.
	keys map[int]string
	// since holds, for each line whose latest rows are unknown or in
	// flight, the earliest sent_at among them: when the oldest request
	// that may have arrived left. As few as keys.
	since map[int]time.Time

	sorted *extsort.Sorter[mark]
	rows   *latest // nil once read to the end
	cur    mark    // the lowest line at or past last, when curOK
	curOK  bool
	last   int // the last line asked about
	err    error
}

// Load reads a report (journal) for --resume: for each input line, the last
// FINAL row wins; an inflight row only counts if no final row for that line
// follows it. Since the engine writes a line's inflight row before its
// result, this is "the last row wins": a final row settles an earlier
// inflight one, and an inflight row after a final one (a --retry-failed run
// that crashed) means that retry may have reached the server. The format
// comes from the file name, as it does for the Writer.
//
// The rows are sorted by line through a temp file in the report's folder,
// so memory stays flat however long the report; the caller closes the
// State.
func Load(path string) (*State, error) { return load(context.Background(), path, 0) }

// LoadContext is Load that gives up, with ctx's error, when ctx ends: a
// journal of millions of rows takes seconds to sort.
func LoadContext(ctx context.Context, path string) (*State, error) { return load(ctx, path, 0) }

// loadCheckEvery is how many rows Load reads between looks at its context.
const loadCheckEvery = 4096

// load is LoadContext sorting chunk marks at a time (0: the default), so
// tests can make a small report spill.
func load(ctx context.Context, path string, chunk int) (_ *State, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load report: %w", err)
	}
	defer f.Close()
	s := &State{path: path, seed: maphash.MakeSeed(), keys: make(map[int]string), since: make(map[int]time.Time), last: math.MinInt,
		sorted: newMarkSorter(path, chunk, byLine)}
	defer func() {
		if err != nil {
			s.sorted.Close()
		}
	}()
	var seq uint64
	err = Read(f, path, FormatFromName(path), func(r Row) error {
		if seq++; seq%loadCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		delete(s.keys, r.Line)
		s.noteSince(r)
		if key, ok := strings.CutPrefix(r.Response, keyPrefix); ok && r.Status == sender.StatusInFlight {
			s.keys[r.Line] = key
		}
		m := mark{line: uint64(r.Line), seq: seq, hash: s.hash(r.ID), code: statusCodes[r.Status]}
		m.setFingerprint(r.Fingerprint)
		return s.sorted.Add(m)
	})
	if err != nil {
		return nil, fmt.Errorf("load report: %w", err)
	}
	// One pass counts, a second one answers the queries.
	counted, err := latestOf(s.sorted)
	for n := 0; err == nil; n++ {
		if n%loadCheckEvery == 0 {
			if err = ctx.Err(); err != nil {
				break
			}
		}
		var (
			m  mark
			ok bool
		)
		if m, ok, err = counted.Next(); ok {
			s.lines++
			s.counts[m.code]++
			if !m.fpOK && m.compared() {
				s.unchecked++
			}
		} else if err == nil {
			break
		}
	}
	if err == nil {
		s.rows, err = latestOf(s.sorted)
	}
	if err != nil {
		return nil, fmt.Errorf("load report: %w", err)
	}
	return s, nil
}

func (s *State) hash(id string) uint64 { return maphash.String(s.seed, id) }

// seek moves the cursor to line and returns its mark, if the report has
// one.
func (s *State) seek(line int) (mark, bool) {
	if s.err != nil {
		return mark{}, false
	}
	if line < s.last {
		s.err = fmt.Errorf("resume state: line %d asked after line %d: %w", line, s.last, ErrOutOfOrder)
		return mark{}, false
	}
	s.last = line
	if line < 1 {
		return mark{}, false // no row has such a line
	}
	for s.rows != nil && (!s.curOK || s.cur.line < uint64(line)) {
		m, ok, err := s.rows.Next()
		if err != nil {
			s.err = fmt.Errorf("resume state: %w", err)
			return mark{}, false
		}
		if s.cur, s.curOK = m, ok; !ok {
			s.rows = nil
		}
	}
	return s.cur, s.curOK && s.cur.line == uint64(line)
}

// Err is why the State stopped answering truthfully: ErrOutOfOrder, or a
// failure to read its temp file. Check it after a query whose answer
// matters.
func (s *State) Err() error { return s.err }

// Close removes the temp file. Queries after Close fail.
func (s *State) Close() error {
	s.rows, s.curOK = nil, false
	if s.err == nil {
		s.err = errStateClosed
	}
	return s.sorted.Close()
}

// InFlightKey is the idempotency key the in-flight request of line carried,
// or "" when it carried none, when the journal predates keys being recorded,
// or when the line is not in flight.
func (s *State) InFlightKey(line int) string {
	if m, ok := s.seek(line); !ok || m.code != statusCodes[sender.StatusInFlight] {
		return ""
	}
	return s.keys[line]
}

// noteSince keeps, for r's line, the earliest sent_at of the unsettled
// rows (unknown, in flight) it has ended with so far in the journal's
// order: a row that settles the line (sent, failed, pending...) forgets it.
// A later run's in-flight row for the same line (a --resume that looked it
// up and was killed) keeps the older time: that run's request is not the
// oldest that may have arrived.
func (s *State) noteSince(r Row) {
	if r.Status != sender.StatusUnknown && r.Status != sender.StatusInFlight {
		delete(s.since, r.Line)
		return
	}
	t, err := time.Parse(timeLayout, r.SentAt)
	if err != nil {
		return // none recorded: the earlier time, if any, stands
	}
	if old, ok := s.since[r.Line]; !ok || t.Before(old) {
		s.since[r.Line] = t
	}
}

// SentAt is when the oldest request of line that may have arrived and was
// never settled left, as the report recorded it (to the millisecond, on the
// clock of the run that sent it); zero when the line's latest row is
// settled or no time was recorded.
func (s *State) SentAt(line int) time.Time {
	if st, ok := s.Status(line); !ok || (st != sender.StatusUnknown && st != sender.StatusInFlight) {
		return time.Time{}
	}
	return s.since[line]
}

// Status is the status recorded for line; ok is false if the report has no
// row for it. StatusInFlight means the request may have left without its
// result being recorded.
func (s *State) Status(line int) (st sender.Status, ok bool) {
	m, ok := s.seek(line)
	switch {
	case s.err != nil:
		return sender.StatusInFlight, true
	case !ok:
		return "", false
	}
	return statusByCode[m.code], true
}

// SameID reports whether the id recorded for line equals id, so a resumed
// run notices that the input file changed under it rather than skipping a
// different recipient. It is false for a line with no row.
func (s *State) SameID(line int, id string) bool {
	m, ok := s.seek(line)
	return ok && s.sameID(&m, id)
}

// Key is the idempotency key to resend line with: the key its in-flight
// request carried, as the journal recorded it, or for a row left unknown
// the key of the fingerprint recorded (sender.KeyOf), so a resend carries
// the key the server saw even if the row's rendering changed since. It is
// "" when the report recorded neither.
func (s *State) Key(line int) string {
	m, ok := s.seek(line)
	switch {
	case !ok:
		return ""
	case m.code == statusCodes[sender.StatusInFlight]:
		return s.keys[line]
	}
	return sender.KeyOf(m.fingerprint())
}

// Path is the report the State was loaded from.
func (s *State) Path() string { return s.path }

// Unchecked is the number of lines whose row would be compared with the
// input but has no fingerprint: a report written before fingerprints were
// recorded. Only their ids are compared.
func (s *State) Unchecked() int { return s.unchecked }

// sameID reports whether m records id.
func (s *State) sameID(m *mark, id string) bool {
	if s.hash(id) == m.hash {
		return true
	}
	// JSON stores invalid UTF-8 as U+FFFD, byte by byte; compare an id with
	// such bytes the way it came back.
	if strings.IndexByte(id, 0) >= 0 && s.hash(strings.ReplaceAll(id, "\x00", "\uFFFD")) == m.hash {
		return true // a CSV report stores a NUL as U+FFFD
	}
	return !utf8.ValidString(id) && s.hash(jsonString(id)) == m.hash
}

// jsonString is id as a JSONL report gives it back: each byte that is not
// valid UTF-8 replaced by U+FFFD.
func jsonString(id string) string {
	var b strings.Builder
	for _, r := range id {
		b.WriteRune(r) // an invalid byte ranges as utf8.RuneError
	}
	return b.String()
}

// Counts is the number of lines per status.
func (s *State) Counts() map[sender.Status]int {
	m := make(map[sender.Status]int)
	for code, n := range s.counts {
		if n > 0 {
			m[statusByCode[code]] = n
		}
	}
	return m
}

// Len is the number of lines the report has a row for.
func (s *State) Len() int { return s.lines }

// errChanged means the journal changed between the two passes of LastRows
// or Compact; the caller should hold the report's Lock.
var errChanged = errors.New("report changed while being read")

// LastRows calls fn with each line's last row of the journal at path (the
// row Load goes by: "the last row wins"), in journal order. A damaged last
// row is ignored, as Read ignores it. An error from fn stops LastRows and is
// returned as is; any other names the file. Hold the report's Lock, so the
// journal cannot change between the two passes below.
//
// Memory stays flat however long the journal: a first pass sorts the rows'
// (line, place) by line through temp files next to the journal to find
// each line's last row, and sorts those places back into journal order; a
// second pass over the journal hands fn the rows at those places.
func LastRows(path string, format Format, fn func(Row) error) error {
	return lastRows(path, format, 0, fn)
}

// lastRows is LastRows sorting chunk marks at a time (0: the default), so
// tests can make a small journal spill.
func lastRows(path string, format Format, chunk int, fn func(Row) error) error {
	if err := format.check(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	last, err := findLast(path, format, chunk)
	if err != nil {
		return err
	}
	defer last.close()
	return last.visit(path, format, fn)
}

// lastPlaces is where each line's last row lies in a journal, in journal
// order: the first pass of LastRows. Compact makes it before creating its
// temp file, so a journal it cannot read leaves nothing behind.
type lastPlaces struct {
	keep *extsort.Sorter[mark]
	rows uint64 // the journal's rows, to notice it growing
}

// findLast is the first pass of LastRows.
func findLast(path string, format Format, chunk int) (_ *lastPlaces, err error) {
	lines := newMarkSorter(path, chunk, byLine)
	defer lines.Close()
	p := &lastPlaces{keep: newMarkSorter(path, chunk, bySeq)}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	err = readFile(path, format, func(r Row) error {
		p.rows++
		return lines.Add(mark{line: uint64(r.Line), seq: p.rows})
	})
	if err != nil {
		return nil, err
	}
	last, err := latestOf(lines)
	for err == nil {
		m, ok, nerr := last.Next()
		if err = nerr; !ok {
			break
		}
		err = p.keep.Add(m)
	}
	if err == nil {
		err = lines.Close() // done with: free its disk before the second pass
	}
	if err != nil {
		return nil, fmt.Errorf("sort %s by line: %w", path, err)
	}
	return p, nil
}

// visit is the second pass of LastRows: it reads the journal again and
// hands fn the rows at the places found.
func (p *lastPlaces) visit(path string, format Format, fn func(Row) error) error {
	kept, err := p.keep.Sorted()
	if err != nil {
		return fmt.Errorf("sort %s by line: %w", path, err)
	}
	next, more, err := kept.Next()
	if err != nil {
		return fmt.Errorf("sort %s by line: %w", path, err)
	}
	var (
		seq    uint64
		sorted error // from kept, told apart from fn's errors
	)
	err = readFile(path, format, func(r Row) error {
		if seq++; seq > p.rows {
			return fmt.Errorf("%s: %w", path, errChanged)
		}
		if !more || next.seq != seq {
			return nil
		}
		if next.line != uint64(r.Line) {
			return fmt.Errorf("%s: %w", path, errChanged)
		}
		if err := fn(r); err != nil {
			return err
		}
		next, more, sorted = kept.Next()
		if sorted != nil {
			return fmt.Errorf("sort %s by line: %w", path, sorted)
		}
		return nil
	})
	if err == nil && (more || seq != p.rows) {
		err = fmt.Errorf("%s: %w", path, errChanged)
	}
	return err
}

// close removes the temp file.
func (p *lastPlaces) close() { _ = p.keep.Close() }

// Compact rewrites the journal at path into exactly one row per line (the
// same "last final wins, else the inflight row" rule as Load), in journal
// order, through a temp file in the same directory, fsync, rename, fsync
// of the directory, so a crash during compaction leaves either the old or
// the new file. A damaged last row is dropped; the file's permissions are
// kept. Hold the report's Lock while compacting.
//
// Memory stays flat however long the journal: the rows kept are those
// LastRows visits.
func Compact(path string, format Format) error { return compact(path, format, 0) }

// compact is Compact sorting chunk marks at a time (0: the default).
func compact(path string, format Format, chunk int) error {
	if err := format.check(); err != nil {
		return fmt.Errorf("compact report %s: %w", path, err)
	}
	last, err := findLast(path, format, chunk)
	if err != nil {
		return fmt.Errorf("compact report: %w", err)
	}
	defer last.close()
	enc := newEncoder(format)
	if format == FormatCSV {
		enc.cols = pathColumns(path)
	}
	return rewrite(path, "compact report", func(bw *bufio.Writer) error {
		if err := enc.header(); err != nil {
			return err
		}
		if err := enc.drain(bw); err != nil {
			return err
		}
		var row Row // one for every row: &r would move each to the heap
		return last.visit(path, format, func(r Row) error {
			row = r
			if err := enc.encode(&row); err != nil {
				return err
			}
			return enc.drain(bw)
		})
	})
}

// errNotFresh sends compactFresh's caller back to Compact: the file holds
// something this package's Writer would not have written.
var errNotFresh = errors.New("report is not as its writer left it")

// compactFresh is Compact for a journal one Writer wrote from its first
// byte and closed: each line has at most one final row, and an in-flight
// row that must stay (its line never got a final row) is in open. So one
// pass decides each row on its own, and copies it as bytes rather than
// decoding and encoding it. Anything unexpected returns errNotFresh with the
// file untouched.
func compactFresh(path string, format Format, open map[int]struct{}) error {
	keep := func(rec []byte) (bool, error) {
		line, inflight, err := rowKey(rec, format)
		if err != nil || !inflight {
			return !inflight, err
		}
		_, ok := open[line]
		return ok, nil
	}
	return rewrite(path, "compact report", func(bw *bufio.Writer) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		br := bufio.NewReaderSize(f, readBufferSize)
		var rec []byte
		for first := format == FormatCSV; ; first = false {
			rec, err = nextRecord(br, rec[:0], format)
			if err == io.EOF && len(rec) == 0 {
				return nil
			}
			if err != nil {
				return errNotFresh // a cut last row, or a read error: Compact knows
			}
			ok := first // the CSV header
			if !first {
				if ok, err = keep(rec); err != nil {
					return err
				}
			}
			if ok {
				if _, err := bw.Write(rec); err != nil {
					return err
				}
			}
		}
	})
}

// nextRecord appends the next whole record of br, newline included, to rec.
// A CSV record ends at a newline outside quotes (quoted fields may hold
// newlines); a JSONL record at any newline.
func nextRecord(br *bufio.Reader, rec []byte, format Format) ([]byte, error) {
	quoted := false
	for {
		chunk, err := br.ReadSlice('\n')
		rec = append(rec, chunk...)
		if format == FormatCSV {
			// Every piece counts, a record longer than the buffer included.
			quoted = quoted != (bytes.Count(chunk, []byte{'"'})%2 == 1)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(rec) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return rec, err
		}
		if quoted {
			continue
		}
		return rec, nil
	}
}

// rowKey reads a record's line and whether it is an in-flight row, without
// decoding the rest.
func rowKey(rec []byte, format Format) (line int, inflight bool, err error) {
	if format == FormatJSONL {
		var k struct {
			Line   int           `json:"line"`
			Status sender.Status `json:"status"`
		}
		if err := json.Unmarshal(rec, &k); err != nil {
			return 0, false, errNotFresh
		}
		return k.Line, k.Status == sender.StatusInFlight, nil
	}
	// line,id,status,...: the line and status are never quoted, the id may be.
	var fields [3][]byte
	n, start, quoted := 0, 0, false
	for i := 0; i < len(rec) && n < 3; i++ {
		switch c := rec[i]; {
		case c == '"':
			quoted = !quoted
		case (c == ',' || c == '\n') && !quoted:
			fields[n] = rec[start:i]
			n, start = n+1, i+1
		}
	}
	if n < 3 || len(fields[0]) == 0 || len(fields[0]) > 18 {
		return 0, false, errNotFresh
	}
	for _, c := range fields[0] {
		if c < '0' || c > '9' {
			return 0, false, errNotFresh
		}
		line = line*10 + int(c-'0')
	}
	return line, string(fields[2]) == string(sender.StatusInFlight), nil
}

// rewrite replaces the file at path with what fill writes, through a temp
// file in the same directory, fsync, rename and fsync of the directory, so a
// crash leaves either the old file or the new one. The permissions are kept.
func rewrite(path, what string, fill func(*bufio.Writer) error) (err error) {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, base+".compact-*")
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, readBufferSize)
	if err = fill(bw); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err = bw.Flush(); err == nil {
		err = tmp.Chmod(info.Mode().Perm())
	}
	if err == nil {
		err = tmp.Sync()
	}
	if err == nil {
		err = tmp.Close()
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := SyncDir(dir); err != nil {
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	return nil
}

// readFile is Read over the file at path.
func readFile(path string, format Format, fn func(Row) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return Read(f, path, format, fn)
}
