package sender_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulksend/bulksend/report"
	"github.com/bulksend/bulksend/sender"
)

// BenchmarkJournal measures what the crash-safe journal costs a run: the
// same sends with no journal, and with a CSV or JSONL report file (two rows
// a message, each a write call, fsync grouped every 100 ms). The server is a
// trivial loopback handler and the run is unpaced with 32 requests in
// flight, so the engine and the journal, not the server, set the pace.
func BenchmarkJournal(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"msg-1","status":"accepted"}`)
	}))
	defer srv.Close()
	const concurrency = 32
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = concurrency // keep every worker's connection alive
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()

	tests := []struct {
		name    string
		journal func(b *testing.B) (sender.Journal, func() error)
	}{
		{"none", func(*testing.B) (sender.Journal, func() error) { return nil, func() error { return nil } }},
		{"csv", fileJournal("report.csv")},
		{"jsonl", fileJournal("report.jsonl")},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			journal, closeJournal := tt.journal(b)
			src := &benchSource{url: srv.URL + "/send", n: b.N}
			cfg := sender.Config{Client: client, Journal: journal, Concurrency: concurrency}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			sum, err := sender.Run(context.Background(), nil, cfg, src)
			elapsed := time.Since(start)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if err := closeJournal(); err != nil {
				b.Fatal(err)
			}
			if sum.Counts[sender.StatusSent] != b.N {
				b.Fatalf("sent %d of %d: %v", sum.Counts[sender.StatusSent], b.N, sum.Counts)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
		})
	}
}

// fileJournal is a report file in the benchmark's temp dir.
func fileJournal(name string) func(b *testing.B) (sender.Journal, func() error) {
	return func(b *testing.B) (sender.Journal, func() error) {
		w, err := report.Create(filepath.Join(b.TempDir(), name), report.Options{})
		if err != nil {
			b.Fatal(err)
		}
		return w, w.Close
	}
}

// benchSource yields n distinct messages, each with its idempotency key, as
// a rendered input would.
type benchSource struct {
	url string
	n   int
	i   int
}

func (s *benchSource) Next(context.Context) (*sender.Message, error) {
	if s.i >= s.n {
		return nil, io.EOF
	}
	s.i++
	id := fmt.Sprintf("r%07d", s.i)
	body := []byte(`{"to":"+1555` + id[1:] + `","text":"Hi, friend"}`)
	return &sender.Message{
		Line: s.i + 1, ID: id, Method: http.MethodPost, URL: s.url,
		Header:         http.Header{"Content-Type": {"application/json"}},
		Body:           body,
		IdempotencyKey: sender.IdempotencyKey(id, body),
	}, nil
}
