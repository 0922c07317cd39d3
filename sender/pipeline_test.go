package sender

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/bulksend/bulksend/internal/testkit"
)

// rowList is a RowReader over prepared rows, ending with err (io.EOF if nil).
type rowList struct {
	rows []Row
	err  error
}

func (r *rowList) Next() (Row, error) {
	if len(r.rows) == 0 {
		if r.err != nil {
			return Row{}, r.err
		}
		return Row{}, io.EOF
	}
	row := r.rows[0]
	r.rows = r.rows[1:]
	return row, nil
}

// idBuilder renders a row into a message keyed by its "id" field; a row
// with a parse error, or without "to", is invalid; "skip" presets Skip.
type idBuilder struct{}

func (idBuilder) Build(row Row) *Message {
	m := &Message{Line: row.Line, ID: row.Fields["id"], Recipient: row.Fields["to"], Method: "POST", URL: "http://127.0.0.1/send"}
	switch {
	case row.Err != nil:
		m.Invalid = row.Err
	case row.Fields["to"] == "":
		m.Invalid = errors.New(`column "to": empty`)
	case row.Fields["skip"] != "":
		m.Skip, m.Reason = StatusSkipped, row.Fields["skip"]
	}
	return m
}

// row builds line's row from "key=value" pairs.
func row(line int, kv ...string) Row {
	f := make(map[string]string)
	for _, p := range kv {
		k, v, _ := strings.Cut(p, "=")
		f[k] = v
	}
	return Row{Line: line, Fields: f}
}

// got is the part of a message NewSource decides.
type got struct {
	Line    int
	Invalid bool
	Skip    Status
	Reason  string // a substring
	Earlier Status
}

func TestNewSource(t *testing.T) {
	// earlierSent settles line 3 as sent by an earlier run; shard skips
	// even lines from 10 on (another shard's rows).
	earlierSent := func(m *Message) (Status, bool) {
		if m.Line == 3 {
			return StatusSent, false
		}
		return "", m.Line >= 10 && m.Line%2 == 0
	}
	tests := []struct {
		name   string
		rows   []Row
		filter func(m *Message) (Status, bool)
		want   []got
	}{
		{
			name: "distinct ids pass",
			rows: []Row{row(2, "id=a", "to=1"), row(3, "id=b", "to=2")},
			want: []got{{Line: 2}, {Line: 3}},
		},
		{
			name: "a repeated id is a duplicate of its first line",
			rows: []Row{row(2, "id=a", "to=1"), row(3, "id=b", "to=2"), row(4, "id=a", "to=3"), row(5, "id=a", "to=4")},
			want: []got{{Line: 2}, {Line: 3},
				{Line: 4, Skip: StatusDuplicate, Reason: `id "a" already used on line 2`},
				{Line: 5, Skip: StatusDuplicate, Reason: "already used on line 2"}},
		},
		{
			name: "ids are compared exactly",
			rows: []Row{row(2, "id=a", "to=1"), row(3, "id=A", "to=1"), row(4, "id=a ", "to=1"), row(5, "id=007", "to=1"), row(6, "id=7", "to=1")},
			want: []got{{Line: 2}, {Line: 3}, {Line: 4}, {Line: 5}, {Line: 6}},
		},
		{
			name: "rows without an id are never duplicates",
			rows: []Row{row(2, "to=1"), row(3, "to=1")},
			want: []got{{Line: 2}, {Line: 3}},
		},
		{
			name: "invalid rows pass through and claim no id",
			rows: []Row{
				{Line: 2, Err: errors.New("ragged row: 3 fields, want 2")},
				row(3, "id=a"), // no "to": invalid
				row(4, "id=a", "to=1"),
				row(5, "id=a"), // invalid even though its id is taken
			},
			want: []got{{Line: 2, Invalid: true}, {Line: 3, Invalid: true}, {Line: 4}, {Line: 5, Invalid: true}},
		},
		{
			name: "a row the builder skips keeps its status and is not deduped",
			rows: []Row{row(2, "id=a", "to=1"), row(3, "id=a", "to=1", "skip=not this time")},
			want: []got{{Line: 2}, {Line: 3, Skip: StatusSkipped, Reason: "not this time"}},
		},
		{
			name:   "filter: earlier rows are marked and claim their id",
			rows:   []Row{row(2, "id=a", "to=1"), row(3, "id=b", "to=2"), row(4, "id=b", "to=3")},
			filter: earlierSent,
			want: []got{{Line: 2}, {Line: 3, Earlier: StatusSent},
				{Line: 4, Skip: StatusDuplicate, Reason: "already used on line 3"}},
		},
		{
			name: "filter: an earlier row repeating an id stays earlier",
			rows: []Row{row(2, "id=b", "to=1"), row(3, "id=b", "to=2")},
			filter: func(m *Message) (Status, bool) {
				if m.Line == 3 {
					return StatusDuplicate, false
				}
				return "", false
			},
			want: []got{{Line: 2}, {Line: 3, Earlier: StatusDuplicate}},
		},
		{
			name:   "filter: skipped rows vanish and claim no id",
			rows:   []Row{row(10, "id=a", "to=1"), row(11, "id=b", "to=1"), row(12, "id=c", "to=1"), row(13, "id=a", "to=1")},
			filter: earlierSent,
			want:   []got{{Line: 11}, {Line: 13}},
		},
	}
	for _, tc := range tests {
		for _, mode := range repeatModes {
			t.Run(tc.name+"/"+mode.name, func(t *testing.T) {
				src := NewSource(&rowList{rows: tc.rows}, idBuilder{}, SourceOptions{Filter: tc.filter, Repeats: mode.set(tc.rows)})
				var out []got
				for m := range testkit.All(t, src.Next) {
					out = append(out, got{Line: m.Line, Invalid: m.Invalid != nil, Skip: m.Skip, Reason: m.Reason, Earlier: m.Earlier})
				}
				if len(out) != len(tc.want) {
					t.Fatalf("got %+v, want %+v", out, tc.want)
				}
				for i, w := range tc.want {
					g := out[i]
					if g.Line != w.Line || g.Invalid != w.Invalid || g.Skip != w.Skip || g.Earlier != w.Earlier ||
						!strings.Contains(g.Reason, w.Reason) || (w.Reason == "" && g.Reason != "") {
						t.Errorf("message %d: got %+v, want %+v", i, g, w)
					}
				}
			})
		}
	}
}

