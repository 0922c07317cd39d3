package ratelimit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/bulksend/bulksend/internal/testkit"
)

// TestFlightsFit fits the concurrency model to logs of ended requests.
func TestFlightsFit(t *testing.T) {
	ms := func(n int) time.Time { return limiterT0.Add(time.Duration(n) * time.Millisecond) }
	type req struct {
		sent, end int // milliseconds from limiterT0
		refused   bool
	}
	tests := []struct {
		name      string
		log       []req
		open      []int // sends of requests still in flight
		wantLimit int
		wantWrong int
		wantShown bool
	}{
		{
			name: "eight at once, four held 20ms, four refused at once",
			log: []req{{0, 1, true}, {0, 1, true}, {0, 1, true}, {0, 1, true},
				{0, 20, false}, {0, 20, false}, {0, 20, false}, {0, 20, false}},
			wantLimit: 4, wantShown: true,
		},
		{
			name: "refused ones left first but reached the server last",
			log: []req{{0, 20, true}, {0, 21, true}, {1, 21, false}, {1, 21, false},
				{2, 22, false}, {2, 22, true}},
			wantLimit: 3, wantShown: true,
		},
		{
			name: "a request in flight from before the latest refusal",
			log:  []req{{0, 1, true}, {0, 1, true}, {0, 20, false}, {0, 20, false}},
			open: []int{0}, wantLimit: 3, wantShown: false,
		},
		{
			// The sandbox's Twilio delays its refusals as long as its
			// acceptances: a refusal and an acceptance come before the
			// rest of the burst, which may still change the count.
			name: "refusals as slow as acceptances, the burst still in flight",
			log:  []req{{1, 23, true}, {2, 23, false}, {0, 24, true}},
			open: []int{1, 1, 2, 2, 3}, wantLimit: 5, wantShown: false,
		},
		{
			name: "a rate: refused with nothing else in flight, taken with many",
			log: []req{{0, 1, false}, {0, 1, false}, {0, 1, false}, {0, 1, false},
				{10, 11, true}, {20, 21, true}, {30, 31, false}, {40, 41, true}},
			wantLimit: 4, wantWrong: 3, wantShown: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var f flights
			for _, r := range tc.log {
				f.log = append(f.log, flightEnd{sent: ms(r.sent), end: ms(r.end), refused: r.refused})
			}
			for _, o := range tc.open {
				f.open = append(f.open, ms(o))
			}
			limit, _, wrong, _, shown := f.fit()
			if limit != tc.wantLimit || wrong != tc.wantWrong || shown != tc.wantShown {
				t.Errorf("fit() = limit %d, wrong %d, shown %v; want %d, %d, %v",
					limit, wrong, shown, tc.wantLimit, tc.wantWrong, tc.wantShown)
			}
		})
	}
}

