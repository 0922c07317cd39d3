package ratelimit

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// seenAt is send times: n at once (a microsecond apart) at from, then one
// every step from then on until until.
func seenAt(n int, from, step, until time.Duration) []seenSend {
	var out []seenSend
	for i := range n {
		out = append(out, seenSend{at: simEpoch.Add(from + time.Duration(i)*time.Microsecond)})
	}
	for d := from + step; step > 0 && d <= until; d += step {
		out = append(out, seenSend{at: simEpoch.Add(d)})
	}
	return out
}

// withLeft is seen with every answer saying left more would be taken.
func withLeft(seen []seenSend, left int) []seenSend {
	for i := range seen {
		seen[i].left = left
	}
	return seen
}

func TestPinSeen(t *testing.T) {
	cases := []struct {
		name      string
		seen      []seenSend
		size, b   int
		perSecond float64
		want      int
		wantOK    bool
	}{
		// A bucket of 10 at 10/s: its burst, then its refill, for 5s.
		{"bucket kept", seenAt(10, 0, 100*time.Millisecond, 5*time.Second), 10, 9, 9.7, 9, true},
		// A sliding window of 60 per 150ms taken for a bucket of 60 at
		// 280/s: its opening burst, then nothing until the window
		// passed, then 280/s. A burst of 59 then 272/s sends 99 in the
		// first 150ms, where no stretch that long held over 60: the
		// burst is what leaves room for 150ms of the rate.
		{"sliding burst cut", append(seenAt(60, 0, 0, 0), seenAt(1, 150*time.Millisecond, time.Second/280, 2*time.Second)...), 60, 59, 272, 60 - 40, true},
		// The refill never seen at the pinned rate: a burst of two
		// (one would change the pacing, not bound it).
		{"burst to two", seenAt(5, 0, time.Second, 10*time.Second), 5, 4, 2.8, 2, true},
		// The same, each answer saying 6 more were left: what the
		// server would have taken counts as seen.
		{"counter says more", withLeft(seenAt(5, 0, time.Second, 10*time.Second), 6), 5, 4, 2.8, 4, true},
		{"too few", seenAt(1, 0, 0, 0), 10, 9, 9.7, 9, false},
		{"no burst to bound", seenAt(10, 0, 100*time.Millisecond, time.Second), 10, 1, 9.7, 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := pinSeen(tc.seen, tc.size, tc.b, tc.perSecond)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("pinSeen = %d, %v; want %d, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// TestPinnedNoBurstNotSeen: sliding counters with headers learned as a
// bucket as large as their quota (go-chi/httprate's at 60 per 150ms or
// 500ms, 2 workers): the pinned flags' burst may not be larger
// than the adaptive run saw the server take with the rate after it. A
// sliding window gives no burst back a window after one, and pinned
// --burst 59 drew 1-23 429s where adaptive drew none. A real bucket's
// burst is kept.
func TestPinnedNoBurstNotSeen(t *testing.T) {
	cases := []struct {
		name  string
		srv   func() simServer
		stall float64
		seed  uint64
		// minBurst is the least pinned burst that passes: a real
		// bucket's, its size less pinnedSpare.
		minBurst int
	}{
		{"httprate counter 60/150ms", func() simServer {
			return &simSliding{limit: 60, window: 150 * time.Millisecond, counter: true, style: styleHTTPRate}
		}, 0, 1, 0},
		{"httprate counter 60/500ms", func() simServer {
			return &simSliding{limit: 60, window: 500 * time.Millisecond, counter: true, style: styleHTTPRate}
		}, 0, 1, 0},
		{"bucket 20 at 10/s", func() simServer {
			return &simBucket{burst: 20, rate: 10, style: styleCounters}
		}, 0, 1, 19},
	}
	const rows, conc = 400, 2
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ad, pin, cfg := adaptiveThenPinned(t, tc.srv, tc.seed, conc, rows, tc.stall)
			t.Logf("learned %s b%d %.1f/s, adaptive 429s %d; pinned %v --burst %d: 429s %d",
				ad.stats.LearnedModel, ad.stats.LearnedBurst, ad.stats.LearnedRate, ad.throttled, cfg.Rate, cfg.Burst, pin.throttled)
			if pin.throttled > ad.throttled {
				t.Errorf("pinned drew %d 429s, adaptive %d", pin.throttled, ad.throttled)
			}
			if cfg.Burst < tc.minBurst {
				t.Errorf("pinned --burst %d, want at least %d", cfg.Burst, tc.minBurst)
			}
		})
	}
}

// counted is send times every step from 0 to until, each answer saying
// left(i) was left.
func counted(step, until time.Duration, left func(i int) int) []seenSend {
	var out []seenSend
	for i, d := 0, time.Duration(0); d <= until; i, d = i+1, d+step {
		out = append(out, seenSend{at: simEpoch.Add(d), left: left(i), said: true})
	}
	return out
}

func TestPinRate(t *testing.T) {
	steady := func(int) int { return 1 }
	refused := counted(100*time.Millisecond, 4*time.Second, steady)
	for i := range refused {
		refused[i].refusedBefore = true
	}
	window := func(i int) int { return 9 - i%10 } // 10 per 1s, fixed
	cases := []struct {
		name      string
		seen      []seenSend
		size      int
		perSecond float64
		want      float64
		wantOK    bool
	}{
		// A bucket of 5 at 10/s paced at its rate: each answer one
		// request taken and one refilled, 40 pairs in one chain.
		{"rate kept", counted(100*time.Millisecond, 4*time.Second, steady), 5, 9.7, 9.7, false},
		// The same learned at 27/s: no faster than the refill shown
		// (40 and a half requests in 4s), less the pin's margin.
		{"rate bound", counted(100*time.Millisecond, 4*time.Second, steady), 5, 27, pinnedMargin * 40.5 / 4, true},
		// Just over pinRateOver of it: still the learned rate.
		{"near", counted(100*time.Millisecond, 4*time.Second, steady), 5, 12.5, 12.5, false},
		// A fixed window's counter: nothing refilled until the reset
		// gives the quota back at once: no bucket's, no bound.
		{"fixed window", counted(100*time.Millisecond, 10*time.Second, window), 10, 40, 40, false},
		{"too few", counted(100*time.Millisecond, time.Second, steady), 5, 27, 27, false},
		{"not said", seenAt(1, 0, 100*time.Millisecond, 4*time.Second), 5, 27, 27, false},
		// Refused requests between every pair: a server that counts
		// them took from the bucket unseen.
		{"refused between", refused, 5, 27, 27, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := pinRate(tc.seen, tc.size, tc.perSecond)
			if math.Abs(got-tc.want) > 1e-9 || ok != tc.wantOK {
				t.Errorf("pinRate = %v, %v; want %v, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// TestPinnedRateNotOverRefill: small token buckets whose RateLimit-Limit
// is the refill rate and whose Retry-After always says 1, with pools
// wider than the bucket (review 13, F6): the rate learned across the
// refusals' pauses went 2-65 times over the server's (a bucket of 3 at
// 5/s learned at 27/s, of 3 at 10/s at 129/s), and the pinned flags drew
// more 429s than the adaptive run. Pinned no faster than the refill the
// counter showed (pinRate), the flags may not draw more 429s than the
// adaptive run nor pace over three times the server's rate; buckets
// learned right keep their rate.
func TestPinnedRateNotOverRefill(t *testing.T) {
	for _, c := range []struct {
		burst, rate float64
		conc        int
		stall       float64
	}{{3, 5, 8, 0.2}, {3, 5, 8, 0}, {3, 2, 8, 0}, {3, 10, 16, 0}, {4, 20, 8, 0}} {
		t.Run(fmt.Sprintf("%v at %v/s, %d workers, stalls %.1f", c.burst, c.rate, c.conc, c.stall), func(t *testing.T) {
			const seed = 1
			rows := int(min(200, max(60, 20*c.rate)))
			srv := func() simServer { return &simBucket{burst: c.burst, rate: c.rate, style: styleRateAsLimit} }
			res, pres, cfg := adaptiveThenPinned(t, srv, seed, c.conc, rows, c.stall)
			t.Logf("adaptive: %d 429s, learned %s %.2f/s; pinned %v burst %d: %d 429s", res.throttled, res.stats.LearnedModel, res.stats.LearnedRate, cfg.Rate, cfg.Burst, pres.throttled)
			if pres.throttled > res.throttled {
				t.Errorf("pinned drew %d 429s, the adaptive run %d", pres.throttled, res.throttled)
			}
			if r := cfg.Rate.PerSecond(); r > 3*c.rate {
				t.Errorf("pinned %.2f/s, over three times the server's %v/s", r, c.rate)
			}
		})
	}
}

// adaptiveThenPinned runs rows through srv in the simulation with conc
// workers, adaptive, then with the flags that run suggests; seed sets
// the clock's start, the jitter and the stalls (a share stall of
// requests late by up to 20ms).
func adaptiveThenPinned(t *testing.T, srv func() simServer, seed uint64, conc, rows int, stall float64) (ad, pin simResult, cfg Config) {
	t.Helper()
	run := func(cfg Config) simResult {
		clk := &simClock{now: simEpoch.Add(time.Duration(seed) * 37 * time.Millisecond)}
		cfg.Clock, cfg.Rand, cfg.InFlight = clk, rand.New(rand.NewPCG(seed, 2)).Float64, conc
		s := &simulation{l: New(cfg), clk: clk, srv: srv(), left: rows, ws: make([]simWorker, conc),
			rnd: rand.New(rand.NewPCG(seed, 11)), stall: stall, stallMax: 20 * time.Millisecond, until: time.Hour}
		return s.run(rows)
	}
	return learnThenPin(t, run)
}

// learnThenPin runs a job adaptive through run, then again with the flags
// that run suggests, failing t when it learned nothing to pin.
func learnThenPin(t *testing.T, run func(Config) simResult) (ad, pin simResult, cfg Config) {
	t.Helper()
	ad = run(Config{Adaptive: true})
	cfg, ok := ad.stats.Pinned()
	if !ok {
		t.Fatalf("nothing learned: %+v", ad.stats)
	}
	return ad, run(cfg), cfg
}

// TestPinnedAfterWindowGivenUp: sliding counters first taken for fixed
// windows, their pins against the same server.
//
// go-chi/httprate's weighted counter at 20 per 2s, its periods from the
// run's start, 8 workers: its Retry-After is its whole window, and taken
// for a bucket after its first bursts into a counter still full at its
// reset, the wait bounded the pin at 1/s (bucketWaitCap) where the
// adaptive run had 8.6/s taken: the pinned run took ten times as long.
//
// HAProxy's counter at 3 per 1s, refused requests counted, 8 workers:
// handed back as a sliding window, then taken for a fixed window again
// and given up on a refusal, it was paced at what it had accepted on
// average (1.14/s pinned, 0.38) rather than by the window the model had
// measured (capSliding).
func TestPinnedAfterWindowGivenUp(t *testing.T) {
	cases := []struct {
		name   string
		srv    func() simServer
		limit  int
		window time.Duration
		seeds  []uint64
		minEff float64
	}{
		{"httprate 20 per 2s", func() simServer {
			return &simSliding{limit: 20, window: 2 * time.Second, counter: true, phase: 370 * time.Millisecond, style: styleHTTPRate}
		}, 20, 2 * time.Second, []uint64{1, 2}, 0.6},
		{"haproxy 3 per 1s, refusals counted", func() simServer {
			return &simSliding{limit: 3, window: time.Second, haproxy: true, countRefused: true, style: styleHTTPRate}
		}, 3, time.Second, []uint64{1}, 0.55},
	}
	const rows = 200
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ideal := idealSlidingN(rows, tc.limit, tc.window)
			for _, seed := range tc.seeds {
				ad := simRunSeeded(tc.srv(), Config{Adaptive: true}, 8, rows, seed, 100*time.Hour, true)
				cfg, ok := ad.stats.Pinned()
				if !ok {
					t.Fatalf("seed %d: nothing learned: %+v", seed, ad.stats)
				}
				pin := simRunSeeded(tc.srv(), cfg, 8, rows, seed, 100*time.Hour, true)
				t.Logf("seed %d: adaptive %.2f, %d 429s, learned %s %.2f/s; pinned %v burst %d: %.2f, %d 429s", seed,
					ideal.Seconds()/ad.wall.Seconds(), ad.throttled, ad.stats.LearnedModel, ad.stats.LearnedRate,
					cfg.Rate, cfg.Burst, ideal.Seconds()/pin.wall.Seconds(), pin.throttled)
				if pin.throttled > ad.throttled {
					t.Errorf("seed %d: pinned drew %d 429s, the adaptive run %d", seed, pin.throttled, ad.throttled)
				}
				if eff := ideal.Seconds() / pin.wall.Seconds(); eff < tc.minEff {
					t.Errorf("seed %d: pinned at %v, efficiency %.2f, want %.2f or more", seed, cfg.Rate, eff, tc.minEff)
				}
			}
		})
	}
}

// TestPinnedUnprovenWindow: a fixed window the run formed late, after an
// earlier model was given up, is pinned as its quota spread evenly over
// its length until it has seen windowLateResets windows open; then, as
// any fixed window, as --window fixed.
func TestPinnedUnprovenWindow(t *testing.T) {
	win := func(resets int, late bool) *windowModel {
		return &windowModel{quota: 3, resets: resets, late: late}
	}
	tests := []struct {
		name      string
		w         *windowModel
		unproven  bool
		wantFixed bool
	}{
		{"formed first, no reset yet", win(0, false), false, true},
		{"late, 3 resets", win(3, true), true, false},
		{"late, 4 resets", win(windowLateResets-1, true), true, false},
		{"late, 5 resets", win(windowLateResets, true), false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.w.unproven(); got != tc.unproven {
				t.Fatalf("unproven() = %v, want %v", got, tc.unproven)
			}
			s := Stats{LearnedModel: ModelFixedWindow, LearnedBurst: 3, LearnedWindow: 1601 * time.Millisecond, unproven: tc.w.unproven()}
			cfg, ok := s.Pinned()
			if !ok {
				t.Fatal("nothing to pin")
			}
			if s.PinnedEvenly() == tc.wantFixed {
				t.Errorf("PinnedEvenly() = %v, want %v", s.PinnedEvenly(), !tc.wantFixed)
			}
			if cfg.FixedWindow != tc.wantFixed || cfg.SlidingWindow {
				t.Errorf("pinned %+v, want FixedWindow %v", cfg, tc.wantFixed)
			}
			if cfg.Rate.Count != 3 || cfg.Rate.Per != 1601*time.Millisecond || cfg.Burst != 0 {
				t.Errorf("pinned rate %v burst %d, want 3 per 1.601s, no burst", cfg.Rate, cfg.Burst)
			}
		})
	}
}

// bucketSeen is what a token bucket of size refilled at perSecond shows
// to n requests sent one every step from full: each answer's counter,
// floored.
func bucketSeen(size int, perSecond float64, step time.Duration, n int) []seenSend {
	tokens := float64(size) + perSecond*step.Seconds() // full at the first
	return counted(step, time.Duration(n-1)*step, func(int) int {
		tokens = math.Min(float64(size), tokens+perSecond*step.Seconds()) - 1
		return int(tokens)
	})
}

// TestBucketRefill checks the rate a bucket's counter raises the learned
// one to: a bucket of 60 at 20/s drained by a pace of 22/s shows its
// refill, which lifts a rate learned a little under it (19.1/s, as
// throttled at 60 per 3s was learned), not one learned far under it (a
// counter that far off is not trusted: a sliding counter taken for a
// bucket reads so), nor one already over it.
func TestBucketRefill(t *testing.T) {
	seen := bucketSeen(60, 20, time.Second/22, 200)
	for _, tc := range []struct {
		name    string
		seen    []seenSend
		learned float64
		wantOK  bool
	}{
		{"a little under the refill", seen, 19.1, true},
		{"far under it", seen, 15, false},
		{"over it", seen, 21, false},
		{"too few answers", seen[:15], 19.1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := bucketRefill(tc.seen, 60, tc.learned)
			if ok != tc.wantOK {
				t.Fatalf("bucketRefill = %.2f, %v; want ok %v", got, ok, tc.wantOK)
			}
			if ok && math.Abs(got-20) > 0.5 {
				t.Errorf("refill %.2f/s, want about 20/s", got)
			}
			if !ok && got != tc.learned {
				t.Errorf("rate %.2f/s, want the learned %.2f/s kept", got, tc.learned)
			}
		})
	}
	// Chains that start after a refusal start at any level: half a
	// request added for each (pinRate's bound) reads this bucket of 10
	// at 10/s at 10.46/s, and a rate learned at 9.9/s raised to it
	// would pin over the refill.
	refused := bucketSeen(10, 10, time.Second*10/105, 150)
	for i := 10; i < len(refused); i += 10 {
		refused[i].refusedBefore = true
	}
	if got, ok := bucketRefill(refused, 10, 9.9); ok && got > 10 {
		t.Errorf("after refusals: bucketRefill = %.2f/s, over the refill of 10/s", got)
	}
}

// TestPinnedRateFromRefill: a bucket of 10 at 10/s with counters, 8
// workers (TestSweep's cell): the rate the bucket equation measured lags
// the refill (pinned at 8.98-9.47/s, 0.89-0.94 of the ideal, in seeds
// 1 and 3-8 of ten); the counter's refill lifts it, and the pin goes at
// pinnedMargin of the refill with no 429.
func TestPinnedRateFromRefill(t *testing.T) {
	const rows = 200
	for _, seed := range []uint64{1, 3, 5, 8} {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			mk := func() simServer { return &simBucket{burst: 10, rate: 10, style: styleCounters} }
			ad := simRunSeeded(mk(), Config{Adaptive: true, InFlightPinned: true, OpeningAlone: true}, 8, rows, seed, 100*time.Hour, true)
			pin, ok := ad.stats.Pinned()
			if !ok || ad.stats.LearnedModel != ModelBucket {
				t.Fatalf("learned %q, pinned %v", ad.stats.LearnedModel, ok)
			}
			r := pin.Rate.PerSecond()
			pr := simRunSeeded(mk(), pin, 8, rows, seed, 100*time.Hour, true)
			eff := idealBucketN(rows, 10, 10).Seconds() / pr.wall.Seconds()
			t.Logf("learned %.2f/s, pinned %.2f/s burst %d: eff %.3f, 429s %d", ad.stats.LearnedRate, r, pin.Burst, eff, pr.throttled)
			if r < 9.5 || r > 10 {
				t.Errorf("pinned at %.2f/s, want 9.5-10/s", r)
			}
			if eff < 0.95 || pr.throttled > 0 {
				t.Errorf("pinned: eff %.3f with %d 429s, want at least 0.95 with none", eff, pr.throttled)
			}
		})
	}
}
