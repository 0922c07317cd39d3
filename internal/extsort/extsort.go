// Package extsort sorts fixed-size records in bounded memory, however many
// there are: chunks are sorted in memory, and once a second chunk is
// needed each full one is written as a sorted run to one temp file; the
// runs are merged as they are read back.
package extsort

import (
	"bufio"
	"container/heap"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// DefaultChunk is how many records are sorted in memory at a time when
// Options.Chunk is 0: 64k, a few MiB for records of a few dozen bytes.
const DefaultChunk = 64 << 10

// mergeBudget is the read buffer shared by the runs of one merge, and
// minMergeBuffer the least each run gets, so a huge input's many runs
// still read in blocks rather than record by record.
const (
	mergeBudget    = 1 << 20
	minMergeBuffer = 4 << 10
)

// smallChunk is a chunk's first capacity: a small input stays small, and a
// larger one grows it to full size at once rather than leaving the garbage
// of doubling behind.
const smallChunk = 4096

// Codec writes a record as exactly Size bytes and reads it back. Records
// on disk are fixed-size so runs need no framing.
type Codec[T any] struct {
	Size int
	Put  func(b []byte, v T)
	Get  func(b []byte) T
}

// Options tunes a Sorter. The zero value sorts DefaultChunk records at a
// time and spills to os.TempDir().
type Options struct {
	// Chunk bounds the records held in memory; 0 means DefaultChunk.
	Chunk int
	// Dir holds the temp file; "" means os.TempDir().
	Dir string
	// Pattern names the temp file as os.CreateTemp does; "" means
	// "bulksend-sort-*".
	Pattern string
}

// Sorter is an external sort of records of type T. Add them, then read
// them in order with Sorted, as often as needed; Close removes the temp
// file. Records that compare equal come out in no given order, so callers
// that need one make cmp a total order.
type Sorter[T any] struct {
	cmp   func(a, b T) int
	codec Codec[T]
	opts  Options
	chunk []T
	spill *tempFile
	w     *bufio.Writer
	runs  []run
	done  bool // Sorted was called: no more Add
}

// run is a sorted stretch of the spill file.
type run struct{ off, n int64 }

// New returns an empty Sorter ordering records by cmp.
func New[T any](cmp func(a, b T) int, codec Codec[T], opts Options) *Sorter[T] {
	if opts.Chunk <= 0 {
		opts.Chunk = DefaultChunk
	}
	if opts.Pattern == "" {
		opts.Pattern = "bulksend-sort-*"
	}
	return &Sorter[T]{cmp: cmp, codec: codec, opts: opts}
}

// errSorted reports an Add after Sorted, a misuse that would lose records.
var errSorted = errors.New("extsort: Add after Sorted")

// Add adds v to the records to sort.
func (s *Sorter[T]) Add(v T) error {
	switch {
	case s.done:
		return errSorted
	case len(s.chunk) == s.opts.Chunk:
		if err := s.flushChunk(); err != nil {
			return err
		}
	case s.chunk == nil:
		s.chunk = make([]T, 0, min(s.opts.Chunk, smallChunk))
	case len(s.chunk) == cap(s.chunk):
		s.chunk = slices.Grow(s.chunk, s.opts.Chunk-len(s.chunk))
	}
	s.chunk = append(s.chunk, v)
	return nil
}

// flushChunk writes the chunk as a sorted run.
func (s *Sorter[T]) flushChunk() error {
	if s.spill == nil {
		f, err := createTemp(s.opts.Dir, s.opts.Pattern)
		if err != nil {
			return err
		}
		s.spill = f
		s.w = bufio.NewWriterSize(f.f, 64<<10)
	}
	slices.SortFunc(s.chunk, s.cmp)
	var off int64
	if len(s.runs) > 0 {
		last := s.runs[len(s.runs)-1]
		off = last.off + last.n*int64(s.codec.Size)
	}
	buf := make([]byte, s.codec.Size)
	for _, v := range s.chunk {
		s.codec.Put(buf, v)
		if _, err := s.w.Write(buf); err != nil {
			return fmt.Errorf("write %s: %w", s.spill.name, err)
		}
	}
	s.runs = append(s.runs, run{off: off, n: int64(len(s.chunk))})
	s.chunk = s.chunk[:0]
	return nil
}

// Sorted returns an iterator over every record added, in order. It may be
// called again for a fresh pass; nothing may be added after the first call.
func (s *Sorter[T]) Sorted() (*Iterator[T], error) {
	if !s.done {
		s.done = true
		if s.spill == nil {
			slices.SortFunc(s.chunk, s.cmp)
		} else {
			if len(s.chunk) > 0 {
				if err := s.flushChunk(); err != nil {
					return nil, err
				}
			}
			s.chunk = nil // the runs hold it all now; let the memory go
			if err := s.w.Flush(); err != nil {
				return nil, fmt.Errorf("write %s: %w", s.spill.name, err)
			}
			s.w = nil
		}
	}
	if s.spill == nil {
		return &Iterator[T]{mem: s.chunk}, nil
	}
	return s.merge(), nil
}

// Spilled reports whether the records went to a temp file, for tests that
// must make sure the merge is exercised.
func (s *Sorter[T]) Spilled() bool { return s.spill != nil }

// Close removes the temp file, if any. Iterators from Sorted must not be
// used after.
func (s *Sorter[T]) Close() error {
	s.chunk = nil
	if s.spill == nil {
		return nil
	}
	err := s.spill.close()
	s.spill = nil
	return err
}

// Iterator yields records in order, from memory or from a merge of runs.
type Iterator[T any] struct {
	mem   []T
	codec Codec[T]
	name  string
	h     cursorHeap[T]
	err   error
}

// cursor is the head of one run.
type cursor[T any] struct {
	r    *bufio.Reader
	left int64 // records not yet read
	buf  []byte
	head T
}

func (s *Sorter[T]) merge() *Iterator[T] {
	size := int64(s.codec.Size)
	bufSize := max(mergeBudget/len(s.runs), minMergeBuffer)
	it := &Iterator[T]{codec: s.codec, name: s.spill.name, h: cursorHeap[T]{cmp: s.cmp}}
	for _, r := range s.runs {
		sr := io.NewSectionReader(s.spill.f, r.off, r.n*size)
		c := &cursor[T]{r: bufio.NewReaderSize(sr, int(min(int64(bufSize), r.n*size))), left: r.n, buf: make([]byte, size)}
		// A run is never empty, so its first read fails only on I/O; the
		// error is kept for the first Next.
		if err := it.advance(c); err != nil {
			it.err = fmt.Errorf("read %s: %w", it.name, err)
			return it
		}
		it.h.c = append(it.h.c, c)
	}
	heap.Init(&it.h)
	return it
}

// advance reads c's next record into its head; io.EOF at the end of the run.
func (it *Iterator[T]) advance(c *cursor[T]) error {
	if c.left == 0 {
		return io.EOF
	}
	if _, err := io.ReadFull(c.r, c.buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // the run is shorter than it was written
		}
		return err
	}
	c.left--
	c.head = it.codec.Get(c.buf)
	return nil
}

