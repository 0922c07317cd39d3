package ratelimit

import (
	"sync"
	"testing"
	"time"
)

// stepClock is a clock a test moves by hand, safe to read from several
// goroutines; read, when set, is told of each reading.
type stepClock struct {
	mu   sync.Mutex
	now  time.Time
	read chan time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	now := c.now
	c.mu.Unlock()
	if c.read != nil {
		c.read <- now
	}
	return now
}

func (c *stepClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func (c *stepClock) NewTimer(time.Duration) (<-chan time.Time, func() bool) {
	panic("stepClock: no timers")
}

// TestAnswerStampedWhenItCame: an answer that waits for the lock (held
// 300ms by a bare fit, session 11's review, finding 4) is read at the
// time it came, not when the lock came free: the bare log and the fit
// time the server's windows by those times.
func TestAnswerStampedWhenItCame(t *testing.T) {
	clk := &stepClock{now: simEpoch, read: make(chan time.Time)}
	l := New(Config{Adaptive: true, InFlight: 8, Clock: clk})
	l.mu.Lock()
	done := make(chan struct{})
	go func() {
		l.Success(simEpoch.Add(-20*time.Millisecond), Quota{}, false)
		close(done)
	}()
	came := <-clk.read // the answer came at simEpoch
	clk.read = nil
	clk.set(simEpoch.Add(300 * time.Millisecond))
	l.mu.Unlock()
	<-done
	l.mu.Lock()
	got := l.adapt.lastRecv
	l.mu.Unlock()
	if !got.Equal(came) {
		t.Errorf("the answer that came at %v was read at %v, %v late", came.Format("15:04:05.000"), got.Format("15:04:05.000"), got.Sub(came))
	}
}

// TestBareFitOffTheLock: on the real clock the bare fit at a ride's
// refusal runs off the Limiter's lock. While it runs the answers are
// taken at once (the lock is free) and read once it lands, each at the
// time it came, and no request leaves; when it lands the pause it timed
// begins at the refusal.
func TestBareFitOffTheLock(t *testing.T) {
	const ms = time.Millisecond
	clk := &stepClock{now: simEpoch}
	l := New(Config{Adaptive: true, InFlight: 8, Clock: clk})
	a := l.adapt
	a.fitOff = true
	t0 := simEpoch.Add(-2 * time.Second)
	// A burst of 10 of a window of 500ms, probes, then a ride's answers.
	for i := range 10 {
		sent := t0.Add(time.Duration(i) * ms)
		a.bareLog = append(a.bareLog, bareAnswer{sent: sent, recv: sent.Add(5 * ms), ok: true})
	}
	a.bareLog = append(a.bareLog, bareAnswer{recv: t0.Add(16 * ms)})
	for i := range 10 {
		sent := t0.Add(600*ms + time.Duration(i)*30*ms)
		a.bareLog = append(a.bareLog, bareAnswer{sent: sent, recv: sent.Add(5 * ms), ok: true})
	}
	a.successes, a.firstSent, a.signs = 20, t0, 1
	a.bare = &bareWindow{quota: 10, start: t0, lo: 400 * ms, hi: 550 * ms, d0: 400 * ms, d1: 600 * ms,
		riding: true, fitLo: 380 * ms, mid: 470 * ms, rideFrom: t0.Add(600 * ms), since: t0.Add(600 * ms)}
	a.pace = 40
	entered, release := make(chan struct{}), make(chan struct{})
	l.fitHook = func() {
		close(entered)
		<-release
	}
	now := simEpoch
	l.Throttle(now, 0, false) // the ride's refusal: returns with the fit running
	<-entered
	if !l.mu.TryLock() {
		t.Fatal("the lock is held while the fit runs")
	}
	l.mu.Unlock()
	// An answer and a request's end while the fit runs: taken at once.
	l.Done(t0.Add(880*ms), Accepted)
	l.Success(t0.Add(880*ms), Quota{}, false)
	clk.set(now.Add(300 * ms))
	l.mu.Lock()
	if d, _, _ := l.admit(now.Add(300 * ms)); d <= 0 {
		t.Error("a request may leave while the fit runs")
	}
	if n := len(l.deferred); n != 2 {
		t.Errorf("%d answers wait to be read, want 2", n)
	}
	l.mu.Unlock()
	close(release)
	st := l.Stats() // waits for the fit to land
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fitting || len(l.deferred) > 0 {
		t.Fatalf("fitting %v with %d answers unread after Stats", l.fitting, len(l.deferred))
	}
	if !l.adapt.lastRecv.Equal(now) {
		t.Errorf("the answer that came at the refusal was read at %v", l.adapt.lastRecv.Sub(now))
	}
	if !l.pauseUntil.After(now) || st.Pauses != 1 {
		t.Errorf("pause until %v after the refusal, %d pauses: want the fit's pause from the refusal", l.pauseUntil.Sub(now), st.Pauses)
	}
	t.Logf("pause %v, pace %.1f/s, fit ok %v [%v, %v]", l.pauseUntil.Sub(now), a.pace, a.bare != nil && a.bare.fit.ok, a.bare.lo, a.bare.hi)
}
