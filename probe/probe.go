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
// they are the sustained rate (see EstimateRate). A round stops once
// enough were counted to be a few percent precise and the last answer was
// throttled; FitModel then names the limiter model, and a fit below
// Config.MinConfidence makes the probe take another round, twice the
// evidence, rather than report a weak fit. The budget of requests or time
// ends it in any case.
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
	"strconv"
	"time"

	"github.com/bulksend/bulksend/ratelimit"
)

// Defaults a zero Config gets.
const (
	DefaultMaxRequests = 0 // as many as needed, within MaxDuration
	// AutoMaxRequests bounds a probe whose MaxRequests is 0: as many as the
	// measurement needs within MaxDuration, and no more than this.
	AutoMaxRequests    = 3000
	DefaultTimeout     = 30 * time.Second
	DefaultMaxDuration = 30 * time.Second
	DefaultConcurrency = 4
	DefaultMethod      = http.MethodGet
	// DefaultMinConfidence is the fit's confidence below which a probe
	// takes another round rather than report a weak fit.
	DefaultMinConfidence = 0.9
)

// The probe's schedule after the first throttle answer (see Run).
const (
	// minCycles is how many times the probe drains the limiter before it
	// may stop: every other cycle is split, and the fit needs both kinds.
	minCycles = 6
	// minPaced is the fewest accepted requests after the first drain that
	// measure a small limit.
	minPaced = 12
	// probeBase is the first probe's offset from a drain; the next ones
	// double it, up to maxProbeStep apart.
	probeBase    = time.Millisecond
	maxProbeStep = 2 * time.Second
	// MaxConcurrency is the most requests a probe keeps in flight: it
	// doubles its concurrency from Config.Concurrency while nothing is
	// throttled, so a distant server is still sent requests faster than
	// 100 a second, and a concurrency limit above the start is reached.
	MaxConcurrency = 32
	// growAfter is how many accepted answers per request in flight, with
	// no throttle answer, double the concurrency, if they took at least
	// growEvery.
	growAfter = 8
	// growEvery is the least time between two doublings: a server that
	// answers that many that fast is not the reason no limit showed yet.
	growEvery = 50 * time.Millisecond
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
	// MaxRequests bounds the requests sent; 0 means as many as the
	// measurement needs within MaxDuration (at most a few thousand).
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
	// MinConfidence is the least Fit.Confidence the probe settles for:
	// below it, the probe takes another round, twice as long as the
	// rounds before, while MaxRequests and MaxDuration allow, and then
	// reports the fit of everything it saw. 0 means DefaultMinConfidence;
	// above 1, every round the budget allows.
	MinConfidence float64
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

	// Model is the limiter model that explains the answers (see
	// FitModel); ModelOK is false without a throttle answer. When it has
	// a rate, Burst and Rate are its limit and rate.
	Model   Fit
	ModelOK bool
	// Rounds is how many rounds the probe took: one, or more when a fit
	// of the first ones was below Config.MinConfidence.
	Rounds int

	// Events are the answered requests in the order they were answered.
	Events []Event
}

