package ratelimit

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestAdaptiveBurstSentTogetherMeasured: four workers' unpaced burst into a
// bare bucket of 7 at 7/s. Sent within a millisecond or two, the burst's
// requests reach the server in any order, and four accepted ones were sent
// after the first refused one. The replay drew them from the bucket's
// refill and measured 14.2/s at the first sign; the pace came down to 7/s
// one refusal at a time over five seconds, 19 429s in all.
func TestAdaptiveBurstSentTogetherMeasured(t *testing.T) {
	const rows, workers = 60, 4
	clk := &simClock{now: simEpoch}
	l := New(Config{Adaptive: true, Clock: clk, Rand: rand.New(rand.NewPCG(1, 2)).Float64, InFlight: workers})
	s := &simulation{l: l, clk: clk, srv: &simBucket{burst: 7, rate: 7, style: styleBare}, left: rows,
		ws: make([]simWorker, workers), rnd: rand.New(rand.NewPCG(1, 11)), until: time.Hour, lateWake: 2 * time.Millisecond}
	s.stall, s.stallMax = 0.05, 10*time.Millisecond
	first := 0.0
	s.onAnswer = func(_, _ time.Time, _ bool, _ time.Duration) {
		if first == 0 && l.adapt.measured > 0 {
			first = l.adapt.measured
		}
	}
	res := s.run(rows)
	t.Logf("first measured %.1f/s; %d 429s of %d requests; learned %s %.1f/s", first, res.throttled, res.requests, res.stats.LearnedModel, res.stats.LearnedRate)
	if first == 0 || first > 7*1.15 {
		t.Errorf("first measured %.1f/s, want 7/s within 15%%", first)
	}
	if res.throttled > 14 {
		t.Errorf("%d requests throttled, want at most 14", res.throttled)
	}
}