// TestConcurrencyCap drives a Limiter through a concurrency limit of 4
// met by a pool of 8: it learns the limit, caps the pool on trial (the
// opener alone, 4, then the probe alone once a slot is free), holds the cap once the probe is
// taken, and never lets a cancelled waiter keep a slot.
func TestConcurrencyCap(t *testing.T) {
	clk := testkit.NewClock(limiterT0)
	l := New(Config{Adaptive: true, InFlight: 8, Clock: clk, Rand: func() float64 { return 0.5 }})
	ctx := context.Background()
	wait := func() {
		t.Helper()
		if err := l.Wait(ctx); err != nil {
			t.Fatalf("Wait: %v", err)
		}
	}
	held := func() bool {
		t.Helper()
		return waitHeld(t, l, clk)
	}

	t0 := clk.Now()
	for range 8 {
		wait()
	}
	clk.Advance(time.Millisecond)
	for range 4 {
		l.Done(t0, Refused)
	}
	clk.Advance(19 * time.Millisecond)
	for range 4 {
		l.Done(t0, Accepted)
	}
	st := l.Stats()
	if st.LearnedModel != ModelConcurrency || st.LearnedInFlight != 4 {
		t.Fatalf("learned %q, %d in flight; want %q, 4", st.LearnedModel, st.LearnedInFlight, ModelConcurrency)
	}
	if cfg, ok := st.Pinned(); !ok || cfg.InFlight != 4 || !cfg.Rate.IsZero() {
		t.Errorf("Pinned() = %+v, %v; want InFlight 4 and no rate", cfg, ok)
	}

	// On trial: the opener alone, then four, nothing more until two
	// are answered, then the probe alone.
	wait()
	opener := clk.Now()
	if !held() {
		t.Fatal("a request went beside the opener")
	}
	clk.Advance(20 * time.Millisecond)
	l.Done(opener, Accepted)
	t1 := clk.Now()
	for range 4 {
		wait()
	}
	if !held() {
		t.Fatal("a fifth request went with four in flight")
	}
	clk.Advance(20 * time.Millisecond)
	l.Done(t1, Accepted)
	if !held() {
		t.Fatal("the probe went with three in flight")
	}
	l.Done(t1, Accepted)
	wait() // the probe
	probe := clk.Now()
	if !held() {
		t.Fatal("a request went beside the probe")
	}
	l.Done(t1, Accepted)
	if !held() {
		t.Fatal("a request went before the probe was answered")
	}
	clk.Advance(20 * time.Millisecond)
	l.Done(probe, Accepted)

	// Proven: the cap is 4 in flight.
	if held() {
		t.Fatal("held back with one in flight after the probe was taken")
	}
	for range 3 {
		wait()
	}
	if got := l.InFlight(); got != 4 {
		t.Fatalf("%d in flight, want 4", got)
	}
	if !held() {
		t.Fatal("a fifth request went with four in flight")
	}
	// Ending more requests than are in flight changes nothing.
	for range 6 {
		l.Done(clk.Now(), Failed)
	}
	if got := l.InFlight(); got != 0 {
		t.Fatalf("%d in flight after every request ended, want 0", got)
	}
}

