package sender

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bulksend/bulksend/ratelimit"
)

// job is one message on its way, through retries and throttle pauses.
type job struct {
	m         *Message
	attempts  int // requests made
	transient int // transient failures so far
	throttled int
	busy      int // bare 503s from a busy server met (verdict.busy)
	begun     bool
	// maybe: a request of this job may have reached the server (an
	// ambiguous attempt, or one aborted after it was written).
	maybe bool
	// looking: the job's next request is its Lookup, to settle whether an
	// earlier attempt arrived; lookups counts the lookups made.
	looking bool
	lookups int
	// settling: the job is counted in Progress.Settling (dispatcher.track).
	settling bool
	// next is the URL of the next page of a list the lookup is reading,
	// pages the pages it has read.
	next  string
	pages int
	// settleAt is when a lookup saying the message is absent may be
	// trusted: the server has had lookupDelay to finish the ambiguous
	// attempt, this run's or an earlier run's (resumeSettle).
	settleAt time.Time
	ready    time.Time
	// firstAt is when the job's first request left: a message it created
	// is no older.
	firstAt time.Time
	sentAt  time.Time
	latency time.Duration
}

type outcomeKind int

const (
	outcomeFinal     outcomeKind = iota // res is the row's result
	outcomeRetry                        // send the job again at job.ready
	outcomeAbandoned                    // the run is stopping; not final
	outcomeFatal                        // err ends the run; res, if set, is final
)

// outcome is what a worker hands back to the dispatcher for one job.
type outcome struct {
	kind      outcomeKind
	job       *job
	res       *Result
	err       error
	transient bool
	requests  int
	// park, when set, ends the run after this outcome: the answer said
	// the server's quota is spent for longer than MaxWait.
	park *ParkedError
}

// attempt makes one request for j, after the limiter lets it go, and says
// what is to become of j: the request's answer is classified (classify.go)
// and the verdict resolved against this message.
func (e *engine) attempt(waitCtx context.Context, w *worker, j *job) outcome {
	if err := e.lim.Wait(waitCtx); err != nil {
		var spent *ratelimit.SpentError
		if errors.As(err, &spent) {
			// A local cap (--rate 10000/24h) is spent: the run parks, and
			// j, not sent, is left pending with the others.
			return outcome{kind: outcomeFatal, job: j, err: &ParkedError{Until: spent.Until, Reason: spent.Error()}}
		}
		return outcome{kind: outcomeAbandoned, job: j}
	}
	w.flight = flight{sent: e.now()}
	// Whatever happens from here, the request ends for the Limiter: with
	// its answer (hear, look) or, if none came, as failed.
	defer e.land(w, ratelimit.Failed)
	if !j.begun {
		m := j.m
		if err := e.journal.Begin(m); err != nil {
			// Not sent; but a row resumed for a lookup may have arrived
			// in an earlier run, and failed would let --retry-failed send it.
			st := StatusFailed
			if j.maybe {
				st = StatusUnknown
			}
			return outcome{kind: outcomeFatal, job: j, err: fmt.Errorf("record in-flight row: %w", err),
				res: &Result{Line: m.Line, ID: m.ID, Fingerprint: m.Fingerprint, Status: st, Error: "journal: " + err.Error()}}
		}
		j.begun = true
	}
	if j.looking {
		return e.look(w, j)
	}
	a := e.send(w, j)
	if a.err != nil && w.run.Err() != nil {
		if a.wrote && !refused(a.err) {
			j.maybe = true
		}
		return outcome{kind: outcomeAbandoned, job: j, requests: 1}
	}
	o := e.resolve(j, &a, e.hear(w, &a))
	if a.spent.Reset > 0 && o.kind != outcomeFatal {
		o.park = e.quotaSpent(&a)
	}
	return o
}

