package ratelimit

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// The simulation: the real Limiter, driven by a pool of simulated workers
// against a simulated server, in virtual time. Every kind of rate limiter
// issue 11 names (token and leaky buckets, fixed windows, sliding windows
// as a log or as a counter, with refused requests counting or not) and the
// header styles real servers give them run here in milliseconds of CPU and
// always the same way, so the adaptive rate's efficiency and 429 share are
// measured per limiter class (TestAdaptiveLearnsLimiters) and can be
// compared change by change. The workers do what sender's do: wait on the
// Limiter, send, read the wait hint or the quota of the answer and report
// it with Throttle or Success.

// simEpoch is the virtual time a run starts at: not on a whole second, as a
// real run never is, so one-second header precision shows.
var simEpoch = time.Date(2026, 12, 3, 12, 0, 0, 370_000_000, time.UTC)

// startSimAt moves simEpoch to d past its whole second for the rest of
// t (a test, or one of its subtests): where in a second a run starts
// decides what a server that names instants to the second says.
func startSimAt(t testing.TB, d time.Duration) {
	old := simEpoch
	simEpoch = old.Truncate(time.Second).Add(d)
	t.Cleanup(func() { simEpoch = old })
}

// simServer is a rate limiter as a server runs it, in virtual time: serve
// answers a request that arrives at at.
type simServer interface {
	serve(at time.Time) (accepted bool, h http.Header)
}

// simHolder is a server that works on each request it accepts for work
// before it answers, and is told by release when it is done with one, lag
// after the answer left: a concurrency limit counts the requests it is
// working on.
type simHolder interface {
	hold() (work, lag time.Duration)
	release()
}

// simClock is the Limiter's clock in the simulation: the time of the event
// being handled. Timers are the simulation's own events, so NewTimer is
// never called.
type simClock struct{ now time.Time }

func (c *simClock) Now() time.Time { return c.now }

func (c *simClock) NewTimer(time.Duration) (<-chan time.Time, func() bool) {
	panic("simulation: the workers schedule their own wake-ups")
}

type simEventKind int

const (
	simWake simEventKind = iota
	simArrive
	simAnswer
	simRelease // a holding server (simHolder) is done with a request
	// simThrottle: a refusal's Throttle, throttleLag after its Done
	simThrottle
)

type simEvent struct {
	at     time.Time
	seq    int
	kind   simEventKind
	worker int
	gen    int // simWake: stale when the worker's generation moved on
	sent   time.Time
	ok     bool
	h      http.Header
	// simThrottle: the wait the refusal stated, and whether it did
	wait   time.Duration
	hinted bool
}

type simEvents []simEvent

func (q simEvents) Len() int { return len(q) }
func (q simEvents) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q simEvents) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *simEvents) Push(x any)   { *q = append(*q, x.(simEvent)) }
func (q *simEvents) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// simWorker is one worker of the pool.
type simWorker struct {
	job     bool // holds a message to send
	dialled bool // has sent its first request (opened its connection)
	waiting bool // sleeping in Wait
	gen     int
	res     *slot
	changed chan struct{}
}

// simResult is what a simulated run measured.
type simResult struct {
	wall      time.Duration // first send to last answer
	requests  int
	throttled int
	delivered int // rows delivered, of those run
	stats     Stats
}

// simRun sends n messages with workers workers through l to srv.
func simRun(l *Limiter, clk *simClock, srv simServer, n, workers int, seed uint64, cold bool) simResult {
	return simRunOpt(l, clk, srv, n, workers, seed, cold, false)
}

// simRunSeeded sends rows through a Limiter made from cfg (its Clock,
// Rand and InFlight set here from seed and conc) to srv with conc workers,
// for at most until of virtual time, its timers up to 2ms late and, when
// loaded, one answer in 20 up to 10ms late (a busy machine); each of opts
// then sets the simulation's path or server further (wire, dialEach).
func simRunSeeded(srv simServer, cfg Config, conc, rows int, seed uint64, until time.Duration, loaded bool, opts ...func(*simulation)) simResult {
	clk := &simClock{now: simEpoch}
	cfg.Clock, cfg.Rand, cfg.InFlight = clk, rand.New(rand.NewPCG(seed, 2)).Float64, conc
	s := &simulation{l: New(cfg), clk: clk, srv: srv, left: rows, ws: make([]simWorker, conc),
		rnd: rand.New(rand.NewPCG(seed, 11)), until: until, lateWake: 2 * time.Millisecond}
	if loaded {
		s.stall, s.stallMax = 0.05, 10*time.Millisecond
	}
	s.wire = simRunWire
	for _, o := range opts {
		o(s)
	}
	return s.run(rows)
}

