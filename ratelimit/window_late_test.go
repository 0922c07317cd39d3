package ratelimit

import (
	"testing"
	"time"
)

// lateRig feeds a Limiter whose adaptive rate holds the fixed-window model
// sends and answers at given offsets, as a loaded machine delivers them:
// some answers come well after later requests' (a request waits for a
// CPU before it leaves, or its answer does before it is read).
type lateRig struct {
	t   *testing.T
	l   *Limiter
	clk *simClock
	t0  time.Time
}

// newLateRig starts the model as the idle spell does on a fixed window of
// 15 whose first window was spent: its first request at 0, answered at
// 1ms, the window at least lo long.
func newLateRig(t *testing.T, lo time.Duration) *lateRig {
	clk := &simClock{now: simEpoch}
	l := New(Config{Adaptive: true, InFlight: 8, Clock: clk})
	// The counter is a quota's, not the slots of requests in hand.
	l.fl.quota = true
	l.adapt.win = newWindowModel(15, 8, 15, simEpoch, simEpoch.Add(time.Millisecond), lo)
	return &lateRig{t: t, l: l, clk: clk, t0: simEpoch}
}

// send lets a request go at offset at, as Wait does.
func (r *lateRig) send(at time.Duration) {
	r.clk.now = r.t0.Add(at)
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	r.l.adapt.win.sent(r.clk.now)
	r.l.begin(r.clk.now)
}

// answer reports the accepted answer to the request sent at sent,
// received at recv, its counter showing remaining of 15, as sender does,
// and fails the test once the fixed-window model is put aside.
func (r *lateRig) answer(sent, recv time.Duration, remaining int) {
	r.t.Helper()
	r.clk.now = r.t0.Add(recv)
	r.l.Done(r.t0.Add(sent), Accepted)
	r.l.Success(r.t0.Add(sent), Quota{Limit: 15, Remaining: remaining, Header: familyXRateLimit}, true)
	if r.l.adapt.win == nil {
		r.t.Fatalf("answer to the request sent at %v (received at %v, %d left) put the fixed window aside (sliding %v)",
			sent, recv, remaining, r.l.adapt.sliding)
	}
}

// TestWindowModelSuspectWaitsForItsBurst: a counter come back part of the
// way makes its request a suspect, cleared by an answer from its burst
// that shows the counter whole (the new window's opener, answered out of
// order). On a loaded machine that answer can come after the answers to
// requests sent well after the suspect: the verdict waits until no
// request sent with the suspect is still in flight. Before, the first
// later answer decided, and a fixed window whose opener was answered 17ms
// late was taken for a sliding one.
func TestWindowModelSuspectWaitsForItsBurst(t *testing.T) {
	const ms = time.Millisecond
	r := newLateRig(t, 100*ms)
	// A window at 160ms, its quota spent at once.
	r.send(160 * ms)
	r.answer(160*ms, 161*ms, 14)
	for range 14 {
		r.send(161 * ms)
	}
	for i := range 14 {
		r.answer(161*ms, 162*ms, 13-i)
	}
	// The next window: the pacer's first request leaves at 320ms alone
	// and waits for a CPU; after 15ms the other seven go. Of those, the
	// one that reaches the server first (the window's opener) is
	// answered last; the first request arrives eighth.
	r.send(320 * ms)
	for range 7 {
		r.send(335 * ms)
	}
	for i := range 6 {
		r.answer(335*ms, 336*ms+time.Duration(i)*ms/10, 13-i)
	}
	// The first request's answer: 7 left, more than the requests sent
	// before it could have taken from a new window. A suspect.
	r.answer(320*ms, 346*ms, 7)
	// A request sent after it, answered while the opener's answer is
	// still on its way.
	r.send(347 * ms)
	r.answer(347*ms, 348*ms, 6)
	// The opener's answer: the counter whole.
	r.answer(335*ms, 352*ms, 14)
	r.send(353 * ms)
	r.answer(353*ms, 354*ms, 5)
	if w := r.l.adapt.win; !w.suspect.IsZero() {
		t.Errorf("suspect at %v not cleared by the opener's answer", w.suspect.Sub(r.t0))
	}
}
