package ratelimit

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// TestPacerGiveBack: the token bucket's waiting reservations, given back
// at once and made again in any order, land where they were; given back
// one by one in the order their waiters woke, each reserving again before
// the next gives its own back (as they did before giveBack), the wait the
// pool owed doubles.
func TestPacerGiveBack(t *testing.T) {
	t0 := simEpoch
	const waiters = 8
	iv := 100 * time.Millisecond // 10/s
	setup := func() (*pacer, []*slot, []time.Time) {
		p := newPacer(10, 1)
		if !p.AllowN(t0, 1) {
			t.Fatal("the first request was not let go at once")
		}
		var slots []*slot
		var acts []time.Time
		for range waiters {
			s := p.ReserveN(t0, 1)
			slots, acts = append(slots, s), append(acts, s.act)
		}
		return p, slots, acts
	}
	wake := t0.Add(iv / 2)
	// Waiters wake in another order than they reserved.
	order := []int{3, 0, 6, 1, 7, 2, 5, 4}

	p, slots, acts := setup()
	if len(p.slots) != waiters {
		t.Fatalf("%d reservations held, want %d", len(p.slots), waiters)
	}
	before := p.TokensAt(wake)
	p.giveBack(wake)
	if len(p.slots) != 0 {
		t.Errorf("%d reservations still held after giveBack", len(p.slots))
	}
	if got, want := p.TokensAt(wake), before+waiters; got < want-1e-9 || got > want+1e-9 {
		t.Errorf("tokens after giveBack %.3f, want %.3f", got, want)
	}
	var again []time.Time
	for _, i := range order {
		slots[i].CancelAt(wake) // given back already: nothing more
		again = append(again, p.ReserveN(wake, 1).act)
	}
	slices.SortFunc(again, time.Time.Compare)
	for i := range acts {
		if d := again[i].Sub(acts[i]); d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("reservation %d again at %v, was at %v", i, again[i].Sub(t0), acts[i].Sub(t0))
		}
	}

	// The control (x/time/rate's CancelAt, as the waiters used it): one
	// by one, in the order of waking, the wait doubles.
	p, slots, acts = setup()
	var last time.Time
	for _, i := range order {
		slots[i].CancelAt(wake)
		last = laterOf(last, p.ReserveN(wake, 1).act)
	}
	if owed, was := last.Sub(wake), acts[waiters-1].Sub(wake); owed < was*3/2 {
		t.Errorf("given back one by one, the last waiter leaves %v after the wake, not much later than %v: the control no longer shows what giveBack mends", owed, was)
	}
}

// TestGiveBackWidePool: a pool of 16 against servers at 10 per second, as
// in the sweep (200 rows, a loaded machine). A pause gave the waiters'
// reservations back one by one, each behind the others, and the pool
// owed twice its size in intervals after every refusal: a bucket of 10 at
// 10/s without headers ran at 0.46 of the ideal, a fixed window from its
// first request counting its refusals (a Redis INCR-then-EXPIRE window)
// with express-rate-limit's headers at 0.57 with 43 429s.
func TestGiveBackWidePool(t *testing.T) {
	const rows = 200
	tests := []struct {
		name    string
		mk      func() simServer
		ideal   time.Duration
		seed    uint64
		minEff  float64
		max429s int
	}{
		{"bucket 10 at 10/s, bare", func() simServer { return &simBucket{burst: 10, rate: 10, style: styleBare} },
			idealBucketN(rows, 10, 10), 1, 0.9, 30},
		{"fixed window 10 per 1s from the first request, refusals counted, express headers", func() simServer {
			return &simFixed{limit: 10, window: time.Second, phase: time.Second / 3, countRefused: true, style: styleExpress}
		}, idealFixedN(rows, 10, time.Second), 2, 0.9, 12},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := simRunSeeded(tc.mk(), Config{Adaptive: true}, 16, rows, tc.seed, time.Hour, true)
			eff := tc.ideal.Seconds() / res.wall.Seconds()
			t.Logf("eff %.2f, 429s %d of %d, learned %s", eff, res.throttled, res.requests, res.stats.LearnedModel)
			if res.delivered != rows {
				t.Fatalf("%d of %d rows delivered", res.delivered, rows)
			}
			if eff < tc.minEff || res.throttled > tc.max429s {
				t.Errorf("eff %.2f with %d 429s, want at least %.2f and at most %d", eff, res.throttled, tc.minEff, tc.max429s)
			}
		})
	}
}

