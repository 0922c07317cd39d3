package ratelimit

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestHeldCounterIsQuota runs token buckets no bigger than the pool the
// user gave (--concurrency 8), with RateLimit-* counters and a fractional
// Retry-After on a 429. The first burst's counter, 7 down to 0, is held
// from the counter models as a concurrency limit's free slots until the
// first refusal; the answers since show it near 0, and the bucket was
// taken for a bucket of one: its equation measured the first burst's
// spacing (80-100/s for 8/s) and every row drew a 429 (200 of 200
// before). What the counter showed while held is the most it holds.
func TestHeldCounterIsQuota(t *testing.T) {
	for _, size := range []float64{3, 8} {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("bucket %v at %v/s, counters, seed %d", size, size, seed), func(t *testing.T) {
				srv := func() simServer { return &simBucket{burst: size, rate: size, style: styleCounters} }
				ideal := idealBucket(size, size)
				clk := &simClock{now: simEpoch}
				rnd := rand.New(rand.NewPCG(1, 2))
				l := New(Config{Adaptive: true, InFlight: simWorkers, InFlightPinned: true, Clock: clk, Rand: rnd.Float64})
				res := simRun(l, clk, srv(), simRows, simWorkers, seed, false)
				eff := ideal.Seconds() / res.wall.Seconds()
				share := float64(res.throttled) / float64(res.requests)
				t.Logf("eff %.2f, 429s %d of %d, learned %q burst %d at %.2f/s",
					eff, res.throttled, res.requests, res.stats.LearnedModel, res.stats.LearnedBurst, res.stats.LearnedRate)
				if share > 0.035 {
					t.Errorf("%.1f%% of requests throttled, want at most 3.5%%", 100*share)
				}
				if eff < 0.9 {
					t.Errorf("efficiency %.2f, want at least 0.9", eff)
				}
				if r := res.stats.LearnedRate; r > 1.1*size || r < 0.85*size {
					t.Errorf("learned %.2f/s, want within 15%% under and 10%% over %v/s", r, size)
				}
				cfg, ok := res.stats.Pinned()
				if !ok {
					t.Fatalf("nothing to pin: %+v", res.stats)
				}
				clk = &simClock{now: simEpoch}
				cfg.Clock, cfg.Rand, cfg.InFlight = clk, rnd.Float64, simWorkers
				pin := simRun(New(cfg), clk, srv(), simRows, simWorkers, seed, false)
				t.Logf("pinned %v burst %d: eff %.2f, 429s %d", cfg.Rate, cfg.Burst, ideal.Seconds()/pin.wall.Seconds(), pin.throttled)
				if pin.throttled > res.throttled {
					t.Errorf("pinned flags throttled %d times, the adaptive run %d", pin.throttled, res.throttled)
				}
			})
		}
	}
}