// quotaSpent is what to do when an answer says the quota that governs (of
// several RateLimit policies, the one with none left and the latest
// reset) is spent until further off than MaxWait: park the run rather than
// send into refusals, or with WaitParked pause the pool until the reset.
func (e *engine) quotaSpent(a *answer) *ParkedError {
	q := a.spent
	if e.cfg.WaitParked {
		e.pauseFor(a, q.Reset, true)
		e.progress.park(a.end.Add(q.Reset))
		return nil
	}
	return &ParkedError{Until: e.server.At(a.header, a.end).Add(q.Reset),
		Reason: fmt.Sprintf("the server's quota is spent (%s: 0 left of %d) until its reset in %s, more than --max-wait %s",
			q.Header, q.Limit, q.Reset.Round(time.Second), e.maxWait)}
}

// look asks the server whether j's message exists (Message.Lookup): yes
// settles the row sent, no sends it again, anything else looks again after
// a backoff, until the lookups run out and the row is unknown. A lookup is
// paced like a send and counts as a request.
func (e *engine) look(w *worker, j *job) outcome {
	lk := j.m.Lookup
	q := &Message{Method: lk.Method, URL: cmp.Or(j.next, lk.URL), Header: lk.Header, bodyLimit: lookupLimit}
	if q.Method == "" {
		q.Method = http.MethodGet
	}
	j.lookups++
	a := e.request(w, q)
	if a.err != nil && w.run.Err() != nil {
		return outcome{kind: outcomeAbandoned, job: j, requests: 1}
	}
	v, refused := e.limitVerdict(&a)
	switch {
	case a.err != nil:
		e.land(w, ratelimit.Failed)
	case refused:
		e.land(w, ratelimit.Refused)
	default:
		// A 503 past the outage grace is no refusal of the limit's, as
		// hear reads it: lookedUp fails it rather than throttling.
		e.land(w, ratelimit.Accepted)
	}
	o := e.lookedUp(j, &a, v, refused)
	if a.err == nil && !throttleStatus(a.status) && o.kind != outcomeFatal {
		// A lookup spends the quota as a send does: one that says it is
		// spent for longer than MaxWait parks the run as a send's would.
		if q, ok := ratelimit.ParseQuota(a.header, a.end); ok && q.Remaining == 0 && q.Reset > e.maxWait {
			a.spent = q
			o.park = e.quotaSpent(&a)
		}
	}
	return o
}

// lookedUp resolves the answer a to j's lookup; refused says it is the
// limit refusing it, v the verdict then (limitVerdict).
func (e *engine) lookedUp(j *job, a *answer, v verdict, refused bool) outcome {
	var reason string
	switch {
	case a.err != nil:
		reason = describe(a.err)
	case refused:
		// Flow control, not a lookup that failed: the same pause, or
		// park, as a send meets. A parked row stays unknown, so
		// --resume looks it up again.
		j.lookups--
		return e.throttle(j, a, v, "not settled: parked: ")
	case throttleStatus(a.status):
		reason = fmt.Sprintf("HTTP %d", a.status)
	case a.status >= 200 && a.status < 300:
		o, why := e.read(j, a)
		if why == "" {
			return o
		}
		reason = why
	case a.status == http.StatusNotFound && j.m.Lookup.Match == nil:
		// A list's 404 (Match) says the list is not there, not that the
		// message is absent from it: it settles nothing.
		return e.absent(j, a.end)
	default:
		reason = fmt.Sprintf("HTTP %d", a.status)
	}
	j.next, j.pages = "", 0 // the next lookup reads the list from the start
	if j.lookups > e.maxRetries {
		return outcome{kind: outcomeFinal, job: j, requests: 1, res: e.result(j, a, StatusUnknown,
			fmt.Sprintf("may have reached the server; %s could not settle it (last: %s); not resent", plural(j.lookups, "lookup"), reason))}
	}
	j.ready = a.end.Add(ratelimit.Backoff(j.lookups-1, e.backoffBase(), e.backoffMax(), e.random))
	return outcome{kind: outcomeRetry, job: j, requests: 1}
}

