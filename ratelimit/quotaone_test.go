package ratelimit

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestQuotaOnePinned: a server that takes one request per interval and
// says so in its counter (Remaining 0 after every request) is learned and
// pinned as a fixed window of 1 per that interval, sent one request at a
// time W after each answer: the bucket equation read the counter's 0 as
// half a request left, which a bucket of one never holds after a request,
// measured 51-2200/s, and the pinned --rate drew a 429 a row.
func TestQuotaOnePinned(t *testing.T) {
	cases := []struct {
		name   string
		srv    func() simServer
		conc   int
		pinned bool // --concurrency given
		rows   int
		// the server's interval, and the longest window the pin may
		// take for it (its ideal time over 0.9)
		every, most time.Duration
	}{
		{"express fixed 1/1s c8 pinned pool", func() simServer {
			return &simFixed{limit: 1, window: time.Second, countRefused: true, style: styleExpress}
		}, 8, true, 8, time.Second, 1100 * time.Millisecond},
		{"fastify fixed 1/1s c4 pinned pool", func() simServer {
			return &simFixed{limit: 1, window: time.Second, countRefused: true, style: styleFastify}
		}, 4, true, 8, time.Second, 1100 * time.Millisecond},
		{"fastify fixed 1/5s c8", func() simServer {
			return &simFixed{limit: 1, window: 5 * time.Second, countRefused: true, style: styleFastify}
		}, 8, false, 8, 5 * time.Second, 5500 * time.Millisecond},
		{"legacy fixed 1/1s c8 pinned pool (Unix-second resets)", func() simServer {
			return &simFixed{limit: 1, window: time.Second, countRefused: true, style: styleLegacy}
		}, 8, true, 8, time.Second, 1100 * time.Millisecond},
		{"bucket of one at 1/s with counters c2", func() simServer {
			return &simBucket{burst: 1, rate: 1, style: styleCounters}
		}, 2, false, 31, time.Second, 1100 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			run := func(cfg Config) simResult {
				clk := &simClock{now: simEpoch}
				cfg.Clock, cfg.Rand, cfg.InFlight, cfg.InFlightPinned = clk, rand.New(rand.NewPCG(1, 2)).Float64, tc.conc, tc.pinned
				s := &simulation{l: New(cfg), clk: clk, srv: tc.srv(), left: tc.rows, ws: make([]simWorker, tc.conc),
					rnd: rand.New(rand.NewPCG(1, 11)), until: time.Hour, lateWake: 2 * time.Millisecond, stall: 0.05, stallMax: 10 * time.Millisecond}
				return s.run(tc.rows)
			}
			ad, pin, cfg := learnThenPin(t, run)
			t.Logf("learned %q b%d %.3f/s w%v, adaptive 429s %d; pinned %v fixed=%v: 429s %d in %v",
				ad.stats.LearnedModel, ad.stats.LearnedBurst, ad.stats.LearnedRate, ad.stats.LearnedWindow, ad.throttled, cfg.Rate, cfg.FixedWindow, pin.throttled, pin.wall)
			if ad.stats.LearnedModel != ModelFixedWindow || ad.stats.LearnedBurst != 1 {
				t.Errorf("learned %q of %d, want a fixed window of 1", ad.stats.LearnedModel, ad.stats.LearnedBurst)
			}
			if w := ad.stats.LearnedWindow; w < tc.every || w > tc.most {
				t.Errorf("learned a window of %v, the server takes one per %v", w, tc.every)
			}
			if !cfg.FixedWindow || cfg.Rate.Count != 1 {
				t.Errorf("pinned %v fixed=%v, want 1 per window --window fixed", cfg.Rate, cfg.FixedWindow)
			}
			if pin.throttled > 0 {
				t.Errorf("pinned %v drew %d 429s", cfg.Rate, pin.throttled)
			}
		})
	}
}

