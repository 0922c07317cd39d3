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

// TestBurstHeldEndsWithTheBurst checks that the hold ends once the first
// burst is answered, when no refusal comes to end it: a counter under
// the pool that the burst does not spend (a concurrency limit whose
// requests reach it spread out, a bucket refilled faster than the burst
// arrives) shows a least remaining of a few, and a pool that admits one
// request as one ends is never empty. Held until then, the pool stayed at
// 2-7 of 8-16 in flight for the whole run: 2.3-4 times the time the same
// run takes with the hold off (review 15 V1). Also with the first
// requests alone (OpeningAlone, as the CLI runs it), whose answers set
// the hold before the burst leaves (session 41).
func TestBurstHeldEndsWithTheBurst(t *testing.T) {
	for _, c := range []struct {
		name       string
		srv        func() simServer
		wire, dial time.Duration
		stagger    time.Duration
		pool       int
	}{
		{"concurrency limit 10, +40ms, dials spread 20ms", func() simServer {
			return &simConcurrency{limit: 10, work: time.Millisecond, style: styleStructured}
		}, 40 * time.Millisecond, 20 * time.Millisecond, 0, 16},
		{"bucket 10@1000/s, +40ms, dials spread 20ms", func() simServer {
			return &simBucket{burst: 10, rate: 1000, style: styleCounters}
		}, 40 * time.Millisecond, 20 * time.Millisecond, 0, 16},
		{"bucket 5@500/s, +40ms, dials spread 20ms", func() simServer {
			return &simBucket{burst: 5, rate: 500, style: styleCounters}
		}, 40 * time.Millisecond, 20 * time.Millisecond, 0, 8},
		{"bucket 5@1000/s, loopback, workers 1ms apart", func() simServer {
			return &simBucket{burst: 5, rate: 1000, style: styleCounters}
		}, 0, 0, time.Millisecond, 8},
	} {
		for seed := uint64(1); seed <= 2; seed++ {
			for _, alone := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s, --concurrency %d, seed %d, alone %v", c.name, c.pool, seed, alone), func(t *testing.T) {
					run := func(hold bool) simResult {
						clk := &simClock{now: simEpoch}
						l := New(Config{Adaptive: true, InFlight: c.pool, InFlightPinned: true, OpeningAlone: alone, Clock: clk, Rand: rand.New(rand.NewPCG(seed, 2)).Float64})
						l.burstOver = !hold
						s := &simulation{l: l, clk: clk, srv: c.srv(), left: 400, ws: make([]simWorker, c.pool),
							rnd: rand.New(rand.NewPCG(seed, 11)), until: time.Hour, wire: c.wire, dialEach: c.dial, stagger: c.stagger}
						res := s.run(400)
						if s.delivered != 400 {
							t.Fatalf("%d of 400 delivered", s.delivered)
						}
						return res
					}
					held, free := run(true), run(false)
					t.Logf("held %v (%d 429s), hold off %v (%d 429s)", held.wall.Round(time.Millisecond), held.throttled, free.wall.Round(time.Millisecond), free.throttled)
					if held.wall > free.wall*13/10 {
						t.Errorf("the run took %v held against %v with the hold off", held.wall.Round(time.Millisecond), free.wall.Round(time.Millisecond))
					}
				})
			}
		}
	}
}
