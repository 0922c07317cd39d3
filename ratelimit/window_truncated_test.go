package ratelimit

import (
	"testing"
	"time"
)

// TestWindowTruncatedClaimPassed: sethvargo/go-limiter at 10 per 2s,
// whose reset (and Retry-After) is a date truncated to the second, 45
// rows through 8 workers, started late in a second. The first window's
// claimed end passed while the window was still open: the pacer searched
// a round trip or two past the claim, each opener refused with a wait
// already passed, and the fifth refusal in a row gave the window model
// up (windowBlind), the pool then refused whole: 12-18 429s a run at
// .890, 13-16 at .950 (a real run: 40 of 85 requests). The end of a claim
// truncated to the second lies within the second after it: waited out,
// 4-6. The window found so began up to that second before its opener:
// the length measured from the next opener (1.76s) pinned over the
// rate, 9-15 429s, until the grid's bound held it (windowModel.learned).
func TestWindowTruncatedClaimPassed(t *testing.T) {
	for _, start := range []time.Duration{890 * time.Millisecond, 950 * time.Millisecond} {
		t.Run(start.String(), func(t *testing.T) {
			startSimAt(t, start)
			for seed := uint64(1); seed <= 3; seed++ {
				res := simRunSeeded(&simGoLimiter{limit: 10, window: 2 * time.Second}, Config{Adaptive: true}, 8, 45, seed, time.Hour, true)
				if res.delivered != 45 {
					t.Fatalf("seed %d: %d of 45 rows delivered", seed, res.delivered)
				}
				if res.throttled > 7 {
					t.Errorf("seed %d: %d 429s, want at most 7", seed, res.throttled)
				}
				pin, ok := res.stats.Pinned()
				if !ok {
					t.Fatalf("seed %d: no flags to pin (learned %s)", seed, res.stats.LearnedModel)
				}
				pr := simRunSeeded(&simGoLimiter{limit: 10, window: 2 * time.Second}, pin, 8, 45, seed, time.Hour, true)
				if pr.throttled > res.throttled {
					t.Errorf("seed %d: pinned %v drew %d 429s, adaptive %d", seed, pin.Rate, pr.throttled, res.throttled)
				}
			}
		})
	}
}
