package ratelimit

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestAdaptiveWindowClaim runs the adaptive rate against fixed windows
// from the first request whose policy header states the window's length
// (RateLimit-Policy w=, whole seconds), truly or not, and without one, for
// a number of rows that is a multiple of the quota: every window must then
// carry its whole quota, or the last rows spill into a window of their
// own. It checks the window learned (never short, within 5% when the
// claim is true) and the efficiency, warm and on a cold, jittery server.
func TestAdaptiveWindowClaim(t *testing.T) {
	tests := []struct {
		name   string
		limit  int
		window time.Duration
		style  string
		// minEff is the least efficiency, warm and cold; exact asks for
		// the stated window as the learned one; over is how much longer
		// than the server's the learned window may be, in percent (5
		// when 0), overCold the same on a cold server (over when 0).
		minEff, minCold float64
		exact           bool
		over, overCold  int
	}{
		{"100/1s, w=1 true", 100, time.Second, styleExpress, 0.97, 0.92, true, 0, 0},
		{"15/150ms, w=1 rounded up", 15, 150 * time.Millisecond, styleExpress, 0.92, 0.88, false, 0, 0},
		{"70/700ms, w=1 rounded up", 70, 700 * time.Millisecond, styleExpress, 0.95, 0.85, false, 0, 0},
		// No stated window, only X-RateLimit-Reset in Unix seconds
		// rounded up. Read against the Date header it claims the
		// first window ends a second late; the probe at that claim
		// found it, and the next window bisected from there learned
		// it 8% long (0.58, cold 0.66). The rounded-up reading, tried
		// first, finds the end at once; on a cold server the window
		// is timed from its first answer, 127ms late: 13% long before
		// the next window's first request was tried early
		// (windowPacer.try), 6% since.
		{"100/1s, no policy header", 100, time.Second, styleLegacy, 0.95, 0.85, false, 0, 13},
		{"100/2s, no policy header", 100, 2 * time.Second, styleLegacy, 0.95, 0.9, false, 0, 7},
	}
	for _, tc := range tests {
		for _, cold := range []bool{false, true} {
			name := tc.name
			if cold {
				name += ", cold start"
			}
			t.Run(name, func(t *testing.T) {
				clk := &simClock{now: simEpoch}
				rnd := rand.New(rand.NewPCG(1, 2))
				l := New(Config{Adaptive: true, InFlight: simWorkers, Clock: clk, Rand: rnd.Float64})
				srv := &simFixed{limit: tc.limit, window: tc.window, countRefused: true, style: tc.style}
				res := simRun(l, clk, srv, simRows, simWorkers, 1, cold)
				ideal := idealFixed(tc.limit, tc.window)
				eff := ideal.Seconds() / res.wall.Seconds()
				st := res.stats
				t.Logf("eff %.2f (%.2fs, ideal %.2fs), 429s %d; learned %s %d per %v", eff, res.wall.Seconds(), ideal.Seconds(), res.throttled, st.LearnedModel, st.LearnedBurst, st.LearnedWindow)
				if st.LearnedModel != ModelFixedWindow {
					t.Fatalf("learned model %q, want %q", st.LearnedModel, ModelFixedWindow)
				}
				if st.LearnedWindow < tc.window {
					t.Errorf("learned window %v, shorter than the server's %v", st.LearnedWindow, tc.window)
				}
				if tc.exact && st.LearnedWindow != tc.window {
					t.Errorf("learned window %v, want the stated %v", st.LearnedWindow, tc.window)
				}
				over := time.Duration(max(tc.over, 5))
				if cold && tc.overCold > 0 {
					over = time.Duration(tc.overCold)
				}
				if st.LearnedWindow > tc.window*(100+over)/100 {
					t.Errorf("learned window %v, more than %d%% over the server's %v", st.LearnedWindow, over, tc.window)
				}
				minEff := tc.minEff
				if cold {
					minEff = tc.minCold
				}
				if eff < minEff {
					t.Errorf("efficiency %.2f, want at least %.2f", eff, minEff)
				}
				// At most the next window's first request, tried once
				// per window while the length is unsure
				// (windowPacer.try).
				if most := simRows/tc.limit - 1; res.throttled > most {
					t.Errorf("%d requests throttled, want at most %d (one per window's end)", res.throttled, most)
				}
			})
		}
	}
}
