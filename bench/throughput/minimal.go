package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"

	"github.com/bulksend/bulksend/bench/internal/benchcli"
)

// minimalClientCmd, as the first argument, makes the harness binary the
// minimal client instead of the benchmark.
const minimalClientCmd = "minimal-client"

func minimalArgs(targets, n string) []string {
	return []string{minimalClientCmd, "-targets", targets, "-concurrency", n}
}

// minimalSummary is what the minimal client prints on stdout.
type minimalSummary struct {
	OK     int `json:"ok"`
	Failed int `json:"failed"`
}

// minimalClientMain is the baseline of the throughput table: the least a
// Go program must do to send every target once with n requests in flight.
// It reads all targets before the first request, then n goroutines take
// the next one from a shared counter and POST it over a keep-alive
// connection of their own. No pacing, no retries, no journal.
func minimalClientMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(minimalClientCmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("targets", "", "vegeta JSON targets file")
	n := fs.Int("concurrency", 32, "requests in flight")
	if err := fs.Parse(args); err != nil {
		return benchcli.ExitUsage
	}
	if *path == "" || *n < 1 {
		fmt.Fprintln(stderr, "minimal-client: need -targets and -concurrency >= 1")
		return benchcli.ExitUsage
	}
	f, err := os.Open(*path)
	if err != nil {
		fmt.Fprintln(stderr, "minimal-client:", err)
		return benchcli.ExitError
	}
	ts, err := readTargets(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(stderr, "minimal-client:", err)
		return benchcli.ExitError
	}
	s := sendAll(context.Background(), ts, *n)
	if err := json.NewEncoder(stdout).Encode(s); err != nil {
		fmt.Fprintln(stderr, "minimal-client:", err)
		return benchcli.ExitError
	}
	return benchcli.ExitOK
}

// sendAll sends every target once, n at a time, and counts 2xx answers.
func sendAll(ctx context.Context, ts []target, n int) minimalSummary {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = n // one kept-alive connection per goroutine
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var next, ok, failed atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ts) {
					return
				}
				t := &ts[i]
				req, err := http.NewRequestWithContext(ctx, t.Method, t.URL, bytes.NewReader(t.Body))
				if err != nil {
					failed.Add(1)
					continue
				}
				req.Header = t.Header
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body) // read to the end so the connection is reused
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return minimalSummary{OK: int(ok.Load()), Failed: int(failed.Load())}
}