// TestQuotaOneWindow: the interval of a quota of one from the requests it
// took and refused and the resets its answers claimed.
func TestQuotaOneWindow(t *testing.T) {
	at := func(s float64) time.Time { return simEpoch.Add(time.Duration(s * float64(time.Second))) }
	ms := time.Millisecond
	// taken: requests sent at the given seconds, answered 1ms later,
	// each claiming its quota back claim after its answer (0: no claim;
	// whole: to the second).
	taken := func(claim time.Duration, whole bool, sends ...float64) []seenSend {
		var out []seenSend
		for _, s := range sends {
			e := seenSend{at: at(s), said: true, recv: at(s).Add(ms)}
			if claim > 0 {
				e.end, e.whole = e.recv.Add(claim), whole
			}
			out = append(out, e)
		}
		return out
	}
	// alignedXms: an aligned window of 1 per 1s ending at .963 each
	// second, Unix-millisecond claims.
	alignedXms := func(sends ...float64) []seenSend {
		var out []seenSend
		for _, s := range sends {
			e := seenSend{at: at(s), said: true, recv: at(s).Add(ms)}
			end := float64(int(s-0.963)+1) + 0.963
			if s < 0.963 {
				end = 0.963
			}
			e.end = at(end)
			out = append(out, e)
		}
		return out
	}
	cases := []struct {
		name    string
		seen    []seenSend
		refused []float64
		want    time.Duration
		ok      bool
		// slow: the refusals' answers took 3ms, not 1ms.
		slow bool
	}{
		{"too few taken", taken(time.Second, true, 0, 1.001, 2.05), nil, 0, false, false},
		{"from the first request, whole-second claims: the closest pair",
			taken(time.Second, true, 0, 1.001, 2.108, 3.313, 4.357), []float64{1.02, 2.12}, 1001 * ms, true, false},
		{"no claims: the closest pair", taken(0, false, 0, 1.2, 2.5, 3.6), nil, 1100 * ms, true, false},
		{"no claims, a refusal later than the closest pair by less than its round trip: the refusal's bound",
			func() []seenSend {
				s := taken(0, false, 0, 1.2, 2.5, 3.6)
				s[3].recv = s[3].at.Add(5 * ms)
				return s
			}(), []float64{2.305}, 1104 * ms, true, false},
		{"exact claims a window after each answer: the closest pair",
			taken(time.Second, false, 0, 1.2, 2.5, 3.6), nil, 1100 * ms, true, false},
		{"exact claims on a grid, the pairs no closer than it: the ends' distance",
			func() []seenSend {
				s := taken(0, false, 0, 1.2, 2.5, 3.6)
				for i := range s {
					s[i].end = at(float64(i + 1))
				}
				return s
			}(), nil, time.Second, true, false},
		{"a refusal after the closest pair's distance: aligned, no claims",
			taken(0, false, 0, 0.5, 2.0, 3.1), []float64{2.7}, 0, false, false},
		{"aligned, exact claims: the distance of the ends",
			alignedXms(0, 1.165, 2.4, 3.152, 4.431, 5.106, 6.438, 7.131), []float64{0.203, 1.65, 3.756, 5.746}, time.Second, true, false},
		{"aligned (a refusal later than the closest pair), Unix-second claims: a second more than their distance",
			func() []seenSend {
				s := taken(0, false, 0, 1.2, 2.5, 3.1)
				for i, e := range []float64{1, 2, 3, 4} {
					s[i].end, s[i].whole = at(e), true
				}
				return s
			}(), []float64{1.9}, 2 * time.Second, true, false},
		{"a bucket of one at 50/s, a refusal later than the closest pair by less than their round trips vary, whole-second claims: the refusal's bound, not the claims' second",
			func() []seenSend {
				s := taken(980*ms, true, 0, 0.0202, 0.0404, 0.0700, 0.0902)
				s[1].recv = s[1].at.Add(1600 * time.Microsecond)
				return s
			}(), []float64{0.0621}, 20700 * time.Microsecond, true, false},
		{"a refusal answered after a request sent after it (it may have come second): no bound",
			taken(980*ms, true, 0, 0.0202, 0.0404, 1.0500, 1.0702), []float64{1.0497}, 20200 * time.Microsecond, true, true},
		{"a refusal later than the closest pair by more than its round trip, though the run's round trips vary more elsewhere (a cold start): aligned, the claims' bound",
			func() []seenSend {
				s := taken(980*ms, true, 0, 0.0202, 0.0404, 0.0700, 0.0902)
				s[4].recv = s[4].at.Add(300 * ms)
				return s
			}(), []float64{0.0640}, 1020 * ms, true, false},
		{"a refusal later than the closest pair by more than its round trip: aligned, the claims' bound",
			taken(980*ms, true, 0, 0.0202, 0.0404, 0.0700, 0.0902), []float64{0.0640}, 1020 * ms, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var refused []refusal
			for _, r := range tc.refused {
				rtt := ms
				if tc.slow {
					rtt = 3 * ms
				}
				refused = append(refused, refusal{sent: at(r), recv: at(r).Add(rtt)})
			}
			got, ok := quotaOneWindow(tc.seen, refused)
			if ok != tc.ok || ok && (got-tc.want).Abs() > ms {
				t.Errorf("quotaOneWindow = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
