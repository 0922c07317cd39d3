package report

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/bulksend/bulksend/sender"
)

// benchLines is the size of the journal BenchmarkResumeMillion reads:
// issue 6's scale, where memory must stay what it is for ten rows.
const benchLines = 1_000_000

// writeBenchJournal writes a journal of lines messages as the engine
// writes it with 32 in flight: each block's inflight rows (with their
// idempotency keys), then their results in reverse order.
func writeBenchJournal(b *testing.B, path string, lines int) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	enc := newEncoder(FormatFromName(path))
	put := func() {
		bw.Write(enc.buf.Bytes())
		enc.buf.Reset()
	}
	if err := enc.header(); err != nil {
		b.Fatal(err)
	}
	put()
	const block = 32
	for first := 2; first < lines+2; first += block {
		end := min(first+block, lines+2)
		for line := first; line < end; line++ {
			row := Row{Line: line, ID: fmt.Sprintf("r%08d", line), Status: sender.StatusInFlight,
				Response: keyPrefix + fmt.Sprintf("k%08d", line)}
			if err := enc.encode(&row); err != nil {
				b.Fatal(err)
			}
			put()
		}
		for line := end - 1; line >= first; line-- {
			row := FromResult(&benchResult)
			row.Line, row.ID = line, fmt.Sprintf("r%08d", line)
			if err := enc.encode(&row); err != nil {
				b.Fatal(err)
			}
			put()
		}
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// copyBenchFile copies a file without holding it in memory, which would
// swamp the peak heap being measured.
func copyBenchFile(b *testing.B, from, to string) {
	b.Helper()
	src, err := os.Open(from)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		b.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		b.Fatal(err)
	}
}

// peakHeap samples the live heap while fn runs and returns its peak, in
// MB: what B/op, the total allocated, does not tell.
func peakHeap(fn func()) float64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	runtime.GC()
	var (
		peak uint64
		wg   sync.WaitGroup
		done = make(chan struct{})
	)
	wg.Go(func() {
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	fn()
	close(done)
	wg.Wait()
	return float64(peak) / 1e6
}

// BenchmarkResumeMillion is --resume over a million-line journal: Load and
// a query per line, and the Compact that ends the run. One op is the whole
// journal; ns/row and the peak heap are what to compare.
func BenchmarkResumeMillion(b *testing.B) {
	for _, format := range []Format{FormatCSV, FormatJSONL} {
		path := filepath.Join(b.TempDir(), "journal."+string(format))
		writeBenchJournal(b, path, benchLines)
		pristine := path + ".orig"
		copyBenchFile(b, path, pristine)
		b.Run("load/"+string(format), func(b *testing.B) {
			b.ReportAllocs()
			var peak float64
			for b.Loop() {
				peak = max(peak, peakHeap(func() {
					s, err := Load(path)
					if err != nil {
						b.Fatal(err)
					}
					for line := 2; line < benchLines+2; line++ {
						if st, ok := s.Status(line); !ok || st != sender.StatusSent || !s.SameID(line, fmt.Sprintf("r%08d", line)) {
							b.Fatalf("line %d: %q, %v", line, st, ok)
						}
					}
					if c, ok := any(s).(io.Closer); ok {
						c.Close()
					}
				}))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchLines), "ns/row")
			b.ReportMetric(peak, "peak-heap-MB")
		})
		b.Run("compact/"+string(format), func(b *testing.B) {
			b.ReportAllocs()
			var peak float64
			for b.Loop() {
				b.StopTimer()
				copyBenchFile(b, pristine, path)
				b.StartTimer()
				peak = max(peak, peakHeap(func() {
					if err := Compact(path, format); err != nil {
						b.Fatal(err)
					}
				}))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchLines), "ns/row")
			b.ReportMetric(peak, "peak-heap-MB")
		})
	}
}
