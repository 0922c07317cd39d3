package report

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/bulksend/bulksend/sender"
)

// Lines are kept in pages of pageSize consecutive line numbers: dense input
// line numbers cost one array slot each, and a stray huge line number costs
// one page, not a slice up to it.
const (
	pageShift = 12
	pageSize  = 1 << pageShift
)

// statePage holds the status code and id hash of pageSize lines. Separate
// arrays keep it at 9 bytes a line (90 MB for 10M lines) with no padding.
type statePage struct {
	hash [pageSize]uint64
	code [pageSize]uint8
}

// State is what an earlier run recorded for each input line, as --resume
// needs it: the status and a hash of the id, never the whole row.
type State struct {
	seed   maphash.Seed
	pages  map[int]*statePage
	lines  int
	counts [len(statusByCode)]int
	// keys holds the idempotency key of each line whose latest row is in
	// flight: a handful after a crash, so a map costs nothing.
	keys map[int]string
}

// Load reads a report (journal) for --resume: for each input line, the last
// FINAL row wins; an inflight row only counts if no final row for that line
// follows it. Since the engine writes a line's inflight row before its
// result, this is "the last row wins": a final row settles an earlier
// inflight one, and an inflight row after a final one (a --retry-failed run
// that crashed) means that retry may have reached the server. The format
// comes from the file name, as it does for the Writer.
func Load(path string) (*State, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load report: %w", err)
	}
	defer f.Close()
	s := newState()
	if err := Read(f, path, FormatFromName(path), s.add); err != nil {
		return nil, fmt.Errorf("load report: %w", err)
	}
	return s, nil
}

func newState() *State {
	return &State{seed: maphash.MakeSeed(), pages: make(map[int]*statePage), keys: make(map[int]string)}
}

// add records r as its line's latest row.
func (s *State) add(r Row) error {
	p := s.pages[r.Line>>pageShift]
	if p == nil {
		p = new(statePage)
		s.pages[r.Line>>pageShift] = p
	}
	i := r.Line & (pageSize - 1)
	if old := p.code[i]; old == 0 {
		s.lines++
	} else {
		s.counts[old]--
	}
	code := statusCodes[r.Status]
	s.counts[code]++
	p.code[i] = code
	p.hash[i] = s.hash(r.ID)
	delete(s.keys, r.Line)
	if key, ok := strings.CutPrefix(r.Response, keyPrefix); ok && r.Status == sender.StatusInFlight {
		s.keys[r.Line] = key
	}
	return nil
}

// InFlightKey is the idempotency key the in-flight request of line carried,
// or "" when it carried none, when the journal predates keys being recorded,
// or when the line is not in flight.
func (s *State) InFlightKey(line int) string { return s.keys[line] }

func (s *State) hash(id string) uint64 { return maphash.String(s.seed, id) }

// Status is the status recorded for line; ok is false if the report has no
// row for it. StatusInFlight means the request may have left without its
// result being recorded.
func (s *State) Status(line int) (st sender.Status, ok bool) {
	p := s.pages[line>>pageShift]
	if p == nil {
		return "", false
	}
	code := p.code[line&(pageSize-1)]
	if code == 0 {
		return "", false
	}
	return statusByCode[code], true
}

// SameID reports whether the id recorded for line equals id, so a resumed
// run notices that the input file changed under it rather than skipping a
// different recipient. It is false for a line with no row.
func (s *State) SameID(line int, id string) bool {
	p := s.pages[line>>pageShift]
	if p == nil || p.code[line&(pageSize-1)] == 0 {
		return false
	}
	h := p.hash[line&(pageSize-1)]
	if s.hash(id) == h {
		return true
	}
	// JSON stores invalid UTF-8 as U+FFFD, byte by byte; compare an id with
	// such bytes the way it came back.
	return !utf8.ValidString(id) && s.hash(jsonString(id)) == h
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

// errChanged means the journal changed between Compact's two passes; the
// caller should hold the report's Lock.
var errChanged = errors.New("report changed while being compacted")

// Compact rewrites the journal at path into exactly one row per line (the
// same "last final wins, else the inflight row" rule), in journal order,
// through a temp file in the same directory, fsync, rename, fsync of the
// directory, so a crash during compaction leaves either the old or the new
// file. Streaming, two passes, memory O(lines) bytes: the first pass counts
// each line's rows, the second writes a line's row when its count runs out,
// which is the row Load keeps. A damaged last row is dropped; the file's
// permissions are kept. Hold the report's Lock while compacting.
func Compact(path string, format Format) error {
	if err := format.check(); err != nil {
		return fmt.Errorf("compact report %s: %w", path, err)
	}
	left := make(map[int]*[pageSize]uint32)
	count := func(r Row) error {
		p := left[r.Line>>pageShift]
		if p == nil {
			p = new([pageSize]uint32)
			left[r.Line>>pageShift] = p
		}
		p[r.Line&(pageSize-1)]++
		return nil
	}
	if err := readFile(path, format, count); err != nil {
		return fmt.Errorf("compact report: %w", err)
	}

	enc := newEncoder(format)
	return rewrite(path, func(bw *bufio.Writer) error {
		put := func() error {
			_, err := bw.Write(enc.buf.Bytes())
			enc.buf.Reset()
			return err
		}
		if err := enc.header(); err != nil {
			return err
		}
		if err := put(); err != nil {
			return err
		}
		keepLast := func(r Row) error {
			p := left[r.Line>>pageShift]
			i := r.Line & (pageSize - 1)
			if p == nil || p[i] == 0 {
				return errChanged
			}
			if p[i]--; p[i] > 0 {
				return nil
			}
			if err := enc.encode(&r); err != nil {
				return err
			}
			return put()
		}
		return readFile(path, format, keepLast)
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
	return rewrite(path, func(bw *bufio.Writer) error {
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
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(rec) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return rec, err
		}
		if format == FormatCSV {
			for _, c := range chunk {
				if c == '"' {
					quoted = !quoted
				}
			}
			if quoted {
				continue
			}
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
func rewrite(path string, fill func(*bufio.Writer) error) (err error) {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("compact report: %w", err)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, base+".compact-*")
	if err != nil {
		return fmt.Errorf("compact report: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, readBufferSize)
	if err = fill(bw); err != nil {
		return fmt.Errorf("compact report: %w", err)
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
		return fmt.Errorf("compact report: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("compact report %s: %w", path, err)
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
