package ratelimit

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// counterSeen is what our accepted requests read off srv, a counter
// over periods paced at rate with up to a third of an interval's jitter
// either way, each answered 1ms after it left: n requests.
func counterSeen(srv *simSliding, rate float64, n int, seed uint64) []seenSend {
	rnd := rand.New(rand.NewPCG(seed, 5))
	gap := time.Duration(float64(time.Second) / rate)
	at := simEpoch
	var seen []seenSend
	for range n {
		at = at.Add(gap + time.Duration((rnd.Float64()-0.5)*2/3*float64(gap)))
		ok, h := srv.serve(at)
		if !ok {
			continue
		}
		left, _ := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
		seen = append(seen, seenSend{at: at, recv: at.Add(time.Millisecond), left: left, said: true})
	}
	return seen
}

// TestCounterWindow: counters over periods (go-chi/httprate's on the
// clock at a phase, HAProxy's from the first request) paced at 60-90% of
// their quota per period for 10 periods, the pace no guide to the period
// (the search starts from rates half to twice it), are found within 6%
// over their period and never under it by more than 2% (what is learned
// is the quota less a request and a half per that period: 2% under is
// within that margin at any quota); a bucket's
// readings (its counter what a bucket holds) find none, nor do too few
// readings. (Over many more periods a period 1% off drifts a third of
// one: HAProxy's from the first request, 3000 requests at 85 per 1s, is
// missed by the search's 2% steps, and what was learned stands.)
func TestCounterWindow(t *testing.T) {
	for _, tc := range []struct {
		name  string
		srv   *simSliding
		share float64
	}{
		{"httprate 10 per 1s", &simSliding{limit: 10, window: time.Second, counter: true, phase: 300 * time.Millisecond, style: styleHTTPRate}, 0.7},
		{"httprate 15 per 150ms", &simSliding{limit: 15, window: 150 * time.Millisecond, counter: true, phase: 40 * time.Millisecond, style: styleHTTPRate}, 0.9},
		{"httprate 20 per 2s", &simSliding{limit: 20, window: 2 * time.Second, counter: true, style: styleHTTPRate}, 0.6},
		{"haproxy 20 per 2s", &simSliding{limit: 20, window: 2 * time.Second, haproxy: true, style: styleHTTPRate}, 0.8},
		{"haproxy 100 per 1s", &simSliding{limit: 100, window: time.Second, haproxy: true, style: styleHTTPRate}, 0.85},
	} {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%s seed %d", tc.name, seed), func(t *testing.T) {
				srv := *tc.srv
				rate := tc.share * float64(srv.limit) / srv.window.Seconds()
				seen := counterSeen(&srv, rate, int(10*rate*srv.window.Seconds()), seed)
				w, ok := counterWindow(seen, srv.limit, rate/2, 2*rate)
				if !ok || w < srv.window-srv.window*2/100 || w > srv.window+srv.window*6/100 {
					t.Fatalf("found %v (%v), want %v, 2%% under to 6%% over", w, ok, srv.window)
				}
				if w, ok := counterWindow(seen[:srv.limit], srv.limit, rate); ok {
					t.Errorf("a quota's readings found %v", w)
				}
			})
		}
	}
	// A bucket of 10 refilling 8/s, paced at 7/s: its counter climbs
	// back whatever we sent, which no counter over periods does.
	b := &simBucket{burst: 10, rate: 8, style: styleCounters}
	rnd := rand.New(rand.NewPCG(9, 9))
	at := simEpoch
	var seen []seenSend
	for range 300 {
		at = at.Add(time.Duration((0.8 + 0.4*rnd.Float64()) * float64(time.Second) / 7))
		ok, h := b.serve(at)
		if !ok {
			continue
		}
		left, _ := strconv.Atoi(h.Get("RateLimit-Remaining"))
		seen = append(seen, seenSend{at: at, recv: at.Add(time.Millisecond), left: left, said: true})
	}
	if w, ok := counterWindow(seen, 10, 7); ok {
		t.Errorf("a bucket's counter found a period of %v", w)
	}
}

// TestSlidingRefusedLearnsPeriod: go-chi/httprate at 20 per 2s with 8
// workers, steered as a bucket's after a refusal, read its own slowed
// pace back from the refill and was learned at 5.35-5.58/s, pinned at
// 0.42-0.44 of the ideal. The counter's period found from its readings
// (counterWindow) learns it at 8.5/s at least, and the pin draws no 429.
func TestSlidingRefusedLearnsPeriod(t *testing.T) {
	for seed := uint64(1); seed <= 2; seed++ {
		mk := func() simServer {
			return &simSliding{limit: 20, window: 2 * time.Second, counter: true, style: styleHTTPRate}
		}
		run := func(cfg Config) simResult { return simRunSeeded(mk(), cfg, 8, 100, seed, 100*time.Hour, true) }
		ad, pin, cfg := learnThenPin(t, run)
		if r := ad.stats.LearnedRate; r < 8.5 || r > 9.5 {
			t.Errorf("seed %d: learned %.2f/s, want 8.5-9.5/s (20 per 2s less a request and a half)", seed, r)
		}
		if pin.throttled > 0 {
			t.Errorf("seed %d: pinned %v: %d 429s", seed, cfg.Rate, pin.throttled)
		}
	}
}
