package ratelimit

import (
	"context"
	"time"
)

// Clock is the time source of a Limiter. Tests inject a fake one so pauses and
// pacing are checked without sleeping.
type Clock interface {
	Now() time.Time
	// NewTimer returns a channel that receives once d has passed, and a stop
	// function that releases the timer early.
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer wraps time.NewTimer.
func (SystemClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// Sleep waits d on c, or until wake is closed (woken), or ctx ends. Every
// wait of a limiter goes through it, so a pause that starts or grows wakes
// all waiters at once and none outlives its context.
func Sleep(ctx context.Context, c Clock, d time.Duration, wake <-chan struct{}) (woken bool, err error) {
	t, stop := c.NewTimer(d)
	defer stop()
	select {
	case <-t:
		return false, nil
	case <-wake:
		return true, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}