// TestGiveBackKeepsDebt: a bucket's debt past its waiters' reservations
// (a requeue's, Limiter.wakeRequeued, or a larger burst's) is kept
// whole by giveBack, not forgiven.
func TestGiveBackKeepsDebt(t *testing.T) {
	t0 := simEpoch
	for _, burst := range []int{1, 5} {
		p := newPacer(10, burst)
		p.AllowN(t0, burst)
		var slots []*slot
		for range 8 {
			slots = append(slots, p.ReserveN(t0, 1))
		}
		wake := t0.Add(30 * time.Millisecond)
		// Requeued: each given back in turn and made again behind.
		for _, s := range slots {
			s.CancelAt(wake)
			p.ReserveN(wake, 1)
		}
		before := p.TokensAt(wake)
		if before > -15 {
			t.Fatalf("burst %d: tokens %.2f after the requeue, want the wait doubled (under -15)", burst, before)
		}
		p.giveBack(wake)
		if got, want := p.TokensAt(wake), before+8; got < want-1e-6 || got > want+1e-6 {
			t.Errorf("burst %d: tokens after giveBack %.3f, want %.3f (the requeue's debt kept)", burst, got, want)
		}
	}
}

// TestGiveBackTimerFirst: a waiter whose timer fired before it took the
// lock, while a wake gave its reservation back, must reserve again: let
// go on the slot, its request left on a token the bucket had been given
// back, and two left where the pace lets one.
func TestGiveBackTimerFirst(t *testing.T) {
	clk := &simClock{now: simEpoch}
	l := New(Config{Rate: RateFromPerSecond(10), Burst: 2, Clock: clk})
	l.mu.Lock()
	defer l.mu.Unlock()
	var r *slot
	for r == nil {
		d, s, _ := l.admit(clk.now)
		if d <= 0 {
			l.begin(clk.now)
			continue
		}
		r = s
		clk.now = clk.now.Add(d)
	}
	// The timer fired; before its waiter takes the lock, a wake.
	l.wakeWaiters()
	left := 0
	if ok, _ := l.settle(clk.now, r, false); ok {
		left++
	}
	for range 3 {
		d, _, _ := l.admit(clk.now)
		if d > 0 {
			break
		}
		l.begin(clk.now)
		left++
	}
	if left != 1 {
		t.Errorf("%d requests left at once at 10/s, want 1", left)
	}
}

// TestGiveBackKeepsSchedule: whatever the bucket, the pace, the debt
// before and the order the waiters take the lock in, the reservations
// given back and made again land at the times they had.
func TestGiveBackKeepsSchedule(t *testing.T) {
	rnd := rand.New(rand.NewPCG(27, 1))
	for trial := range 500 {
		burst := 1 + rnd.IntN(5)
		lim := rate.Limit(1 + rnd.Float64()*199)
		t0 := simEpoch
		p := newPacer(lim, burst)
		p.AllowN(t0, burst)
		now := t0
		// Some requests left before, at random moments.
		for range rnd.IntN(10) {
			now = now.Add(time.Duration(rnd.Float64() * float64(time.Second) / float64(lim)))
			s := p.ReserveN(now, 1)
			now = now.Add(s.DelayFrom(now))
			s.TakeAt(now)
		}
		n := 1 + rnd.IntN(20)
		var acts []time.Time
		var slots []*slot
		for range n {
			s := p.ReserveN(now, 1)
			slots, acts = append(slots, s), append(acts, s.act)
		}
		wake := now.Add(time.Duration(rnd.Float64() * float64(time.Second) / float64(lim)))
		// A wake, as Limiter.wakeWaiters and the waiters' settle do it.
		p.giveBack(wake)
		var again []time.Time
		for _, i := range rnd.Perm(n) {
			slots[i].CancelAt(wake)
			again = append(again, p.ReserveN(wake, 1).act)
		}
		// Those already due when woken leave at the wake.
		for i := range acts {
			acts[i] = laterOf(acts[i], wake)
		}
		slices.SortFunc(acts, time.Time.Compare)
		slices.SortFunc(again, time.Time.Compare)
		for i := range acts {
			if d := again[i].Sub(acts[i]); d < -time.Microsecond || d > time.Microsecond {
				t.Fatalf("trial %d (burst %d, %.1f/s, %d waiters): reservation %d again at %v, was at %v", trial, burst, float64(lim), n, i, again[i].Sub(t0), acts[i].Sub(t0))
			}
		}
	}
}
