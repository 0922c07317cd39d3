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
	// Filter is consulted for every rendered row before dedupe. skip drops
	// the row from this run without a report row (another shard's row);
	// a non-empty earlier marks it as settled by an earlier run (--resume).
	Filter func(m *Message) (earlier Status, skip bool)
}

// NewSource turns rows into messages: it renders each with b, applies the
// filter, and marks a row whose id an earlier row already used as duplicate.
func NewSource(rows RowReader, b Builder, opts SourceOptions) Source {
	return &rowSource{rows: rows, build: b, filter: opts.Filter, seen: make(map[uint64]int)}
}

type rowSource struct {
	rows   RowReader
	build  Builder
	filter func(m *Message) (Status, bool)
	// seen maps a hash of each id to the line that first used it: 8+8
	// bytes a row instead of the id itself, so memory stays small.
	seen map[uint64]int
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
		m := s.build.Build(row)
		if m.Invalid != nil {
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
		if m.ID != "" {
			h := fnv.New64a()
			h.Write([]byte(m.ID))
			k := h.Sum64()
			if first, dup := s.seen[k]; dup {
				if m.Earlier == "" && m.Skip == "" {
					m.Skip = StatusDuplicate
					m.Reason = fmt.Sprintf("id %q already used on line %d", m.ID, first)
				}
			} else {
				s.seen[k] = m.Line
			}
		}
		return m, nil
	}
}
