package dupindex

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulksend/bulksend/csvinput"
	"github.com/bulksend/bulksend/sender"
)

const benchRows = 1_000_000

// loopRows yields rows over ids, sharing one fields map: the pre-pass only
// reads each row's id before asking for the next.
type loopRows struct {
	ids    []string
	i      int
	fields map[string]string
}

func (r *loopRows) Next() (sender.Row, error) {
	if r.i == len(r.ids) {
		return sender.Row{}, io.EOF
	}
	r.fields["id"] = r.ids[r.i]
	r.i++
	return sender.Row{Line: r.i + 1, Fields: r.fields}, nil
}

// BenchmarkBuild is the pre-pass alone over 1M ids, the reader's cost
// left out; ns/row is per input row, B/op per million rows.
func BenchmarkBuild(b *testing.B) {
	for _, bc := range []struct {
		name  string
		every int // every this many rows repeats an earlier id; 0: none
	}{
		{name: "distinct"},
		{name: "1% repeat", every: 100},
		{name: "all repeat", every: 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ids := make([]string, benchRows)
			for i := range ids {
				ids[i] = fmt.Sprintf("r%08d", i)
				if bc.every > 0 && i%bc.every == 0 && i > 0 {
					ids[i] = ids[i/2]
				}
			}
			dir := b.TempDir()
			b.ReportAllocs()
			for b.Loop() {
				x, err := Build(context.Background(), &loopRows{ids: ids, fields: map[string]string{}}, byID{}, Options{TempDir: dir})
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for i := 1; i <= benchRows; i++ {
					if may, err := x.MayRepeat(i); err != nil {
						b.Fatal(err)
					} else if may {
						n++
					}
				}
				x.Close()
				if bc.every == 0 && n != 0 {
					b.Fatalf("%d candidates, want 0", n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRows), "ns/row")
		})
	}
}

// BenchmarkPrePassCSV is what a run pays: reading a 1M-row CSV file (the
// bench/throughput shape) once more, parse included, against the parse
// alone.
func BenchmarkPrePassCSV(b *testing.B) {
	path := filepath.Join(b.TempDir(), "rows.csv")
	if err := writeCSV(path, benchRows); err != nil {
		b.Fatal(err)
	}
	open := func(b *testing.B) (*csvinput.Reader, *os.File) {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r, err := csvinput.NewReader(f, path, csvinput.FormatCSV)
		if err != nil {
			b.Fatal(err)
		}
		return r, f
	}
	b.Run("parse only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, f := open(b)
			for {
				if _, err := r.Next(); errors.Is(err, io.EOF) {
					break
				} else if err != nil {
					b.Fatal(err)
				}
			}
			f.Close()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRows), "ns/row")
	})
	b.Run("pre-pass", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, f := open(b)
			x, err := Build(context.Background(), r, byID{}, Options{TempDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			x.Close()
			f.Close()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRows), "ns/row")
	})
}

// writeCSV writes n rows shaped like bench/throughput's input.
func writeCSV(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	w.WriteString("id,to,text\n")
	for i := range n {
		fmt.Fprintf(w, "r%08d,+1555%07d,\"Hello friend, your code is %d\"\n", i, i, i)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
