package sandbox

import (
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// The limiter models a Server can run; Config.Model takes one. Each is an
// algorithm real APIs and proxies use, so a client can be tested against
// every way "too many requests" is decided in the wild.
const (
	ModelBucket      = "bucket"      // token bucket: Burst tokens refilled at Rate
	ModelLeaky       = "leaky"       // leaky bucket as nginx limit_req burst nodelay: Burst+1 at once, drained at Rate
	ModelFixed       = "fixed"       // fixed window: Burst requests per Window
	ModelSliding     = "sliding"     // sliding window: Burst requests in any Window (a log, or a counter)
	ModelConcurrency = "concurrency" // at most Burst requests in flight
)

var models = []string{ModelBucket, ModelLeaky, ModelFixed, ModelSliding, ModelConcurrency}

// Models lists every limiter model, for --help.
func Models() []string { return slices.Clone(models) }

// How a sliding window counts; Config.Sliding takes one.
const (
	// SlidingLog keeps the time of every counted request: exactly Burst in
	// any Window.
	SlidingLog = "log"
	// SlidingCounter keeps counts of windows aligned to the clock and
	// weighs the previous one by how much of it still overlaps the last
	// Window, rounded to a whole request, as go-chi/httprate does (its
	// in-memory counter aligns the windows to the limiter's start instead).
	SlidingCounter = "counter"
	// SlidingCounterFirst is HAProxy's http_req_rate(Window): a counter
	// whose first window opens at the first request and whose next ones
	// follow it back to back, restarting at the next request once two
	// windows went by without one; the previous window's count weighs
	// (Window - elapsed)/Window, rounded down.
	SlidingCounterFirst = "counter-first"
)

// limiter is the vendor's quota in one of the models. A bucket is kept as
// GCRA (a theoretical arrival time in whole nanoseconds, so "15 accepted,
// refill after 10ms" is exact, with no float drift). It is guarded by
// Server.mu.
type limiter struct {
	model     string
	burst     int64
	interval  time.Duration // bucket, leaky: time to earn one token
	window    time.Duration // fixed, sliding
	perSecond float64       // the sustained rate, for StyleRateLimitRefill
	penalty   bool
	refused   bool // refused requests count against the quota
	aligned   bool // fixed: windows start at multiples of window on the clock
	counter   bool // sliding: a counter rather than a log
	first     bool // sliding counter: windows from the first request, as HAProxy's

	tat      time.Time   // bucket, leaky: when the bucket would be full again
	end      time.Time   // fixed: when the current window closes
	count    int64       // fixed: requests counted in it
	log      []time.Time // sliding log: the counted requests of the last window, oldest first
	cur      time.Time   // sliding counter: start of the current window (zero: none yet)
	curN     int64       // sliding counter: requests counted in it
	prevN    int64       // sliding counter: requests counted in the window before
	inflight int64       // concurrency
}

// limiterConfig is what newLimiter builds from; a validated Config's
// limiter fields.
type limiterConfig struct {
	model                              string
	burst                              int
	rate                               float64
	window                             time.Duration
	penalty, refused, aligned, counter bool
	first                              bool
}

func (c Config) limiterConfig() limiterConfig {
	return limiterConfig{
		model: c.model(), burst: c.Burst, rate: c.Rate, window: c.Window,
		penalty: c.Penalty, refused: c.RefusedCount, aligned: c.Aligned, counter: c.Sliding == SlidingCounter || c.Sliding == SlidingCounterFirst,
		first: c.Sliding == SlidingCounterFirst,
	}
}

// newLimiter returns nil for "no limit". The caller has validated c.
func newLimiter(c limiterConfig) *limiter {
	l := &limiter{model: c.model, burst: int64(c.burst), window: c.window, penalty: c.penalty,
		refused: c.refused, aligned: c.aligned, counter: c.counter, first: c.first}
	switch c.model {
	case ModelFixed, ModelSliding:
		l.perSecond = float64(c.burst) / c.window.Seconds()
		return l
	case ModelConcurrency:
		return l
	case "":
		return nil
	}
	if c.rate == 0 {
		return nil
	}
	l.perSecond = c.rate
	l.interval = max(time.Duration(float64(time.Second)/c.rate), 1)
	l.burst = int64(max(c.burst, 1))
	return l
}

func (l *limiter) reset() {
	l.tat, l.end, l.count = time.Time{}, time.Time{}, 0
	l.log, l.cur, l.curN, l.prevN, l.inflight = l.log[:0], time.Time{}, 0, 0, 0
}

// take spends one request's worth of quota at now, if there is any.
func (l *limiter) take(now time.Time) decision {
	switch l.model {
	case ModelFixed:
		return l.takeWindow(now)
	case ModelSliding:
		if l.counter {
			return l.takeCounter(now)
		}
		return l.takeLog(now)
	case ModelConcurrency:
		return l.takeSlot()
	case ModelLeaky:
		// nginx lets the request it serves pass on top of a full burst.
		return l.takeBucket(now, l.burst+1)
	}
	return l.takeBucket(now, l.burst)
}

// takeBucket is GCRA for a bucket of size tokens; the headers report
// l.burst as the limit.
func (l *limiter) takeBucket(now time.Time, size int64) decision {
	capacity := time.Duration(size) * l.interval
	d := l.decision()
	d.period = time.Duration(l.burst) * l.interval
	base := l.tat
	if base.Before(now) {
		base = now
	}
	next := base.Add(l.interval)
	if ahead := next.Sub(now); ahead <= capacity {
		l.tat = next
		d.allowed, d.remaining, d.reset = true, min(int64((capacity-ahead)/l.interval), l.burst), ahead
		return d
	}
	if l.penalty || l.refused { // the bucket goes negative, but no lower than -size
		l.tat = next
		if deepest := now.Add(2 * capacity); l.tat.After(deepest) {
			l.tat = deepest
		}
		base = l.tat
	}
	d.reset = base.Add(l.interval).Sub(now) - capacity
	return d
}

func (l *limiter) decision() decision {
	return decision{active: true, limit: l.burst, period: l.window, perSecond: l.perSecond}
}

func (l *limiter) takeWindow(now time.Time) decision {
	if !now.Before(l.end) {
		start := now
		if l.aligned {
			start = now.Truncate(l.window)
		}
		l.end, l.count = start.Add(l.window), 0
	}
	d := l.decision()
	if l.count < l.burst {
		l.count++
		d.allowed, d.remaining, d.reset = true, l.burst-l.count, l.end.Sub(now)
		return d
	}
	if l.refused {
		l.count++ // changes nothing but the count: the window still ends on time
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

// takeLog is a sliding log: allowed while fewer than burst requests were
// counted in (now-window, now].
func (l *limiter) takeLog(now time.Time) decision {
	cut := 0
	for cut < len(l.log) && !l.log[cut].After(now.Add(-l.window)) {
		cut++
	}
	// Resliced, not moved: a copy of the limiter taken before (see
	// Model.FollowWithin) still sees its own log.
	l.log = l.log[cut:]
	d := l.decision()
	n := int64(len(l.log))
	if n < l.burst {
		l.log = append(l.log, now)
		// Whole again once the request just counted leaves the window.
		d.allowed, d.remaining, d.reset = true, l.burst-n-1, l.window
		return d
	}
	// The next request fits once all but burst-1 of the counted ones are
	// out of the window.
	d.reset = l.log[n-l.burst].Add(l.window).Sub(now)
	if l.refused {
		l.log = append(l.log, now)
	}
	return d
}

// takeCounter is a sliding window counter: the previous window's count,
// weighted by the share of it the last window still covers, plus the
// current one's. Its windows are aligned to the clock, or with first
// follow on from the first request (see SlidingCounterFirst).
func (l *limiter) takeCounter(now time.Time) decision {
	var start time.Time
	switch {
	case !l.first:
		start = now.Truncate(l.window)
	case l.cur.IsZero() || now.Sub(l.cur) >= 2*l.window:
		start = now
	case now.Sub(l.cur) >= l.window:
		start = l.cur.Add(l.window)
	default:
		start = l.cur
	}
	switch {
	case start.Equal(l.cur):
	case start.Equal(l.cur.Add(l.window)):
		l.cur, l.prevN, l.curN = start, l.curN, 0
	default:
		l.cur, l.prevN, l.curN = start, 0, 0
	}
	elapsed := now.Sub(start)
	past := float64(l.prevN) * float64(l.window-elapsed) / float64(l.window)
	if l.first {
		// HAProxy weighs in whole requests, rounding down.
		past = math.Floor(past)
	}
	rate := past + float64(l.curN)
	if !l.first {
		// httprate rounds the weighed count to a whole request.
		rate = math.Round(rate)
	}
	d := l.decision()
	if rate+1 <= float64(l.burst) {
		l.curN++
		d.allowed = true
		d.remaining = int64(float64(l.burst) - rate - 1)
		d.reset = l.window - elapsed
		return d
	}
	if l.refused {
		l.curN++
	}
	d.reset = l.counterWait(elapsed)
	return d
}

// counterWait is how long until one more request fits, if none comes in
// the meantime.
func (l *limiter) counterWait(elapsed time.Duration) time.Duration {
	room := float64(l.burst - 1)
	if !l.first {
		// Rounded, the weighed count fits while under burst - 1/2.
		room = float64(l.burst) - 0.5
	}
	w := float64(l.window)
	// Rounded, the count must be under room, not at it: a nanosecond more.
	var past time.Duration
	if !l.first {
		past = 1
	}
	if float64(l.curN) <= room {
		// Within this window, once the previous one's weight has shrunk.
		at := w * (1 - (room-float64(l.curN))/float64(l.prevN))
		return max(time.Duration(math.Ceil(at))+past-elapsed, 1)
	}
	// In the next window, when the current one has become the previous.
	at := w * (1 - room/float64(l.curN))
	return l.window - elapsed + time.Duration(math.Ceil(at)) + past
}

// takeSlot is a concurrency limit: allowed while fewer than burst requests
// are in flight; the slot is freed by release when the answer is out.
func (l *limiter) takeSlot() decision {
	d := l.decision()
	if l.inflight < l.burst {
		l.inflight++
		d.allowed, d.remaining, d.held = true, l.burst-l.inflight, true
	}
	return d
}

func (l *limiter) release() {
	if l.inflight > 0 {
		l.inflight--
	}
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
	reset     time.Duration
	period    time.Duration // the quota's window, for RateLimit-Policy
	perSecond float64       // the sustained rate, for StyleRateLimitRefill
	held      bool          // a concurrency slot to release when answered
	// long is Config.Quota's decision on the same request, reported by the
	// ratelimit style as a second policy; nil without a quota.
	long *decision
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
	case StyleRetryIn:
		if !d.allowed {
			h.Set("Retry-After", strconv.FormatInt(max(ceilSeconds(d.reset), 1), 10))
			h.Set("X-Retry-In", d.reset.String())
		}
		return
	case StyleRetryAfterDate:
		if !d.allowed {
			h.Set("Retry-After", time.Unix(ceilUnix(at, time.Second), 0).UTC().Format(http.TimeFormat))
		}
		return
	case StyleRateLimit:
		items := `"default";r=` + remaining + `;t=` + secs
		policies := `"default";q=` + limit + `;w=` + strconv.FormatInt(max(ceilSeconds(d.period), 1), 10)
		if l := d.long; l != nil {
			items += `, "quota";r=` + strconv.FormatInt(l.remaining, 10) + `;t=` + strconv.FormatInt(ceilSeconds(l.reset), 10)
			policies += `, "quota";q=` + strconv.FormatInt(l.limit, 10) + `;w=` + strconv.FormatInt(max(ceilSeconds(l.period), 1), 10)
		}
		h.Set("RateLimit", items)
		h.Set("RateLimit-Policy", policies)
		return
	case StyleRateLimitOld:
		h.Set("RateLimit-Limit", limit)
		h.Set("RateLimit-Remaining", remaining)
		h.Set("RateLimit-Reset", secs)
		return
	case StyleRateLimitRefill:
		h.Set("RateLimit-Limit", strconv.FormatFloat(math.Round(d.perSecond), 'f', 0, 64))
		h.Set("RateLimit-Remaining", remaining)
		h.Set("RateLimit-Reset", "1")
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
	case StyleResetJSDate:
		h.Set("X-RateLimit-Reset", at.UTC().Truncate(time.Second).Format("Mon Jan 02 2006 15:04:05 GMT-0700")+" (Coordinated Universal Time)")
	case StyleResetRFC1123:
		date := time.Unix(ceilUnix(at, time.Second), 0).UTC().Format(time.RFC1123)
		h.Set("X-RateLimit-Reset", date)
		if !d.allowed {
			h.Set("Retry-After", date)
		}
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

// Model is one of the sandbox's limiter models on its own, deciding on
// requests at the times it is given rather than on a server's clock: the
// one implementation of each algorithm, for a client that replays a
// timeline against it (bulksend probe fits these models to what a server
// did).
type Model struct {
	l    *limiter
	last time.Time // the latest time FollowWithin decided at
}

// NewModel returns the limiter that cfg's Model, Burst, Rate, Window,
// Aligned, Sliding, RefusedCount and Penalty describe (the other fields are
// ignored), or nil when they limit nothing or are incomplete.
func NewModel(cfg Config) *Model {
	c := cfg.limiterConfig()
	switch c.model {
	case ModelFixed, ModelSliding:
		if c.window <= 0 || c.burst <= 0 {
			return nil
		}
	case ModelConcurrency:
		if c.burst <= 0 {
			return nil
		}
	}
	l := newLimiter(c)
	if l == nil {
		return nil
	}
	return &Model{l: l}
}

// Allow decides on one request the limiter has at now, and counts it as
// the model does. A concurrency model holds a slot for each allowed request
// until Release.
func (m *Model) Allow(now time.Time) bool { return m.l.take(now).allowed }

// Release frees the slot of an allowed request of a concurrency model; the
// other models ignore it.
func (m *Model) Release() { m.l.release() }

// Follow decides on one request at now as Allow does, returns that
// prediction, and then counts the request as the server really decided it
// (accepted or not), so one wrong prediction does not carry into the next
// ones: a model fitted to a server's answers is scored by how often it
// disagrees, not by how far a single early disagreement throws it off.
func (m *Model) Follow(now time.Time, accepted bool) (predicted bool) {
	l := m.l
	tat := l.tat
	predicted = l.take(now).allowed
	if predicted != accepted {
		l.correct(tat, now, accepted)
	}
	return predicted
}

// FollowWithin is Follow for a request the server decided at some moment
// between from and to (sent and answered, as a client sees it), most
// likely at now: when the decision at now is not the server's but one at
// from or at to is, the model is taken to have decided then, and the
// prediction is right. A client's clock under load stretches the time
// between its requests; a model is wrong only where no moment the server
// could have decided at explains the answer. Times earlier than the last
// one followed count as that one.
func (m *Model) FollowWithin(from, now, to time.Time, accepted bool) (predicted bool) {
	l := m.l
	if now.Before(m.last) {
		now = m.last
	}
	before := *l
	if l.take(now).allowed == accepted {
		m.last = now
		return accepted
	}
	after := *l
	// decides says the limiter, as it was before this request, decides as
	// the server did at t; it leaves the limiter as that decision does.
	decides := func(t time.Time) bool {
		*l = before
		// A log appended to again must not write over the one after holds.
		l.log = slices.Clip(l.log)
		return l.take(t).allowed == accepted
	}
	for _, t := range [...]time.Time{from, to} {
		if t.Before(m.last) {
			t = m.last
		}
		if t.Equal(now) || !decides(t) {
			continue
		}
		// The moment nearest now that explains the answer: the limiter
		// then counts the request as near as can be to when it most
		// likely came (a decision changes once between now and t).
		near := now
		for range followSteps {
			mid := near.Add(t.Sub(near) / 2)
			if decides(mid) {
				t = mid
			} else {
				near = mid
			}
		}
		decides(t)
		m.last = t
		return accepted
	}
	*l = after
	l.correct(before.tat, now, accepted)
	m.last = now
	return !accepted
}

// followSteps is how many halvings FollowWithin takes to find the moment
// nearest the likeliest one that explains an answer.
const followSteps = 8

// correct counts a request take decided wrongly at now as the server did
// (accepted or not); tat is the bucket's before take.
func (l *limiter) correct(tat, now time.Time, accepted bool) {
	counted := l.refused // a refused request was counted all the same
	switch l.model {
	case ModelBucket, ModelLeaky:
		switch {
		case accepted:
			l.tat = tat
			if l.tat.Before(now) {
				l.tat = now
			}
			l.tat = l.tat.Add(l.interval)
		case !l.penalty && !counted:
			l.tat = tat
		}
	case ModelFixed:
		switch {
		case accepted && !counted:
			l.count++
		case !accepted && !counted:
			l.count--
		}
	case ModelSliding:
		switch {
		case accepted && !counted && l.counter:
			l.curN++
		case accepted && !counted:
			l.log = append(l.log, now)
		case !accepted && !counted && l.counter:
			l.curN--
		case !accepted && !counted:
			l.log = l.log[:len(l.log)-1]
		}
	case ModelConcurrency:
		if accepted {
			l.inflight++
		} else {
			l.inflight--
		}
	}
}