// repeatModes are the two ways NewSource can dedupe, which must agree: a
// hash of every id in memory, or exact ids for the rows a RepeatSet names.
// Naming every row must agree too: the set may be a superset.
var repeatModes = []struct {
	name string
	set  func(rows []Row) RepeatSet
}{
	{name: "in memory", set: func([]Row) RepeatSet { return nil }},
	{name: "repeat set", set: func(rows []Row) RepeatSet { return sharedIDs(rows) }},
	{name: "every row a candidate", set: func(rows []Row) RepeatSet { return &rowSet{all: true} }},
}

// rowSet is a RepeatSet over a map; it fails when asked out of order or,
// with err set, always.
type rowSet struct {
	rows map[int]bool
	all  bool
	last int
	err  error
}

func (s *rowSet) MayRepeat(n int) (bool, error) {
	if s.err != nil {
		return false, s.err
	}
	if n < s.last {
		return false, fmt.Errorf("asked about row %d after row %d", n, s.last)
	}
	s.last = n
	return s.all || s.rows[n], nil
}

// sharedIDs names the rows, counted from 1, whose "id" field (idBuilder's
// id) another row has too: what dupindex finds.
func sharedIDs(rows []Row) *rowSet {
	byID := make(map[string][]int)
	for i, r := range rows {
		if r.Err == nil && r.Fields["id"] != "" {
			byID[r.Fields["id"]] = append(byID[r.Fields["id"]], i+1)
		}
	}
	s := &rowSet{rows: make(map[int]bool)}
	for _, ns := range byID {
		if len(ns) > 1 {
			for _, n := range ns {
				s.rows[n] = true
			}
		}
	}
	return s
}

func TestNewSourceErrors(t *testing.T) {
	diskErr := errors.New("input/output error")
	tests := []struct {
		name    string
		rows    *rowList
		repeats RepeatSet
		ctx     func() context.Context
		want    error
		wantMsg string
	}{
		{
			name:    "a read error is wrapped",
			rows:    &rowList{rows: []Row{row(2, "id=a", "to=1")}, err: diskErr},
			ctx:     context.Background,
			want:    diskErr,
			wantMsg: "read input: input/output error",
		},
		{
			name:    "a repeat set error stops the source",
			rows:    &rowList{rows: []Row{row(2, "id=a", "to=1")}},
			repeats: &rowSet{err: diskErr},
			ctx:     context.Background,
			want:    diskErr,
			wantMsg: "input/output error",
		},
		{
			name: "a cancelled context stops reading",
			rows: &rowList{rows: []Row{row(2, "id=a", "to=1")}},
			ctx: func() context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx
			},
			want: context.Canceled,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := NewSource(tc.rows, idBuilder{}, SourceOptions{Repeats: tc.repeats})
			ctx := tc.ctx()
			var err error
			for range 10 {
				if _, err = src.Next(ctx); err != nil {
					break
				}
			}
			if !errors.Is(err, tc.want) || errors.Is(err, io.EOF) {
				t.Fatalf("Next error %v, want %v", err, tc.want)
			}
			if tc.wantMsg != "" && err.Error() != tc.wantMsg {
				t.Errorf("error %q, want %q", err, tc.wantMsg)
			}
		})
	}
}

// TestNewSourceDedupeAtScale: many distinct ids are never taken for one
// another, and every repeat is caught.
func TestNewSourceDedupeAtScale(t *testing.T) {
	const n = 50_000
	rows := make([]Row, 0, n+n/100)
	for i := range n {
		rows = append(rows, row(i+2, fmt.Sprintf("id=user-%d", i), "to=1"))
		if i%100 == 0 {
			rows = append(rows, row(-(i+2), fmt.Sprintf("id=user-%d", i), "to=1")) // a repeat, marked by its negative line
		}
	}
	for _, mode := range repeatModes {
		t.Run(mode.name, func(t *testing.T) {
			src := NewSource(&rowList{rows: rows}, idBuilder{}, SourceOptions{Repeats: mode.set(rows)})
			dups := 0
			for m := range testkit.All(t, src.Next) {
				if (m.Skip == StatusDuplicate) != (m.Line < 0) {
					t.Fatalf("line %d (id %s): skip %q %q", m.Line, m.ID, m.Skip, m.Reason)
				}
				if m.Skip == StatusDuplicate {
					dups++
				}
			}
			if dups != n/100 {
				t.Errorf("%d duplicates, want %d", dups, n/100)
			}
		})
	}
}
