package sandbox

import (
	"net/http"
	"strconv"
	"time"
)

// limiter is the vendor's quota: a token bucket kept as GCRA (a theoretical
// arrival time in whole nanoseconds, so "15 accepted, refill after 10ms" is
// exact, with no float drift) or a fixed window. It is guarded by Server.mu.
type limiter struct {
	burst    int64
	interval time.Duration // bucket: time to earn one token
	window   time.Duration // > 0: fixed window mode
	penalty  bool

	tat   time.Time // bucket: when the bucket would be full again
	end   time.Time // window: when the current window closes
	count int64     // window: requests accepted in it
}

// decision is the limiter's verdict on one request and what the quota
// headers need to describe it. The zero value means "no limiter": no headers.
type decision struct {
	active    bool
	allowed   bool
	limit     int64
	remaining int64
	// reset is, when allowed, the time until the quota is whole again; when
	// not, the wait until the next request would be allowed.
	reset  time.Duration
	period time.Duration // the quota's window, for RateLimit-Policy
}

// newLimiter returns nil for "no limit". The caller has validated the
// arguments: a window comes with a burst, a burst with a rate or a window.
func newLimiter(burst int, rate float64, window time.Duration, penalty bool) *limiter {
	switch {
	case window > 0:
		return &limiter{burst: int64(burst), window: window, penalty: penalty}
	case rate == 0:
		return nil
	}
	interval := max(time.Duration(float64(time.Second)/rate), 1)
	return &limiter{burst: int64(max(burst, 1)), interval: interval, penalty: penalty}
}

func (l *limiter) reset() {
	l.tat, l.end, l.count = time.Time{}, time.Time{}, 0
}

// take spends one request's worth of quota at now, if there is any.
func (l *limiter) take(now time.Time) decision {
	if l.window > 0 {
		return l.takeWindow(now)
	}
	capacity := time.Duration(l.burst) * l.interval
	d := decision{active: true, limit: l.burst, period: capacity}
	base := l.tat
	if base.Before(now) {
		base = now
	}
	next := base.Add(l.interval)
	if ahead := next.Sub(now); ahead <= capacity {
		l.tat = next
		d.allowed, d.remaining, d.reset = true, int64((capacity-ahead)/l.interval), ahead
		return d
	}
	if l.penalty { // the bucket goes negative, but no lower than -burst
		l.tat = next
		if deepest := now.Add(2 * capacity); l.tat.After(deepest) {
			l.tat = deepest
		}
		base = l.tat
	}
	d.reset = base.Add(l.interval).Sub(now) - capacity
	return d
}

func (l *limiter) takeWindow(now time.Time) decision {
	if !now.Before(l.end) {
		l.end, l.count = now.Add(l.window), 0
	}
	d := decision{active: true, limit: l.burst, period: l.window}
	if l.count < l.burst {
		l.count++
		d.allowed, d.remaining, d.reset = true, l.burst-l.count, l.end.Sub(now)
		return d
	}
	if l.penalty { // one more window, but never more than two from now
		l.end = l.end.Add(l.window)
		if limit := now.Add(2 * l.window); l.end.After(limit) {
			l.end = limit
		}
	}
	d.reset = l.end.Sub(now)
	return d
}

// writeQuota sets the headers style uses to describe d. now is the server's
// skewed clock, which every absolute time is based on.
func writeQuota(h http.Header, style string, d decision, now time.Time) {
	if !d.active {
		return
	}
	secs := strconv.FormatInt(ceilSeconds(d.reset), 10)
	limit := strconv.FormatInt(d.limit, 10)
	remaining := strconv.FormatInt(d.remaining, 10)
	at := now.Add(d.reset)
	switch style {
	case StyleRetryAfter:
		if !d.allowed {
			h.Set("Retry-After", strconv.FormatInt(max(ceilSeconds(d.reset), 1), 10))
		}
		return
	case StyleRetryAfterDate:
		if !d.allowed {
			h.Set("Retry-After", time.Unix(ceilUnix(at, time.Second), 0).UTC().Format(http.TimeFormat))
		}
		return
	case StyleRateLimit:
		h.Set("RateLimit", `"default";r=`+remaining+`;t=`+secs)
		h.Set("RateLimit-Policy", `"default";q=`+limit+`;w=`+strconv.FormatInt(max(ceilSeconds(d.period), 1), 10))
		return
	case StyleRateLimitOld:
		h.Set("RateLimit-Limit", limit)
		h.Set("RateLimit-Remaining", remaining)
		h.Set("RateLimit-Reset", secs)
		return
	case StyleInin:
		h.Set("inin-ratelimit-count", strconv.FormatInt(d.limit-d.remaining, 10))
		h.Set("inin-ratelimit-allowed", limit)
		h.Set("inin-ratelimit-reset", secs)
		return
	case StyleResetAfter:
		ms := ceilDiv(int64(d.reset), int64(time.Millisecond))
		h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64))
	case StyleResetUnix:
		h.Set("X-RateLimit-Reset", strconv.FormatInt(ceilUnix(at, time.Second), 10))
	case StyleResetUnixMS:
		h.Set("X-RateLimit-Reset", strconv.FormatInt(ceilUnix(at, time.Millisecond), 10))
	case StyleResetSeconds:
		h.Set("X-RateLimit-Reset", secs)
	case StyleResetISO:
		ms := ceilUnix(at, time.Millisecond)
		h.Set("X-RateLimit-Reset", time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	case StyleResetDuration:
		h.Set("X-RateLimit-Reset", (time.Duration(ceilDiv(int64(d.reset), int64(time.Millisecond))) * time.Millisecond).String())
	default: // StyleNone: a bare 429
		return
	}
	// Every X-RateLimit-Reset* style comes with the quota it resets.
	h.Set("X-RateLimit-Limit", limit)
	h.Set("X-RateLimit-Remaining", remaining)
}

// ceilSeconds rounds d up to whole seconds, so a client never retries early.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return ceilDiv(int64(d), int64(time.Second))
}

// ceilUnix is t in whole units since the Unix epoch, rounded up.
func ceilUnix(t time.Time, unit time.Duration) int64 {
	return ceilDiv(t.UnixNano(), int64(unit))
}

// ceilDiv divides rounding towards +infinity (b > 0).
func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b > 0 {
		q++
	}
	return q
}