// SuggestedFlags is the send pacing that reproduces the server: the fitted
// model pinned as send's adaptive rate pins what it learned (see
// Fit.Pinned), "--concurrency N" for a concurrency limit, else the burst
// and rate measured; "" when the rate is unknown.
func (r *Result) SuggestedFlags() string {
	if r.ModelOK {
		if r.Model.Model == ModelConcurrency {
			return "--concurrency " + strconv.Itoa(r.Model.Limit)
		}
		if cfg, ok := r.Model.Pinned(); ok {
			return PinnedFlags(cfg)
		}
	}
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

	start     time.Time
	burstSeen int // accepted before the first throttle answer
	pacedFrom int // Seq of the first request sent after it

	// The schedule (see Run).
	concurrency int       // requests in flight at most, for now
	grown       int       // accepted since the concurrency last grew
	grownAt     time.Time // when it did, or the start
	probing     bool      // between a drain and the first accepted probe
	cycles      int       // drains so far
	drainedAt   time.Time // when the last drain was decided
	firstDrain  time.Time // and the first
	probeK      int       // the next probe's number since the drain
	probeSeq    int       // Seq of the probe in flight; -1 none
	burstFrom   int       // Seq of the first request of the current burst
	refill      time.Duration
	splitLeft   int       // requests of a split burst before its pause; -1 none
	splitUntil  time.Time // the end of its pause
	paced       int       // accepted since the first throttle answer
	round       int       // rounds ended with a weak fit: each doubles what measured asks

	// fit is FitModel's answer on the first fitted events, kept so that a
	// round's fit is not computed twice.
	fit    Fit
	fitOK  bool
	fitted int // events fitted; -1 none yet
	// lastConfidence is the fit's at the end of the last round.
	lastConfidence float64

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
//
// The schedule: a burst (as many requests in flight as allowed, doubling
// while nothing is throttled) until the first throttle answer, which
// drains the limiter. Then cycles: single probes at 1, 2, 4, ...
// milliseconds after the drain until one is accepted (how long the
// limiter takes to give anything back), then a burst until throttled,
// which drains it again. Every other burst is split: half the first
// burst, a pause of half the last refill, then the rest; a sliding window
// gives back what a fixed window would not, a bucket what a window would
// hold back. FitModel then explains the whole timeline. The probe stops
// after minCycles drains, with at least twice the first burst accepted
// since the first one, if the fit of what it saw is confident enough
// (Config.MinConfidence); else it takes another round, a burst on the
// limiter refilled meanwhile and as many cycles again as all the rounds
// before, within its budget.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg = withDefaults(cfg)
	p := &prober{cfg: cfg, clock: cfg.Clock, res: &Result{}, concurrency: cfg.Concurrency, probeSeq: -1, splitLeft: -1, fitted: -1}
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
		cfg.MaxRequests = AutoMaxRequests
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
	if cfg.MinConfidence <= 0 {
		cfg.MinConfidence = DefaultMinConfidence
	}
	if cfg.Client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = MaxConcurrency
		cfg.Client = &http.Client{Transport: t}
	}
	return cfg
}

