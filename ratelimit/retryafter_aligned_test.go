package ratelimit

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestRetryAfterAlignedLength runs windows aligned on the clock that say
// nothing but Retry-After in whole seconds on a 429 and count no refusal
// (Kong's rate-limiting plugin with hide_client_headers), at phases that
// are not our first request's, and holds the length learned to the
// window's own: never shorter (a pin over the rate), and no more than
// maxOver longer, and its pin to draw no 429. Where the first, partial
// window ended soon after the first request, hi was that partial window,
// each miss grew it by a quarter, and the fourth miss handed the server
// to the bucket equation before hi reached the window: 30 per minute
// learned as a bucket of 30 at 0.6/s (pinned 36.6/m, 3 pinned 429s), 3
// per 1s pinned at 8.59/s with 17 pinned 429s. Aimed hi after the last
// opener's answer, the openers of an aligned window told nothing once
// two refusals had spent the bisection: 3 per 1s was learned 3 per
// 1.27s, 30 per minute 74-75s, and their pins ran at 0.66-0.81 of the
// ideal.
func TestRetryAfterAlignedLength(t *testing.T) {
	for _, tc := range []struct {
		limit   int
		window  time.Duration
		rows    int
		maxOver float64
	}{
		{3, time.Second, 60, 0.12},
		{10, time.Second, 400, 0.1},
		{30, time.Minute, 120, 0.18},
	} {
		for _, conc := range []int{1, 8} {
			for i := range 3 {
				phase := tc.window * time.Duration(2*i+1) / 6
				t.Run(fmt.Sprintf("%d per %v c%d phase %v", tc.limit, tc.window, conc, phase), func(t *testing.T) {
					run := func(cfg Config) simResult {
						clk := &simClock{now: simEpoch}
						cfg.Clock, cfg.Rand, cfg.InFlight = clk, rand.New(rand.NewPCG(uint64(i+1), 2)).Float64, conc
						srv := &simFixed{limit: tc.limit, window: tc.window, aligned: true, phase: phase, style: styleRetryAfter}
						s := &simulation{l: New(cfg), clk: clk, srv: srv, left: tc.rows, ws: make([]simWorker, conc),
							rnd: rand.New(rand.NewPCG(uint64(i+1), 11)), until: time.Hour, lateWake: 2 * time.Millisecond}
						return s.run(tc.rows)
					}
					ad := run(Config{Adaptive: true})
					if got := ad.requests - ad.throttled; got != tc.rows {
						t.Fatalf("%d rows accepted, want %d", got, tc.rows)
					}
					cfg, ok := ad.stats.Pinned()
					if !ok {
						t.Fatalf("nothing learned: %+v", ad.stats)
					}
					pin := run(cfg)
					ideal := float64((tc.rows+tc.limit-1)/tc.limit-1) * tc.window.Seconds()
					w := ad.stats.LearnedWindow
					t.Logf("learned %s %d per %v; adaptive %.2f, %d 429s; pinned %v fixed=%v %.2f, %d 429s", ad.stats.LearnedModel, ad.stats.LearnedBurst, w,
						ideal/ad.wall.Seconds(), ad.throttled, cfg.Rate, cfg.FixedWindow, ideal/pin.wall.Seconds(), pin.throttled)
					if ad.stats.LearnedModel != ModelFixedWindow || ad.stats.LearnedBurst != tc.limit {
						t.Fatalf("learned %s %d per %v, want a fixed window of %d", ad.stats.LearnedModel, ad.stats.LearnedBurst, w, tc.limit)
					}
					if w < tc.window || float64(w) > float64(tc.window)*(1+tc.maxOver) {
						t.Errorf("learned window %v, want %v to %v", w, tc.window, time.Duration(float64(tc.window)*(1+tc.maxOver)))
					}
					if pin.throttled > 0 {
						t.Errorf("pinned run drew %d 429s, want none", pin.throttled)
					}
				})
			}
		}
	}
}
