package ratelimit

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestBareCounterNotFixed runs HAProxy's counter (periods from the first
// request, the previous one weighed, refused requests counted) bare, at 5
// per 1s, behind a 100ms path or a 5ms backend, then the flags the summary
// suggests. Its answers after the first ride were explained by the
// counter at about 1s and by a fixed window of twice that or more, and
// the fixed window took over: paced at 5 per 1.9-2.4s, which the counter
// never refuses, it was learned and pinned so (0.42-0.51 of the ideal).
// It FAILED before a fixed window more than bareFixedFar times the fit's
// shortest window rode again, where a counter explains the answers too.
func TestBareCounterNotFixed(t *testing.T) {
	const ms = time.Millisecond
	for _, tc := range []struct {
		wire, backend time.Duration
		conc          int
		seed          uint64
		minEff        float64
	}{
		{100 * ms, 0, 8, 1, 0.85},
		{100 * ms, 0, 2, 1, 0.75},
		{100 * ms, 0, 16, 1, 0.65},
		{0, 5 * ms, 2, 1, 0.8},
	} {
		t.Run(fmt.Sprintf("wire %v, backend %v, %d workers, seed %d", tc.wire, tc.backend, tc.conc, tc.seed), func(t *testing.T) {
			const limit, window = 5, time.Second
			run := func(cfg Config) simResult {
				clk := &simClock{now: simEpoch}
				cfg.Clock, cfg.Rand, cfg.InFlight = clk, rand.New(rand.NewPCG(tc.seed, 2)).Float64, tc.conc
				s := &simulation{l: New(cfg), clk: clk, srv: &simSliding{limit: limit, window: window, haproxy: true, countRefused: true, style: styleBare},
					left: simRows, ws: make([]simWorker, tc.conc), rnd: rand.New(rand.NewPCG(tc.seed, 11)), until: 30 * time.Minute,
					lateWake: 2 * ms, stall: 0.05, stallMax: 10 * ms, wire: tc.wire, backend: tc.backend}
				return s.run(simRows)
			}
			ad := run(Config{Adaptive: true})
			st := ad.stats
			ideal := idealSliding(limit, window).Seconds()
			eff := ideal / ad.wall.Seconds()
			cfg, ok := st.Pinned()
			if !ok {
				t.Fatalf("nothing learned: %+v", st)
			}
			pin := run(cfg)
			pinEff := ideal / pin.wall.Seconds()
			t.Logf("adaptive eff %.2f, 429s %d, learned %s %d per %v at %.2f/s; pinned %v fixed %v: eff %.2f, 429s %d",
				eff, ad.throttled, st.LearnedModel, st.LearnedBurst, st.LearnedWindow, st.LearnedRate, cfg.Rate, cfg.FixedWindow, pinEff, pin.throttled)
			if st.LearnedModel != ModelSlidingWindow {
				t.Errorf("learned a %s, want a sliding window", st.LearnedModel)
			}
			if eff < tc.minEff {
				t.Errorf("adaptive efficiency %.2f, want at least %.2f", eff, tc.minEff)
			}
			if pinEff < tc.minEff || pin.throttled > ad.throttled {
				t.Errorf("pinned efficiency %.2f with %d 429s (adaptive %d), want at least %.2f with no more", pinEff, pin.throttled, ad.throttled, tc.minEff)
			}
		})
	}
}
