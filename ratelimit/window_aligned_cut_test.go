package ratelimit

import (
	"testing"
	"time"
)

// TestWindowAlignedClaimCut: a fixed window aligned on the clock whose
// headers name the seconds left, rounded up (express-rate-limit's
// draft-6 RateLimit-Reset), 100 per 1s, 200 rows through 8 workers from
// .600 in the second: the first window, begun before the run, is cut
// short, its end found at 0.75s and taken for the length. The second,
// timed so, ended before the server's did: its next window's first
// request was refused, which showed the window on the clock and its
// length unbounded, and the pool waited the refusal's whole-second
// Retry-After, up to a second past the end the window's own first answer
// had claimed. 3 seeds of 10 so took 2.5s (one window's length more than
// the rest, 1.02s). The pool now waits to that claimed end: 1.76s.
func TestWindowAlignedClaimCut(t *testing.T) {
	startSimAt(t, 600*time.Millisecond)
	const rows = 200
	for seed := uint64(1); seed <= 10; seed++ {
		res := simRunSeeded(&simFixed{limit: 100, window: time.Second, aligned: true, phase: time.Second / 3, style: styleExpress},
			Config{Adaptive: true}, 8, rows, seed, time.Hour, true)
		if res.delivered != rows {
			t.Fatalf("seed %d: %d of %d rows delivered", seed, res.delivered, rows)
		}
		if res.wall > 2*time.Second {
			t.Errorf("seed %d: %d rows took %v (%d 429s), want at most 2s", seed, rows, res.wall.Round(time.Millisecond), res.throttled)
		}
	}
}
