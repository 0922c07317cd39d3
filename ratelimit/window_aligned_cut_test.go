package ratelimit

import (
	"testing"
	"time"
)

// TestWindowAlignedClaimCut: a fixed window aligned on the clock whose
// headers name the seconds left, rounded up (express-rate-limit's
// draft-6 RateLimit-Reset), 100 per 1s, its windows starting .333 past
// each second, 200 rows through 8 workers from .600: the first window,
// begun before the run, ends 0.733s into it, is found at 0.75s and its
// end taken for the length. The second,
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

// TestWindowAlignedCapHoldsPause: refusals that come during a pause
// alignedWait cut to the window's claimed end (requests in flight with
// the one that showed the window aligned) are held to that end, not
// their whole-second Retry-After; after it, and where the claim lay past
// the server's wait, the wait stands.
func TestWindowAlignedCapHoldsPause(t *testing.T) {
	ms := time.Millisecond
	now := simEpoch
	w := &windowModel{alignedEnd: now.Add(200 * ms)}
	if got := w.alignedWait(now, time.Second); got != 200*ms {
		t.Errorf("cut wait %v, want 200ms", got)
	}
	if got := w.alignedCap(now.Add(50*ms), time.Second); got != 150*ms {
		t.Errorf("a refusal during the pause waits %v, want 150ms", got)
	}
	if got := w.alignedCap(now.Add(300*ms), time.Second); got != time.Second {
		t.Errorf("a refusal after the pause waits %v, want the server's 1s", got)
	}
	w.alignedEnd = now.Add(2 * time.Second)
	if got := w.alignedWait(now, time.Second); got != time.Second {
		t.Errorf("a claim past the wait: %v, want 1s", got)
	}
	if got := w.alignedCap(now.Add(10*ms), time.Second); got != time.Second {
		t.Errorf("no cut, a refusal during the pause waits %v, want 1s", got)
	}
	w.alignedEnd = now.Add(-ms)
	if got := w.alignedWait(now, time.Second); got != time.Second {
		t.Errorf("an end already past: %v, want 1s", got)
	}
}