// absent sends j again: the server says its message does not exist, so no
// earlier attempt arrived. An answer before j.settleAt is not trusted yet:
// the server may still be working on the attempt, so it is asked once more
// then, and this lookup does not count against the lookups.
func (e *engine) absent(j *job, now time.Time) outcome {
	if now.Before(j.settleAt) {
		j.lookups--
		j.ready = j.settleAt
		return outcome{kind: outcomeRetry, job: j, requests: 1}
	}
	j.looking, j.maybe = false, false
	j.settleAt = time.Time{}
	j.ready = now
	return outcome{kind: outcomeRetry, job: j, requests: 1}
}

// quickLookup is the longest an ambiguous attempt's first lookup waits. A
// lost acknowledgement or a 502 after the server took the message is
// found at once, and a found message settles the row: waiting lookupDelay
// (--timeout, 30s by default) for each of them held a run at "553 of 600"
// for half a minute with nothing in flight.
const quickLookup = time.Second

// lookupDelay is how long after an ambiguous attempt a lookup saying the
// message is absent is trusted: as long as the attempt was given, so a
// request the server is still working on is not taken for absent.
func (e *engine) lookupDelay() time.Duration {
	if e.cfg.LookupDelay > 0 {
		return e.cfg.LookupDelay
	}
	return max(e.timeout, MinLookupDelay)
}

// lookSoon schedules j's first lookup after its ambiguous attempt ended
// at end: soon, since a found message settles the row at once, while an
// absent one is trusted only from end+lookupDelay (absent).
func (e *engine) lookSoon(j *job, end time.Time) {
	d := e.lookupDelay()
	j.looking = true
	j.settleAt = end.Add(d)
	j.ready = end.Add(min(d, quickLookup))
}

// resumeSettle sets when a lookup saying that the message of j, a row an
// earlier run left unsettled, is absent may be trusted: once the server has
// had lookupDelay to finish that run's request, from when it left
// (Message.Since, plus LookupClockSlack, as the runs may be on different
// clocks), or from now when that is not known. A kill -9 or a second
// Ctrl-C can cut a create the server is still finishing, and an immediate
// --resume must not take it for absent and send the row again. A found
// message still settles the row at once.
func (e *engine) resumeSettle(j *job, now time.Time) {
	if !j.looking {
		return
	}
	if since := j.m.Since; !since.IsZero() {
		j.settleAt = since.Add(e.lookupDelay() + LookupClockSlack)
	} else {
		j.settleAt = now.Add(e.lookupDelay())
	}
}

// send makes j's request and times it.
func (e *engine) send(w *worker, j *job) answer {
	j.attempts++
	a := e.request(w, j.m)
	if j.firstAt.IsZero() {
		j.firstAt = a.start
	}
	j.sentAt, j.latency = a.start, a.end.Sub(a.start)
	return a
}

// request makes m's request on w, counted in flight while it is on the
// wire, and times it.
func (e *engine) request(w *worker, m *Message) answer {
	e.progress.InFlight.Add(1)
	var a answer
	a.start = e.now()
	w.flight.sent = a.start
	a.status, a.header, a.body, a.wrote, a.err = e.do(w, m)
	a.end = e.now()
	e.progress.InFlight.Add(-1)
	return a
}

// hear classifies a, w's answer, and feeds what the server said about its
// limits and its clock to the limiter and the server clock on the way.
func (e *engine) hear(w *worker, a *answer) verdict {
	if a.err != nil {
		e.land(w, ratelimit.Failed)
		return classifyTransport(a.err, a.wrote)
	}
	e.answered.Store(true)
	e.server.Observe(a.header, a.start, a.end)
	sig, hinted, busy := e.throttleHint(a)
	if v, ok := classifyThrottle(a.status, sig, hinted, busy, e.maxWait); ok {
		e.land(w, ratelimit.Refused)
		return v
	}
	e.land(w, ratelimit.Accepted)
	if a.status >= 200 && a.status < 300 {
		e.bare503Since.Store(0)
	}
	q, ok := e.server.ParseQuotaAt(a.header, a.end)
	e.lim.Success(a.start, q, ok)
	if ok && q.Remaining == 0 && q.Reset > e.maxWait {
		a.spent = q
	}
	id, errText := e.parse(a.status, a.body)
	if v, ok := classifySuccess(a.status, id); ok {
		if e.cfg.Detail != nil {
			v.detail = e.cfg.Detail(a.status, a.body)
		}
		return v
	}
	return classifyStatus(a.status, errText, a.header.Get("Location"))
}

