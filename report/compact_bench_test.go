package report_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulksend/bulksend/report"
	"github.com/bulksend/bulksend/sender"
)

// BenchmarkCompact is the rewrite every send ends with: a journal of two
// rows a message (in flight, then the result) becomes one row a message.
// One op is one message, so ns/op and allocs/op are what compaction adds
// to each message of a run.
func BenchmarkCompact(b *testing.B) {
	for _, format := range []report.Format{report.FormatCSV, report.FormatJSONL} {
		b.Run(string(format), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "report."+string(format))
			w, err := report.Create(path, report.Options{})
			if err != nil {
				b.Fatal(err)
			}
			sent := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
			for i := range b.N {
				m := sender.Message{Line: i + 2, ID: "r" + pad(i)}
				if err := w.Begin(&m); err != nil {
					b.Fatal(err)
				}
				r := sender.Result{Line: m.Line, ID: m.ID, Status: sender.StatusSent, HTTPStatus: 200, Attempts: 1,
					MessageID: "msg-" + pad(i), Latency: 2 * time.Millisecond, SentAt: sent,
					Response: `{"id":"msg-` + pad(i) + `","status":"accepted"}`}
				if err := w.Record(&r); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			if err := report.Compact(path, format); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if st, err := os.Stat(path); err != nil || st.Size() == 0 {
				b.Fatalf("compacted report: %v", err)
			}
		})
	}
}

// pad is i as 8 zero-padded digits.
func pad(i int) string {
	b := []byte("00000000")
	for k := len(b) - 1; k >= 0 && i > 0; k-- {
		b[k] = byte('0' + i%10)
		i /= 10
	}
	return string(b)
}
