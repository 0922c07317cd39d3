// Package probe measures an HTTP endpoint's rate limit with a bounded number
// of requests: the burst it accepts, the rate it sustains, the header its
// throttle answers use to say when to retry, and how far its clock is from
// ours. bulksend's probe command prints the result and the send flags that
// match it.
//
// The method: requests go out as fast as a few in flight allow until the
// first throttled answer, which empties the limiter; the burst is what was
// accepted before it. Then probes go out at about twice the rate accepted so
// far, so the limiter stays empty and every request it lets through is one
// it has just refilled; counted between two moments the limiter ran out,
// they are the sustained rate (see EstimateRate). The probe stops once
// enough were counted to be a few percent precise and the last answer was
// throttled, or when the budget of requests or time is spent.
//
// A server that punishes requests made while limited (a lockout that grows
// with each one) reads as slower than it is: the suggested rate is then on
// the safe side.
package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/bulksend/bulksend/ratelimit"
)

// Defaults a zero Config gets.
const (
	DefaultMaxRequests = 100
	DefaultTimeout     = 30 * time.Second
	DefaultMaxDuration = 30 * time.Second
	DefaultConcurrency = 4
	DefaultMethod      = http.MethodGet
)

// Pacing of the sustained phase.
const (
	// targetAccepted is how many refilled requests make the rate precise
	// enough (one request of error in 25 is 4%); fewer if the budget ends.
	targetAccepted = 25
	// minInterval and maxInterval bound the gap between two probes: no
	// faster than a loopback server can usefully answer, no slower than
	// keeps a slow limit measurable within the time budget.
	minInterval = time.Millisecond
	maxInterval = 2 * time.Second
	// overdrive is how much faster than the rate accepted so far probes are
	// sent, so the limiter stays empty even when that rate is an
	// underestimate; it doubles the pace until throttled answers come back.
	overdrive = 2.0
	// overdriveSingle replaces it when the burst is a single request.
	overdriveSingle = 8.0
	// drainBody bounds how much of an answer is read to reuse its connection.
	drainBody = 64 << 10
)

// ErrRejected is wrapped by the error Run returns when the endpoint answers
// with an error that is not a throttle (a 404, a 401, a 500): a probe of a
// request the server refuses measures nothing.
var ErrRejected = errors.New("endpoint refused the request")

// Config is what to probe and within which limits. The zero value of every
// field but URL is a sensible default.
type Config struct {
	// Client sends the requests; nil means one over a clone of
	// http.DefaultTransport that keeps Concurrency connections alive.
	Client *http.Client
	// Method defaults to GET.
	Method string
	URL    string
	// Header is sent with every request; it is not modified.
	Header http.Header
	// Body is sent with every request; nil sends none.
	Body []byte
	// MaxRequests bounds the requests sent; 0 means DefaultMaxRequests.
	MaxRequests int
	// Timeout bounds one request; 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxDuration bounds the whole probe; 0 means DefaultMaxDuration.
	MaxDuration time.Duration
	// Concurrency is the number of requests in flight at once, so that a
	// distant server can still be sent requests faster than it allows;
	// 0 means DefaultConcurrency.
	Concurrency int
	// Clock is the time source; nil means the system clock.
	Clock ratelimit.Clock
}

// Result is what a probe saw and what it makes of it.
type Result struct {
	Requests  int           // requests sent
	Accepted  int           // answers that were not throttled
	Throttled int           // throttle answers
	Elapsed   time.Duration // from the first request to the last answer

	// Limited says a throttle answer came back; without one, Burst, Reset
	// and the rate's exactness are unknown.
	Limited bool
	// Burst is the measured burst (see EstimateBurst) and
	// AcceptedBeforeThrottle the raw count it was corrected from.
	Burst                  int
	AcceptedBeforeThrottle int
	// Rate is the sustained rate (see EstimateRate); Rate.PerSecond is 0
	// when nothing could be measured.
	Rate Rate

	// Reset is how the first throttle answer said when to retry, read as
	// send reads it: the header, its unit, the raw value and the wait.
	// Reset.Header is "" when the answer gave no usable hint.
	Reset ratelimit.Signal
	// Quota is what the server's quota headers said (from the first throttle
	// answer, else the last accepted one); QuotaOK is false when it sent none.
	Quota   ratelimit.Quota
	QuotaOK bool

	// ClockSkew is the server's clock minus ours (positive: the server is
	// ahead), from the Date headers, give or take ClockSkewMargin: a few
	// milliseconds once the answers straddle a tick of the server's clock,
	// up to half a second when they all fell within one of its seconds.
	// ClockSkewKnown is false without Date headers.
	ClockSkew       time.Duration
	ClockSkewMargin time.Duration
	ClockSkewKnown  bool

	// Events are the answered requests in the order they were answered.
	Events []Event
}