// land ends w's request for the Limiter, with outcome o, unless it was
// ended already: once for every Wait that let one go.
func (e *engine) land(w *worker, o ratelimit.Outcome) {
	if w.flight.ended {
		return
	}
	w.flight.ended = true
	if e.flights != nil {
		e.flights.Done(w.flight.sent, o)
	}
}

// throttleHint reads the wait hint of a, an answer that may be a throttle
// (429, 503), and whether a bare 503 in it is one (busy): it is while the
// server has taken a request since bare 503s began, or began them less
// than Config.OutageGrace ago. nginx's limit_req answers 503 by default, between
// requests it takes; a server that is down answers 503 to everything, and
// past the grace its 503s are retried as failures, which spend the retry
// budget and end the run (ErrOutage) as before.
//
// A 403 is a throttle only when it says so (GitHub's rate limits answer
// 403 with Retry-After, or with X-RateLimit-Remaining: 0 and a reset):
// then it is hinted, else it is the refusal of credentials it usually is.
func (e *engine) throttleHint(a *answer) (sig ratelimit.Signal, hinted, busy bool) {
	if a.status == http.StatusForbidden {
		if !rateLimited403(a.header, a.end) {
			return sig, false, false
		}
		sig, hinted = e.server.ParseWaitAt(a.header, a.end)
		return sig, hinted, false
	}
	if !throttleStatus(a.status) {
		return sig, false, false
	}
	sig, hinted = e.server.ParseWaitAt(a.header, a.end)
	if a.status == http.StatusServiceUnavailable && !hinted {
		e.bare503Since.CompareAndSwap(0, a.end.UnixNano())
		busy = a.end.Sub(time.Unix(0, e.bare503Since.Load())) <= e.outageGrace
	}
	return sig, hinted, busy
}

// limitVerdict reads a lookup's answer a, once, as hear reads a send's:
// whether it is the server's limit refusing it (a 429 or 503 that
// classifyThrottle takes for a throttle), and the verdict then. look ends
// the request for the Limiter by it and lookedUp pauses by it: read
// twice, another worker's answer in between could move the outage clock
// (throttleHint) and make them disagree.
func (e *engine) limitVerdict(a *answer) (verdict, bool) {
	if a.err != nil || !throttleStatus(a.status) {
		return verdict{}, false
	}
	e.server.Observe(a.header, a.start, a.end)
	sig, hinted, busy := e.throttleHint(a)
	return classifyThrottle(a.status, sig, hinted, busy, e.maxWait)
}

