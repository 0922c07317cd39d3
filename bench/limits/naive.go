package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The naive client is the hand-written loop the spec describes: many
// threads, sleep(reset - now) on a 429, give up after three tries.
const (
	naiveWorkers  = 100
	naiveTries    = 3                // attempts per row before it is dropped
	naiveMaxSleep = 10 * time.Second // so the benchmark ends even when a reset is read as years away
)

// naiveHeaders are the reset headers the naive client looks at, in order;
// it reads the first one present as Unix seconds whatever it really means.
var naiveHeaders = []string{"X-RateLimit-Reset", "Retry-After", "RateLimit-Reset", "inin-ratelimit-reset", "X-RateLimit-Reset-After"}

// naiveWait is the common mistake: the first reset header, read as a Unix
// time in seconds, minus now. A value that really means "seconds from now"
// lands in 1970 and gives no wait at all; Unix milliseconds land millennia
// ahead (capped); a date does not parse, which the loop treats as no wait.
func naiveWait(h http.Header, now time.Time) time.Duration {
	for _, name := range naiveHeaders {
		v := strings.TrimSpace(h.Get(name))
		if v == "" {
			continue
		}
		reset, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(reset) || math.IsInf(reset, 0) {
			return 0
		}
		// In float seconds: a reset millennia away overflows a Duration.
		secs := reset - float64(now.UnixNano())/1e9
		switch {
		case secs <= 0:
			return 0
		case secs >= naiveMaxSleep.Seconds():
			return naiveMaxSleep
		}
		return time.Duration(secs * float64(time.Second))
	}
	return 0
}

// naive is the naive client. now and sleep are fields so a test can run it
// without waiting.
type naive struct {
	client *http.Client
	url    string
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// sendAll shares rows among naiveWorkers goroutines and returns how many
// got a 2xx.
func (n *naive) sendAll(ctx context.Context, rows []row) int {
	ch := make(chan row)
	go func() {
		defer close(ch)
		for _, r := range rows {
			select {
			case ch <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	var acked atomic.Int64
	var wg sync.WaitGroup
	for range naiveWorkers {
		wg.Go(func() {
			for r := range ch {
				if n.deliver(ctx, r) {
					acked.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return int(acked.Load())
}

// deliver POSTs r up to naiveTries times, sleeping as naiveWait says after
// a 429, and reports whether it got a 2xx.
func (n *naive) deliver(ctx context.Context, r row) bool {
	body, err := json.Marshal(struct {
		ID string `json:"id"`
		To string `json:"to"`
	}{r.ID, r.To})
	if err != nil {
		return false
	}
	for try := 1; try <= naiveTries; try++ {
		status, h, err := n.post(ctx, body)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return false
			}
		case status >= 200 && status < 300:
			return true
		case status == http.StatusTooManyRequests && try < naiveTries:
			if n.sleep(ctx, naiveWait(h, n.now())) != nil {
				return false
			}
		}
	}
	return false
}

func (n *naive) post(ctx context.Context, body []byte) (int, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body) // drained so the connection is reused
	resp.Body.Close()
	return resp.StatusCode, resp.Header, nil
}

// runNaive runs the naive client once against a fresh sandbox.
func runNaive(ctx context.Context, sc scenario, rows []row) (trial, error) {
	t := trial{Mode: modeNaive}
	srv, base, stop, err := startSandbox(ctx, sc)
	if err != nil {
		return t, err
	}
	defer stop()
	tr := &http.Transport{MaxIdleConnsPerHost: naiveWorkers} // no proxy: loopback only
	defer tr.CloseIdleConnections()
	n := &naive{
		client: &http.Client{Transport: tr, Timeout: 10 * time.Second},
		url:    base + "/send",
		now:    time.Now,
		sleep:  sleepCtx,
	}
	tctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	start := time.Now()
	t.Acked = n.sendAll(tctx, rows)
	wall := time.Since(start)
	if err := ctx.Err(); err != nil {
		return t, err
	}
	t.TimedOut = tctx.Err() != nil
	t.Server = statsOf(srv.Stats())
	t.finish(len(rows), wall, idealSeconds(len(rows)))
	return t, nil
}
