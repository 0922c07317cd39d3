package ratelimit

import (
	"slices"
	"testing"
	"time"
)

// TestPresumedInFlight: the requests in flight sent before a refused one
// are presumed taken (a bucket answers a refusal at once, a queue what it
// took late) until their answers come, each of them, also those sent at
// the same instant; and a refusal whose request Done did not find
// presumes nothing, not every request in flight up to its answer. Before,
// three requests sent at one instant were presumed once (the first answer
// left the other two uncounted), and the refusal Done did not place
// presumed the request sent after the refused one: this test FAILED then
// (on the list presumed: 1 held, not 3; 0 after one answer; the one
// sent at 2ms presumed at the stale refusal).
func TestPresumedInFlight(t *testing.T) {
	const ms = time.Millisecond
	t0 := simEpoch
	clk := &simClock{now: t0}
	l := New(Config{Adaptive: true, InFlight: 8, Clock: clk})
	begin := func(at time.Duration) {
		clk.now = t0.Add(at)
		l.mu.Lock()
		defer l.mu.Unlock()
		l.begin(clk.now)
	}
	presumed := func() []time.Time {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.adapt.open = l.fl.open
		defer func() { l.adapt.open = nil }()
		return slices.Clone(l.adapt.presumedOpen())
	}
	held := func() int { return len(presumed()) }
	// Three sent at the same instant, the refused one after them, and
	// one after it.
	begin(0)
	begin(0)
	begin(0)
	begin(ms)
	begin(2 * ms)
	clk.now = t0.Add(3 * ms)
	// The caller's clock, read after Wait returned, a few µs on.
	l.Done(t0.Add(ms+2*time.Microsecond), Refused)
	l.Throttle(clk.now, 0, false)
	if got := held(); got != 3 {
		t.Fatalf("%d requests presumed taken, want 3: those sent before the refused one", got)
	}
	clk.now = t0.Add(4 * ms)
	l.Done(t0.Add(time.Microsecond), Accepted)
	if got := held(); got != 2 {
		t.Fatalf("one answered: %d presumed taken, want the other 2", got)
	}
	// A refusal answered over a second after its request left (stale,
	// as Throttle reads it): the one sent at 2ms, still in flight, is
	// not presumed taken for it.
	begin(1500 * ms)
	clk.now = t0.Add(2600 * ms)
	if l.pauseUntil.After(clk.now) {
		t.Fatal("still paused: the refusal would presume nothing anyway")
	}
	l.Done(t0.Add(1500*ms+2*time.Microsecond), Refused)
	l.Throttle(clk.now, 0, false)
	for _, p := range presumed() {
		if p.After(t0.Add(ms)) {
			t.Errorf("a refusal of a request sent over a second before: the one sent at %v presumed taken", p.Sub(t0))
		}
	}
}