// SuggestedFlags is the send pacing that matches the result, "" when the
// rate is unknown.
func (r *Result) SuggestedFlags() string {
	return SuggestedFlags(r.Burst, r.Rate.PerSecond)
}

// answer is one request's outcome, handed from its goroutine to the loop.
type answer struct {
	seq            int
	sent, received time.Time
	header         http.Header
	status         int
	err            error
}

// prober is the state of one Run.
type prober struct {
	cfg    Config
	clock  ratelimit.Clock
	server ratelimit.ServerClock
	res    *Result

	start              time.Time
	drained            time.Time // when the first throttle answer was decided; zero before
	burstSeen          int       // accepted before the first throttle answer
	pacedFrom          int       // Seq of the first request sent after it
	acceptedSinceDrain int
	firstRefill        time.Time // when the first request after the drain was accepted
	streak             int       // answers accepted in a row
	lastSent           time.Time // when the last request left
	gap                time.Duration
	lastThrottled      bool
	// offLo and offHi bound the server clock's offset, as server does to
	// read reset times; the skew reported is their middle. (ServerClock.Now
	// would say 0 while the bounds are wide but include 0: right for
	// reading a wait, too kind for reporting a skew.)
	offLo, offHi time.Duration
	dates        int
}

// Run probes the endpoint of cfg. The Result is never nil: when Run fails
// (the endpoint cannot be reached or refuses the request, or ctx ends) it
// holds what was seen until then.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg = withDefaults(cfg)
	p := &prober{cfg: cfg, clock: cfg.Clock, res: &Result{}}
	if _, err := http.NewRequestWithContext(ctx, cfg.Method, cfg.URL, nil); err != nil {
		return p.res, fmt.Errorf("probe: %w", err)
	}
	err := p.loop(ctx)
	p.finish()
	return p.res, err
}