// resolve turns v, the verdict on j's latest answer a, into j's outcome.
func (e *engine) resolve(j *job, a *answer, v verdict) outcome {
	switch v.kind {
	case verdictSent:
		r := e.result(j, a, StatusSent, "")
		r.MessageID, r.Detail = v.messageID, v.detail
		return outcome{kind: outcomeFinal, job: j, res: r, requests: 1}
	case verdictThrottled, verdictWaitTooLong:
		if v.busy {
			// Most likely the server's rate limit, and the pool slows
			// down for it; but a row that meets it again and again while
			// others go through has a failure of its own.
			if j.busy >= busyLimit(e.maxRetries) {
				return e.giveUp(j, e.result(j, a, StatusFailed, "HTTP 503 without a wait hint, while the server took other requests"))
			}
			j.busy++
		}
		return e.throttle(j, a, v, "not sent: parked: ")
	case verdictAmbiguous:
		j.maybe = true
		if e.keyed(j.m) {
			// The server deduplicates by the key: sending again is safe.
			return e.retry(j, e.result(j, a, StatusFailed, v.reason), a.end)
		}
		if j.m.Lookup != nil && j.lookups <= e.maxRetries {
			// Ask the server: found settles it now, absent only once the
			// server has had as long as we waited.
			e.lookSoon(j, a.end)
			return outcome{kind: outcomeRetry, job: j, requests: 1}
		}
		return outcome{kind: outcomeFinal, job: j, res: e.result(j, a, StatusUnknown, v.unsure), requests: 1}
	case verdictRetry:
		o := e.retry(j, e.result(j, a, StatusFailed, v.reason), a.end)
		if o.kind == outcomeFinal && v.unreached && !e.answered.Load() {
			// This row's every attempt failed to connect and no request has
			// reached the server: the rest would fail the same way.
			return e.unreachable(j, a, o.res.Error)
		}
		return o
	case verdictUntrusted:
		if !e.answered.Load() {
			return e.unreachable(j, a, v.reason)
		}
	case verdictAuth:
		// The server proved it did not take the message: the row is
		// pending, and --resume sends it once the credentials are fixed
		// (unless an earlier attempt may have arrived).
		return outcome{kind: outcomeFatal, job: j, requests: 1, err: fmt.Errorf("%w: %s", ErrAuth, v.reason),
			res: e.result(j, a, e.unsent(j), "not sent: "+v.reason)}
	}
	if j.maybe {
		// This answer refused the request, but an earlier attempt may
		// have reached the server (a resend with its key met a 409, say).
		return outcome{kind: outcomeFinal, job: j, requests: 1, res: e.result(j, a, StatusUnknown,
			v.reason+"; an earlier attempt may have reached the server")}
	}
	return outcome{kind: outcomeFinal, job: j, res: e.result(j, a, StatusFailed, v.reason), requests: 1}
}

// pauseFor pauses the pool for wait (hinted: the server stated it) on the
// answer a, with ThrottleFor where the limiter reads refusals by the
// request they answer: Done was given a.start (request), so a refused
// request's own send time is read, and an accepted one's (a quota spent
// too long) is read as none of ours refused.
func (e *engine) pauseFor(a *answer, wait time.Duration, hinted bool) time.Duration {
	if tl, ok := e.lim.(throttleForLimiter); ok && e.flights != nil {
		return tl.ThrottleFor(a.start, a.end, wait, hinted)
	}
	return e.lim.Throttle(a.end, wait, hinted)
}

// throttle handles a throttle answer a (verdict v) to j's send or lookup.
// It is flow control: the whole pool pauses and j is requeued. A wait
// longer than MaxWait parks the whole run instead (unless WaitParked): the
// server refused this request, so j is left as unsent (pending, or unknown
// when an earlier attempt may have arrived, which a lookup always means),
// its error starting with parked, and no other row is worth a request
// before the reset.
func (e *engine) throttle(j *job, a *answer, v verdict, parked string) outcome {
	j.throttled++
	e.throttled.Add(1)
	e.progress.Throttled.Add(1)
	if e.progress != nil {
		e.progress.LastThrottle.Store(v.reason)
	}
	if v.kind == verdictWaitTooLong {
		if !e.cfg.WaitParked {
			until := e.server.At(a.header, a.end).Add(v.wait)
			return outcome{kind: outcomeFatal, job: j, requests: 1,
				err: &ParkedError{Until: until, Reason: v.reason},
				res: e.result(j, a, e.unsent(j), parked+v.reason)}
		}
		e.progress.park(a.end.Add(v.wait))
	}
	pause := e.pauseFor(a, v.wait, v.hinted)
	if pause > e.maxWait && v.kind != verdictWaitTooLong {
		// The pause the limiter keeps after refusals in a row, nothing
		// accepted, grew past MaxWait, past any wait the server stated
		// (ratelimit's dryFloor): a lockout that each knock prolongs,
		// or a long bare window. Parked like a stated wait that long.
		reason := fmt.Sprintf("%s, refused again and again with nothing accepted: the next try would be in %s, more than --max-wait %s",
			v.reason, pause.Round(time.Second), e.maxWait)
		if !e.cfg.WaitParked {
			return outcome{kind: outcomeFatal, job: j, requests: 1,
				err: &ParkedError{Until: a.end.Add(pause), Reason: reason},
				res: e.result(j, a, e.unsent(j), parked+reason)}
		}
		e.progress.park(a.end.Add(pause))
	}
	j.ready = a.end
	return outcome{kind: outcomeRetry, job: j, requests: 1}
}

