package ratelimit

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestWindowColdNoSpill runs the adaptive rate against fixed windows of
// 50 per 500ms from the first request whose reset claims are waits in
// whole seconds, rounded up (express-rate-limit's RateLimit t=1 and
// draft-6 RateLimit-Reset, @fastify/rate-limit's x-ratelimit-reset) for
// 400 rows, eight windows exactly, on a lightly loaded machine. In the first window, before any reset was seen, the requests
// held back to time its end were spread up to the claim, a second after
// the window's start: the last of them landed past the window's end and
// was counted in the next, which left the first window a request short
// and took a ninth window for the last row (every one of the 18 runs;
// 0.75-0.81 of the ideal here, 0.76-0.80 on the real express-rate-limit).
// Now it goes with the others and one request beyond the quota tries
// where it went. It counts the runs that took a ninth window: 6 of 18
// remain, two workers, where the second window's bounds are still a
// factor of two apart and its requests held back to bisect them land
// past its end. (Claims of a Unix second or a date are left as they were:
// go-chi/httprate's sliding windows state them too, and a refusal there
// read as the split's hid what tells them from a fixed window.)
func TestWindowColdNoSpill(t *testing.T) {
	const rows, quota, runs = 400, 50, 18
	spilled := 0
	for _, style := range []string{styleExpress, styleDraft6, styleFastify} {
		for _, workers := range []int{2, 8} {
			for seed := uint64(1); seed <= 3; seed++ {
				clk := &simClock{now: simEpoch}
				rnd := rand.New(rand.NewPCG(seed, 2))
				l := New(Config{Adaptive: true, InFlight: workers, Clock: clk, Rand: rnd.Float64})
				srv := &windowCounter{simFixed: &simFixed{limit: quota, window: 500 * time.Millisecond, countRefused: true, style: style}}
				s := &simulation{l: l, clk: clk, srv: srv, left: rows, ws: make([]simWorker, workers),
					rnd: rand.New(rand.NewPCG(seed, 11)), lateWake: 3 * time.Millisecond, stall: 0.1, stallMax: 20 * time.Millisecond, until: 5 * time.Minute}
				res := s.run(rows)
				if res.stats.LearnedModel != ModelFixedWindow {
					t.Fatalf("%s, %d workers, seed %d: learned %q, want a fixed window", style, workers, seed, res.stats.LearnedModel)
				}
				if srv.windows > rows/quota {
					spilled++
					t.Logf("%s, %d workers, seed %d: %d windows (wall %v, %d 429s)", style, workers, seed, srv.windows, res.wall, res.throttled)
				}
			}
		}
	}
	if spilled > 6 {
		t.Errorf("%d of %d runs took a window more than their rows need, want at most 6", spilled, runs)
	}
}