// TestConcurrencyTrialRefused is a bucket of 4 met by a pool of 8: its
// first burst looks like a concurrency limit of 4, the trial's opener is
// taken (a request refilled), and its probe, refused, puts the model
// aside.
func TestConcurrencyTrialRefused(t *testing.T) {
	clk := testkit.NewClock(limiterT0)
	l := New(Config{Adaptive: true, InFlight: 8, Clock: clk, Rand: func() float64 { return 0.5 }})
	ctx := context.Background()
	t0 := clk.Now()
	for range 8 {
		if err := l.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(time.Millisecond)
	for range 4 {
		l.Done(t0, Refused)
	}
	for range 4 {
		l.Done(t0, Accepted)
	}
	if st := l.Stats(); st.LearnedModel != ModelConcurrency {
		t.Fatalf("learned %q after the first burst, want %q", st.LearnedModel, ModelConcurrency)
	}
	if err := l.Wait(ctx); err != nil { // the opener
		t.Fatal(err)
	}
	clk.Advance(time.Millisecond)
	l.Done(clk.Now(), Accepted)
	for range 5 {
		if err := l.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if l.InFlight() == 4 {
			clk.Advance(time.Millisecond)
			l.Done(t0, Accepted)
			l.Done(t0, Accepted)
		}
	}
	l.Done(clk.Now(), Refused) // the probe
	l.Throttle(clk.Now(), 0, false)
	if st := l.Stats(); st.LearnedModel == ModelConcurrency {
		t.Errorf("still %q after the trial's probe was refused", st.LearnedModel)
	}
}

// TestConcurrencyCapComesDown: a cap fitted one too high (a first burst
// whose timing showed 5 taken where the server holds 4, as a loaded
// machine's late answers do) comes down on the first refusal at the full
// cap, though the refused request overlapped a full cap's worth of
// others: one answered while it was out and the request sent in its
// place. Counting those, the cap stayed at 5 and sender's
// TestRunLearnsConcurrency drew 24 to 31 refusals, each a pause.
func TestConcurrencyCapComesDown(t *testing.T) {
	clk := testkit.NewClock(limiterT0)
	l := New(Config{Adaptive: true, InFlight: 8, Clock: clk, Rand: func() float64 { return 0.5 }})
	ctx := context.Background()
	wait := func(n int) time.Time {
		t.Helper()
		at := clk.Now()
		for range n {
			if err := l.Wait(ctx); err != nil {
				t.Fatalf("Wait: %v", err)
			}
		}
		return at
	}
	done := func(sent time.Time, o Outcome, n int) {
		for range n {
			l.Done(sent, o)
		}
	}
	// The first burst: 5 taken, 3 refused, then the trial's probe taken.
	t0 := wait(8)
	clk.Advance(time.Millisecond)
	done(t0, Refused, 3)
	clk.Advance(19 * time.Millisecond)
	done(t0, Accepted, 5)
	opener := wait(1)
	clk.Advance(20 * time.Millisecond)
	done(opener, Accepted, 1)
	t1 := wait(5)
	clk.Advance(20 * time.Millisecond)
	done(t1, Accepted, 2)
	probe := wait(1)
	done(t1, Accepted, 3)
	clk.Advance(20 * time.Millisecond)
	done(probe, Accepted, 1)
	if st := l.Stats(); st.LearnedModel != ModelConcurrency || st.LearnedInFlight != 5 {
		t.Fatalf("learned %q, %d in flight; want %q, 5", st.LearnedModel, st.LearnedInFlight, ModelConcurrency)
	}
	// A round at the cap, each answer replaced at once.
	t2 := wait(5)
	clk.Advance(20 * time.Millisecond)
	for range 5 {
		l.Done(t2, Accepted)
		wait(1)
	}
	// Five out: one is answered and replaced, then another refused.
	clk.Advance(10 * time.Millisecond)
	l.Done(t2, Accepted)
	wait(1)
	clk.Advance(time.Millisecond)
	l.Done(t2.Add(20*time.Millisecond), Refused)
	if st := l.Stats(); st.LearnedModel != ModelConcurrency || st.LearnedInFlight != 4 {
		t.Fatalf("after a refusal at the cap: %q, %d in flight; want %q, 4", st.LearnedModel, st.LearnedInFlight, ModelConcurrency)
	}
	c, cancel := context.WithCancel(ctx)
	cancel()
	if err := l.Wait(c); err == nil {
		t.Errorf("a request went with %d in flight under a cap of 4", l.InFlight()-1)
	}
}

// TestConcurrencyCounterPinned runs --concurrency N (InFlightPinned)
// against a concurrency limit of 4 whose RateLimit counter says how many
// slots are free: the counter models read it as a quota refilled about
// once a second (0.03 of the ideal time at --concurrency 4 before the
// counter was recognised), and a pool over the limit must still learn it.
func TestConcurrencyCounterPinned(t *testing.T) {
	tests := []struct {
		name     string
		workers  int
		minEff   float64
		max429   int
		wantConc int // the concurrency limit learned; 0 none
	}{
		{"--concurrency 4, the limit", 4, 0.93, 0, 0},
		{"--concurrency 8, over the limit", 8, 0.90, 8, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &simClock{now: simEpoch}
			rnd := rand.New(rand.NewPCG(1, 2))
			l := New(Config{Adaptive: true, InFlight: tc.workers, InFlightPinned: true, Clock: clk, Rand: rnd.Float64})
			srv := &simConcurrency{limit: 4, work: 20 * time.Millisecond, style: styleStructured}
			res := simRun(l, clk, srv, simRows, tc.workers, 1, false)
			eff := idealConcurrency(4, 20*time.Millisecond).Seconds() / res.wall.Seconds()
			t.Logf("eff %.2f (%.2fs), 429s %d, learned %q in flight %d", eff, res.wall.Seconds(), res.throttled, res.stats.LearnedModel, res.stats.LearnedInFlight)
			if eff < tc.minEff {
				t.Errorf("efficiency %.2f, want at least %.2f", eff, tc.minEff)
			}
			if res.throttled > tc.max429 {
				t.Errorf("%d 429s, want at most %d", res.throttled, tc.max429)
			}
			if tc.wantConc > 0 && (res.stats.LearnedModel != ModelConcurrency || res.stats.LearnedInFlight != tc.wantConc) {
				t.Errorf("learned %q, %d in flight; want %q, %d", res.stats.LearnedModel, res.stats.LearnedInFlight, ModelConcurrency, tc.wantConc)
			}
		})
	}
}

