package ratelimit

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// simBusy is a server reached by a busy client: each request arrives up
// to late after the send the limiter counted (the goroutine waited for a
// CPU), in the order sent. Against a sliding window whose counter sits a
// request or two under its quota, that jitter is what draws the refusals
// a perfectly punctual client never sees.
type simBusy struct {
	srv  simServer
	rnd  *rand.Rand
	late time.Duration
	last time.Time
}

func (b *simBusy) serve(at time.Time) (bool, http.Header) {
	at = at.Add(time.Duration(b.rnd.Float64() * float64(b.late)))
	if at.Before(b.last) {
		at = b.last
	}
	b.last = at
	return b.srv.serve(at)
}

// TestSlidingWindowSweep runs the adaptive rate, and then the flags its
// summary suggests, against sliding windows with X-RateLimit-* counters
// (a log, a counter aligned on the clock as go-chi/httprate keeps it, a
// counter from the first request as HAProxy keeps it) at three sizes,
// each reached by a punctual client and by a busy one whose requests
// arrive up to 3ms late, and holds each run to a floor of efficiency and
// issue 11's 3% of 429s, and the pinned flags to no more 429s. It logs the
// figures BENCHMARKS.md compares change by change:
//
//	go test -run TestSlidingWindowSweep -v ./ratelimit
func TestSlidingWindowSweep(t *testing.T) {
	tests := []struct {
		name             string
		counter, haproxy bool
		limit            int
		window           time.Duration
		// minEff holds each adaptive run to today's efficiency; the
		// 429s are held to issue 11's 3% and the pinned runs to no more
		// than the adaptive run's but where pinnedExtra says.
		minEff      float64
		pinnedExtra int
	}{
		{"log", false, false, 15, 150 * time.Millisecond, 0.78, 0},
		// Before capSliding: 25 429s (6%) at 0.55, the window model
		// handing back at a refill of 313/s measured across a log's
		// reset, each refusal's Retry-After: 0 costing nothing.
		{"log", false, false, 40, 500 * time.Millisecond, 0.42, 0},
		// Paced as a fixed window, which a log is to a client that
		// sends its quota at once; with the late client the window is
		// learned at 2s since 8005f7a (0.46 before, 1.13s).
		{"log", false, false, 100, time.Second, 0.41, 0},
		// The idle spell catches it mid-refill; a second spell shows it
		// (spellAgain), paced as a sliding window from 0.3s at 75/s
		// where slideCheck found it at 1.2s and 97/s: 0.80 -> 0.78 at
		// this phase, +0.02 on average over ten phases (spellAgain).
		{"aligned counter", true, false, 15, 150 * time.Millisecond, 0.77, 1},
		{"aligned counter", true, false, 40, 500 * time.Millisecond, 0.90, 0},
		{"aligned counter", true, false, 100, time.Second, 0.77, 0},
		{"counter from the first request", false, true, 15, 150 * time.Millisecond, 0.85, 0},
		{"counter from the first request", false, true, 40, 500 * time.Millisecond, 0.80, 0},
		{"counter from the first request", false, true, 100, time.Second, 0.56, 0},
	}
	var sumEff, sumPinned float64
	var sum429, sumPinned429, runs int
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %d per %v", tc.name, tc.limit, tc.window), func(t *testing.T) {
			ideal := idealSliding(tc.limit, tc.window)
			for _, late := range []time.Duration{0, 3 * time.Millisecond} {
				srv := func() simServer {
					return &simBusy{srv: &simSliding{limit: tc.limit, window: tc.window, counter: tc.counter, haproxy: tc.haproxy, style: styleHTTPRate},
						rnd: rand.New(rand.NewPCG(7, uint64(late))), late: late}
				}
				clk := &simClock{now: simEpoch}
				rnd := rand.New(rand.NewPCG(1, 2))
				l := New(Config{Adaptive: true, InFlight: simWorkers, Clock: clk, Rand: rnd.Float64})
				res := simRun(l, clk, srv(), simRows, simWorkers, 1, false)
				eff := ideal.Seconds() / res.wall.Seconds()
				cfg, ok := res.stats.Pinned()
				if !ok {
					t.Fatalf("late %v: nothing learned", late)
				}
				clk = &simClock{now: simEpoch}
				cfg.Clock, cfg.Rand, cfg.InFlight = clk, rnd.Float64, simWorkers
				pres := simRun(New(cfg), clk, srv(), simRows, simWorkers, 1, false)
				peff := ideal.Seconds() / pres.wall.Seconds()
				t.Logf("late %v: eff %.2f, 429s %d, learned %s %.1f/s; pinned %v burst %d window %v: eff %.2f, 429s %d",
					late, eff, res.throttled, res.stats.LearnedModel, res.stats.LearnedRate, cfg.Rate, cfg.Burst, cfg.FixedWindow, peff, pres.throttled)
				if eff < tc.minEff {
					t.Errorf("late %v: efficiency %.2f, want at least %.2f", late, eff, tc.minEff)
				}
				if share := float64(res.throttled) / float64(res.requests); share > 0.03 {
					t.Errorf("late %v: %.1f%% of requests throttled, want at most 3%%", late, 100*share)
				}
				if pres.throttled > res.throttled+tc.pinnedExtra {
					t.Errorf("late %v: pinned flags throttled %d times, the adaptive run %d", late, pres.throttled, res.throttled)
				}
				sumEff += eff
				sumPinned += peff
				sum429 += res.throttled
				sumPinned429 += pres.throttled
				runs++
			}
		})
	}
	t.Logf("mean eff %.3f, 429s %d; pinned mean eff %.3f, 429s %d", sumEff/float64(runs), sum429, sumPinned/float64(runs), sumPinned429)
}

