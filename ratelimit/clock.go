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

// A napper is a Clock that can block for a short span more exactly than
// its timers fire: SystemClock on Linux, whose timers wake on the whole
// milliseconds of Go's network poller (epoll_wait counts in them), so
// that a timer of 10.64ms fires after 11.2ms and one of 2.3ms after 3.2
// (measured on the project's machine, Go 1.26), while nanosleep(2) ends
// within a tenth of a millisecond.
type napper interface {
	// Nap blocks the calling goroutine (and its thread) for d, at most
	// napLead, heeding nothing else.
	Nap(d time.Duration)
}

// napLead is how long before its end sleepFine hands a wait from the
// timer to Nap: a timer fires up to a millisecond late, and a little
// more on a busy machine.
const napLead = 1500 * time.Microsecond

// sleepFine is Sleep, ending within a fraction of a millisecond of d where
// c can nap: a timer to napLead before the end, then a nap for the rest.
// The strict schedule of a server that takes one request at a time
// sleeps so (Limiter.Wait): each of its departures waits a whole interval
// after the one before, so a timer's lateness is paid on every request
// (nginx without a burst pinned at 94/s: a request every 11-12ms, 4.50s
// for 400 rows against 4.25s). The nap heeds neither wake nor ctx; it is
// napLead at most, and both are read after it.
func sleepFine(ctx context.Context, c Clock, d time.Duration, wake <-chan struct{}) (woken bool, err error) {
	n, ok := c.(napper)
	if !ok {
		return Sleep(ctx, c, d, wake)
	}
	until := c.Now().Add(d)
	if d > napLead {
		if woken, err := Sleep(ctx, c, d-napLead, wake); woken || err != nil {
			return woken, err
		}
	}
	if r := until.Sub(c.Now()); r > 0 {
		n.Nap(min(r, napLead))
	}
	select {
	case <-wake:
		return true, nil
	default:
	}
	return false, ctx.Err()
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
