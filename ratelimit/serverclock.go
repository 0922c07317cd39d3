package ratelimit

import (
	"net/http"
	"sync"
	"time"
)

// ServerClock learns the offset between the local clock and a server's from
// the Date headers of its answers, to better than their one-second
// precision. An answer generated between local times sent and received
// carries Date = floor(server time), so the offset lies in
// [Date - received, Date + 1s - sent); every answer narrows that interval.
//
// With it a reset given in Unix milliseconds is read to the millisecond,
// where reading it against a single Date header could wait up to a second
// too long.
type ServerClock struct {
	mu     sync.Mutex
	lo, hi time.Duration
	n      int
	// lastDate and lastParsed cache the last Date header: answers within
	// one second share it, and parsing is most of Observe's cost.
	lastDate   string
	lastParsed time.Time
}

// serverClockPrecise is how narrow the interval must be before Now is used.
const serverClockPrecise = 100 * time.Millisecond

// Observe narrows the offset with an answer's Date header, for a request
// sent and answered at the given local times.
func (c *ServerClock) Observe(h http.Header, sent, received time.Time) {
	v := h.Get("Date")
	if v == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	date := c.lastParsed
	if v != c.lastDate {
		var err error
		if date, err = http.ParseTime(v); err != nil {
			return
		}
		c.lastDate, c.lastParsed = v, date
	}
	lo, hi := date.Sub(received), date.Add(time.Second).Sub(sent)
	if c.n == 0 || lo > c.hi || hi < c.lo {
		// First answer, or the server's clock jumped: start again.
		c.lo, c.hi, c.n = lo, hi, 1
		return
	}
	c.lo, c.hi, c.n = max(c.lo, lo), min(c.hi, hi), c.n+1
}

// Now returns the server's time at local time t once the offset is known to
// within 100ms, or, before that, when the answers so far agree with the two
// clocks being in step: then the local clock's precision is the better bet.
func (c *ServerClock) Now(t time.Time) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.n == 0:
		return time.Time{}, false
	case c.hi-c.lo <= serverClockPrecise:
		return t.Add((c.lo + c.hi) / 2), true
	case c.lo <= 0 && 0 < c.hi:
		return t, true
	}
	return time.Time{}, false
}

// At is the server's time at local time t, for an answer with headers h:
// the learned clock when it is precise, else the answer's Date header (to
// the second), else t itself. A reset the server announces as a wait is an
// instant on this clock.
func (c *ServerClock) At(h http.Header, t time.Time) time.Time {
	if server, ok := c.Now(t); ok {
		return server
	}
	return serverNow(h, t)
}

// ParseWaitAt is ParseWait with absolute times read against the learned
// server clock when it is precise, else against the answer's Date header.
func (c *ServerClock) ParseWaitAt(h http.Header, now time.Time) (Signal, bool) {
	if server, ok := c.Now(now); ok && h.Get("Date") != "" {
		h = h.Clone()
		h.Del("Date")
		sig, ok := ParseWait(h, server)
		return sig, ok
	}
	return ParseWait(h, now)
}

// ParseQuotaAt is ParseQuota with reset instants given to the millisecond
// ("2026-12-03T22:30:00.123Z", Unix ms) read against the learned server
// clock when it is precise (or in step with the local one). Read against
// the Date header, truncated to the second, such a reset says a window
// ends up to a second later than it does; that claim is what the
// fixed-window model tries. Resets given to the second are read against
// the Date header still, whose truncation offsets theirs; Quota.ResetFine
// measures them against the learned clock too, for the fixed-window model
// to tell a server that rounds its window's end up from one that
// truncates it.
func (c *ServerClock) ParseQuotaAt(h http.Header, now time.Time) (Quota, bool) {
	if !hasRateLimitHeader(h) {
		return Quota{Remaining: -1}, false
	}
	r := refs{date: serverNow(h, now)}
	r.fine = r.date
	if server, ok := c.Now(now); ok {
		r.fine = server
	}
	return parseQuota(h, r)
}