// simRunWire is the wire simRunSeeded's runs take (simulation.wire):
// 0 but in a sweep that asks for a long path (BULKSEND_SWEEP_WIRE).
var simRunWire time.Duration

// simRunOpt is simRun, without Finishing when noFinishing is set.
func simRunOpt(l *Limiter, clk *simClock, srv simServer, n, workers int, seed uint64, cold, noFinishing bool) simResult {
	s := &simulation{l: l, clk: clk, srv: srv, left: n, ws: make([]simWorker, workers),
		rnd: rand.New(rand.NewPCG(seed, 11)), cold: cold, noFinishing: noFinishing}
	return s.run(n)
}

// run sends n messages through s's workers until every one is delivered
// or nothing is left to happen.
func (s *simulation) run(n int) simResult {
	l, clk, srv := s.l, s.clk, s.srv
	for w := range s.ws {
		if s.stagger > 0 && w > 0 {
			s.ws[w].waiting = true
			s.push(simEvent{at: simEpoch.Add(time.Duration(w) * s.stagger), kind: simWake, worker: w, gen: s.ws[w].gen})
			continue
		}
		s.try(w)
	}
	for s.events.Len() > 0 && s.delivered < n {
		e := heap.Pop(&s.events).(simEvent)
		if s.until > 0 && e.at.Sub(simEpoch) > s.until {
			break
		}
		clk.now = e.at
		switch e.kind {
		case simWake:
			w := &s.ws[e.worker]
			if e.gen != w.gen || !w.waiting {
				continue
			}
			w.waiting = false
			if w.res != nil {
				l.mu.Lock()
				ok, again := l.settle(e.at, w.res, false)
				l.mu.Unlock()
				if again > 0 {
					w.waiting, w.changed = true, l.changed
					s.push(simEvent{at: e.at.Add(again + s.late()), kind: simWake, worker: e.worker, gen: w.gen})
					continue
				}
				w.res = nil
				if ok {
					s.send(e.worker)
					continue
				}
			}
			s.try(e.worker)
		case simArrive:
			if s.serial > 0 {
				// A server that works on one request at a time takes
				// this one up once it is done with those before.
				if s.busy.After(e.at) {
					e.at = s.busy
					s.push(e)
					continue
				}
				s.busy = e.at.Add(s.serial)
			}
			ok, h := srv.serve(e.at)
			h.Set("Date", e.at.Format(http.TimeFormat))
			out := e.at.Add(s.serial)
			if hs, held := srv.(simHolder); held && ok {
				work, lag := hs.hold()
				out = out.Add(work)
				s.push(simEvent{at: out.Add(lag), kind: simRelease})
			}
			if c, slow := srv.(*simConcurrency); slow && !ok {
				out = out.Add(c.refuseAfter)
			}
			if ok {
				out = out.Add(s.backend)
			}
			s.push(simEvent{at: out.Add(s.leg(false)), kind: simAnswer, worker: e.worker, sent: e.sent, ok: ok, h: h})
		case simRelease:
			srv.(simHolder).release()
		case simAnswer:
			s.answer(e)
		case simThrottle:
			s.throttle(e.sent, e.at, e.wait, e.hinted)
			if s.onAnswer != nil {
				s.onAnswer(e.sent, e.at, false, e.wait)
			}
			s.next(e.worker, e.at)
		}
	}
	return simResult{wall: s.last.Sub(simEpoch), requests: s.requests, throttled: s.throttled, delivered: s.delivered, stats: l.Stats()}
}