// TestSlidingCounterStaysAfterGap holds that a sliding window's counter
// coming back whole for a request answered after a stall (the machine
// busy, the request reaching the server late) is not
// taken for a fixed window's reset: the window model's burst into a
// counter that weighs its previous period drew 7 refusals in a row on
// go-chi/httprate at 15 per 150ms. A log giving a burst back a window
// after it went out, with no gap before, still is.
func TestSlidingCounterStaysAfterGap(t *testing.T) {
	tests := []struct {
		name  string
		gap   time.Duration
		fixed bool
	}{
		{"whole after a gap of most of a window", 130 * time.Millisecond, false},
		{"whole with no gap", time.Millisecond, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAdaptive(rate.Inf, 0, simWorkers)
			a.limitSaid, a.counterMax, a.sliding = 15, 15, true
			a.measured, a.pace = 90, 90
			for range slideMinAnswers {
				a.slideUsed.add(13)
			}
			at := simEpoch
			for range 10 {
				a.obs = append(a.obs, observation{sent: at, remaining: 1})
				at = at.Add(11 * time.Millisecond)
			}
			// Sent in turn, it reached the server (and was answered)
			// only after the gap.
			a.lastRecv = at.Add(tc.gap)
			a.obs = append(a.obs, observation{sent: at, remaining: 14})
			if got := a.fixedWindowShows(at, 14); got != tc.fixed {
				t.Errorf("fixedWindowShows = %v, want %v", got, tc.fixed)
			}
		})
	}
}

// TestBareCounterProbeInSecondPeriod runs a bare counter that weighs its
// previous period and counts refused requests (HAProxy's stick table at
// 100 per 1s) from a machine that stalls a fifth of the round trips up to
// 20ms, ten starts. A probe refused just before the counter gives the
// burst's first request back (1.07s, with the burst's 8 refusals counted)
// was followed by one twice as late, in a third period that held nothing:
// the second period's quota was lost, and the ride from there looked like
// a log's, so the pace searched by bounds for the rest of the run (0.51,
// 0.52, 0.59 and 0.61 in four of the ten starts, 0.72 in the others; the
// real server's runs were bimodal the same way). The probe after a refused
// one now lands inside the counter's second period.
func TestBareCounterProbeInSecondPeriod(t *testing.T) {
	const limit, rows = 100, simRows
	w := time.Second
	ideal := idealSliding(limit, w)
	for step := range 10 {
		t.Run(fmt.Sprintf("start %d", step), func(t *testing.T) {
			clk := &simClock{now: simEpoch}
			cfg := Config{Adaptive: true, InFlight: simWorkers, InFlightPinned: true, Clock: clk, Rand: rand.New(rand.NewPCG(1, 2)).Float64}
			srv := &simBusy{srv: &simSliding{limit: limit, window: w, haproxy: true, countRefused: true, style: styleBare},
				rnd: rand.New(rand.NewPCG(uint64(step), 0))}
			s := &simulation{l: New(cfg), clk: clk, srv: srv, left: rows, ws: make([]simWorker, simWorkers),
				rnd: rand.New(rand.NewPCG(uint64(step)+1, 11)), stall: 0.2, stallMax: 20 * time.Millisecond}
			res := s.run(rows)
			eff := ideal.Seconds() / res.wall.Seconds()
			t.Logf("eff %.2f, 429s %d, learned %s %.1f/s", eff, res.throttled, res.stats.LearnedModel, res.stats.LearnedRate)
			if eff < 0.60 {
				t.Errorf("efficiency %.2f, want at least 0.60 (the best any client can do is 0.75)", eff)
			}
		})
	}
}

// TestBareLogSearchAfterRide runs a bare sliding log of 100 per 1s, ten
// starts on a quiet machine and on one that stalls a fifth of the round
// trips. A log takes a ride at any pace and gives it back a window after
// it began, so the fit cannot time it and the search by bounds goes on;
// resumed after a pause as long as the ride alone, the log refused the
// ride's leftovers two or three times in a row, the search took them for
// its own misses and ended at 40-50/s (mean 0.52 of the ideal; 0.75 is
// the most a client gets from a log that gives its quota back in bursts).
func TestBareLogSearchAfterRide(t *testing.T) {
	const limit, rows = 100, simRows
	w := time.Second
	ideal := idealSliding(limit, w)
	var sum float64
	var n int
	for step := range 10 {
		for _, stall := range []float64{0, 0.2} {
			clk := &simClock{now: simEpoch}
			cfg := Config{Adaptive: true, InFlight: simWorkers, InFlightPinned: true, Clock: clk, Rand: rand.New(rand.NewPCG(1, 2)).Float64}
			srv := &simBusy{srv: &simSliding{limit: limit, window: w, style: styleBare}, rnd: rand.New(rand.NewPCG(uint64(step), 0))}
			s := &simulation{l: New(cfg), clk: clk, srv: srv, left: rows, ws: make([]simWorker, simWorkers),
				rnd: rand.New(rand.NewPCG(uint64(step)+1, 11)), stall: stall, stallMax: 20 * time.Millisecond}
			res := s.run(rows)
			eff := ideal.Seconds() / res.wall.Seconds()
			t.Logf("start %d, stall %.1f: eff %.2f, 429s %d, learned %s %.1f/s", step, stall, eff, res.throttled, res.stats.LearnedModel, res.stats.LearnedRate)
			sum += eff
			n++
		}
	}
	if mean := sum / float64(n); mean < 0.58 {
		t.Errorf("mean efficiency %.3f, want at least 0.58", mean)
	}
}