// Next returns the next record; ok is false after the last one.
func (it *Iterator[T]) Next() (v T, ok bool, err error) {
	if it.err != nil {
		return v, false, it.err
	}
	if it.h.cmp == nil { // in memory
		if len(it.mem) == 0 {
			return v, false, nil
		}
		v, it.mem = it.mem[0], it.mem[1:]
		return v, true, nil
	}
	if len(it.h.c) == 0 {
		return v, false, nil
	}
	c := it.h.c[0]
	v = c.head
	switch err := it.advance(c); {
	case err == nil:
		heap.Fix(&it.h, 0)
	case errors.Is(err, io.EOF):
		heap.Pop(&it.h)
	default:
		it.err = fmt.Errorf("read %s: %w", it.name, err)
		return v, false, it.err
	}
	return v, true, nil
}

// cursorHeap orders the runs by their heads.
type cursorHeap[T any] struct {
	c   []*cursor[T]
	cmp func(a, b T) int
}

func (h *cursorHeap[T]) Len() int           { return len(h.c) }
func (h *cursorHeap[T]) Less(i, j int) bool { return h.cmp(h.c[i].head, h.c[j].head) < 0 }
func (h *cursorHeap[T]) Swap(i, j int)      { h.c[i], h.c[j] = h.c[j], h.c[i] }
func (h *cursorHeap[T]) Push(x any)         { h.c = append(h.c, x.(*cursor[T])) }
func (h *cursorHeap[T]) Pop() any {
	c := h.c[len(h.c)-1]
	h.c = h.c[:len(h.c)-1]
	return c
}

// tempFile is a temp file that goes away when closed. Where the system
// allows it (Unix) it is unlinked as soon as it is created, so even a
// process that is killed leaves nothing behind.
type tempFile struct {
	f        *os.File
	name     string
	unlinked bool
}

func createTemp(dir, pattern string) (*tempFile, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, fmt.Errorf("create temp file: %w", err)
	}
	return &tempFile{f: f, name: f.Name(), unlinked: os.Remove(f.Name()) == nil}, nil
}

func (f *tempFile) close() error {
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
