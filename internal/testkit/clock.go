package testkit

import (
	"slices"
	"sync"
	"time"
)

// Clock is a clock that moves only when a test moves it, so pacing, pauses
// and expiries are checked exactly, without sleeping and without flaking on
// a busy machine. It has the shape of ratelimit.Clock, and its Now can be
// passed wherever a func() time.Time is injected.
//
// A Clock made by NewClock fires a timer when Advance or AdvanceToNext
// reaches its deadline. One made by NewJumpClock instead jumps forward by
// a timer's duration when the timer is made and fires it at once: a waiter
// on it returns at the virtual instant it asked for and nothing sleeps,
// which suits code that waits from one goroutine at a time.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	jump    bool
	timers  []*clockTimer
	created int
	onMove  func(time.Time)
}

type clockTimer struct {
	at time.Time
	c  chan time.Time
}

// NewClock returns a Clock at t0 whose timers fire when the test advances
// the clock to them.
func NewClock(t0 time.Time) *Clock { return &Clock{now: t0} }

// NewJumpClock returns a Clock at t0 whose timers move it forward by their
// duration and fire at once.
func NewJumpClock(t0 time.Time) *Clock { return &Clock{now: t0, jump: true} }

// OnMove calls f with the new time whenever the clock moves, under the
// clock's lock, so another fake (a miniredis TIME, say) keeps in step.
func (c *Clock) OnMove(f func(time.Time)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onMove = f
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a channel that receives the clock's time once d has
// passed on it, and a stop function that reports whether it disarmed the
// timer. Like time.NewTimer it fires at once for d <= 0.
func (c *Clock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.created++
	ch := make(chan time.Time, 1)
	if c.jump {
		c.moveLocked(c.now.Add(d))
	}
	if c.jump || d <= 0 {
		ch <- c.now
		return ch, func() bool { return false }
	}
	ct := &clockTimer{at: c.now.Add(d), c: ch}
	c.timers = append(c.timers, ct)
	return ch, func() bool { return c.remove(ct) }
}

func (c *Clock) remove(ct *clockTimer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.timers, ct)
	if i < 0 {
		return false
	}
	c.timers = slices.Delete(c.timers, i, i+1)
	return true
}

// Advance moves the clock by d and fires every timer that is due, earliest
// first.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advanceToLocked(c.now.Add(d))
}

// AdvanceToNext jumps to the earliest armed deadline and fires what is due.
// With no timer armed it does nothing.
func (c *Clock) AdvanceToNext() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return
	}
	next := c.timers[0].at
	for _, ct := range c.timers[1:] {
		if ct.at.Before(next) {
			next = ct.at
		}
	}
	c.advanceToLocked(next)
}

func (c *Clock) advanceToLocked(t time.Time) {
	if t.After(c.now) {
		c.moveLocked(t)
	}
	slices.SortStableFunc(c.timers, func(a, b *clockTimer) int { return a.at.Compare(b.at) })
	kept := c.timers[:0]
	for _, ct := range c.timers {
		if ct.at.After(c.now) {
			kept = append(kept, ct)
			continue
		}
		ct.c <- c.now
	}
	c.timers = kept
}

func (c *Clock) moveLocked(t time.Time) {
	c.now = t
	if c.onMove != nil {
		c.onMove(t)
	}
}

// Pending is the number of armed timers, that is of waiters asleep.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Created is the number of timers ever made, to tell a re-armed waiter from
// a stale one.
func (c *Clock) Created() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.created
}
