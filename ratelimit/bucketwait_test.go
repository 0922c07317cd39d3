package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

// TestBucketRefillNotOverStatedWait runs Flask-Limiter's moving window of 2
// per minute (a log whose refusals state a wait of up to a minute) for 12
// rows with 2 and 8 workers. Its counter hands back one request at a time
// as each ages out of the log, which was read as a bucket's refill: 793/s
// with 2 workers, 29600/s with 8, and the pinned --rate drew 7-9 and 21-25
// 429s where the adaptive runs drew 5 and 13. A bucket refuses when it
// holds less than one, and states the time its next takes: the longest
// wait stated, less a second of rounding, is an interval at most, so what
// is learned as a bucket is no faster than that, and the pinned flags are
// refused no more than the adaptive run.
func TestBucketRefillNotOverStatedWait(t *testing.T) {
	for _, conc := range []int{2, 8} {
		for seed := uint64(1); seed <= 2; seed++ {
			t.Run(fmt.Sprintf("%d workers, seed %d", conc, seed), func(t *testing.T) {
				run := func(cfg Config) simResult {
					return simRunSeeded(&simFlaskMoving{limit: 2, window: time.Minute}, cfg, conc, 12, seed, 100*time.Hour, true)
				}
				ad, pin, cfg := learnThenPin(t, run)
				t.Logf("adaptive: 429s %d, learned %s %.4g/s burst %d; pinned %v burst %d fixed %v: 429s %d, %v",
					ad.throttled, ad.stats.LearnedModel, ad.stats.LearnedRate, ad.stats.LearnedBurst, cfg.Rate, cfg.Burst, cfg.FixedWindow, pin.throttled, pin.wall)
				if ad.stats.LearnedModel == ModelBucket && ad.stats.LearnedRate > 1/59.0 {
					t.Errorf("learned a bucket refilling at %.4g/s, faster than one per the longest wait stated (60s) less a second", ad.stats.LearnedRate)
				}
				if pin.delivered < 12 {
					t.Errorf("pinned: %d of 12 rows", pin.delivered)
				}
				if pin.throttled > ad.throttled {
					t.Errorf("pinned: %d 429s, adaptive %d", pin.throttled, ad.throttled)
				}
			})
		}
	}
}

// TestBucketInDebtKeepsWaitBound: a bucket of 50 at 0.4/s that counts its
// refusals goes into debt, and its Retry-After grows (up to 27s). Over a
// long run it takes more than its burst plus the bound its longest wait
// puts on it; read as a window's wait for that (bucketWaitCap), it was
// bounded at its quota less one per 27s and pinned at 1.45/s, which drew
// 129 429s where the adaptive run drew none (a reviewer's case). Only a
// wait stated the same every time is read so.
func TestBucketInDebtKeepsWaitBound(t *testing.T) {
	run := func(cfg Config) simResult {
		return simRunSeeded(&simBucket{burst: 50, rate: 0.4, countRefused: true, style: styleRetryAfter}, cfg, 8, 200, 3, 100*time.Hour, true)
	}
	ad, pin, cfg := learnThenPin(t, run)
	t.Logf("adaptive: 429s %d, learned %s %.4g/s burst %d; pinned %v burst %d: 429s %d, %v",
		ad.throttled, ad.stats.LearnedModel, ad.stats.LearnedRate, ad.stats.LearnedBurst, cfg.Rate, cfg.Burst, pin.throttled, pin.wall)
	if pin.throttled > ad.throttled {
		t.Errorf("pinned: %d 429s, adaptive %d", pin.throttled, ad.throttled)
	}
	if r := cfg.Rate.PerSecond(); r > 0.4 {
		t.Errorf("pinned at %.3g/s, over the bucket's 0.4/s", r)
	}
}
