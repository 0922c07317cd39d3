package dupindex

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/bulksend/bulksend/internal/testkit"
	"github.com/bulksend/bulksend/sender"
)

// toBuilder renders a row keyed by its "id" field; a row without "to" is
// invalid, as a template missing a field would be. It is its own
// RowIdentifier, like the preset builders.
type toBuilder struct{ byID }

func (toBuilder) Build(row sender.Row) *sender.Message {
	m := &sender.Message{Line: row.Line, ID: row.Fields["id"]}
	switch {
	case row.Err != nil:
		m.Invalid = row.Err
	case row.Fields["to"] == "":
		m.Invalid = errors.New(`column "to": empty`)
	}
	return m
}

// fieldRows is a RowReader over prepared rows.
type fieldRows struct{ rows []sender.Row }

func (r *fieldRows) Next() (sender.Row, error) {
	if len(r.rows) == 0 {
		return sender.Row{}, io.EOF
	}
	row := r.rows[0]
	r.rows = r.rows[1:]
	return row, nil
}

// randomRows makes n rows over a few ids, some unparsed, some invalid
// (no "to"), some without id.
func randomRows(rng *rand.Rand, n, distinct int) []sender.Row {
	rows := make([]sender.Row, n)
	for i := range rows {
		f := map[string]string{"to": "+1555"}
		if rng.IntN(8) > 0 {
			f["id"] = fmt.Sprint("u", rng.IntN(distinct))
		}
		if rng.IntN(6) == 0 {
			delete(f, "to")
		}
		rows[i] = sender.Row{Line: i + 2, Fields: f}
		if rng.IntN(10) == 0 {
			rows[i] = sender.Row{Line: i + 2, Err: errors.New("ragged")}
		}
	}
	return rows
}

// filterFor settles some lines as sent earlier, another shard's lines
// vanish, and some were in flight and are now unknown.
func filterFor(seed uint64) func(m *sender.Message) (sender.Status, bool) {
	return func(m *sender.Message) (sender.Status, bool) {
		switch (uint64(m.Line)*0x9e3779b97f4a7c15 + seed) % 11 {
		case 0:
			return sender.StatusSent, false
		case 1:
			return "", true
		case 2:
			m.Skip, m.Reason = sender.StatusUnknown, "was in flight"
		}
		return "", false
	}
}

// drain returns every message of src.
func drain(t *testing.T, src sender.Source) []sender.Message {
	t.Helper()
	var out []sender.Message
	for m := range testkit.All(t, src.Next) {
		out = append(out, *m)
	}
	return out
}

// TestSourceAgreesWithInMemory: a source fed the pre-pass's index reports
// every row exactly as the in-memory index does, invalid rows, filter
// skips and rows settled earlier included.
func TestSourceAgreesWithInMemory(t *testing.T) {
	tests := []struct {
		name     string
		n        int
		distinct int
		chunk    int
		filter   bool
	}{
		{name: "few repeats", n: 2000, distinct: 1500},
		{name: "many repeats, spilled", n: 2000, distinct: 300, chunk: 64},
		{name: "every id repeats, spilled", n: 3000, distinct: 40, chunk: 16},
		{name: "with a resume filter", n: 2000, distinct: 500, chunk: 128, filter: true},
		{name: "with a filter, in memory", n: 500, distinct: 50, filter: true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows := randomRows(rand.New(rand.NewPCG(uint64(i), 7)), tc.n, tc.distinct)
			var opts sender.SourceOptions
			if tc.filter {
				opts.Filter = filterFor(uint64(i))
			}
			want := drain(t, sender.NewSource(&fieldRows{rows: rows}, toBuilder{}, opts))

			x, err := Build(context.Background(), &fieldRows{rows: rows}, toBuilder{}, Options{ChunkSize: tc.chunk, TempDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer x.Close()
			opts.Repeats = x
			if tc.filter {
				opts.Filter = filterFor(uint64(i)) // the same verdicts, afresh
			}
			got := drain(t, sender.NewSource(&fieldRows{rows: rows}, toBuilder{}, opts))

			if len(got) != len(want) {
				t.Fatalf("%d messages, want %d", len(got), len(want))
			}
			dups := 0
			for j := range want {
				g, w := got[j], want[j]
				if g.Line != w.Line || g.ID != w.ID || (g.Invalid == nil) != (w.Invalid == nil) ||
					g.Skip != w.Skip || g.Reason != w.Reason || g.Earlier != w.Earlier {
					t.Fatalf("message %d:\n got %+v\nwant %+v", j, g, w)
				}
				if g.Skip == sender.StatusDuplicate {
					dups++
				}
			}
			if dups == 0 {
				t.Error("no duplicates: the case tests too little")
			}
		})
	}
}
