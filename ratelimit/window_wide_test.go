package ratelimit

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestWindowWidePool: a fixed window with headers whose quota is at most
// the pool (10 per 1s from the first request, 10 and 16 workers, 100 rows,
// ideal 9s). The pool empties each window at once, a refusal's
// Retry-After holds it for a window, and the counter comes back whole
// across that pause, which a bucket could also regain: taken for a
// bucket, every window's refusal cut the pace 0.73x, down to 1.3/s
// (efficiency 0.16-0.17, 14-15 429s), and one run learned "10 per 2ms"
// and pinned 330 times the server's rate. The counter standing still
// while paced tells the window: learned as one, the run keeps to at
// least 0.6 of the ideal (0.65-0.76), and its pinned flags draw no 429.
func TestWindowWidePool(t *testing.T) {
	for _, style := range []string{styleExpress, styleFastify, styleFlexible, styleLegacy} {
		for _, workers := range []int{10, 16} {
			for seed := uint64(1); seed <= 3; seed++ {
				srv := func() simServer {
					return &simFixed{limit: 10, window: time.Second, countRefused: true, style: style}
				}
				clk := &simClock{now: simEpoch}
				rnd := rand.New(rand.NewPCG(seed, 2))
				l := New(Config{Adaptive: true, InFlight: workers, Clock: clk, Rand: rnd.Float64})
				s := &simulation{l: l, clk: clk, srv: srv(), left: 100, ws: make([]simWorker, workers),
					rnd: rand.New(rand.NewPCG(seed, 11)), until: 10 * time.Minute}
				res := s.run(100)
				st := res.stats
				if eff := 9 / res.wall.Seconds(); eff < 0.6 || res.throttled > 15 {
					t.Errorf("%s c%d seed %d: %v for 100 rows (ideal 9s): efficiency %.2f, %d 429s", style, workers, seed, res.wall.Round(time.Millisecond), eff, res.throttled)
				}
				cfg, ok := st.Pinned()
				if !ok || !cfg.FixedWindow || st.LearnedWindow < 900*time.Millisecond || st.LearnedWindow > 1100*time.Millisecond {
					t.Errorf("%s c%d seed %d: learned %s %d per %v, pinned %v %v", style, workers, seed, st.LearnedModel, st.LearnedBurst, st.LearnedWindow, cfg.Rate, ok)
					continue
				}
				clk2 := &simClock{now: simEpoch}
				cfg.Clock, cfg.Rand, cfg.InFlight = clk2, rnd.Float64, workers
				s2 := &simulation{l: New(cfg), clk: clk2, srv: srv(), left: 100, ws: make([]simWorker, workers),
					rnd: rand.New(rand.NewPCG(seed, 11)), until: 10 * time.Minute}
				if pr := s2.run(100); pr.throttled > 0 {
					t.Errorf("%s c%d seed %d: pinned %v: %d 429s", style, workers, seed, cfg.Rate, pr.throttled)
				}
			}
		}
	}
}
