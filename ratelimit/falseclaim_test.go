package ratelimit

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestRetryAfterPastFalseClaim runs the Retry-After window model where the
// first refusal's wait is a little short: rate-limiter-flexible's
// Retry-After (msBeforeNext, truncated to the millisecond) brings the
// opener sent at the claim up to a millisecond before the window's end,
// and go-chi/httprate's "Retry-After: 1" after a burst 25ms into its
// period comes back a request only ~40ms later. A quota at the pool's
// size (8 per second under --concurrency 8, as bench/limits runs it) hides
// the counter until the first refusal, so the model starts. The opener
// after a false claim went at four times the offset the claim cut short
// (10.24s after openers at 40, 160 and 640ms): 0.56 and 0.36 before.
func TestRetryAfterPastFalseClaim(t *testing.T) {
	const w1 = time.Second
	tests := []struct {
		name   string
		srv    func() simServer
		ideal  time.Duration
		minEff float64
	}{
		{"fixed window 8/1s from first request (rate-limiter-flexible, ISO reset)", func() simServer {
			return &simFixed{limit: 8, window: w1, countRefused: true, style: styleFlexibleISO}
		}, idealFixed(8, w1), 0.9},
		// Still read as a bucket (5.4/s of 8): a gap.
		{"sliding counter 8/1s (httprate), first request 25ms into its period", func() simServer {
			return &simSliding{limit: 8, window: w1, counter: true, phase: 345 * time.Millisecond, style: styleHTTPRate}
		}, idealSliding(8, w1), 0.58},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &simClock{now: simEpoch}
			rnd := rand.New(rand.NewPCG(1, 2))
			l := New(Config{Adaptive: true, InFlight: simWorkers, InFlightPinned: true, Clock: clk, Rand: rnd.Float64})
			res := simRun(l, clk, tc.srv(), simRows, simWorkers, 1, false)
			eff := tc.ideal.Seconds() / res.wall.Seconds()
			t.Logf("eff %.2f (%.2fs), 429s %d of %d, learned %q %d per %v (%.2f/s), paused %v",
				eff, res.wall.Seconds(), res.throttled, res.requests, res.stats.LearnedModel,
				res.stats.LearnedBurst, res.stats.LearnedWindow, res.stats.LearnedRate, res.stats.Paused)
			if eff < tc.minEff {
				t.Errorf("efficiency %.2f, want at least %.2f", eff, tc.minEff)
			}
			// No pause of the run is longer than a few windows: the
			// longest before was the 9.2s wait for the opener past the
			// false claim.
			if res.stats.Paused > 4*w1 {
				t.Errorf("paused %v in all, want at most %v", res.stats.Paused, 4*w1)
			}
		})
	}
}
