package ratelimit

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestSlidingCounterLateBurst: go-chi/httprate (a sliding counter aligned
// to its own clock) at 15 per 150ms, the run's first burst late in its
// period. The idle spell after the burst crosses into the next period,
// whose counter weighs the burst's period by what is left of it: the
// counter comes back part of the way, read as a bucket's refill. Steered
// as a bucket's, the pace settled at the reserve's 87/s (the counter
// holds what we sent in the last window, not a bucket's level), and the
// summary pinned --burst 14, which drew refusals the adaptive run did not
// (the real httprate-150ms: learned a bucket in 2 of 3 runs, its pinned
// flags refused 1-2). slideCheck holds the pace at half for a while: the
// counter stops climbing a window later, as no bucket's does.
func TestSlidingCounterLateBurst(t *testing.T) {
	const limit, window, rows = 15, 150 * time.Millisecond, 400
	for _, frac := range []float64{5.0 / 9, 6.0 / 9, 7.0 / 9, 8.0 / 9} {
		for _, stall := range []float64{0, 0.2} {
			phase := time.Duration(frac * float64(window))
			t.Run(fmt.Sprintf("phase %v, stalls %.1f", phase, stall), func(t *testing.T) {
				srv := func() simServer {
					return &simSliding{limit: limit, window: window, counter: true, phase: phase, style: styleHTTPRate}
				}
				clk := &simClock{now: simEpoch}
				rnd := rand.New(rand.NewPCG(1, 2))
				l := New(Config{Adaptive: true, InFlight: 8, Clock: clk, Rand: rnd.Float64})
				s := &simulation{l: l, clk: clk, srv: srv(), left: rows, ws: make([]simWorker, 8),
					rnd: rand.New(rand.NewPCG(1, 11)), stall: stall, stallMax: 20 * time.Millisecond, until: 10 * time.Minute}
				res := s.run(rows)
				st := res.stats
				cfg, ok := st.Pinned()
				t.Logf("learned %s %.1f/s; %d 429s; pinned %v burst %d", st.LearnedModel, st.LearnedRate, res.throttled, cfg.Rate, cfg.Burst)
				if st.LearnedModel != ModelSlidingWindow {
					t.Fatalf("learned %q, want %q", st.LearnedModel, ModelSlidingWindow)
				}
				if !ok || cfg.Burst > 1 {
					t.Fatalf("pinned %v burst %d (ok %v), want --rate alone", cfg.Rate, cfg.Burst, ok)
				}
				clk2 := &simClock{now: simEpoch}
				cfg.Clock, cfg.Rand, cfg.InFlight = clk2, rnd.Float64, 8
				s2 := &simulation{l: New(cfg), clk: clk2, srv: srv(), left: rows, ws: make([]simWorker, 8),
					rnd: rand.New(rand.NewPCG(1, 11)), stall: stall, stallMax: 20 * time.Millisecond, until: 10 * time.Minute}
				s2.run(rows)
				if s2.throttled > res.throttled {
					t.Errorf("pinned drew %d 429s, the adaptive run %d", s2.throttled, res.throttled)
				}
			})
		}
	}
}

// TestBucketCounterNotSliding: token buckets that show their counter
// (RateLimit-Limit/-Remaining) are paced as buckets whatever slideCheck
// does: held at half the pace, their counter climbs on until full or past
// what a window's sends could explain.
func TestBucketCounterNotSliding(t *testing.T) {
	for _, c := range []struct{ burst, rate float64 }{{15, 100}, {15, 30}, {10, 10}, {50, 20}, {20, 100}, {100, 50}, {30, 300}} {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%v at %v/s, seed %d", c.burst, c.rate, seed), func(t *testing.T) {
				start := simEpoch.Add(time.Duration(seed) * 37 * time.Millisecond)
				clk := &simClock{now: start}
				rnd := rand.New(rand.NewPCG(seed, 2))
				l := New(Config{Adaptive: true, InFlight: 8, Clock: clk, Rand: rnd.Float64})
				s := &simulation{l: l, clk: clk, srv: &simBucket{burst: c.burst, rate: c.rate, style: styleCounters}, left: 400, ws: make([]simWorker, 8),
					rnd: rand.New(rand.NewPCG(seed, 11)), stall: 0.2, stallMax: 20 * time.Millisecond, until: 30 * time.Minute}
				res := s.run(400)
				if m := res.stats.LearnedModel; m != ModelBucket {
					t.Errorf("learned %q, want %q", m, ModelBucket)
				}
			})
		}
	}
}

// TestSlidingCounterClimbAfterCheck: go-chi/httprate's counter at 30 per
// 150ms (200/s) with 2 workers. slideCheck holds the pace at half, stops
// short and takes it for a sliding window; the pace then climbs back, and
// while it climbs the counter (its previous period weighted) counts fewer
// of our sends than the last window holds: the fill and the span read
// short, and the rate taken from them read 214/s, whose pinned 207/s drew
// 16 429s where the adaptive run drew none (review 13, F3). Read only
// once two windows passed since the check.
func TestSlidingCounterClimbAfterCheck(t *testing.T) {
	const limit, window, rows, workers = 30, 150 * time.Millisecond, 400, 2
	server := float64(limit) / window.Seconds()
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			start := simEpoch.Add(time.Duration(seed) * 37 * time.Millisecond)
			run := func(cfg Config) simResult {
				clk := &simClock{now: start}
				cfg.Clock, cfg.Rand, cfg.InFlight = clk, rand.New(rand.NewPCG(seed, 2)).Float64, workers
				s := &simulation{l: New(cfg), clk: clk, srv: &simSliding{limit: limit, window: window, counter: true, style: styleHTTPRate},
					left: rows, ws: make([]simWorker, workers), rnd: rand.New(rand.NewPCG(seed, 11)), until: time.Hour}
				return s.run(rows)
			}
			res := run(Config{Adaptive: true})
			st := res.stats
			cfg, ok := st.Pinned()
			if !ok {
				t.Fatalf("nothing learned: %+v", st)
			}
			pres := run(cfg)
			t.Logf("adaptive: %d 429s, learned %s %.1f/s; pinned %v: %d 429s", res.throttled, st.LearnedModel, st.LearnedRate, cfg.Rate, pres.throttled)
			if st.LearnedRate > server {
				t.Errorf("learned %.1f/s, over the server's %.0f/s", st.LearnedRate, server)
			}
			if pres.throttled > res.throttled {
				t.Errorf("pinned %v drew %d 429s, the adaptive run %d", cfg.Rate, pres.throttled, res.throttled)
			}
		})
	}
}