// unsent is the status of j when its latest request proved the server did
// not take it and the run ends: pending, which --resume sends, unless an
// earlier attempt may have arrived.
func (e *engine) unsent(j *job) Status {
	if j.maybe {
		return StatusUnknown
	}
	return StatusPending
}

// unreachable ends the run: the server cannot be reached. Like an auth
// failure, the row is pending (unknown if an earlier attempt may have
// arrived), and --resume sends it once the server is reachable.
func (e *engine) unreachable(j *job, a *answer, reason string) outcome {
	return outcome{kind: outcomeFatal, job: j, requests: 1, err: fmt.Errorf("%w: %s", ErrUnreachable, reason),
		res: e.result(j, a, e.unsent(j), "not sent: "+reason)}
}

// keyed reports whether m's request carries an idempotency key that the
// server is known to honour, so it drops a copy of a message it already
// took.
func (e *engine) keyed(m *Message) bool {
	return e.cfg.IdempotentServer && m.IdempotencyKey != "" && !e.cfg.NoIdempotency
}

// result is j's row after the answer a.
func (e *engine) result(j *job, a *answer, st Status, errText string) *Result {
	m := j.m
	return &Result{Line: m.Line, ID: m.ID, Status: st, HTTPStatus: a.status, Attempts: j.attempts,
		Throttled: j.throttled, Error: errText, Latency: j.latency, SentAt: j.sentAt,
		Response: oneLine(a.body, responseKeep), Segments: m.Segments, Fingerprint: m.Fingerprint}
}

// retry schedules a transient failure again after a full-jitter backoff, or
// gives up when its retries are spent: failed, or unknown when one of its
// attempts may have reached the server (every one timed out, say).
func (e *engine) retry(j *job, r *Result, now time.Time) outcome {
	if j.transient >= e.maxRetries {
		return e.giveUp(j, r)
	}
	d := ratelimit.Backoff(j.transient, e.backoffBase(), e.backoffMax(), e.random)
	j.transient++
	j.ready = now.Add(d)
	return outcome{kind: outcomeRetry, job: j, res: r, transient: true, requests: 1}
}

// giveUp ends j, whose retries are spent, with r: failed, or unknown
// when one of its attempts may have reached the server.
func (e *engine) giveUp(j *job, r *Result) outcome {
	if j.maybe {
		r.Status = StatusUnknown
		r.Error = fmt.Sprintf("gave up after %d attempts, which may have reached the server: %s", j.attempts, r.Error)
	} else {
		r.Error = fmt.Sprintf("gave up after %d attempts: %s", j.attempts, r.Error)
	}
	return outcome{kind: outcomeFinal, job: j, res: r, requests: 1}
}

// busyLimit is how many bare 503s from a busy server one row may meet: a
// few times its retries, since a rate limit refuses a row more often than
// a fault does (the request in flight when a window fills, a probe).
func busyLimit(maxRetries int) int {
	return 3 * (max(maxRetries, 0) + 1)
}

func (e *engine) backoffBase() time.Duration {
	if e.cfg.BackoffBase > 0 {
		return e.cfg.BackoffBase
	}
	return DefaultBackoffBase
}

func (e *engine) backoffMax() time.Duration {
	if e.cfg.BackoffMax > 0 {
		return e.cfg.BackoffMax
	}
	return DefaultBackoffMax
}

// rateLimited403 reports whether a 403's headers say a rate limit refused
// it: a Retry-After, or a quota with nothing remaining.
func rateLimited403(h http.Header, now time.Time) bool {
	if h.Get("Retry-After") != "" {
		return true
	}
	q, ok := ratelimit.ParseQuota(h, now)
	return ok && q.Remaining == 0
}

// throttleStatus reports the statuses that may carry a wait hint.
func throttleStatus(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}