type simulation struct {
	l      *Limiter
	clk    *simClock
	srv    simServer
	server ServerClock
	events simEvents
	seq    int
	ws     []simWorker
	rnd    *rand.Rand
	cold   bool
	// stall is the share of requests that wait for a CPU on their way
	// (out or back), up to stallMax: a machine loaded with other work,
	// whose answers come back out of the order their requests left in.
	stall    float64
	stallMax time.Duration

	// lateWake, when not 0, fires every timer up to this much late, as
	// on a busy machine.
	lateWake time.Duration
	// transit, when not 0, delays one request in ten on its way to the
	// server by up to this much, as a busy machine's proxy or server
	// does: a bucket of one sees it arrive too close to the next.
	transit time.Duration
	// dialFirst, when not 0, holds the run's first request this much
	// longer on its way to the server: the first of a burst's new
	// connections, dialled first and taken last (nginx), so the burst's
	// earliest request is the one refused.
	dialFirst time.Duration
	// dialEach, when not 0, holds each worker's first request up to this
	// much longer on its way, drawn afresh: a new connection each, one
	// dialled and taken later than another.
	dialEach time.Duration
	// backend, when not 0, is how much longer an accepted request takes
	// than a refused one: a proxy answers its refusals itself and passes
	// the rest on (nginx's limit_req).
	backend time.Duration
	// stagger, when not 0, starts worker w at w*stagger instead of all at
	// once, as real workers reach the pool's gate one after another.
	stagger time.Duration
	// serial, when not 0, is how long a server that works on one
	// request at a time (Node.js: express-rate-limit and the proxy behind
	// it on one thread) takes over each: a request that arrives while it
	// is busy waits its turn, and the limiter counts it when its turn
	// comes. A burst of 100 at 2.5ms each takes a quarter of a second
	// however many workers send it, as on a loaded machine.
	serial time.Duration
	busy   time.Time
	// wire, when not 0, makes every round trip this much longer, half
	// each way, refusals and acceptances alike: a remote API behind a
	// long network path, which decides on each request when it comes.
	wire time.Duration
	// wireOut, when not 0, is the share of wire spent on the way out
	// (half otherwise): a path longer one way than the other, as a slow
	// upload's.
	wireOut float64
	// until, when not 0, ends the run at this much virtual time, rows
	// delivered or not: a pool that stalls still ends.
	until time.Duration
	// throttleLag, when not 0, reads each refusal's Throttle up to this
	// much after its Done (the worker classifies the answer in between),
	// so that other answers' Dones may come first, as in a pool of
	// goroutines. throttleLatest reads it with Throttle (the latest
	// refused request's send time) rather than ThrottleFor, as the
	// sender did before ThrottleFor.
	throttleLag    time.Duration
	throttleLatest bool
	// onSend, when set, sees every request worker w sends, before the
	// Limiter counts it.
	onSend func(w int)
	// onAnswer, when set, sees every answer once the Limiter read it:
	// the request's send time, the answer's (a refusal's Throttle's,
	// with throttleLag), whether it was accepted and the wait a refusal
	// stated.
	onAnswer func(sent, at time.Time, ok bool, wait time.Duration)

	left                           int  // messages no worker has taken yet
	noFinishing                    bool // never tell the Limiter the last messages are out
	noRowsLeft                     bool // never tell the Limiter how many rows are left
	delivered, requests, throttled int
	last                           time.Time
}

func (s *simulation) push(e simEvent) {
	s.seq++
	e.seq = s.seq
	heap.Push(&s.events, e)
}

// leg is one way of a round trip, out or back: half of loopback, and the
// wire's share (wireOut) each way.
func (s *simulation) leg(out bool) time.Duration {
	share := 0.5
	if s.wireOut > 0 {
		share = s.wireOut
	}
	if !out {
		share = 1 - share
	}
	return s.loopback()/2 + time.Duration(share*float64(s.wire))
}

// loopback is one request's round trip on loopback: 1ms give or take 0.3;
// on a cold server (a JIT warming up, as Node.js does) anything up to
// 300ms for the first 300ms of the run, and then one in 50 up to 60ms, as
// on a busy machine; with stall, that share of them up to stallMax.
func (s *simulation) loopback() time.Duration {
	if s.cold && s.clk.now.Sub(simEpoch) < 300*time.Millisecond {
		return time.Duration((10 + 290*s.rnd.Float64()) * float64(time.Millisecond))
	}
	if s.stall > 0 && s.rnd.Float64() < s.stall {
		// A loaded machine: a request or its answer waits for a CPU.
		return time.Millisecond + time.Duration(s.rnd.Float64()*float64(s.stallMax))
	}
	if s.cold && s.rnd.Float64() < 0.02 {
		// A busy machine: now and then a request waits for a CPU.
		return time.Duration((5 + 55*s.rnd.Float64()) * float64(time.Millisecond))
	}
	return time.Duration((0.7 + 0.6*s.rnd.Float64()) * float64(time.Millisecond))
}

// late is how late a timer fires: 0 unless lateWake.
func (s *simulation) late() time.Duration {
	if s.lateWake <= 0 {
		return 0
	}
	return time.Duration(s.rnd.Float64() * float64(s.lateWake))
}

// delay is how much later than its round trip says a request arrives: 0
// unless transit.
func (s *simulation) delay() time.Duration {
	if s.transit <= 0 || s.rnd.Float64() >= 0.1 {
		return 0
	}
	return time.Duration(s.rnd.Float64() * float64(s.transit))
}

