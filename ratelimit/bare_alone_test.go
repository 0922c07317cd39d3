package ratelimit

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestBareProbesAlone: while the bare-window model probes for the
// window's length, one request at a time goes, the probe, even where the
// concurrency model's trial was lost (its opener refused) and its rest
// waits to measure the refill. HAProxy answers its refusals at once and
// the requests it takes after its backend, so the first burst's refusals
// fit a concurrency limit of four, the trial's opener was refused in the
// pause, and the rest went together at the pause's end, the first
// probe's time: four 429s from a window that refuses them all.
func TestBareProbesAlone(t *testing.T) {
	for _, c := range []struct {
		l      int
		window time.Duration
	}{{20, 2 * time.Second}, {20, time.Second}, {20, 500 * time.Millisecond}, {10, time.Second}} {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("HAProxy %d per %v, seed %d", c.l, c.window, seed), func(t *testing.T) {
				clk := &simClock{now: simEpoch}
				rnd := rand.New(rand.NewPCG(seed, 2))
				l := New(Config{Adaptive: true, InFlight: 8, Clock: clk, Rand: rnd.Float64})
				srv := &simSliding{limit: c.l, window: c.window, haproxy: true, countRefused: true, style: styleBare}
				s := &simulation{l: l, clk: clk, srv: srv, left: 100, ws: make([]simWorker, 8),
					rnd: rand.New(rand.NewPCG(seed, 11)), until: 10 * time.Minute, backend: time.Millisecond}
				probing, together := 0, 0
				s.onSend = func(int) {
					a := l.adapt
					if !a.bareProbing() {
						return
					}
					probing++
					for _, sent := range l.fl.open {
						if !sent.Before(a.bare.began) {
							together++
						}
					}
				}
				res := s.run(100)
				if probing == 0 {
					t.Fatalf("the bare-window model never probed: %+v", res.stats)
				}
				if together > 0 {
					t.Errorf("%d probes sent with another probe in flight (%d sent while probing; %d 429s of %d)", together, probing, res.throttled, res.requests)
				}
			})
		}
	}
}