// loop sends requests on the schedule until the measurement is done, the
// budget is spent, an answer stops it or ctx ends, then waits for the
// requests still in flight.
func (p *prober) loop(ctx context.Context) error {
	reqCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	answers := make(chan answer, MaxConcurrency)
	p.start = p.clock.Now()
	p.grownAt = p.start
	deadline := p.start.Add(p.cfg.MaxDuration)
	ctxDone := ctx.Done()
	var (
		inFlight int
		stopping bool
		runErr   error
	)
	for {
		now := p.clock.Now()
		if !stopping && (p.res.Requests >= p.cfg.MaxRequests || !now.Before(deadline)) {
			stopping = true
		}
		// A measured round is judged on every answer: the fit decides
		// whether another round is worth it.
		judging := !stopping && p.measured()
		if judging && inFlight == 0 {
			if p.confident() {
				stopping = true
			} else {
				p.anotherRound()
				continue
			}
		}
		if stopping && inFlight == 0 {
			return runErr
		}
		var timer <-chan time.Time
		stopTimer := func() bool { return false }
		if !stopping && !judging {
			if at, ok := p.next(inFlight); ok {
				if !at.After(now) {
					p.sent(now)
					p.send(reqCtx, answers)
					inFlight++
					continue
				}
				timer, stopTimer = p.clock.NewTimer(min(at.Sub(now), deadline.Sub(now)))
			}
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

// measured says the timeline holds enough cycles for the fit, and the
// limiter was just drained so the last cycle is whole: twice the first
// burst accepted since, or many cycles when a server that counts refusals
// gives little back; each round ended with a weak fit doubles both.
func (p *prober) measured() bool {
	grow := 1 << p.round
	return p.probing && p.probeSeq < 0 && p.probeK == 0 && p.cycles >= minCycles*grow &&
		(p.paced >= max(2*p.burstSeen, minPaced)*grow || p.cycles >= 4*minCycles*grow)
}

// confident says the probe has seen enough: the fit of the answers so far
// is at least MinConfidence, or there is nothing to fit, or nothing more
// would tell the models apart: a limit of one (a bucket, a window and a
// log of one decide alike on every timeline), or a last round that did
// not raise the confidence.
func (p *prober) confident() bool {
	f, ok := p.fitModel()
	if !ok || f.Confidence >= p.cfg.MinConfidence || f.Limit <= 1 || p.round > 0 && f.Confidence <= p.lastConfidence {
		return true
	}
	p.lastConfidence = f.Confidence
	return false
}

// anotherRound starts a round after a weak fit: a burst until throttled,
// on a limiter that refilled while the fit ran, then cycles as before
// until measured asks twice as many.
func (p *prober) anotherRound() {
	p.round++
	p.probing, p.probeSeq, p.probeK = false, -1, 0
	p.burstFrom, p.splitLeft = p.res.Requests, -1
}

// fitModel is FitModel on the answers so far, with the burst seen and the
// quota the headers state as hints; computed once per set of answers.
func (p *prober) fitModel() (Fit, bool) {
	if p.fitted == len(p.res.Events) {
		return p.fit, p.fitOK
	}
	hints := []int{p.burstSeen}
	if p.res.QuotaOK && p.res.Quota.Limit > 0 {
		hints = append(hints, p.res.Quota.Limit)
	}
	p.fit, p.fitOK = FitModel(p.res.Events, hints...)
	p.fitted = len(p.res.Events)
	return p.fit, p.fitOK
}

// next says when the next request may leave, or ok=false when it waits
// for an answer: in a burst, for a free slot; between a drain and an
// accepted probe, for the probe in flight.
func (p *prober) next(inFlight int) (at time.Time, ok bool) {
	if p.probing {
		if p.probeSeq >= 0 {
			return time.Time{}, false
		}
		var gap time.Duration // between accepted requests since the first drain
		if p.paced > 0 {
			gap = p.drainedAt.Sub(p.firstDrain) / time.Duration(p.paced)
		}
		return p.drainedAt.Add(probeOffset(p.probeK, p.refill, gap)), true
	}
	if inFlight >= p.concurrency {
		return time.Time{}, false
	}
	if p.splitLeft == 0 {
		return p.splitUntil, true
	}
	return time.Time{}, true
}

// probeOffset is when the kth probe after a drain leaves, counted from
// the drain: at 0, 1, 3, 7, ... milliseconds (each step twice the last,
// at most maxProbeStep) after the first drain; after the next ones from
// half the last refill (the time from a drain to an accepted probe) in steps of a
// sixteenth of it, so the refill is bracketed to a few percent, but no
// closer than twice the average gap between accepted requests so far (or
// a quarter of the refill): a server that counts refused requests must not
// be kept full by the probes themselves.
func probeOffset(k int, refill, gap time.Duration) time.Duration {
	off, step := time.Duration(0), probeBase
	if refill > 0 {
		off = refill / 2
	}
	for range k {
		off += step
		switch {
		case refill > 0 && off >= refill/2 && off < 2*refill:
			step = max(refill/16, min(2*gap, refill/4), probeBase)
		default:
			step = min(2*step, maxProbeStep)
		}
	}
	return off
}

// sent moves the schedule past a request leaving at now.
func (p *prober) sent(now time.Time) {
	switch {
	case p.probing:
		p.probeSeq = p.res.Requests
	case p.splitLeft > 0:
		if p.splitLeft--; p.splitLeft == 0 {
			p.splitUntil = now.Add(p.refill / 2)
		}
	case p.splitLeft == 0:
		p.splitLeft = -1 // the pause is over: the rest of the burst
	}
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
	// A 503 is a throttle with a wait hint, or bare from a server that has
	// taken this probe's requests (nginx's limit_req answers 503 by
	// default), as send reads it; a server that has taken none may be down.
	throttled := a.status == http.StatusTooManyRequests ||
		a.status == http.StatusServiceUnavailable && (hinted || p.res.Accepted > 0)
	if a.status >= 400 && !throttled {
		return fmt.Errorf("%w: %s %s answered %d %s", ErrRejected, p.cfg.Method, p.cfg.URL, a.status, http.StatusText(a.status))
	}
	// A round starts only with nothing in flight: every answer is of the
	// round its request was sent in.
	e := Event{Seq: a.seq, Sent: a.sent, Received: a.received, Status: a.status, Throttled: throttled, Round: p.round}
	p.res.Events = append(p.res.Events, e)
	if !throttled {
		p.res.Accepted++
		switch {
		case !p.res.Limited:
			if p.grown++; p.grown >= growAfter*p.concurrency && p.concurrency < MaxConcurrency && a.received.Sub(p.grownAt) >= growEvery {
				p.concurrency, p.grown, p.grownAt = min(2*p.concurrency, MaxConcurrency), 0, a.received
			}
		case a.seq < p.pacedFrom: // part of the first burst, answered late
			p.burstSeen++
		default:
			p.paced++
		}
		if a.seq == p.probeSeq {
			// The limiter gave something back: burst until it is empty
			// again, split every other time.
			p.probing, p.probeSeq, p.burstFrom = false, -1, p.res.Requests
			p.refill = e.At().Sub(p.drainedAt)
			p.splitLeft = -1
			if p.cycles%2 == 1 {
				p.splitLeft = max(p.burstSeen/2, 1)
			}
		}
		if !p.res.Limited {
			p.res.Quota, p.res.QuotaOK = ratelimit.ParseQuota(a.header, a.received)
		}
		return nil
	}
	p.res.Throttled++
	if !p.res.Limited {
		p.res.Limited, p.burstSeen, p.pacedFrom = true, p.res.Accepted, p.res.Requests
		if hinted {
			p.res.Reset = sig
		}
		if q, ok := ratelimit.ParseQuota(a.header, a.received); ok {
			p.res.Quota, p.res.QuotaOK = q, true
		}
	}
	switch {
	case p.probing && a.seq == p.probeSeq:
		p.probeSeq = -1
		p.probeK++
	case !p.probing && a.seq >= p.burstFrom:
		// The burst emptied the limiter: probe for its refill.
		p.probing, p.cycles, p.drainedAt, p.probeK, p.probeSeq = true, p.cycles+1, e.At(), 0, -1
		if p.cycles == 1 {
			p.firstDrain = p.drainedAt
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
	if p.burstSeen == 1 && (!res.QuotaOK || res.Quota.Limit <= 1) && !res.Rate.LowerBound {
		// A limiter that holds a single request: see estimateSingle.
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
	res.Rounds = p.round + 1
	if f, ok := p.fitModel(); ok && p.paced > 0 {
		res.Model, res.ModelOK = f, true
		// The fitted model says what the burst and the rate are; the
		// raw estimates stay where it cannot (a concurrency limit).
		if est := res.Rate; f.Model == ratelimit.ModelBucket && !f.RefusedCount && !f.Unbounded && !est.LowerBound && !est.FromQuota &&
			est.PerSecond > 0 && f.PerSecond() > est.PerSecond {
			// A bucket kept empty lets through exactly its refill between
			// two drains (EstimateRate): a fit faster than that took a
			// bucket it never saw full for a smaller one.
			res.Model.Period = time.Duration(float64(f.Limit) / est.PerSecond * float64(time.Second))
			f = res.Model
		}
		if ps := f.PerSecond(); ps > 0 {
			res.Burst, res.Rate.PerSecond, res.Rate.LowerBound, res.Rate.FromQuota = f.Limit, ps, false, false
		}
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
