package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

// TestFixedWindowLongPath: a fixed window behind a long path (a remote
// API, every round trip 20-100ms) is timed from when the server had each
// window's first request, not from its answer (lead): timed from the
// answer, every window waited a round trip more than it lasts, and with
// the bound on its length measured to an answer, a round trip long (as
// it still is: the bounds keep to the answers), the pool sent a window's
// quota at most every W plus two round trips. Adaptive and pinned to the
// server's true window (--rate L/W --window fixed) alike; no more
// refusals for it.
func TestFixedWindowLongPath(t *testing.T) {
	const ms = time.Millisecond
	for _, tc := range []struct {
		name          string
		limit         int
		window, wire  time.Duration
		workers, rows int
		mk            func() simServer
		// The least efficiency adaptive and pinned (the parent's,
		// timed from the answers: 0.881 and 0.881, 0.817 and 0.881,
		// 0.866 and 0.863, 0.841 and 0.842; now 0.913 and 0.913, 0.851
		// and 0.913, 0.916 and 0.915, 0.854 and 0.854), and the longest
		// window learned (the parent's 1s, 1.2s, 150ms, 1s; go-limiter's
		// now 1.150-1.152s: the bounds keep to the answers).
		adaptive, pinned float64
		longest          time.Duration
		// out is the wire's share on the way out (half if 0), dial how
		// much longer each worker's first request may take on its way
		// (a new connection's dial and TLS handshake); most the 429s an
		// adaptive run may draw.
		out  float64
		dial time.Duration
		most int
	}{
		{"express-rate-limit 10 per 1s, 100ms", 10, time.Second, 100 * ms, 8, 100,
			func() simServer {
				return &simFixed{limit: 10, window: time.Second, countRefused: true, style: styleExpress}
			}, 0.9, 0.9, time.Second, 0, 0, 1},
		{"go-limiter 10 per 1s, 100ms", 10, time.Second, 100 * ms, 8, 100,
			func() simServer { return &simGoLimiter{limit: 10, window: time.Second} }, 0.84, 0.91, 1200 * ms, 0, 0, 1},
		{"express-rate-limit 15 per 150ms, 20ms", 15, 150 * ms, 20 * ms, 8, 400,
			func() simServer {
				return &simFixed{limit: 15, window: 150 * ms, countRefused: true, style: styleExpress}
			}, 0.91, 0.91, 150 * ms, 0, 0, 1},
		{"express-rate-limit 100 per 1s, 50ms", 100, time.Second, 50 * ms, 16, 400,
			func() simServer {
				return &simFixed{limit: 100, window: time.Second, countRefused: true, style: styleExpress}
			}, 0.85, 0.85, time.Second, 0, 0, 1},
		// The way out four times the way back: half the shortest round
		// trip (lead) is longer than the way back, and only the next
		// window's first request's way out is the margin. The parent:
		// 0.881 and 0.881, 0.817 and 0.881; now 0.913 and 0.913, 0.851
		// and 0.913.
		{"express-rate-limit 10 per 1s, 100ms, 80ms of it out", 10, time.Second, 100 * ms, 8, 100,
			func() simServer {
				return &simFixed{limit: 10, window: time.Second, countRefused: true, style: styleExpress}
			}, 0.9, 0.9, time.Second, 0.8, 0, 1},
		{"go-limiter 10 per 1s, 100ms, 80ms of it out", 10, time.Second, 100 * ms, 8, 100,
			func() simServer { return &simGoLimiter{limit: 10, window: time.Second} }, 0.84, 0.9, 1200 * ms, 0.8, 0, 1},
		// go-limiter's headers on a window from the first request: with
		// the bound above measured to when the server had the opener,
		// the try between the bounds, a round trip sooner, was taken in
		// the old window where our count had misplaced a request, and
		// the window was handed back as a sliding one (160/s, its flags
		// refused 22-26 times) in 5 seeds of 10 of the sweep; the bounds
		// keep to the answers now.
		{"go-limiter's headers 50 per 500ms, 50ms", 50, 500 * ms, 50 * ms, 8, 200,
			func() simServer {
				return &simFixed{limit: 50, window: 500 * ms, phase: 500 * ms / 3, style: styleGoLimiter}
			}, 0.58, 0.7, 600 * ms, 0, 0, 2},
		// New connections: each worker's first request up to 200ms
		// longer on its way. The parent: 0.808-0.873 and 0.870-0.872,
		// no 429s; now 0.797-0.873 and 0.900-0.902, one 429.
		{"go-limiter 10 per 1s, 100ms, dialled", 10, time.Second, 100 * ms, 8, 100,
			func() simServer { return &simGoLimiter{limit: 10, window: time.Second} }, 0.79, 0.9, 1200 * ms, 0, 200 * ms, 1},
	} {
		ideal := idealFixedN(tc.rows, tc.limit, tc.window)
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%s, seed %d", tc.name, seed), func(t *testing.T) {
				run := func(cfg Config) simResult {
					cfg.InFlightPinned = true
					return simRunSeeded(tc.mk(), cfg, tc.workers, tc.rows, seed, time.Hour, true, func(s *simulation) {
						s.wire, s.wireOut, s.dialEach = tc.wire, tc.out, tc.dial
					})
				}
				ad := run(Config{Adaptive: true})
				pin := run(Config{Rate: Rate{Count: float64(tc.limit), Per: tc.window}, FixedWindow: true})
				effA, effP := ideal.Seconds()/ad.wall.Seconds(), ideal.Seconds()/pin.wall.Seconds()
				t.Logf("adaptive %v (eff %.3f), 429s %d, learned %s %v; pinned %v (eff %.3f), 429s %d",
					ad.wall, effA, ad.throttled, ad.stats.LearnedModel, ad.stats.LearnedWindow, pin.wall, effP, pin.throttled)
				if ad.delivered != tc.rows || pin.delivered != tc.rows {
					t.Fatalf("delivered %d and %d of %d", ad.delivered, pin.delivered, tc.rows)
				}
				if ad.stats.LearnedModel != ModelFixedWindow || ad.stats.LearnedWindow < tc.window || ad.stats.LearnedWindow > tc.longest {
					t.Errorf("learned %s of %v, want a fixed window of %v to %v", ad.stats.LearnedModel, ad.stats.LearnedWindow, tc.window, tc.longest)
				}
				if effA < tc.adaptive || ad.throttled > tc.most {
					t.Errorf("adaptive efficiency %.3f with %d 429s, want at least %.2f with at most %d", effA, ad.throttled, tc.adaptive, tc.most)
				}
				if effP < tc.pinned || pin.throttled > 0 {
					t.Errorf("pinned efficiency %.3f with %d 429s, want at least %.2f with none", effP, pin.throttled, tc.pinned)
				}
			})
		}
	}
}