// try is a worker's turn: take a message if it has none, then Wait.
func (s *simulation) try(w int) {
	wk := &s.ws[w]
	if !wk.job {
		if s.left == 0 {
			return
		}
		s.left--
		wk.job = true
		if s.left == 0 && !s.noFinishing {
			// As sender's dispatcher does once the input is read and
			// every message is a worker's.
			s.l.Finishing()
		}
	}
	if !s.noRowsLeft {
		// As sender's dispatcher does: the rows not yet finished.
		n := s.left
		for i := range s.ws {
			if s.ws[i].job {
				n++
			}
		}
		s.l.RowsLeft(n)
	}
	now := s.clk.now
	s.l.mu.Lock()
	d, r, changed := s.l.admit(now)
	s.l.mu.Unlock()
	if d <= 0 {
		s.send(w)
		return
	}
	wk.gen++
	wk.waiting, wk.res, wk.changed = true, r, changed
	s.push(simEvent{at: now.Add(d + s.late()), kind: simWake, worker: w, gen: wk.gen})
}

func (s *simulation) send(w int) {
	if s.onSend != nil {
		s.onSend(w)
	}
	s.requests++
	now := s.clk.now
	s.l.mu.Lock()
	s.l.begin(now)
	s.l.mu.Unlock()
	late := s.delay()
	if s.requests == 1 {
		late += s.dialFirst
	}
	if !s.ws[w].dialled {
		s.ws[w].dialled = true
		if s.dialEach > 0 {
			late += time.Duration(s.rnd.Float64() * float64(s.dialEach))
		}
	}
	s.push(simEvent{at: now.Add(s.leg(true) + late), kind: simArrive, worker: w, sent: now})
}

// answer is what sender does with an answer, then wakes the workers whose
// gate changed, as closing Limiter.changed does.
func (s *simulation) answer(e simEvent) {
	s.server.Observe(e.h, e.sent, e.at)
	var wait time.Duration
	if e.ok {
		q, ok := s.server.ParseQuotaAt(e.h, e.at)
		s.l.Done(e.sent, Accepted)
		s.l.Success(e.sent, q, ok)
		s.delivered++
		s.last = e.at
		s.ws[e.worker].job = false
	} else {
		s.throttled++
		sig, hinted := s.server.ParseWaitAt(e.h, e.at)
		s.l.Done(e.sent, Refused)
		if s.throttleLag > 0 {
			// The worker reads the refusal's wait and throttles a
			// little after its Done: another worker's Done may come
			// in between.
			lag := time.Duration(s.rnd.Float64() * float64(s.throttleLag))
			s.push(simEvent{at: e.at.Add(lag), kind: simThrottle, worker: e.worker, sent: e.sent, wait: sig.Wait, hinted: hinted})
			return
		}
		s.throttle(e.sent, e.at, sig.Wait, hinted)
		wait = sig.Wait
	}
	if s.onAnswer != nil {
		s.onAnswer(e.sent, e.at, e.ok, wait)
	}
	s.next(e.worker, e.at)
}

// throttle reads the refusal of the request sent at sent, answered at at,
// as the sender does.
func (s *simulation) throttle(sent, at time.Time, wait time.Duration, hinted bool) {
	if s.throttleLatest {
		s.l.Throttle(at, wait, hinted)
		return
	}
	s.l.ThrottleFor(sent, at, wait, hinted)
}

// next lets worker w, whose answer came at at, take its next request, and
// wakes the waiters the answer let go.
func (s *simulation) next(worker int, at time.Time) {
	s.try(worker)
	for w := range s.ws {
		wk := &s.ws[w]
		if !wk.waiting {
			continue
		}
		select {
		case <-wk.changed:
		default:
			continue
		}
		wk.waiting = false
		if wk.res != nil {
			s.l.mu.Lock()
			s.l.settle(at, wk.res, true)
			s.l.mu.Unlock()
			wk.res = nil
		}
		s.try(w)
	}
}

