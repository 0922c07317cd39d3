// Package dupindex finds, before a run, the input rows whose id may repeat
// another row's, with memory bounded by a constant however large the input.
//
// A pre-pass reads the input once, hashes each row's id and sorts the
// (hash, row) pairs externally: sorted chunks spill to a temp file and are
// merged back. Rows whose hash occurs once have a unique id and need no
// bookkeeping in the run; the others, the candidates, are checked there by
// their exact id (see sender.SourceOptions.Repeats). A hash collision only
// makes a row a candidate, never a duplicate.
package dupindex

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"slices"

	"github.com/bulksend/bulksend/internal/extsort"
	"github.com/bulksend/bulksend/sender"
)

// pair is one record of the pre-pass's sorts, ordered by a alone: pairs
// with the same a come out together, in no given order, which is all
// grouping by hash needs.
type pair struct{ a, b uint64 }

func comparePairs(x, y pair) int { return cmp.Compare(x.a, y.a) }

// pairCodec stores a pair as 16 bytes.
var pairCodec = extsort.Codec[pair]{
	Size: 16,
	Put: func(b []byte, p pair) {
		binary.LittleEndian.PutUint64(b[:8], p.a)
		binary.LittleEndian.PutUint64(b[8:], p.b)
	},
	Get: func(b []byte) pair {
		return pair{a: binary.LittleEndian.Uint64(b[:8]), b: binary.LittleEndian.Uint64(b[8:])}
	},
}

// sorter and iterator are the external sort of pairs.
type (
	sorter   = extsort.Sorter[pair]
	iterator = extsort.Iterator[pair]
)

func newSorter(dir string, size int) *sorter {
	return extsort.New(comparePairs, pairCodec, extsort.Options{Chunk: size, Dir: dir, Pattern: "bulksend-dupindex-*"})
}

// DefaultChunkSize is how many (hash, row) pairs are sorted in memory at a
// time, 16 bytes each: 1 MiB. An input of up to that many rows never
// touches the disk; a larger one spills a run per chunk, and a 10M-row
// file's 153 runs still merge with 6 KiB of buffer each. 128k pairs left
// the process's peak RSS a few MiB higher for a 1M-row file.
const DefaultChunkSize = 64 << 10

// Options tunes Build. The zero value is what bulksend uses.
type Options struct {
	// ChunkSize bounds the pairs held in memory, for the pre-pass and for
	// the candidate list alike; 0 means DefaultChunkSize.
	ChunkSize int
	// Hash hashes an id; nil means maphash with a seed of its own, so no
	// input can be crafted to collide. Tests inject a weak one.
	Hash func(id string) uint64
	// TempDir holds the spill files; "" means os.TempDir().
	TempDir string
}

// ctxCheckEvery is how many rows pass between looks at the context: often
// enough to stop at once, rarely enough to cost nothing.
const ctxCheckEvery = 1024

// Build reads rows to the end and returns the rows whose id may repeat. id
// must give the ids the run's Builder gives. When rows knows its columns
// (a CSV csvinput.Reader does) and none is id's field, no two valid rows
// can share an id and nothing is read at all.
//
// The caller closes the Index, which removes its temp file.
func Build(ctx context.Context, rows sender.RowReader, id sender.RowIdentifier, opts Options) (*Index, error) {
	if c, ok := rows.(interface{ Columns() []string }); ok {
		if cols := c.Columns(); cols != nil && !slices.Contains(cols, id.IDField()) {
			return &Index{rows: -1, done: true}, nil
		}
	}
	size := opts.ChunkSize
	if size <= 0 {
		size = DefaultChunkSize
	}
	hash := opts.Hash
	if hash == nil {
		seed := maphash.MakeSeed()
		hash = func(s string) uint64 { return maphash.String(seed, s) }
	}

	pairs := newSorter(opts.TempDir, size)
	defer pairs.Close()
	n := 0
	for {
		if n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("find duplicate ids: %w", err)
			}
		}
		row, err := rows.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("find duplicate ids: %w", err)
		}
		n++
		if row.Err != nil {
			continue // invalid in the run, where it claims no id
		}
		if v, ok := id.RowID(row); ok {
			if err := pairs.Add(pair{a: hash(v), b: uint64(n)}); err != nil {
				return nil, fmt.Errorf("find duplicate ids: %w", err)
			}
		}
	}

	cands := newSorter(opts.TempDir, size)
	count, err := candidates(ctx, pairs, cands)
	if err == nil {
		err = pairs.Close()
	}
	var it *iterator
	if err == nil {
		it, err = cands.Sorted()
	}
	if err != nil {
		cands.Close()
		return nil, fmt.Errorf("find duplicate ids: %w", err)
	}
	return &Index{rows: n, count: count, it: it, spill: cands}, nil
}

// candidates adds to cands, as (row, 0), every row of pairs whose hash
// occurs more than once, and returns how many.
func candidates(ctx context.Context, pairs, cands *sorter) (int, error) {
	it, err := pairs.Sorted()
	if err != nil {
		return 0, err
	}
	count, group := 0, 0
	var prev pair
	for i := 0; ; i++ {
		if i%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		p, ok, err := it.Next()
		if err != nil {
			return 0, err
		}
		if !ok {
			return count, nil
		}
		if group > 0 && p.a == prev.a {
			if group == 1 {
				if err := cands.Add(pair{a: prev.b}); err != nil {
					return 0, err
				}
				count++
			}
			if err := cands.Add(pair{a: p.b}); err != nil {
				return 0, err
			}
			count++
			group++
		} else {
			group = 1
		}
		prev = p
	}
}

// Index is the set of rows whose id may repeat, read in row order. It
// implements sender.RepeatSet.
type Index struct {
	rows  int // rows the pre-pass read; -1 when it read none
	count int
	it    *iterator // nil when the pre-pass read nothing
	spill *sorter
	cur   int // the candidate it last yielded, 0 before the first
	done  bool
	err   error
}

var _ sender.RepeatSet = (*Index)(nil)

// ErrInputChanged is returned for a row past the end of the input the
// pre-pass read: the file grew, and the new rows' ids were never checked.
var ErrInputChanged = errors.New("the input changed since its ids were checked for duplicates")

// MayRepeat implements sender.RepeatSet: n must not decrease from call to
// call.
func (x *Index) MayRepeat(n int) (bool, error) {
	if x.err != nil {
		return false, x.err
	}
	if x.rows >= 0 && n > x.rows {
		x.err = fmt.Errorf("row %d: %w (it had %d rows)", n, ErrInputChanged, x.rows)
		return false, x.err
	}
	for !x.done && x.cur < n {
		p, ok, err := x.it.Next()
		if err != nil {
			x.err = fmt.Errorf("find duplicate ids: %w", err)
			return false, x.err
		}
		if !ok {
			x.done = true
			break
		}
		x.cur = int(p.a)
	}
	return x.cur == n, nil
}

// Len is how many rows may repeat an id: a measure of the work left to the
// run's exact check.
func (x *Index) Len() int { return x.count }

// Rows is how many rows the pre-pass read, bad ones included, or -1 when it
// read none (no row can repeat an id): the run's total, known for free.
func (x *Index) Rows() int { return x.rows }

// Close removes the temp file, if any.
func (x *Index) Close() error {
	if x.spill == nil {
		return nil
	}
	err := x.spill.Close()
	x.spill = nil
	return err
}
