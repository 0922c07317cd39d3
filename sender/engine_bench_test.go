package sender_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulksend/bulksend/csvinput"
	"github.com/bulksend/bulksend/preset"
	"github.com/bulksend/bulksend/report"
	"github.com/bulksend/bulksend/sender"
)

// runBenchConcurrency is the in-flight count of every BenchmarkRun case,
// the figure issue 6's throughput run uses.
const runBenchConcurrency = 32

// BenchmarkRun measures one message's trip through the engine against a
// trivial loopback handler, from the least a Go client must do up to the
// whole send path, so each layer's cost per message (time and allocations:
// one op is one message) is the difference between two cases:
//
//   - bare: 32 goroutines POSTing pre-rendered messages with keep-alive,
//     no engine (the minimal client of bench/throughput, in process);
//   - engine: sender.Run over the same messages, no journal;
//   - engine+report: and a CSV report file, two rows a message;
//   - pipeline: CSV bytes read by csvinput, rendered by the generic preset
//     (text/template), deduplicated by NewSource, sent by Run, journaled to
//     a CSV report: `bulksend send` minus process start and compaction.
//
// The handler runs in the same process and shares the CPUs, so read the
// cases against each other, not as a server's capacity.
func BenchmarkRun(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"msg-1","status":"accepted"}`)
	}))
	defer srv.Close()
	url := srv.URL + "/send"

	tests := []struct {
		name string
		run  func(b *testing.B, client *http.Client) int // returns messages sent
	}{
		{"bare", func(b *testing.B, client *http.Client) int {
			msgs := renderedMessages(b.N, url)
			b.ResetTimer()
			return bareSend(client, msgs)
		}},
		{"engine", func(b *testing.B, client *http.Client) int {
			src := &messageSlice{msgs: renderedMessages(b.N, url)}
			b.ResetTimer()
			return runEngine(b, sender.Config{Client: client, Concurrency: runBenchConcurrency}, src)
		}},
		{"engine+report", func(b *testing.B, client *http.Client) int {
			src := &messageSlice{msgs: renderedMessages(b.N, url)}
			w := createReport(b)
			b.ResetTimer()
			n := runEngine(b, sender.Config{Client: client, Journal: w, Concurrency: runBenchConcurrency}, src)
			b.StopTimer()
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			return n
		}},
		{"pipeline", func(b *testing.B, client *http.Client) int {
			rows, err := csvinput.NewReader(bytes.NewReader(csvRows(b.N)), "rows.csv", csvinput.FormatCSV)
			if err != nil {
				b.Fatal(err)
			}
			p, err := preset.NewGeneric(preset.GenericConfig{URL: url, Body: `{"id": {{json .id}}, "to": {{json .to}}, "text": {{json .text}}}`})
			if err != nil {
				b.Fatal(err)
			}
			w := createReport(b)
			b.ResetTimer()
			n := runEngine(b, sender.Config{Client: client, Journal: w, Concurrency: runBenchConcurrency,
				ParseResponse: p.ParseResponse}, sender.NewSource(rows, p.Builder, sender.SourceOptions{}))
			b.StopTimer()
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			return n
		}},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.MaxIdleConnsPerHost = runBenchConcurrency // keep every worker's connection alive
			defer tr.CloseIdleConnections()
			b.ReportAllocs()
			start := time.Now()
			sent := tt.run(b, &http.Client{Transport: tr})
			elapsed := time.Since(start)
			b.StopTimer()
			if sent != b.N {
				b.Fatalf("sent %d of %d", sent, b.N)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
		})
	}
}

// runEngine runs src through the engine and returns how many were sent.
func runEngine(b *testing.B, cfg sender.Config, src sender.Source) int {
	sum, err := sender.Run(context.Background(), nil, cfg, src)
	if err != nil {
		b.Fatal(err)
	}
	return sum.Counts[sender.StatusSent]
}

func createReport(b *testing.B) *report.Writer {
	w, err := report.Create(filepath.Join(b.TempDir(), "report.csv"), report.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return w
}

// csvRows is an input of n rows shaped like bench/throughput's.
func csvRows(n int) []byte {
	var buf bytes.Buffer
	buf.WriteString("id,to,text\n")
	for i := range n {
		fmt.Fprintf(&buf, "r%08d,+1555%07d,\"Hello friend, your code is %d\"\n", i, i%10_000_000, i)
	}
	return buf.Bytes()
}

// renderedMessages are n distinct messages as the generic preset renders
// csvRows, each with its idempotency key.
func renderedMessages(n int, url string) []*sender.Message {
	msgs := make([]*sender.Message, n)
	for i := range msgs {
		id := fmt.Sprintf("r%08d", i)
		body := fmt.Appendf(nil, `{"id": %q, "to": "+1555%07d", "text": "Hello friend, your code is %d"}`, id, i%10_000_000, i)
		msgs[i] = &sender.Message{
			Line: i + 2, ID: id, Method: http.MethodPost, URL: url,
			Header:         http.Header{"Content-Type": {"application/json"}},
			Body:           body,
			IdempotencyKey: sender.IdempotencyKey(id, body),
		}
	}
	return msgs
}

// messageSlice is a Source over prepared messages.
type messageSlice struct {
	msgs []*sender.Message
	next int
}

func (s *messageSlice) Next(context.Context) (*sender.Message, error) {
	if s.next >= len(s.msgs) {
		return nil, io.EOF
	}
	s.next++
	return s.msgs[s.next-1], nil
}

// bareSend is the baseline: runBenchConcurrency goroutines take the next
// message and POST it with its idempotency key, reading each answer to the
// end so the connection is reused. It returns the 2xx count.
func bareSend(client *http.Client, msgs []*sender.Message) int {
	var next, ok atomic.Int64
	var wg sync.WaitGroup
	for range runBenchConcurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(msgs) {
					return
				}
				m := msgs[i]
				req, err := http.NewRequestWithContext(context.Background(), m.Method, m.URL, bytes.NewReader(m.Body))
				if err != nil {
					continue
				}
				req.Header = m.Header.Clone()
				req.Header.Set(sender.DefaultIdempotencyHeader, m.IdempotencyKey)
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return int(ok.Load())
}