// Header styles of the simulated servers.
const (
	styleBare        = "bare"        // nothing but the status (nginx, HAProxy)
	styleCounters    = "counters"    // RateLimit-Limit/-Remaining/-Reset, Retry-After with fractions
	styleRateAsLimit = "rate-limit"  // RateLimit-Limit is the refill rate, RateLimit-Reset always 1
	styleExpress     = "express"     // draft-8 RateLimit + X-RateLimit-*, whole seconds
	styleLegacy      = "legacy"      // X-RateLimit-* alone (express-rate-limit without standardHeaders)
	styleHTTPRate    = "httprate"    // X-RateLimit-* with a Unix-seconds reset, Retry-After
	styleRetryAfter  = "retry-after" // only Retry-After in whole seconds on a 429
	styleStructured  = "ratelimit"   // IETF RateLimit r=;t= and RateLimit-Policy q=;w=
	// @fastify/rate-limit: x-ratelimit-limit/-remaining/-reset, the reset
	// in whole seconds to the window's end rounded up, on every answer;
	// retry-after the same on a 429.
	styleFastify = "fastify"
	// rate-limiter-flexible as its README sets the headers, on every
	// answer: Retry-After msBeforeNext/1000 (fractional seconds),
	// X-RateLimit-Limit/-Remaining, X-RateLimit-Reset in Unix seconds
	// rounded up; the -iso and -date variants send the reset as
	// toISOString() and as a JavaScript Date prints (whole seconds,
	// truncated).
	styleFlexible     = "flexible"
	styleFlexibleISO  = "flexible-iso"
	styleFlexibleDate = "flexible-date"
	// styleUlule: ulule/limiter's X-RateLimit-Limit/-Remaining and
	// X-RateLimit-Reset in Unix seconds truncated, no Retry-After.
	styleUlule = "ulule"
	// styleGoLimiter: sethvargo/go-limiter's httplimit, X-RateLimit-Limit
	// /-Remaining and X-RateLimit-Reset the window's end as an RFC 1123
	// date in UTC (truncated to the second), the same date in Retry-After
	// on a 429.
	styleGoLimiter = "golimiter"
	// styleRolling: testdata/limiters/node/rolling.js's "info" headers
	// over rolling-rate-limiter's limitWithInfo, on every answer:
	// X-RateLimit-Limit, X-RateLimit-Remaining the limit less the log
	// with the request (0 when refused), X-RateLimit-Reset in Unix
	// seconds rounded up of now plus millisecondsUntilAllowed (the
	// limit-th latest entry, the request's own counted, a window on; 0
	// while the log with it holds fewer), and on a 429 Retry-After
	// that wait in seconds rounded up.
	styleRolling = "rolling"
)

// simConcurrency is a concurrency limit: it works on at most limit
// requests at once, each for work, and refuses any that comes meanwhile
// (Twilio's 429, nginx's limit_conn). Its Retry-After, if any, is a whole
// second (the sandbox's); its RateLimit counter says how many more it
// would take now.
// fastFirst requests are answered at once, as a backend not yet loaded
// does, the rest take work; lag is how long after its answer left the
// server frees a request's slot (nginx frees it when the request is
// finalized, a little after the last byte is written); refuseAfter is how
// long a refusal takes (the sandbox's --latency delays every answer).
type simConcurrency struct {
	limit       int
	work        time.Duration
	fastFirst   int
	lag         time.Duration
	refuseAfter time.Duration
	style       string

	busy, served int
}

func (c *simConcurrency) hold() (time.Duration, time.Duration) {
	c.served++
	if c.served <= c.fastFirst {
		return 0, c.lag
	}
	return c.work, c.lag
}

func (c *simConcurrency) release() { c.busy-- }

func (c *simConcurrency) serve(time.Time) (bool, http.Header) {
	ok := c.busy < c.limit
	if ok {
		c.busy++
	}
	h := http.Header{}
	switch c.style {
	case styleRetryAfter:
		if !ok {
			h.Set("Retry-After", "1")
		}
	case styleStructured:
		h.Set("RateLimit", `"default";r=`+strconv.Itoa(c.limit-c.busy)+`;t=0`)
		h.Set("RateLimit-Policy", `"default";q=`+strconv.Itoa(c.limit)+`;w=1`)
	}
	return ok, h
}

// simBucket is a token bucket (a leaky bucket as nginx runs it behaves the
// same for a client): burst tokens, refilled at rate per second.
type simBucket struct {
	burst        float64
	rate         float64
	countRefused bool
	style        string

	tokens float64
	last   time.Time
}

