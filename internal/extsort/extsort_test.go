package extsort

import (
	"cmp"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

// pair is a test record: sorted by k, then v, so the order is total.
type pair struct{ k, v uint32 }

var pairCodec = Codec[pair]{
	Size: 8,
	Put: func(b []byte, p pair) {
		binary.LittleEndian.PutUint32(b, p.k)
		binary.LittleEndian.PutUint32(b[4:], p.v)
	},
	Get: func(b []byte) pair {
		return pair{k: binary.LittleEndian.Uint32(b), v: binary.LittleEndian.Uint32(b[4:])}
	},
}

func comparePairs(a, b pair) int {
	if c := cmp.Compare(a.k, b.k); c != 0 {
		return c
	}
	return cmp.Compare(a.v, b.v)
}

func drain(t *testing.T, s *Sorter[pair]) []pair {
	t.Helper()
	it, err := s.Sorted()
	if err != nil {
		t.Fatal(err)
	}
	var got []pair
	for {
		p, ok, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return got
		}
		got = append(got, p)
	}
}

func TestSorter(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		chunk   int
		keys    uint32 // keys are drawn from [0, keys): small means many ties
		spilled bool
	}{
		{"empty", 0, 4, 10, false},
		{"one", 1, 4, 10, false},
		{"one full chunk stays in memory", 4, 4, 10, false},
		{"one past a chunk spills", 5, 4, 10, true},
		{"many runs, many ties", 1000, 7, 5, true},
		{"chunk of one", 50, 1, 1000, true},
		{"default chunk", 3000, 0, 1 << 30, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			rng := rand.New(rand.NewPCG(1, uint64(tt.n)))
			s := New(comparePairs, pairCodec, Options{Chunk: tt.chunk, Dir: dir})
			var want []pair
			for i := range tt.n {
				p := pair{k: rng.Uint32N(tt.keys), v: uint32(i)}
				want = append(want, p)
				if err := s.Add(p); err != nil {
					t.Fatal(err)
				}
			}
			slices.SortFunc(want, comparePairs)
			if got := drain(t, s); !slices.Equal(got, want) {
				t.Fatalf("sorted %d records wrong:\n got %v\nwant %v", tt.n, got, want)
			}
			if got := drain(t, s); !slices.Equal(got, want) {
				t.Fatalf("a second pass differs:\n got %v\nwant %v", got, want)
			}
			if s.Spilled() != tt.spilled {
				t.Errorf("Spilled = %v, want %v", s.Spilled(), tt.spilled)
			}
			if err := s.Add(pair{}); !errors.Is(err, errSorted) {
				t.Errorf("Add after Sorted = %v, want %v", err, errSorted)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("temp files left: %v", entries)
			}
		})
	}
}

// TestSorterShortRun: a spill file cut short under the reader is an error,
// not a silently shorter result.
func TestSorterShortRun(t *testing.T) {
	s := New(comparePairs, pairCodec, Options{Chunk: 2, Dir: t.TempDir()})
	defer s.Close()
	for i := range 5 {
		if err := s.Add(pair{k: uint32(5 - i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Sorted(); err != nil {
		t.Fatal(err)
	}
	if err := s.spill.f.Truncate(12); err != nil {
		t.Fatal(err)
	}
	it, err := s.Sorted()
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, ok, err := it.Next()
		if err != nil {
			return
		}
		if !ok {
			t.Fatal("a truncated spill file read to the end without an error")
		}
	}
}
