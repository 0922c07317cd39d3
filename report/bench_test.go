package report

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gocarina/gocsv"

	"github.com/bulksend/bulksend/sender"
)

// benchMessage is a typical message: its inflight row and its result row
// are what the engine writes for every send.
var (
	benchMessage = sender.Message{Line: 123456, ID: "cust-0042-7781"}
	benchResult  = sender.Result{Line: 123456, ID: "cust-0042-7781", Status: sender.StatusSent, HTTPStatus: 202,
		Attempts: 1, MessageID: "8f1c0b2e-5d3a-4e0f-9b7a-2c6d1e9f0a11", Latency: 183 * time.Millisecond,
		SentAt: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC), Response: `{"id":"8f1c0b2e-5d3a-4e0f-9b7a-2c6d1e9f0a11","status":"queued"}`}
)

func benchmarkWriter(b *testing.B, format Format) {
	b.Run("discard", func(b *testing.B) {
		w := NewWriter(io.Discard, Options{Format: format})
		benchmarkBeginRecord(b, w)
	})
	b.Run("file", func(b *testing.B) {
		w, err := Create(filepath.Join(b.TempDir(), "out."+string(format)), Options{})
		if err != nil {
			b.Fatal(err)
		}
		benchmarkBeginRecord(b, w)
	})
}

// benchmarkBeginRecord measures one message: a Begin and a Record.
func benchmarkBeginRecord(b *testing.B, w *Writer) {
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Begin(&benchMessage); err != nil {
			b.Fatal(err)
		}
		if err := w.Record(&benchResult); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkWriterCSV(b *testing.B)   { benchmarkWriter(b, FormatCSV) }
func BenchmarkWriterJSONL(b *testing.B) { benchmarkWriter(b, FormatJSONL) }

// BenchmarkCSVRecord is why the writer formats CSV records itself
// rather than with gocsv: compare the two ways to render one row.
func BenchmarkCSVRecord(b *testing.B) {
	row := FromResult(&benchResult)
	b.Run("appendField", func(b *testing.B) {
		enc := newEncoder(FormatCSV)
		b.ReportAllocs()
		for b.Loop() {
			enc.buf.Reset()
			if err := enc.encode(&row); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gocsv", func(b *testing.B) {
		enc := newEncoder(FormatCSV)
		out := gocsv.NewSafeCSVWriter(enc.csv)
		rows := []Row{row}
		b.ReportAllocs()
		for b.Loop() {
			enc.buf.Reset()
			if err := gocsv.MarshalCSVWithoutHeaders(rows, out); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLoad measures --resume's read of a journal, per row: Load, then
// one query per line in order, as a resumed run makes them.
func BenchmarkLoad(b *testing.B) {
	for _, format := range []Format{FormatCSV, FormatJSONL} {
		b.Run(string(format), func(b *testing.B) {
			rows := make([]Row, 10000)
			for i := range rows {
				rows[i] = FromResult(&benchResult)
				rows[i].Line = i + 2
			}
			path := filepath.Join(b.TempDir(), "out."+string(format))
			if err := os.WriteFile(path, encodeRows(b, format, rows), 0o644); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				s, err := Load(path)
				if err != nil {
					b.Fatal(err)
				}
				for i := range rows {
					if _, ok := s.Status(i + 2); !ok {
						b.Fatalf("line %d not found", i+2)
					}
				}
				s.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rows)), "ns/row")
		})
	}
}