// TestConcurrencySpentQuota is a fixed window of 10 whose counter counts
// down to 0 (rate-limiter-flexible's headers), met one request at a time
// until the last two of the window go with two more: the two over the
// quota are refused while the window's last two are still out, so the
// first burst fits "refused with 2 in flight" exactly. A counter that
// counted more than was ever in flight is a quota, and the refusals that
// come once it showed 0 are that quota's: no concurrency model (a CI run
// against rate-limiter-flexible learned "2 in flight" so, and a slow
// answer to the last of the quota can come either side of the fit).
func TestConcurrencySpentQuota(t *testing.T) {
	for _, tc := range []struct {
		name      string
		lastFirst bool // the window's last answer comes before its next to last
	}{
		{"the zero answered last", false},
		{"the zero answered before the one", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := testkit.NewJumpClock(limiterT0)
			l := New(Config{Adaptive: true, InFlight: 8, Clock: clk, Rand: func() float64 { return 0.5 }})
			ctx := context.Background()
			wait := func() time.Time {
				t.Helper()
				at := clk.Now()
				if err := l.Wait(ctx); err != nil {
					t.Fatalf("Wait: %v", err)
				}
				return at
			}
			q := func(left int) Quota {
				return Quota{Limit: 10, Remaining: left, Reset: time.Second, Header: familyXRateLimit}
			}
			for i := range 8 {
				sent := wait()
				clk.Advance(time.Millisecond)
				l.Done(sent, Accepted)
				l.Success(sent, q(9-i), true)
			}
			t9, t10 := wait(), wait()
			t11, t12 := wait(), wait()
			clk.Advance(time.Millisecond)
			for _, sent := range []time.Time{t11, t12} {
				l.Done(sent, Refused)
				l.Throttle(clk.Now(), 900*time.Millisecond, true)
			}
			clk.Advance(time.Millisecond)
			order := []struct {
				sent time.Time
				left int
			}{{t9, 1}, {t10, 0}}
			if tc.lastFirst {
				order[0], order[1] = order[1], order[0]
			}
			for _, a := range order {
				l.Done(a.sent, Accepted)
				l.Success(a.sent, q(a.left), true)
			}
			if st := l.Stats(); st.LearnedModel == ModelConcurrency {
				t.Errorf("learned %q, %d in flight, from a quota counted down to 0", st.LearnedModel, st.LearnedInFlight)
			}
		})
	}
}

// simSlow answers what srv accepts work later, as a slow backend or a
// loaded client sees it; refusals come at once.
type simSlow struct {
	simServer
	work time.Duration
}

func (s *simSlow) hold() (time.Duration, time.Duration) { return s.work, 0 }
func (s *simSlow) release()                             {}

// simWatch notes, at every request srv serves, whether l holds a proven
// concurrency model.
type simWatch struct {
	simServer
	l      *Limiter
	proven int // the largest proven cap seen; 0 none
}

func (w *simWatch) serve(at time.Time) (bool, http.Header) {
	if a := w.l.adapt; a != nil && a.conc != nil && a.conc.proven {
		w.proven = max(w.proven, a.conc.limit)
	}
	return w.simServer.serve(at)
}

func (w *simWatch) hold() (time.Duration, time.Duration) {
	if h, ok := w.simServer.(simHolder); ok {
		return h.hold()
	}
	return 0, 0
}

func (w *simWatch) release() {
	if h, ok := w.simServer.(simHolder); ok {
		h.release()
	}
}

// TestConcurrencyTrialNotAfterRefill: rate limiters whose first burst
// fits a concurrency limit and whose quota comes back while the pool
// waits out the refusals' pause. The trial once went after that pause (or
// with the Retry-After model's opener 40ms on), found the quota whole and
// took it for free slots: each case here was proven a concurrency limit
// of 2 to 4 (the first two as the CI run against rate-limiter-flexible
// was: a window met one request at a time to its end, its last requests
// sent with the next ones). A trial that opens at once, in the pause,
// finds the quota still spent.
func TestConcurrencyTrialNotAfterRefill(t *testing.T) {
	// atEnd is a fixed window of 100 per second that earlier requests
	// used all but left of, ending 30ms into the run: the first burst
	// gets left, then 429s until the window ends.
	atEnd := func(left int, style string) func() simServer {
		return func() simServer {
			return &simFixed{limit: 100, window: time.Second, style: style,
				start: simEpoch.Add(-970 * time.Millisecond), count: 100 - left}
		}
	}
	tests := []struct {
		name string
		srv  func() simServer
	}{
		{"fixed window met to its end, Retry-After: 1", atEnd(2, styleRetryAfter)},
		{"fixed window met to its end, bare", atEnd(4, styleBare)},
		{"fixed window 100/1s, bare, answers 50ms late", func() simServer {
			return &simSlow{&simFixed{limit: 100, window: time.Second, style: styleBare}, 50 * time.Millisecond}
		}},
		// A bucket of 20 at 50/s that earlier requests left 3 in; its
		// whole-second Retry-After pause refills it.
		{"token bucket nearly spent, Retry-After only, answers 20ms late", func() simServer {
			return &simSlow{&simBucket{burst: 20, rate: 50, style: styleRetryAfter, tokens: 3, last: simEpoch}, 20 * time.Millisecond}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &simClock{now: simEpoch}
			rnd := rand.New(rand.NewPCG(1, 2))
			l := New(Config{Adaptive: true, InFlight: 8, Clock: clk, Rand: rnd.Float64})
			srv := &simWatch{simServer: tc.srv(), l: l}
			res := simRun(l, clk, srv, 200, 8, 1, false)
			t.Logf("%.2fs, 429s %d, learned %q in flight %d", res.wall.Seconds(), res.throttled, res.stats.LearnedModel, res.stats.LearnedInFlight)
			if srv.proven > 0 {
				t.Errorf("the concurrency model was proven (%d in flight) on a rate limiter", srv.proven)
			}
			if res.stats.LearnedModel == ModelConcurrency {
				t.Errorf("learned %q, %d in flight", res.stats.LearnedModel, res.stats.LearnedInFlight)
			}
		})
	}
}