func (b *simBucket) serve(at time.Time) (bool, http.Header) {
	if b.last.IsZero() {
		b.tokens, b.last = b.burst, at
	}
	b.tokens = math.Min(b.burst, b.tokens+b.rate*at.Sub(b.last).Seconds())
	b.last = at
	ok := b.tokens >= 1
	if ok || b.countRefused {
		b.tokens = math.Max(b.tokens-1, -b.burst)
	}
	h := http.Header{}
	next := (1 - b.tokens) / b.rate // seconds to the next token
	switch b.style {
	case styleCounters:
		h.Set("RateLimit-Limit", strconv.Itoa(int(b.burst)))
		h.Set("RateLimit-Remaining", strconv.Itoa(max(int(math.Floor(b.tokens)), 0)))
		h.Set("RateLimit-Reset", strconv.FormatFloat(math.Ceil((b.burst-b.tokens)/b.rate*1000)/1000, 'f', -1, 64))
		if !ok {
			h.Set("Retry-After", strconv.FormatFloat(math.Ceil(next*1000)/1000, 'f', -1, 64))
		}
	case styleRetryAfter:
		if !ok {
			h.Set("Retry-After", strconv.Itoa(int(math.Ceil(next))))
		}
	case styleRateAsLimit:
		h.Set("RateLimit-Limit", strconv.Itoa(int(b.rate)))
		h.Set("RateLimit-Remaining", strconv.Itoa(max(int(math.Floor(b.tokens)), 0)))
		h.Set("RateLimit-Reset", "1")
		if !ok {
			h.Set("Retry-After", "1")
		}
	}
	return ok, h
}

// simNginx is nginx's limit_req (ngx_http_limit_req_module.c) as it
// computes, with nodelay: the excess over the rate in thousandths of a
// request, drained at rate per second over the whole milliseconds of the
// event loop's clock since the last accepted request (a refused one
// changes nothing), plus one request for the one arriving, refused past
// burst requests. A key's first request, or the first after the excess
// drained, leaves it at 0: burst+1 go at once. The answer is a bare
// status.
type simNginx struct {
	rate  int64 // requests per second
	burst int64
	// queue holds the requests past delay (of the burst) until the rate
	// lets them through, as limit_req does without nodelay: the answer
	// comes (excess-delay)/rate later.
	queue bool
	delay int64

	seen   bool
	excess int64 // thousandths of a request
	last   int64 // ms
	wait   time.Duration
}

// hold is how long the request just accepted waits in the queue.
func (n *simNginx) hold() (work, lag time.Duration) { return n.wait, 0 }
func (n *simNginx) release()                        {}

func (n *simNginx) serve(at time.Time) (bool, http.Header) {
	ok, h := n.admit(at)
	n.wait = 0
	if ok && n.queue && n.excess > n.delay*1000 {
		n.wait = time.Duration((n.excess-n.delay*1000)/n.rate) * time.Millisecond
	}
	return ok, h
}

func (n *simNginx) admit(at time.Time) (bool, http.Header) {
	now := at.UnixMilli() // ngx_current_msec
	if !n.seen {
		n.seen, n.excess, n.last = true, 0, now
		return true, http.Header{}
	}
	ms := max(now-n.last, 0)
	excess := max(n.excess-n.rate*1000*ms/1000+1000, 0)
	if excess > n.burst*1000 {
		return false, http.Header{}
	}
	n.excess = excess
	if ms != 0 {
		n.last = now
	}
	return true, http.Header{}
}

// simFixed is a fixed window of limit requests per window, aligned on the
// clock or started by the first request after the last one ended
// (express-rate-limit's memory store). Refused requests count when
// countRefused, as express-rate-limit counts them.
type simFixed struct {
	limit   int
	window  time.Duration
	aligned bool
	phase   time.Duration // aligned windows start at phase past a multiple of window
	// grid: aligned windows whose phase is the first request's arrival
	// (sethvargo/go-limiter: start + k x window, kept through idle
	// spells), not the clock's.
	grid         bool
	countRefused bool
	style        string

	start time.Time
	count int
}

