package ratelimit

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestBurstHeldToCounter checks the opening of a pool given with
// --concurrency N wider than a fixed window's quota: the whole pool goes
// at once, the counter (held from the counter models as a concurrency
// limit's free slots) counts down to 0, and no request may leave while
// the requests still in flight are as many as the least any answer of
// the burst said remained, until the burst's first refusal is read. Before burstHeld
// each accepted answer of the burst let its worker send its next row into
// the spent window (8 more 429s of 16 sent against 10, on a window of 10
// per second with 16 workers).
func TestBurstHeldToCounter(t *testing.T) {
	for _, c := range []struct {
		style string
		l     int
		pool  int
	}{{styleExpress, 10, 16}, {styleFastify, 20, 32}, {styleFlexible, 10, 16}, {styleLegacy, 3, 8}} {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%s %d per 1s, --concurrency %d, seed %d", c.style, c.l, c.pool, seed), func(t *testing.T) {
				clk := &simClock{now: simEpoch}
				rnd := rand.New(rand.NewPCG(seed, 2))
				l := New(Config{Adaptive: true, InFlight: c.pool, InFlightPinned: true, Clock: clk, Rand: rnd.Float64})
				srv := &simFixed{limit: c.l, window: time.Second, phase: time.Second / 3, countRefused: true, style: c.style}
				s := &simulation{l: l, clk: clk, srv: srv, left: 100, ws: make([]simWorker, c.pool),
					rnd: rand.New(rand.NewPCG(seed, 11)), until: 10 * time.Minute}
				extra := 0
				s.onSend = func(int) {
					if s.requests >= c.pool && l.fl.firstRefused.IsZero() {
						extra++
					}
				}
				res := s.run(100)
				if s.delivered != 100 {
					t.Fatalf("%d of 100 delivered", s.delivered)
				}
				if extra > 0 {
					t.Errorf("%d requests sent after the opening burst before its first refusal was read (%d 429s of %d)", extra, res.throttled, res.requests)
				}
			})
		}
	}
}
