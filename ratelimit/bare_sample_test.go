package ratelimit

import (
	"testing"
	"time"
)

// TestBareBucketMeasuredSoon: a bucket that says nothing but 429 (nginx's
// limit_req), its burst a second of its rate. After the first burst the
// first guess, ten bursts a second, sends the pool at once at each
// pause's end, and the bucket equation waited for 40ms of sending time
// before it measured: a round trip a segment, a refusal or more each.
// A bucket of 200 at 200/s took twelve refusals to be measured, 67-108
// 429s for 400 rows (the real nginx: 50, 11%); of 100 at 100/s 25-33.
// Pauses of our own guessing now count toward the sample too, 10ms of
// each: 22-33 and 12-24 (the real nginx: 24 and 8).
func TestBareBucketMeasuredSoon(t *testing.T) {
	const rows = 400
	for _, c := range []struct {
		burst, conc, most int
	}{{100, 8, 20}, {100, 16, 28}, {200, 8, 40}, {200, 16, 40}} {
		for seed := uint64(1); seed <= 2; seed++ {
			rate := float64(c.burst)
			srv := &simBucket{burst: float64(c.burst), rate: rate, style: styleBare}
			res := simRunSeeded(srv, Config{Adaptive: true}, c.conc, rows, seed, time.Hour, true)
			eff := idealBucketN(rows, float64(c.burst), rate).Seconds() / res.wall.Seconds()
			st := res.stats
			t.Logf("bucket of %d at %.0f/s, %d workers, seed %d: eff %.2f, %d 429s, learned %s %.1f/s", c.burst, rate, c.conc, seed, eff, res.throttled, st.LearnedModel, st.LearnedRate)
			if res.delivered < rows || res.throttled > c.most || eff < 0.9 || st.LearnedModel != ModelBucket {
				t.Errorf("bucket of %d, %d workers, seed %d: %d of %d rows, %d 429s, eff %.2f, learned %s; want every row, %d 429s at most, 0.9, a bucket",
					c.burst, c.conc, seed, res.delivered, rows, res.throttled, eff, st.LearnedModel, c.most)
			}
		}
	}
}