// TestConcurrencyTrialLearnsLimits: true concurrency limits of 2, 3 and 5
// (20ms a request), bare or with a whole-second Retry-After on each
// refusal, are still learned with the right limit, the trial going in
// the refusals' pause and lifting it.
func TestConcurrencyTrialLearnsLimits(t *testing.T) {
	for _, n := range []int{2, 3, 5} {
		for _, style := range []string{styleBare, styleRetryAfter} {
			t.Run(fmt.Sprintf("%d in flight, %s", n, style), func(t *testing.T) {
				clk := &simClock{now: simEpoch}
				rnd := rand.New(rand.NewPCG(1, 2))
				l := New(Config{Adaptive: true, InFlight: 8, Clock: clk, Rand: rnd.Float64})
				srv := &simWatch{simServer: &simConcurrency{limit: n, work: 20 * time.Millisecond, style: style}, l: l}
				res := simRun(l, clk, srv, simRows, 8, 1, false)
				eff := idealConcurrency(n, 20*time.Millisecond).Seconds() / res.wall.Seconds()
				t.Logf("eff %.2f (%.2fs), 429s %d, learned %q in flight %d", eff, res.wall.Seconds(), res.throttled, res.stats.LearnedModel, res.stats.LearnedInFlight)
				if res.stats.LearnedModel != ModelConcurrency || res.stats.LearnedInFlight != n || srv.proven != n {
					t.Errorf("learned %q, %d in flight (proven %d); want %q, %d", res.stats.LearnedModel, res.stats.LearnedInFlight, srv.proven, ModelConcurrency, n)
				}
				if eff < 0.9 {
					t.Errorf("efficiency %.2f, want at least 0.9", eff)
				}
			})
		}
	}
}

// TestCountsSlotsOverLimit: a counter over its stated limit is a quota's,
// whatever our requests in flight explain (tollbooth's limit is its rate
// per second: 10, its counter at 29 for a bucket of 30), while one under
// it agrees with slots until twice the limit's answers take it for them.
func TestCountsSlotsOverLimit(t *testing.T) {
	for _, tc := range []struct {
		name       string
		limit, max int // the counter's stated limit, and its first reading
		wantQuota  bool
	}{
		{"over the limit: a quota", 10, 29, true},
		{"under the limit: slots", 10, 9, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &flights{pool: 8}
			at := simEpoch
			var confirmed bool
			for i := range 2 * tc.limit {
				f.begin(at)
				f.end(at, at.Add(time.Millisecond), Accepted)
				rem := max(tc.max-i, 0)
				if tc.max < tc.limit {
					rem = tc.max // slots: back as each answer comes
				}
				_, c := f.countsSlots(at, Quota{Limit: tc.limit, Remaining: rem})
				confirmed = confirmed || c
				at = at.Add(2 * time.Millisecond)
			}
			if f.quota != tc.wantQuota || confirmed == tc.wantQuota {
				t.Errorf("quota %v, confirmed slots %v; want quota %v", f.quota, confirmed, tc.wantQuota)
			}
		})
	}
}
