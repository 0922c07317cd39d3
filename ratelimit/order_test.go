package ratelimit

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestBucketAnswersOutOfOrder: a token bucket with RateLimit-Limit/
// -Remaining/-Reset and a fractional Retry-After, a pool wider than its
// burst. Answers of requests in flight together come back in any order:
// one the server took later read first is no fixed window's reset, and a
// window model started from such a pair that never finds its length is
// given up. Before: a bucket of 6 at 50/s drew 775-837 429s for 200 rows
// and learned nothing; a bucket of 4 at 10/s, its counter whole across an
// idle spell, 473 and 132.
func TestBucketAnswersOutOfOrder(t *testing.T) {
	for _, c := range []struct {
		burst, rate float64
		conc        int
		stall       float64
		seed        uint64
		most        int
	}{
		{6, 50, 16, 0, 1, 100}, {6, 50, 32, 0, 1, 100}, {6, 50, 16, 0.2, 2, 100}, {6, 20, 16, 0.2, 2, 100},
		{4, 10, 16, 0, 2, 80}, {4, 10, 16, 0.2, 1, 80},
	} {
		t.Run(fmt.Sprintf("b%v %v/s c%d stall %v seed %d", c.burst, c.rate, c.conc, c.stall, c.seed), func(t *testing.T) {
			clk := &simClock{now: simEpoch.Add(time.Duration(c.seed) * 37 * time.Millisecond)}
			rnd := rand.New(rand.NewPCG(c.seed, 2))
			l := New(Config{Adaptive: true, InFlight: c.conc, Clock: clk, Rand: rnd.Float64})
			s := &simulation{l: l, clk: clk, srv: &simBucket{burst: c.burst, rate: c.rate, style: styleCounters}, left: 200, ws: make([]simWorker, c.conc),
				rnd: rand.New(rand.NewPCG(c.seed, 11)), stall: c.stall, stallMax: 20 * time.Millisecond, until: time.Hour}
			res := s.run(200)
			st := res.stats
			t.Logf("%v, %d 429s of %d requests, learned %q b%d %.2f/s", res.wall.Round(time.Millisecond), res.throttled, res.requests, st.LearnedModel, st.LearnedBurst, st.LearnedRate)
			if res.requests-res.throttled != 200 {
				t.Errorf("%d of 200 rows accepted", res.requests-res.throttled)
			}
			if st.LearnedModel != ModelBucket || math.Abs(st.LearnedRate-c.rate) > 0.1*c.rate {
				t.Errorf("a bucket of %v at %v/s: learned %q at %.2f/s", c.burst, c.rate, st.LearnedModel, st.LearnedRate)
			}
			if res.throttled > c.most {
				t.Errorf("%d 429s for 200 rows, want at most %d", res.throttled, c.most)
			}
		})
	}
}
