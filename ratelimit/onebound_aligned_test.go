package ratelimit

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestOneBoundAlignedWindowOfOne: a window of one request aligned on the clock (a
// quota of 1 per W, bare 429s), 100 rows, 8 workers, several phases.
// The pinned flags must not exceed the server's rate (1/W) by more than a
// little, nor draw more 429s than adaptive (found by session 11's review:
// a refusal's ceiling wiped by an older pair's floor pinned 1.1-1.4/s).
func TestOneBoundAlignedWindowOfOne(t *testing.T) {
	for _, w := range []time.Duration{time.Second, 2 * time.Second} {
		for _, counter := range []bool{false, true} {
			for ph := 0; ph < 4; ph++ {
				name := fmt.Sprintf("1/%v counter=%v phase %d/4", w, counter, ph)
				srv := func() simServer {
					phase := simEpoch.Sub(simEpoch.Truncate(w)) + w*time.Duration(ph)/4
					if counter {
						return &simSliding{limit: 1, window: w, counter: true, phase: phase, style: styleBare}
					}
					return &simFixed{limit: 1, window: w, aligned: true, phase: phase, style: styleBare}
				}
				clk := &simClock{now: simEpoch}
				rnd := rand.New(rand.NewPCG(1, 2))
				l := New(Config{Adaptive: true, InFlight: 8, Clock: clk, Rand: rnd.Float64})
				s := &simulation{l: l, clk: clk, srv: srv(), left: 100, ws: make([]simWorker, 8),
					rnd: rand.New(rand.NewPCG(1, 11)), until: 60 * time.Minute}
				res := s.run(100)
				st := res.stats
				cfg, ok := st.Pinned()
				if !ok {
					t.Logf("%s: nothing learned", name)
					continue
				}
				clk2 := &simClock{now: simEpoch}
				cfg.Clock, cfg.Rand, cfg.InFlight = clk2, rnd.Float64, 8
				s2 := &simulation{l: New(cfg), clk: clk2, srv: srv(), left: 100, ws: make([]simWorker, 8),
					rnd: rand.New(rand.NewPCG(1, 11)), until: 60 * time.Minute}
				pr := s2.run(100)
				ideal := 99 * w.Seconds()
				t.Logf("%s: adaptive eff %.2f 429s %d/%d, learned %s b%d %.2f/s; pinned %v burst %d: eff %.2f 429s %d", name,
					ideal/res.wall.Seconds(), res.throttled, res.requests, st.LearnedModel, st.LearnedBurst, st.LearnedRate, cfg.Rate, cfg.Burst, ideal/pr.wall.Seconds(), pr.throttled)
				if pr.throttled > res.throttled {
					t.Errorf("%s: pinned drew %d 429s, adaptive %d", name, pr.throttled, res.throttled)
				}
				if r := cfg.Rate.PerSecond() * w.Seconds(); r > 1.1 {
					t.Errorf("%s: pinned at %.2f per window of one", name, r)
				}
			}
		}
	}
}
