package dupindex

import (
	"bufio"
	"cmp"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// pair is one record of an external sort, ordered by a alone: pairs with
// the same a come out together, in no given order, which is all grouping
// by hash needs.
type pair struct{ a, b uint64 }

// pairSize is a pair's size on disk.
const pairSize = 16

// mergeBudget is the read buffer shared by the runs of one merge, and
// minMergeBuffer the least each run gets.
const (
	mergeBudget    = 1 << 20
	minMergeBuffer = 4 << 10
)

func comparePairs(x, y pair) int { return cmp.Compare(x.a, y.a) }

// iterator yields pairs in order; ok is false after the last.
type iterator interface {
	next() (p pair, ok bool, err error)
}

// sorter is an external sort of pairs: chunks of up to size pairs are
// sorted in memory; once a second chunk is needed each full one is written
// as a sorted run to one temp file, and the runs are merged on reading.
type sorter struct {
	dir   string
	size  int
	chunk []pair
	spill *spillFile
	w     *bufio.Writer
	runs  []run
}

// run is a sorted stretch of the spill file.
type run struct{ off, n int64 }

func newSorter(dir string, size int) *sorter { return &sorter{dir: dir, size: size} }

// smallChunk is a chunk's first capacity: a small input stays small, and a
// larger one grows it to full size at once rather than leaving the
// garbage of doubling behind.
const smallChunk = 4096

func (s *sorter) add(p pair) error {
	switch {
	case len(s.chunk) == s.size:
		if err := s.flushChunk(); err != nil {
			return err
		}
	case s.chunk == nil:
		s.chunk = make([]pair, 0, min(s.size, smallChunk))
	case len(s.chunk) == cap(s.chunk):
		s.chunk = slices.Grow(s.chunk, s.size-len(s.chunk))
	}
	s.chunk = append(s.chunk, p)
	return nil
}

// flushChunk writes the chunk as a sorted run.
func (s *sorter) flushChunk() error {
	if s.spill == nil {
		f, err := createSpill(s.dir)
		if err != nil {
			return err
		}
		s.spill = f
		s.w = bufio.NewWriterSize(f.f, 64<<10)
	}
	slices.SortFunc(s.chunk, comparePairs)
	var off int64
	if len(s.runs) > 0 {
		last := s.runs[len(s.runs)-1]
		off = last.off + last.n*pairSize
	}
	var buf [pairSize]byte
	for _, p := range s.chunk {
		binary.LittleEndian.PutUint64(buf[:8], p.a)
		binary.LittleEndian.PutUint64(buf[8:], p.b)
		if _, err := s.w.Write(buf[:]); err != nil {
			return fmt.Errorf("write %s: %w", s.spill.name, err)
		}
	}
	s.runs = append(s.runs, run{off: off, n: int64(len(s.chunk))})
	s.chunk = s.chunk[:0]
	return nil
}

// sorted returns every pair added, in order. Nothing may be added after.
func (s *sorter) sorted() (iterator, error) {
	if s.spill == nil {
		slices.SortFunc(s.chunk, comparePairs)
		it := &sliceIterator{pairs: s.chunk}
		s.chunk = nil
		return it, nil
	}
	if len(s.chunk) > 0 {
		if err := s.flushChunk(); err != nil {
			return nil, err
		}
	}
	s.chunk = nil // the runs hold it all now; let the memory go
	if err := s.w.Flush(); err != nil {
		return nil, fmt.Errorf("write %s: %w", s.spill.name, err)
	}
	return newMerger(s.spill, s.runs), nil
}

// close removes the spill file, if any.
func (s *sorter) close() error {
	if s.spill == nil {
		return nil
	}
	err := s.spill.close()
	s.spill = nil
	return err
}

// spillFile is a temp file that goes away when closed. Where the system
// allows it (Unix) it is unlinked as soon as it is created, so even a run
// that is killed leaves nothing behind.
type spillFile struct {
	f        *os.File
	name     string
	unlinked bool
}

func createSpill(dir string) (*spillFile, error) {
	f, err := os.CreateTemp(dir, "bulksend-dupindex-*")
	if err != nil {
		return nil, fmt.Errorf("create temp file: %w", err)
	}
	return &spillFile{f: f, name: f.Name(), unlinked: os.Remove(f.Name()) == nil}, nil
}

func (f *spillFile) close() error {
	err := f.f.Close()
	if !f.unlinked {
		if rerr := os.Remove(f.name); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
			err = rerr
		}
	}
	if err != nil {
		return fmt.Errorf("remove temp file: %w", err)
	}
	return nil
}

// sliceIterator yields the pairs of a sorted slice.
type sliceIterator struct{ pairs []pair }

func (it *sliceIterator) next() (pair, bool, error) {
	if len(it.pairs) == 0 {
		return pair{}, false, nil
	}
	p := it.pairs[0]
	it.pairs = it.pairs[1:]
	return p, true, nil
}

// merger is a k-way merge of the sorted runs of one spill file.
type merger struct {
	name string
	h    cursorHeap
	err  error
}

// cursor is the head of one run.
type cursor struct {
	r    *bufio.Reader
	left int64 // pairs not yet read
	head pair
	buf  [pairSize]byte // here, not on the stack, where it would escape
}

func newMerger(f *spillFile, runs []run) *merger {
	bufSize := max(mergeBudget/len(runs), minMergeBuffer)
	m := &merger{name: f.name, h: make(cursorHeap, 0, len(runs))}
	for _, r := range runs {
		sr := io.NewSectionReader(f.f, r.off, r.n*pairSize)
		c := &cursor{r: bufio.NewReaderSize(sr, min(bufSize, int(r.n*pairSize))), left: r.n}
		// A run is never empty, so its first read only fails on I/O; that
		// error is kept and returned by the first next.
		if err := c.advance(); err != nil {
			m.err = fmt.Errorf("read %s: %w", f.name, err)
			return m
		}
		m.h = append(m.h, c)
	}
	heap.Init(&m.h)
	return m
}

// advance reads the run's next pair into head; it reports io.EOF at the end.
func (c *cursor) advance() error {
	if c.left == 0 {
		return io.EOF
	}
	buf := c.buf[:]
	if _, err := io.ReadFull(c.r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // the run is shorter than it was written
		}
		return err
	}
	c.left--
	c.head = pair{a: binary.LittleEndian.Uint64(buf[:8]), b: binary.LittleEndian.Uint64(buf[8:])}
	return nil
}

func (m *merger) next() (pair, bool, error) {
	if m.err != nil {
		return pair{}, false, m.err
	}
	if len(m.h) == 0 {
		return pair{}, false, nil
	}
	c := m.h[0]
	p := c.head
	switch err := c.advance(); {
	case err == nil:
		heap.Fix(&m.h, 0)
	case errors.Is(err, io.EOF):
		heap.Pop(&m.h)
	default:
		m.err = fmt.Errorf("read %s: %w", m.name, err)
		return pair{}, false, m.err
	}
	return p, true, nil
}

// cursorHeap orders the runs by their heads.
type cursorHeap []*cursor

func (h cursorHeap) Len() int           { return len(h) }
func (h cursorHeap) Less(i, j int) bool { return h[i].head.a < h[j].head.a }
func (h cursorHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)        { *h = append(*h, x.(*cursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}
