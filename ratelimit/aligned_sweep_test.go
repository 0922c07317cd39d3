package ratelimit

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestAlignedWindowSweep runs the adaptive rate, and then the flags its
// summary suggests, against fixed windows aligned on the clock over six
// configurations, six phases each (where the first boundary falls after
// the run's first request), every other one against a cold, jittery
// server, and holds each configuration's 429s to a ceiling. It logs the
// sums that BENCHMARKS.md compares change by change:
//
//	go test -run TestAlignedWindowSweep -v ./ratelimit
func TestAlignedWindowSweep(t *testing.T) {
	tests := []struct {
		name   string
		limit  int
		window time.Duration
		// maxShare is the most of the adaptive run's requests, over the
		// six phases, that may be answered 429: issue 11's 3%, or
		// today's figure where better. 5 per 100ms drew 46 (1.88%)
		// until two phases that were paced as a bucket found the window
		// they are (stillReset): 50 (2.04%), a trade for time, the
		// adaptive runs 71.3s -> 68.8s in all, their flags 68.9s ->
		// 60.9s.
		maxShare float64
	}{
		{"5 per 100ms", 5, 100 * time.Millisecond, 0.021},
		{"15 per 150ms", 15, 150 * time.Millisecond, 0.03},
		{"40 per 500ms", 40, 500 * time.Millisecond, 0.025},
		{"10 per 1s", 10, time.Second, 0.03},
		{"100 per 1s", 100, time.Second, 0.02},
		{"200 per 2s", 200, 2 * time.Second, 0.01},
	}
	const phases = 6
	var wall, pinnedWall time.Duration
	var throttled, pinnedThrottled int
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cw, pw time.Duration
			var ct, pt, requests int
			for i := range phases {
				start := simEpoch.Sub(simEpoch.Truncate(tc.window))
				srv := func() simServer {
					return &simFixed{limit: tc.limit, window: tc.window, aligned: true, style: styleExpress,
						phase: start + tc.window*time.Duration(i)/phases}
				}
				cold := i%2 == 1
				clk := &simClock{now: simEpoch}
				rnd := rand.New(rand.NewPCG(1, 2))
				l := New(Config{Adaptive: true, InFlight: simWorkers, Clock: clk, Rand: rnd.Float64})
				res := simRun(l, clk, srv(), simRows, simWorkers, 1, cold)
				if got := res.requests - res.throttled; got != simRows {
					t.Fatalf("phase %d: %d rows accepted, want %d", i, got, simRows)
				}
				cw += res.wall
				ct += res.throttled
				requests += res.requests
				cfg, ok := res.stats.Pinned()
				if !ok {
					t.Fatalf("phase %d: nothing learned: %+v", i, res.stats)
				}
				clk = &simClock{now: simEpoch}
				cfg.Clock, cfg.Rand, cfg.InFlight = clk, rnd.Float64, simWorkers
				pres := simRun(New(cfg), clk, srv(), simRows, simWorkers, 1, cold)
				t.Logf("boundary %d/%d of the window in, cold %v: adaptive %.2fs, %d 429s, learned %s %d per %v; pinned %.2fs, %d 429s",
					i, phases, cold, res.wall.Seconds(), res.throttled, res.stats.LearnedModel, res.stats.LearnedBurst, res.stats.LearnedWindow, pres.wall.Seconds(), pres.throttled)
				pw += pres.wall
				pt += pres.throttled
			}
			t.Logf("adaptive %.2fs, %d 429s (%.1f%%); pinned %.2fs, %d 429s", cw.Seconds(), ct, 100*float64(ct)/float64(requests), pw.Seconds(), pt)
			if share := float64(ct) / float64(requests); share > tc.maxShare {
				t.Errorf("%.1f%% of requests throttled, want at most %.1f%%", 100*share, 100*tc.maxShare)
			}
			wall, pinnedWall = wall+cw, pinnedWall+pw
			throttled, pinnedThrottled = throttled+ct, pinnedThrottled+pt
		})
	}
	t.Logf("sum: adaptive %.1fs, %d 429s; pinned %.1fs, %d 429s", wall.Seconds(), throttled, pinnedWall.Seconds(), pinnedThrottled)
}
