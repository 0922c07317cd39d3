package ratelimit

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestBucketOfOneHeldOnItsWay runs nginx's limit_req without a burst
// (exact arithmetic, 100r/s) on a busy machine, timers up to 1ms late and
// one request in ten held up to 2ms on its way, adaptively and then with
// the flags the summary suggests. A request held on its way arrives late,
// and nginx counts the next interval from then: the next one, leaving an
// interval after the held one left, was refused whatever the pace, and
// the refusals held the pace under the rate (adaptive 0.77-0.81 with
// 11-13 429s, 86-91/s learned; pinned 0.82-0.86 with 1-4 429s). The held
// request's answer comes late too, long before the next leaves: the
// strict schedule counts it as having left as much later as its round
// trip was longer than the usual (pacer.answered). It FAILED before.
func TestBucketOfOneHeldOnItsWay(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		run := func(cfg Config) simResult {
			clk := &simClock{now: simEpoch}
			rnd := rand.New(rand.NewPCG(seed, 2))
			cfg.Clock, cfg.Rand, cfg.InFlight = clk, rnd.Float64, simWorkers
			s := &simulation{l: New(cfg), clk: clk, srv: &simNginx{rate: 100}, left: simRows, ws: make([]simWorker, simWorkers),
				rnd: rand.New(rand.NewPCG(seed, 11)), lateWake: time.Millisecond, transit: 2 * time.Millisecond}
			return s.run(simRows)
		}
		ad := run(Config{Adaptive: true, InFlightPinned: true})
		cfg, ok := ad.stats.Pinned()
		if !ok {
			t.Fatalf("seed %d: nothing learned", seed)
		}
		pin := run(cfg)
		ideal := idealBucket(1, 100).Seconds()
		eff, pinEff := ideal/ad.wall.Seconds(), ideal/pin.wall.Seconds()
		share := float64(ad.throttled) / float64(ad.requests)
		t.Logf("seed %d: adaptive eff %.2f, 429s %d (%.1f%%), learned %.1f/s; pinned %v: eff %.2f, 429s %d",
			seed, eff, ad.throttled, 100*share, ad.stats.LearnedRate, cfg.Rate, pinEff, pin.throttled)
		if eff < 0.84 || share > 0.03 {
			t.Errorf("seed %d: adaptive efficiency %.2f with %.1f%% 429s, want at least 0.84 with at most 3%%", seed, eff, 100*share)
		}
		// The pinned --burst 1 kept half an interval until its first
		// refusal (pacer.tight): one late timer cost that one (0.93-0.95
		// with 1 429 each seed). It FAILED so. --burst 1 now holds the
		// schedule tight from the first request.
		if pinEff < 0.92 || pin.throttled > 0 {
			t.Errorf("seed %d: pinned efficiency %.2f with %d 429s, want at least 0.92 with none", seed, pinEff, pin.throttled)
		}
	}
}

// TestBucketOfOneStalledAtFirstGuess: nginx without a burst on a machine
// where one request or answer in ten waits up to 20ms for a CPU. A
// request held on its way was refused while the pace was still the first
// guess (10/s), and the search, gentle near the pace a refusal came at,
// crept from there at 1% a second: 0.12 of the ideal time, 14/s learned
// (one real run of six at load 3-4 did the same: 33.9s, 14.1/s). Until a
// refusal measured the rate, the search stays brisk. It FAILED before.
func TestBucketOfOneStalledAtFirstGuess(t *testing.T) {
	clk := &simClock{now: simEpoch}
	rnd := rand.New(rand.NewPCG(2, 2))
	l := New(Config{Adaptive: true, InFlight: simWorkers, InFlightPinned: true, Clock: clk, Rand: rnd.Float64})
	s := &simulation{l: l, clk: clk, srv: &simNginx{rate: 100}, left: simRows, ws: make([]simWorker, simWorkers),
		rnd: rand.New(rand.NewPCG(2, 11)), lateWake: time.Millisecond, stall: 0.1, stallMax: 20 * time.Millisecond}
	res := s.run(simRows)
	eff := idealBucket(1, 100).Seconds() / res.wall.Seconds()
	t.Logf("eff %.2f, 429s %d, learned %.1f/s", eff, res.throttled, res.stats.LearnedRate)
	if eff < 0.6 || res.stats.LearnedRate < 80 {
		t.Errorf("efficiency %.2f, learned %.1f/s, want at least 0.6 and 80/s", eff, res.stats.LearnedRate)
	}
}

// TestBucketOfOnePinnedNewConnections runs the flags pinned for nginx's
// limit_req without a burst (--rate 97/s --burst 1) against it at 100r/s
// on a machine where each worker's first request goes out on a new
// connection and is held up to 3ms longer on its way, one more than
// another. A request held so arrives late and the next, an interval
// after it left, too soon. The answers to those first requests pushed
// the schedule by their round trip over the median of the few known, all
// of them held: little or nothing, and the real nginx-noburst pinned drew
// one 429 among its first ten requests in most runs. It FAILED so (2-3
// 429s each seed). Until pacerRTTs round trips are known, the push is
// over the shortest before (pacer.answered): 0-1, the one where a
// request's successor was held less than the shortest before it, which
// was dialled too.
func TestBucketOfOnePinnedNewConnections(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		clk := &simClock{now: simEpoch}
		rnd := rand.New(rand.NewPCG(seed, 2))
		cfg := Config{Rate: Rate{Count: 97, Per: time.Second}, Burst: 1, InFlight: simWorkers, Clock: clk, Rand: rnd.Float64}
		s := &simulation{l: New(cfg), clk: clk, srv: &simNginx{rate: 100}, left: simRows, ws: make([]simWorker, simWorkers),
			rnd: rand.New(rand.NewPCG(seed, 11)), dialEach: 3 * time.Millisecond}
		res := s.run(simRows)
		eff := idealBucket(1, 100).Seconds() / res.wall.Seconds()
		t.Logf("seed %d: eff %.3f, 429s %d", seed, eff, res.throttled)
		if res.throttled > 1 || eff < 0.95 {
			t.Errorf("seed %d: efficiency %.3f with %d 429s, want at least 0.95 with at most 1", seed, eff, res.throttled)
		}
	}
}
