package ratelimit

import (
	"testing"
	"time"
)

// TestThrottleForReadsItsOwnRefusal: two workers' refusals, both Dones
// before either's Throttle. Throttle reads the latest refused request's
// send time for the first refusal's sign (and none for the second's);
// ThrottleFor reads each refusal's own, as Done found it in flight.
func TestThrottleForReadsItsOwnRefusal(t *testing.T) {
	const ms = time.Millisecond
	for _, own := range []bool{true, false} {
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
		t1, t2 := t0.Add(10*ms), t0.Add(20*ms)
		send(t1)
		send(t2)
		now := t0.Add(30 * ms)
		clk.now = now
		l.Done(t1, Refused)
		l.Done(t2, Refused)
		if own {
			l.ThrottleFor(t1, now, 100*ms, true)
		} else {
			l.Throttle(now, 100*ms, true)
		}
		got := l.adapt.lastAnchor
		want := t1
		if !own {
			want = t2
		}
		if !got.Equal(want) {
			t.Errorf("ThrottleFor %v: the first refusal's sign at %v, want %v", own, got.Sub(t0), want.Sub(t0))
		}
		if own {
			if u := l.adapt.takeUnread(t2); !u.Equal(t2) {
				t.Errorf("the second refusal's send time %v, want %v", u.Sub(t0), t2.Sub(t0))
			}
		}
	}
}