func withDefaults(cfg Config) Config {
	if cfg.Method == "" {
		cfg.Method = DefaultMethod
	}
	if cfg.MaxRequests <= 0 {
		cfg.MaxRequests = DefaultMaxRequests
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxDuration <= 0 {
		cfg.MaxDuration = DefaultMaxDuration
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Clock == nil {
		cfg.Clock = ratelimit.SystemClock{}
	}
	if cfg.Client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = cfg.Concurrency
		cfg.Client = &http.Client{Transport: t}
	}
	return cfg
}

// loop sends and paces requests until the measurement is done, the budget
// is spent, an answer stops it or ctx ends, then waits for the requests
// still in flight.
func (p *prober) loop(ctx context.Context) error {
	reqCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	answers := make(chan answer, p.cfg.Concurrency)
	p.start = p.clock.Now()
	deadline := p.start.Add(p.cfg.MaxDuration)
	ctxDone := ctx.Done()
	var (
		inFlight int
		stopping bool
		runErr   error
	)
	for {
		now := p.clock.Now()
		if !stopping && (p.res.Requests >= p.cfg.MaxRequests || !now.Before(deadline) || p.measured()) {
			stopping = true
		}
		if stopping && inFlight == 0 {
			return runErr
		}
		var timer <-chan time.Time
		stopTimer := func() bool { return false }
		if !stopping && inFlight < p.cfg.Concurrency {
			wait := time.Duration(0)
			if !p.drained.IsZero() {
				wait = p.lastSent.Add(p.gap).Sub(now)
			}
			if wait <= 0 {
				p.lastSent = now
				p.send(reqCtx, answers)
				inFlight++
				continue
			}
			timer, stopTimer = p.clock.NewTimer(min(wait, deadline.Sub(now)))
		}
		select {
		case a := <-answers:
			inFlight--
			if err := p.record(a); err != nil && runErr == nil {
				runErr, stopping = err, true
				cancel()
			}
		case <-timer:
		case <-ctxDone:
			ctxDone = nil
			if runErr == nil {
				runErr = ctx.Err()
			}
			stopping = true
			cancel()
		}
		stopTimer()
	}
}

// measured says the sustained rate is known well enough, and the last
// answer left the limiter empty so the span is closed.
func (p *prober) measured() bool {
	return !p.drained.IsZero() && p.acceptedSinceDrain >= targetAccepted && p.lastThrottled
}

// nextGap is the gap between probes once the limiter was emptied, worked
// out afresh at every answer. Until a request gets through again the gaps
// grow geometrically, finding the refill time in a few requests whether it
// is milliseconds or seconds. After that probes go at overdrive times the
// rate accepted so far, counted from the drain or, if faster, from the
// first request accepted after it. Two answers accepted in a row mean the
// pace is below the limit (a fixed window just opened, or the rate was
// underestimated): the pace then doubles at each answer until throttled.
func (p *prober) nextGap(now time.Time) time.Duration {
	since := now.Sub(p.drained)
	if p.acceptedSinceDrain == 0 || since <= 0 {
		return min(max(since/2, minInterval), maxInterval)
	}
	perSecond := float64(p.acceptedSinceDrain) / since.Seconds()
	if d := now.Sub(p.firstRefill).Seconds(); p.acceptedSinceDrain > 1 && d > 0 {
		perSecond = max(perSecond, float64(p.acceptedSinceDrain-1)/d)
	}
	drive := overdrive
	if p.single() {
		// A limiter that holds a single request loses the time between
		// its refill and the next probe: probe often enough that the loss
		// is a few percent, and on the safe side.
		drive = overdriveSingle
	}
	gap := time.Duration(float64(time.Second) / (drive * perSecond))
	if p.streak >= 2 {
		gap = min(gap, p.gap/2)
	}
	return min(max(gap, minInterval), maxInterval)
}

// single says the limiter holds a single request: one got through before
// the first throttle answer, and no quota header says there is room for
// more (which would mean something else had just used up the rest).
func (p *prober) single() bool {
	return p.burstSeen == 1 && (!p.res.QuotaOK || p.res.Quota.Limit <= 1)
}

// send starts one request; its answer arrives on answers.
func (p *prober) send(ctx context.Context, answers chan<- answer) {
	seq := p.res.Requests
	p.res.Requests++
	go func() {
		ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
		defer cancel()
		a := answer{seq: seq}
		var body io.Reader
		if p.cfg.Body != nil {
			body = bytes.NewReader(p.cfg.Body)
		}
		req, err := http.NewRequestWithContext(ctx, p.cfg.Method, p.cfg.URL, body)
		if err != nil {
			a.err = err
			answers <- a
			return
		}
		if p.cfg.Header != nil {
			req.Header = p.cfg.Header.Clone()
		}
		a.sent = p.clock.Now()
		resp, err := p.cfg.Client.Do(req)
		a.received = p.clock.Now()
		if err != nil {
			a.err = err
			answers <- a
			return
		}
		// Reading the rest lets the connection be reused; a failure here
		// changes nothing about the status already received.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainBody))
		_ = resp.Body.Close()
		a.status, a.header = resp.StatusCode, resp.Header
		answers <- a
	}()
}

// record takes in one answer. It returns an error when the probe must stop:
// the request failed, or the server refused it for a reason other than the
// rate.
func (p *prober) record(a answer) error {
	if a.err != nil {
		return fmt.Errorf("%s %s: %w", p.cfg.Method, p.cfg.URL, a.err)
	}
	p.server.Observe(a.header, a.sent, a.received)
	p.observeDate(a)
	sig, hinted := p.server.ParseWaitAt(a.header, a.received)
	throttled := a.status == http.StatusTooManyRequests || (a.status == http.StatusServiceUnavailable && hinted)
	if a.status >= 400 && !throttled {
		return fmt.Errorf("%w: %s %s answered %d %s", ErrRejected, p.cfg.Method, p.cfg.URL, a.status, http.StatusText(a.status))
	}
	e := Event{Seq: a.seq, Sent: a.sent, Received: a.received, Status: a.status, Throttled: throttled}
	p.res.Events = append(p.res.Events, e)
	p.lastThrottled = throttled
	defer func() {
		if !p.drained.IsZero() {
			p.gap = p.nextGap(p.clock.Now())
		}
	}()
	if !throttled {
		p.res.Accepted++
		switch {
		case p.drained.IsZero():
		case a.seq < p.pacedFrom: // part of the burst, answered late
			p.burstSeen++
		default:
			p.streak++
			if p.acceptedSinceDrain++; p.acceptedSinceDrain == 1 {
				p.firstRefill = e.At()
			}
		}
		if !p.res.Limited {
			p.res.Quota, p.res.QuotaOK = ratelimit.ParseQuota(a.header, a.received)
		}
		return nil
	}
	p.res.Throttled++
	p.streak = 0
	if !p.res.Limited {
		p.res.Limited, p.drained, p.burstSeen, p.pacedFrom = true, e.At(), p.res.Accepted, p.res.Requests
		if hinted {
			p.res.Reset = sig
		}
		if q, ok := ratelimit.ParseQuota(a.header, a.received); ok {
			p.res.Quota, p.res.QuotaOK = q, true
		}
	}
	return nil
}

// finish works the events into the result's estimates.
func (p *prober) finish() {
	res := p.res
	if len(res.Events) > 0 {
		last := res.Events[0].Received
		for _, e := range res.Events {
			if e.Received.After(last) {
				last = e.Received
			}
		}
		res.Elapsed = last.Sub(p.start)
	}
	// The requests sent before the first throttle answer came back are
	// the burst; those sent after it measure the rate.
	var burst, paced []Event
	for _, e := range res.Events {
		if res.Limited && e.Seq >= p.pacedFrom {
			paced = append(paced, e)
		} else {
			burst = append(burst, e)
		}
	}
	if !res.Limited {
		paced = burst
	}
	if r, ok := EstimateRate(paced); ok {
		res.Rate = r
	}
	if p.single() && !res.Rate.LowerBound {
		if r, ok := estimateSingle(paced); ok {
			res.Rate = r
		}
	}
	if !res.Limited {
		// Whatever got through was all that was sent: not a rate the
		// server is known to hold to.
		res.Rate.LowerBound = res.Rate.PerSecond > 0
	}
	if q := res.Quota; res.Limited && res.QuotaOK && q.Limit > 0 && q.Window > 0 {
		// A window longer than the probe (say 1000 an hour) cannot be
		// measured; what the server declares is the next best thing, and
		// better than a lower bound below it.
		declared := float64(q.Limit) / q.Window.Seconds()
		if res.Rate.PerSecond == 0 || res.Rate.LowerBound && declared > res.Rate.PerSecond {
			res.Rate = Rate{PerSecond: declared, FromQuota: true}
		}
	}
	if b, n, ok := EstimateBurst(burst, res.Rate.PerSecond); ok {
		res.Burst, res.AcceptedBeforeThrottle = b, n
	}
	if p.dates > 0 {
		res.ClockSkew, res.ClockSkewMargin, res.ClockSkewKnown = (p.offLo+p.offHi)/2, (p.offHi-p.offLo)/2, true
	}
}

// observeDate narrows the offset bounds with an answer's Date, which is the
// server's time truncated to the second at some moment between sending and
// receiving: offset in [Date - received, Date + 1s - sent).
func (p *prober) observeDate(a answer) {
	date, err := http.ParseTime(a.header.Get("Date"))
	if err != nil {
		return
	}
	lo, hi := date.Sub(a.received), date.Add(time.Second).Sub(a.sent)
	if p.dates == 0 || lo > p.offHi || hi < p.offLo {
		// The first answer, or the server's clock jumped: start again.
		p.offLo, p.offHi, p.dates = lo, hi, 1
		return
	}
	p.offLo, p.offHi, p.dates = max(p.offLo, lo), min(p.offHi, hi), p.dates+1
}
