package ratelimit

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestBurstAnsweredOutOfOrder runs nginx's limit_req (10r/s and 50r/s,
// burst=2 and 3, nodelay, bare 429) where the first burst's earliest
// request reaches the server last, as the first of eight new connections
// often does on the real server: the refusal that makes the first sign
// was sent before the burst's accepted requests. A concurrency model on
// trial meanwhile, put aside, read those accepted requests as refilled
// since that refusal, 3 in 0.2ms: the first pace was 10000/s, and every
// pause let the whole pool go at once (57-235 429s for 60 rows by hand,
// 15-45 pauses of about six refusals each, until the segments' equation
// had 40ms of sending). Before the fix: 225-268 429s in 5 of these 16
// runs (35-39 pauses); after, 8-13 in every one.
func TestBurstAnsweredOutOfOrder(t *testing.T) {
	for _, c := range []struct{ rate, burst int64 }{{10, 2}, {50, 3}} {
		for seed := uint64(1); seed <= 8; seed++ {
			t.Run(fmt.Sprintf("nginx %dr/s burst=%d seed %d", c.rate, c.burst, seed), func(t *testing.T) {
				clk := &simClock{now: simEpoch}
				rnd := rand.New(rand.NewPCG(seed, 2))
				l := New(Config{Adaptive: true, InFlight: simWorkers, Clock: clk, Rand: rnd.Float64})
				s := &simulation{l: l, clk: clk, srv: &simNginx{rate: c.rate, burst: c.burst}, left: 60,
					ws: make([]simWorker, simWorkers), rnd: rand.New(rand.NewPCG(seed, 11)), stagger: 50 * time.Microsecond, dialFirst: 150 * time.Microsecond, backend: 500 * time.Microsecond}
				res := s.run(60)
				t.Logf("429s %d of %d, %d pauses, learned %.1f/s", res.throttled, res.requests, res.stats.Pauses, res.stats.LearnedRate)
				if res.throttled > 20 {
					t.Errorf("%d 429s for 60 rows, want at most 20", res.throttled)
				}
			})
		}
	}
}
