package campaign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/bulksend/bulksend/internal/testkit"
	"github.com/bulksend/bulksend/sender"
)

// rowsSource yields one message per id ("" for a row without one; odd
// lines are invalid).
func rowsSource(ids []string) sender.Source {
	i := 0
	return sourceFunc(func(context.Context) (*sender.Message, error) {
		if i == len(ids) {
			return nil, io.EOF
		}
		i++
		m := &sender.Message{Line: i + 1, ID: ids[i-1]}
		if i%2 == 1 {
			m.Invalid = errors.New("bad row")
		}
		return m, nil
	})
}

// TestShardSource: every row, invalid or without an id included, comes out
// of exactly one of n shards.
func TestShardSource(t *testing.T) {
	var ids []string
	for i := range 300 {
		id := fmt.Sprintf("r%05d", i)
		if i%10 == 0 {
			id = "" // placed by its line number
		}
		ids = append(ids, id)
	}
	for _, n := range []int{1, 2, 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			seen := make(map[int]int)
			for i := 1; i <= n; i++ {
				src := Shard{Index: i, Count: n}.filter(rowsSource(ids))
				got := 0
				for m := range testkit.All(t, src.Next) {
					seen[m.Line]++
					got++
				}
				if n > 1 && (got < len(ids)/n*7/10 || got > len(ids)/n*13/10) {
					t.Errorf("shard %d/%d got %d of %d rows", i, n, got, len(ids))
				}
			}
			for line := 2; line <= len(ids)+1; line++ {
				if seen[line] != 1 {
					t.Errorf("line %d came out of %d shards, want 1", line, seen[line])
				}
			}
		})
	}
	for _, bad := range []Shard{{0, 2}, {3, 2}, {1, -1}} {
		if err := bad.check(); err == nil {
			t.Errorf("Shard%v.check() = nil, want an error", bad)
		}
	}
	if got := (Shard{}).filter(rowsSource(ids)); got == nil {
		t.Error("the zero Shard returned no source")
	}
}

// TestShardTotal: the progress estimate of one shard's rows.
func TestShardTotal(t *testing.T) {
	tests := []struct {
		name  string
		shard Shard
		rows  int64
		want  int64
	}{
		{"whole file", Shard{}, 10, 10},
		{"one of one", Shard{1, 1}, 10, 10},
		{"rounded up", Shard{2, 3}, 10, 4},
		{"unknown stays", Shard{1, 3}, -1, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.shard.total(tt.rows); got != tt.want {
				t.Errorf("total(%d) = %d, want %d", tt.rows, got, tt.want)
			}
		})
	}
}
