package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Caps are long local limits on top of the pace, as a repeated --rate
// gives them (--rate 50/s --rate 10000/24h): each is a bucket of Count
// requests refilled over Per, full at the start, and a request goes only
// when every cap allows it. A cap that allows nothing before a time
// further off than the caller's longest wait is spent: Wait says until
// when, and the run parks instead of sleeping for a day.
type Caps struct {
	clock   Clock
	maxWait time.Duration
	mu      sync.Mutex
	caps    []*rate.Limiter
	rates   []Rate
}

// SpentError is a cap's answer when it allows nothing before Until.
type SpentError struct {
	Until time.Time
	Rate  Rate // the cap that is spent
}

func (e *SpentError) Error() string {
	return fmt.Sprintf("local limit %s spent until %s", e.Rate, e.Until.Format(time.RFC3339))
}

// NewCaps returns the caps of rates. A wait longer than maxWait is a
// *SpentError; maxWait <= 0 sleeps through any wait. A nil Clock is the
// system clock.
func NewCaps(rates []Rate, maxWait time.Duration, clock Clock) *Caps {
	if clock == nil {
		clock = SystemClock{}
	}
	c := &Caps{clock: clock, maxWait: maxWait}
	for _, r := range rates {
		if r.IsZero() {
			continue
		}
		c.caps = append(c.caps, rate.NewLimiter(r.Limit(), max(int(r.Count), 1)))
		c.rates = append(c.rates, r)
	}
	return c
}

// Wait takes one request from every cap, sleeping while one refills. When
// one is spent past maxWait it takes nothing and returns a *SpentError.
func (c *Caps) Wait(ctx context.Context) error {
	c.mu.Lock()
	now := c.clock.Now()
	res := make([]*rate.Reservation, 0, len(c.caps))
	var wait time.Duration
	for i, l := range c.caps {
		r := l.ReserveN(now, 1)
		d := r.DelayFrom(now)
		if !r.OK() || (c.maxWait > 0 && d > c.maxWait) {
			r.CancelAt(now)
			for _, taken := range res {
				taken.CancelAt(now)
			}
			c.mu.Unlock()
			return &SpentError{Until: now.Add(d), Rate: c.rates[i]}
		}
		res = append(res, r)
		wait = max(wait, d)
	}
	c.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	if _, err := Sleep(ctx, c.clock, wait, nil); err != nil {
		c.mu.Lock()
		for _, r := range res {
			r.CancelAt(c.clock.Now())
		}
		c.mu.Unlock()
		return err
	}
	return nil
}
