package ratelimit

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestZeroWaitRefusalsLowerThePace runs HAProxy's counter (50 per 500ms,
// from the first request, refused requests counted) with go-chi/httprate's
// headers, whose 429s say Retry-After: 0 under a second, at 16 workers.
// The fixed-window model, refuted twice, handed the pool to a bucket at
// the average of the opening's 0.1s (471/s); every refusal after that
// said a wait of 0 with nothing accepted, so nothing was measured and the
// pace stayed at 457/s: only the pacer's leaked debt held the pool back
// (with the waiters' places kept, seeds 2, 5 and 8 drew 820k 429s). After
// three refusals in a row of requests sent once the refusal before was
// read, none accepted meanwhile, each asking no wait, the pace may be no
// more than the server accepted since the first request, per second. It
// FAILED before zeroWait (seeds 2, 5, 8: 5.6-6.0 times over it). The
// harm the rule may do is in TestZeroWaitNotOnce.
func TestZeroWaitRefusalsLowerThePace(t *testing.T) {
	const (
		limit, window = 50, 500 * time.Millisecond
		conc          = 16
		inRow         = 3
	)
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			clk := &simClock{now: simEpoch}
			l := New(Config{Adaptive: true, InFlight: conc, Clock: clk, Rand: rand.New(rand.NewPCG(seed, 2)).Float64})
			s := &simulation{l: l, clk: clk, srv: &simSliding{limit: limit, window: window, haproxy: true, countRefused: true, style: styleHTTPRate},
				left: simRows, ws: make([]simWorker, conc), rnd: rand.New(rand.NewPCG(seed, 11)), until: 5 * time.Minute,
				lateWake: 2 * time.Millisecond, stall: 0.05, stallMax: 10 * time.Millisecond}
			var first, taken, read time.Time
			accepted, row, worst := 0, 0, 0.0
			var at time.Duration
			s.onAnswer = func(sent, now time.Time, ok bool, wait time.Duration) {
				if ok {
					accepted++
					if first.IsZero() || sent.Before(first) {
						first = sent
					}
					if sent.After(taken) {
						taken = sent
					}
					return
				}
				if !read.IsZero() && sent.After(read) && !taken.After(read) && wait == 0 {
					row++
				} else {
					row = 0
				}
				read = now
				if row < inRow || accepted == 0 {
					return
				}
				proven := float64(accepted) / now.Sub(first).Seconds()
				if r := float64(l.lim.Limit()) / proven; r > worst {
					worst, at = r, now.Sub(simEpoch)
				}
			}
			res := s.run(simRows)
			if s.delivered != simRows {
				t.Errorf("%d of %d delivered", s.delivered, simRows)
			}
			if worst > 1.01 {
				t.Errorf("after %d refusals in a row asking no wait, nothing accepted, the pace stood %.1f times over what the server accepted per second since the first request (at %v); %d 429s",
					inRow, worst, at, res.throttled)
			}
		})
	}
}

// TestZeroWaitNotOnce runs go-chi/httprate's 15 per 150ms (its counter,
// and a log with its headers) under --concurrency 32, where the pacer's
// debt holds the pool for most of a second after the opening, and the
// first requests after that pause are refused with a wait of 0 while the
// counter still holds the burst before it. Lowered there, at the first
// such refusal, to the accepted rate since the first request (the idle
// time counted), the pace fell to 28/s and the run took half again as
// long. It FAILED with the pace lowered at one such refusal, not two in a
// row (zeroWaitRow): 0.34, 0.18 and 0.28.
func TestZeroWaitNotOnce(t *testing.T) {
	for _, tc := range []struct {
		counter bool
		seed    uint64
		min     float64
	}{
		{true, 2, 0.45},
		{true, 4, 0.24},
		{false, 6, 0.45},
	} {
		t.Run(fmt.Sprintf("counter %v seed %d", tc.counter, tc.seed), func(t *testing.T) {
			const conc = 32
			clk := &simClock{now: simEpoch}
			l := New(Config{Adaptive: true, InFlight: conc, InFlightPinned: true, Clock: clk, Rand: rand.New(rand.NewPCG(tc.seed, 2)).Float64})
			srv := &simSliding{limit: 15, window: 150 * time.Millisecond, style: styleHTTPRate}
			if tc.counter {
				srv.counter, srv.phase = true, 75*time.Millisecond
			}
			s := &simulation{l: l, clk: clk, srv: srv, left: simRows, ws: make([]simWorker, conc), rnd: rand.New(rand.NewPCG(tc.seed, 11)),
				until: 30 * time.Minute, lateWake: 2 * time.Millisecond, stall: 0.05, stallMax: 10 * time.Millisecond}
			res := s.run(simRows)
			eff := idealSliding(15, 150*time.Millisecond).Seconds() / res.wall.Seconds()
			if s.delivered != simRows || eff < tc.min {
				t.Errorf("%d of %d delivered, efficiency %.2f, want at least %.2f (%d 429s, learned %.1f/s)",
					s.delivered, simRows, eff, tc.min, res.throttled, res.stats.LearnedRate)
			}
		})
	}
}