func (f *simFixed) serve(at time.Time) (bool, http.Header) {
	if f.grid && f.start.IsZero() {
		f.aligned, f.phase = true, at.Sub(at.Truncate(f.window))
	}
	switch {
	case f.aligned:
		if s := at.Add(-f.phase).Truncate(f.window).Add(f.phase); !s.Equal(f.start) {
			f.start, f.count = s, 0
		}
	case f.start.IsZero() || !at.Before(f.start.Add(f.window)):
		f.start, f.count = at, 0
	}
	ok := f.count < f.limit
	if ok || f.countRefused {
		f.count++
	}
	end := f.start.Add(f.window)
	left := end.Sub(at).Seconds()
	remaining := max(f.limit-f.count, 0)
	h := http.Header{}
	switch f.style {
	case styleExpress:
		name := fmt.Sprintf(`"%d-in-%gsec"`, f.limit, f.window.Seconds())
		h.Set("RateLimit", fmt.Sprintf("%s; r=%d; t=%d", name, remaining, int(math.Ceil(left))))
		h.Set("RateLimit-Policy", fmt.Sprintf("%s; q=%d; w=%d", name, f.limit, int(math.Ceil(f.window.Seconds()))))
		h.Set("X-RateLimit-Limit", strconv.Itoa(f.limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(int64(math.Ceil(float64(end.UnixNano())/1e9)), 10))
		if !ok {
			h.Set("Retry-After", strconv.Itoa(int(math.Ceil(left))))
		}
	case styleLegacy:
		h.Set("X-RateLimit-Limit", strconv.Itoa(f.limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(int64(math.Ceil(float64(end.UnixNano())/1e9)), 10))
		if !ok {
			h.Set("Retry-After", strconv.Itoa(int(math.Ceil(left))))
		}
	case styleRetryAfter:
		if !ok {
			h.Set("Retry-After", strconv.Itoa(int(math.Ceil(left))))
		}
	case styleFastify:
		h.Set("X-RateLimit-Limit", strconv.Itoa(f.limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		h.Set("X-RateLimit-Reset", strconv.Itoa(int(math.Ceil(left))))
		if !ok {
			h.Set("Retry-After", strconv.Itoa(int(math.Ceil(left))))
		}
	case styleGoLimiter:
		reset := end.UTC().Format(time.RFC1123)
		h.Set("X-RateLimit-Limit", strconv.Itoa(f.limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		h.Set("X-RateLimit-Reset", reset)
		if !ok {
			h.Set("Retry-After", reset)
		}
	case styleUlule:
		h.Set("X-RateLimit-Limit", strconv.Itoa(f.limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(end.Unix(), 10))
	case styleFlexible, styleFlexibleISO, styleFlexibleDate:
		h.Set("Retry-After", strconv.FormatFloat(float64(end.Sub(at).Milliseconds())/1000, 'f', -1, 64))
		h.Set("X-RateLimit-Limit", strconv.Itoa(f.limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		switch f.style {
		case styleFlexibleISO:
			h.Set("X-RateLimit-Reset", end.UTC().Format("2006-01-02T15:04:05.000Z"))
		case styleFlexibleDate:
			h.Set("X-RateLimit-Reset", end.UTC().Format("Mon Jan 02 2006 15:04:05 GMT-0700")+" (Coordinated Universal Time)")
		default:
			h.Set("X-RateLimit-Reset", strconv.FormatInt(int64(math.Ceil(float64(end.UnixNano())/1e9)), 10))
		}
	}
	return ok, h
}

// simSliding is a sliding window of limit requests per window: as a log
// (every request of the last window counts) or as a counter (go-chi/httprate
// and HAProxy: the previous aligned window's count weighted by how much of
// it still overlaps, plus the current one's).
type simSliding struct {
	limit        int
	window       time.Duration
	counter      bool
	countRefused bool
	// phase is where a counter's periods start past a multiple of window
	// (go-chi/httprate starts them when it starts, not on the clock).
	phase time.Duration
	// haproxy is a counter as HAProxy's stick tables keep it: the first
	// period starts at the first request (and again after two idle
	// periods), the previous period's weight is rounded down, and a
	// request is refused when the count including it exceeds limit.
	haproxy bool
	style   string

	log        []time.Time
	start      time.Time
	prev, curr int
}

func (s *simSliding) serve(at time.Time) (bool, http.Header) {
	var used float64
	var reset time.Time
	if s.haproxy {
		switch {
		case s.start.IsZero() || at.Sub(s.start) >= 2*s.window:
			s.start, s.prev, s.curr = at, 0, 0
		case at.Sub(s.start) >= s.window:
			s.start, s.prev, s.curr = s.start.Add(s.window), s.curr, 0
		}
		remain := s.window - at.Sub(s.start)
		used = float64(s.curr) + math.Floor(float64(s.prev)*float64(remain)/float64(s.window))
		reset = s.start.Add(s.window)
	} else if s.counter {
		if ws := at.Add(-s.phase).Truncate(s.window).Add(s.phase); !ws.Equal(s.start) {
			if ws.Sub(s.start) == s.window {
				s.prev = s.curr
			} else {
				s.prev = 0
			}
			s.start, s.curr = ws, 0
		}
		elapsed := at.Sub(s.start)
		used = float64(s.prev)*float64(s.window-elapsed)/float64(s.window) + float64(s.curr)
		reset = s.start.Add(s.window)
	} else {
		keep := s.log[:0]
		for _, t := range s.log {
			if at.Sub(t) < s.window {
				keep = append(keep, t)
			}
		}
		s.log = keep
		used = float64(len(s.log))
		if len(s.log) > 0 {
			reset = s.log[0].Add(s.window)
		} else {
			reset = at
		}
	}
	ok := int(math.Round(used)) < s.limit
	if ok || s.countRefused {
		if s.counter || s.haproxy {
			s.curr++
		} else {
			s.log = append(s.log, at)
		}
	}
	h := http.Header{}
	if s.style == styleRolling {
		var until time.Duration
		if n := len(s.log); n >= s.limit && !s.counter && !s.haproxy {
			until = s.log[n-s.limit].Add(s.window).Sub(at)
		}
		remaining := 0
		if ok {
			remaining = max(s.limit-int(math.Round(used))-1, 0)
		}
		// The library rounds the wait up to the millisecond
		// (microsecondsToMilliseconds), rolling.js the sum up to the
		// second.
		um := int64((until + time.Millisecond - 1) / time.Millisecond)
		ms := at.UnixMilli() + um
		h.Set("X-RateLimit-Limit", strconv.Itoa(s.limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		h.Set("X-RateLimit-Reset", strconv.FormatInt((ms+999)/1000, 10))
		if !ok {
			h.Set("Retry-After", strconv.FormatInt((um+999)/1000, 10))
		}
	}
	if s.style == styleHTTPRate {
		remaining := 0
		if ok {
			remaining = max(s.limit-int(math.Round(used))-1, 0)
		}
		h.Set("X-RateLimit-Limit", strconv.Itoa(s.limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		if !ok {
			h.Set("Retry-After", strconv.Itoa(int(s.window.Seconds())))
		}
	}
	return ok, h
}

// simFlaskMoving is Flask-Limiter's moving window (limits'
// MovingWindowRateLimiter): a log of the accepted requests of the last
// window, refused ones not logged. Its headers are those Flask-Limiter
// injects on every answer: X-RateLimit-Limit, X-RateLimit-Remaining (the
// limit less the log), X-RateLimit-Reset one second past the log's oldest
// entry (truncated to the second) plus the window, in Unix seconds, and
// on a 429 Retry-After that instant less now, truncated to the second.
// Its counter never comes back whole after a burst: each request that
// ages out of the log gives back one.
type simFlaskMoving struct {
	limit  int
	window time.Duration
	log    []time.Time
}

func (f *simFlaskMoving) serve(at time.Time) (bool, http.Header) {
	keep := f.log[:0]
	for _, t := range f.log {
		if at.Sub(t) < f.window {
			keep = append(keep, t)
		}
	}
	f.log = keep
	ok := len(f.log) < f.limit
	if ok {
		f.log = append(f.log, at)
	}
	oldest := at
	if len(f.log) > 0 {
		oldest = f.log[0]
	}
	reset := oldest.Unix() + int64(f.window/time.Second) + 1
	h := http.Header{}
	h.Set("X-RateLimit-Limit", strconv.Itoa(f.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(f.limit-len(f.log)))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
	if !ok {
		h.Set("Retry-After", strconv.Itoa(int(max(float64(reset)-float64(at.UnixNano())/1e9, 0))))
	}
	return ok, h
}

// simGoLimiter is sethvargo/go-limiter's memorystore as httplimit serves
// it: limit per window in ticks from the first request (its fill rate
// gives a whole bucket each tick), the tick's end written in RFC 1123,
// truncated to the second, as X-RateLimit-Reset and, on a 429, as
// Retry-After.
type simGoLimiter struct {
	limit  int
	window time.Duration

	start time.Time
	tick  int64
	avail int
}

func (g *simGoLimiter) serve(at time.Time) (bool, http.Header) {
	if g.start.IsZero() {
		g.start, g.avail = at, g.limit
	}
	if tick := int64(at.Sub(g.start) / g.window); tick > g.tick {
		g.tick, g.avail = tick, g.limit
	}
	ok := g.avail > 0
	if ok {
		g.avail--
	}
	reset := g.start.Add(time.Duration(g.tick+1) * g.window).UTC().Format(time.RFC1123)
	h := http.Header{}
	h.Set("X-RateLimit-Limit", strconv.Itoa(g.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(g.avail))
	h.Set("X-RateLimit-Reset", reset)
	if !ok {
		h.Set("Retry-After", reset)
	}
	return ok, h
}
