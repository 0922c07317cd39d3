package sender

import (
	"fmt"
	"strings"
	"testing"
)

func TestShard(t *testing.T) {
	tests := []struct {
		name string
		id   string
		n    int
		want int
	}{
		// Pinned values: changing the hash would move rows between shards
		// of a split that is half sent, so these must never change.
		{name: "empty id", id: "", n: 3, want: 1 + int(uint64(0xcbf29ce484222325)%3)},
		{name: "a", id: "a", n: 2, want: 1 + int(uint64(0xaf63dc4c8601ec8c)%2)},
		{name: "r00001 of 2", id: "r00001", n: 2, want: 1},
		{name: "r00002 of 2", id: "r00002", n: 2, want: 2},
		{name: "r00002 of 3", id: "r00002", n: 3, want: 1},
		{name: "line number id", id: "42", n: 3, want: 2},
		{name: "one shard", id: "anything", n: 1, want: 1},
		{name: "n zero means one shard", id: "anything", n: 0, want: 1},
		{name: "negative n means one shard", id: "anything", n: -4, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Shard(tt.id, tt.n); got != tt.want {
				t.Errorf("Shard(%q, %d) = %d, want %d", tt.id, tt.n, got, tt.want)
			}
		})
	}
}

// TestShardSplitsEvenly: every id lands in exactly one shard in range, and
// sequential ids (the usual r00001, r00002...) spread evenly.
func TestShardSplitsEvenly(t *testing.T) {
	for _, n := range []int{2, 3, 7} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			counts := make([]int, n+1)
			const rows = 6000
			for i := 1; i <= rows; i++ {
				s := Shard(fmt.Sprintf("r%05d", i), n)
				if s < 1 || s > n {
					t.Fatalf("shard %d out of 1..%d", s, n)
				}
				counts[s]++
			}
			for s := 1; s <= n; s++ {
				if want := rows / n; counts[s] < want*8/10 || counts[s] > want*12/10 {
					t.Errorf("shard %d of %d got %d of %d rows, want about %d", s, n, counts[s], rows, want)
				}
			}
		})
	}
}

func TestParseShard(t *testing.T) {
	tests := []struct {
		in      string
		i, n    int
		wantErr string
	}{
		{in: "1/2", i: 1, n: 2},
		{in: "3/3", i: 3, n: 3},
		{in: " 2 / 5 ", i: 2, n: 5},
		{in: "1/1", i: 1, n: 1},
		{in: "", wantErr: "want i/n"},
		{in: "2", wantErr: "want i/n"},
		{in: "a/b", wantErr: "whole numbers"},
		{in: "1.5/3", wantErr: "whole numbers"},
		{in: "0/2", wantErr: "i must be between 1 and 2"},
		{in: "3/2", wantErr: "i must be between 1 and 2"},
		{in: "-1/2", wantErr: "i must be between"},
		{in: "1/0", wantErr: "n must be between"},
		{in: "1/-3", wantErr: "n must be between"},
		{in: "1/99999999999", wantErr: "n must be between"},
		{in: "1/2/3", wantErr: "whole numbers"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			i, n, err := ParseShard(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseShard(%q) = %d, %d, %v; want error with %q", tt.in, i, n, err, tt.wantErr)
				}
				return
			}
			if err != nil || i != tt.i || n != tt.n {
				t.Errorf("ParseShard(%q) = %d, %d, %v; want %d, %d", tt.in, i, n, err, tt.i, tt.n)
			}
		})
	}
}

// FuzzParseShard: ParseShard never panics, accepts only 1 <= i <= n, and
// what it accepts prints back to an equal spec.
func FuzzParseShard(f *testing.F) {
	for _, s := range []string{"1/2", "3/3", " 2 / 5 ", "0/2", "a/b", "1/2/3", "", "+1/+2", "1/1048576"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		i, n, err := ParseShard(s)
		if err != nil {
			return
		}
		if i < 1 || i > n || n > maxShards {
			t.Fatalf("ParseShard(%q) = %d/%d", s, i, n)
		}
		i2, n2, err := ParseShard(fmt.Sprintf("%d/%d", i, n))
		if err != nil || i2 != i || n2 != n {
			t.Fatalf("round trip of %q: %d/%d, %v", s, i2, n2, err)
		}
		if got := Shard(s, n); got < 1 || got > n {
			t.Fatalf("Shard(%q, %d) = %d", s, n, got)
		}
	})
}
