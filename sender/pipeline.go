package sender

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
)

// SourceOptions configures NewSource.
type SourceOptions struct {
	// Filter is consulted for every rendered row, invalid ones included,
	// before dedupe. skip drops the row from this run without a report row
	// (another shard's row); a non-empty earlier marks it as settled by an earlier run (--resume).
	Filter func(m *Message) (earlier Status, skip bool)
	// Repeats, when set, names the only rows whose id may repeat another
	// row's (package dupindex finds them in a pre-pass over the input).
	// Only their ids are remembered, so memory stays flat however many
	// rows there are. Nil remembers a hash of every id, about 35 bytes per
	// distinct id: the price of input that can be read only once (stdin).
	Repeats RepeatSet
}

// RepeatSet names the rows whose id may repeat another row's. Rows are
// counted in reading order from 1, rows with Row.Err included, so that a
// pre-pass and the run agree on them whatever line numbers the reader gives.
type RepeatSet interface {
	// MayRepeat reports whether row n may share its id with another row.
	// Callers ask with n growing from call to call.
	MayRepeat(n int) (bool, error)
}

// NewSource turns rows into messages: it renders each with b, applies the
// filter, and marks a row whose id an earlier row already used as duplicate.
func NewSource(rows RowReader, b Builder, opts SourceOptions) Source {
	s := &rowSource{rows: rows, build: b, filter: opts.Filter, repeats: opts.Repeats}
	if s.repeats == nil {
		s.hashed = make(map[uint64]int)
	} else {
		s.exact = make(map[string]int)
	}
	return s
}

type rowSource struct {
	rows   RowReader
	build  Builder
	filter func(m *Message) (Status, bool)
	n      int // rows read so far

	// With repeats, exact maps the id of each row that may repeat to the
	// line that first used it; other rows' ids are unique and not kept.
	repeats RepeatSet
	exact   map[string]int
	// Without repeats, hashed maps a 64-bit hash of every id to the line
	// that first used it: 8+8 bytes a row instead of the id itself. Two ids
	// whose hashes collide are taken for one, a chance of about n²/2⁶⁵.
	hashed map[uint64]int
}

func (s *rowSource) Next(ctx context.Context) (*Message, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		row, err := s.rows.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("read input: %w", err)
		}
		s.n++
		m := s.build.Build(row)
		if m.Invalid != nil {
			if m.Fingerprint == "" {
				m.Fingerprint = RowFingerprint(row)
			}
			// The filter too: an earlier run may have sent this line
			// (before its id was found empty, say), and its row must not
			// be recorded over as invalid. Its id is not claimed.
			if s.filter != nil {
				earlier, skip := s.filter(m)
				if skip {
					continue
				}
				m.Earlier = earlier
			}
			return m, nil
		}
		if s.filter != nil {
			earlier, skip := s.filter(m)
			if skip {
				continue
			}
			m.Earlier = earlier
		}
		// Every id counts as used, whatever its row's fate (settled earlier,
		// or unknown after a crash), so a later row repeating it is never sent.
		if m.ID == "" {
			return m, nil
		}
		first, dup, err := s.claim(m)
		if err != nil {
			return nil, err
		}
		if dup && m.Earlier == "" && m.Skip == "" {
			m.Skip = StatusDuplicate
			m.Reason = fmt.Sprintf("id %q already used on line %d", m.ID, first)
		}
		return m, nil
	}
}

// claim records that m, the s.n-th row, uses its id, or returns the line
// that used it first.
func (s *rowSource) claim(m *Message) (first int, dup bool, err error) {
	if s.repeats == nil {
		h := fnv.New64a()
		h.Write([]byte(m.ID))
		k := h.Sum64()
		if first, dup = s.hashed[k]; !dup {
			s.hashed[k] = m.Line
		}
		return first, dup, nil
	}
	may, err := s.repeats.MayRepeat(s.n)
	if err != nil || !may {
		return 0, false, err
	}
	if first, dup = s.exact[m.ID]; !dup {
		s.exact[m.ID] = m.Line
	}
	return first, dup, nil
}
