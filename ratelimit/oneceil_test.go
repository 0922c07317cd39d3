package ratelimit

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestOneCeilBoundsLearned: Envoy's bucket of one a second, filled by its
// timer, with its counter headers (fillTimer), 8 workers, 12 rows. Every
// answer says "0 left", which the segments' equation cannot meet in a
// bucket of one at any rate: it ended at its bound on the sending time, and
// on main 154dd5a the run was learned at 51/s (the pool's own --concurrency)
// or 4.7/s, whose pinned flags drew 26 or 24 429s where the adaptive run
// drew 14. What is learned is no faster than a refusal left the bucket
// (oneCeil): a request refused 0.9s after the latest taken.
func TestOneCeilBoundsLearned(t *testing.T) {
	for _, pinned := range []bool{true, false} {
		t.Run(fmt.Sprintf("envoy 1+1/1s c8 inflight-pinned=%v", pinned), func(t *testing.T) {
			run := func(cfg Config) simResult {
				clk := &simClock{now: simEpoch}
				cfg.Clock, cfg.Rand = clk, rand.New(rand.NewPCG(1, 2)).Float64
				if cfg.InFlight == 0 {
					cfg.InFlight = 8
				}
				cfg.InFlightPinned = cfg.InFlightPinned || pinned
				srv := &fillTimer{max: 1, perFill: 1, interval: time.Second, phase: 370 * time.Millisecond}
				s := &simulation{l: New(cfg), clk: clk, srv: srv, left: 12, ws: make([]simWorker, cfg.InFlight),
					rnd: rand.New(rand.NewPCG(1, 11)), until: 30 * time.Minute, lateWake: 2 * time.Millisecond,
					stall: 0.05, stallMax: 10 * time.Millisecond}
				return s.run(12)
			}
			res := run(Config{Adaptive: true})
			pin, ok := res.stats.Pinned()
			if !ok {
				t.Fatalf("nothing pinned: %+v", res.stats)
			}
			pr := run(pin)
			t.Logf("adaptive %d 429s, learned %s b%d %.3f/s; pinned %v b%d: %d 429s in %d requests",
				res.throttled, res.stats.LearnedModel, res.stats.LearnedBurst, res.stats.LearnedRate, pin.Rate, pin.Burst, pr.throttled, pr.requests)
			if pr.throttled > res.throttled {
				t.Errorf("pinned flags drew %d 429s, adaptive %d", pr.throttled, res.throttled)
			}
			if r := pin.Rate.PerSecond(); pinned && r > 1.02 {
				t.Errorf("pinned %.3f/s, over the server's 1/s", r)
			}
		})
	}
}
