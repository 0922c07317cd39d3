package ratelimit

import (
	"testing"
	"time"
)

// throttleForRig is a Limiter whose first request was accepted (a counter
// of 100 with 98 left, no sign yet) and whose next two, let go at 10ms
// and 20ms, were both refused, their Dones read before either refusal's
// Throttle, as two workers' may be. The caller's send times (asked) lie
// 5µs after the Limiter's own, as the sender's do after Wait returned.
type throttleForRig struct {
	l          *Limiter
	clk        *simClock
	t1, t2     time.Time // the Limiter's send times
	asked1, at time.Time
}

func newThrottleForRig() *throttleForRig {
	const ms = time.Millisecond
	clk := &simClock{now: simEpoch}
	l := New(Config{Adaptive: true, InFlight: 8, Clock: clk})
	t0 := simEpoch
	send := func(at time.Time) {
		clk.now = at
		l.mu.Lock()
		l.begin(at)
		l.mu.Unlock()
	}
	send(t0)
	clk.now = t0.Add(ms)
	l.Done(t0, Accepted)
	l.Success(t0, Quota{Limit: 100, Remaining: 98, Header: familyXRateLimit}, true)
	r := &throttleForRig{l: l, clk: clk, t1: t0.Add(10 * ms), t2: t0.Add(20 * ms), at: t0.Add(30 * ms)}
	send(r.t1)
	send(r.t2)
	clk.now = r.at
	r.asked1 = r.t1.Add(5 * time.Microsecond)
	l.Done(r.asked1, Refused)
	l.Done(r.t2.Add(5*time.Microsecond), Refused)
	return r
}

// TestThrottleForReadsItsOwnRefusal: the first refusal's ThrottleFor
// anchors its sign at that request's send time by the Limiter's clock
// (10ms), where Throttle read the latest refused request's (20ms); and
// the second's stays unread for its own ThrottleFor.
func TestThrottleForReadsItsOwnRefusal(t *testing.T) {
	r := newThrottleForRig()
	r.l.ThrottleFor(r.asked1, r.at, 100*time.Millisecond, true)
	if got := r.l.adapt.lastAnchor; !got.Equal(r.t1) {
		t.Errorf("the first refusal's sign at %v, want %v", got.Sub(simEpoch), r.t1.Sub(simEpoch))
	}
	if u := r.l.adapt.takeUnread(r.t2.Add(5 * time.Microsecond)); !u.Equal(r.t2) {
		t.Errorf("the second refusal's send time %v, want %v", u.Sub(simEpoch), r.t2.Sub(simEpoch))
	}
}

// TestThrottleForWhileFitting: a ThrottleFor that comes while a bare fit
// runs off the lock is read once it lands, for its own request, however
// many refusals Done ended meanwhile.
func TestThrottleForWhileFitting(t *testing.T) {
	r := newThrottleForRig()
	l := r.l
	l.mu.Lock()
	l.fitting = true
	l.mu.Unlock()
	l.ThrottleFor(r.asked1, r.at, 100*time.Millisecond, true)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.deferred) != 1 {
		t.Fatalf("%d reads deferred, want the ThrottleFor's", len(l.deferred))
	}
	// Another refusal's Done, read before the fit lands.
	l.adapt.refusedSent = r.t2
	l.fitting = false
	for len(l.deferred) > 0 {
		f := l.deferred[0]
		l.deferred = l.deferred[1:]
		f()
	}
	if got := l.adapt.lastAnchor; !got.Equal(r.t1) {
		t.Errorf("the refusal read after the fit signed at %v, want %v", got.Sub(simEpoch), r.t1.Sub(simEpoch))
	}
}
