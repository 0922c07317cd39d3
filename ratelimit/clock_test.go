package ratelimit

import (
	"sort"
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock that only moves when a test advances it, so pacing and
// pauses are checked exactly, without sleeping and without flaking on a busy
// machine.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer
	created int // timers ever created, to tell a re-armed waiter from a stale one
}

type fakeTimer struct {
	at time.Time
	c  chan time.Time
}

func newFakeClock(t0 time.Time) *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer fires at once for d <= 0, like time.NewTimer.
func (c *fakeClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.created++
	ft := &fakeTimer{at: c.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		ft.c <- c.now
		return ft.c, func() bool { return false }
	}
	c.timers = append(c.timers, ft)
	return ft.c, func() bool { return c.remove(ft) }
}

func (c *fakeClock) remove(ft *fakeTimer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.timers {
		if x == ft {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return true
		}
	}
	return false
}

// Advance moves the clock by d and fires every timer that is due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advanceToLocked(c.now.Add(d))
}

// AdvanceToNext jumps to the earliest pending deadline and fires what is due.
func (c *fakeClock) AdvanceToNext() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return
	}
	next := c.timers[0].at
	for _, ft := range c.timers[1:] {
		if ft.at.Before(next) {
			next = ft.at
		}
	}
	c.advanceToLocked(next)
}

func (c *fakeClock) advanceToLocked(t time.Time) {
	if t.After(c.now) {
		c.now = t
	}
	sort.SliceStable(c.timers, func(i, k int) bool { return c.timers[i].at.Before(c.timers[k].at) })
	kept := c.timers[:0]
	for _, ft := range c.timers {
		if ft.at.After(c.now) {
			kept = append(kept, ft)
			continue
		}
		ft.c <- c.now
	}
	c.timers = kept
}

// Pending is the number of armed timers, i.e. of waiters asleep.
func (c *fakeClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Created is the number of timers ever made.
func (c *fakeClock) Created() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.created
}

// eventually polls cond until it holds. It guards against a deadlock, not a
// duration: the deadline is far beyond any normal run.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Microsecond)
	}
}
