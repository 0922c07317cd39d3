package ratelimit

import (
	"math"
	"slices"
	"time"
)

// The concurrency model: a server that refuses a request while N of ours
// are in its hands (Twilio's 429, nginx's limit_conn), whatever the rate.
//
// The Limiter counts the requests in flight: Wait lets one go, Done ends
// it, whatever its answer (or none). Every ended request is logged with
// its send and answer times and whether it was refused, and the log is
// fitted as probe fits a concurrency limit: a request is refused when at
// least N accepted others were in flight when the server decided on it
// (for an accepted request, those in flight at its send; for a refused
// one, those in flight at any time until its answer, since requests need
// not reach the server in the order they left); the N that predicts the
// fewest answers wrongly is the limit. It explains the evidence when it is
// under the pool's size (a cap that binds) and at least 2, there were at
// least two refusals, no more than one in eight is predicted wrongly, a
// request was taken with N-1 others in flight, and nothing still in
// flight could change the count. A bucket or a window refuses requests
// sent with few others in flight and takes many sent with the pool full,
// which no N explains. The log is fitted from the first refusal's answer
// on: a limit that shows only once the backend slows down (its first
// burst answered at once) is fitted to the requests that overlapped its
// first refusals, not to the quick answers before, many in flight on our
// side and few on the server's.
//
// The first burst of a bucket or a window of N (N under the pool's size)
// looks the same: N taken, the rest refused. So the model is on trial
// first, and the trial counts only what a refill cannot explain: a window
// or bucket refills while the pool waits, so a request taken after the
// refusals' pause proves nothing of slots (a window of 100 per second met
// one request at a time on a loaded machine refused the two sent with its
// last two, a perfect fit of "2 in flight", and its reset during the
// 0.8s Retry-After took the old trial's probe). The trial therefore goes
// at once, in the pause the refusals began: first the opener, alone,
// once the fit is made (every request of the burst answered, so a
// concurrency limit has all its slots free, and a spent quota has had no
// more time to refill than the answers took). A quota that refused the
// burst refuses it too, for one 429: the trial is lost, and the rest of
// it goes once the pause is over only to measure what refilled meanwhile
// (the rate's first bound, concAside), proving nothing; where the
// bare-window model probes, after its probe was taken (a window refuses
// the probe and would refuse the rest with it). When a refusal
// stated a wait (Retry-After, a reset), the
// opener must also be answered before that wait ends: the server said
// its quota comes back no sooner, and taken in time the opener refutes
// it; answered later it proves nothing, and the model is put aside. Then
// N go, then one more (the probe) once two of them were answered (a
// concurrency limit has a slot free; a quota that refilled only enough
// for the opener refuses some of them), and nothing else until the
// probe's answer. Taken, the model holds: the pool is capped at N in
// flight, unpaced, the pause lifted (the wait it stated was refuted), and
// the other models rest. Any refusal on trial puts the model aside and
// the rate models take over. A server-stated wait on a refusal under the
// proven cap is honoured; a bare refusal under the cap pauses nothing,
// since the cap is the remedy.
//
// What the trial cannot tell apart is a quota that comes back within a
// round trip of its refusals: a bucket that refills about N requests in
// the time a request takes (N in flight then take its rate, and the cap
// paces it as a rate of N per round trip would), or a window that resets
// while the burst's answers are on their way (a whole-second Retry-After
// does not say when within that second). Proven, the pause's models (the
// Retry-After window, the bare one) start afresh should the cap be put
// aside: the refusals they were started by were the cap's.
//
// A refusal under the cap says N is too high: the request was refused
// with k others in flight, so the server holds at most k, and the cap
// becomes k; a refusal with no other request in flight (not a count of
// ours) puts the model aside. A cap under the largest N the fit allowed as
// well is probed upward, one request at a time after a round of N answers
// at the cap, since the order requests reach the server can make the
// first fit low; it is never probed past that N, which would cost a
// refusal and whatever wait the server states.

// Outcome is how a request that Wait let go ended, for Done.
type Outcome int

// The Outcome values.
const (
	// Failed: no answer that says anything of the limit (a transport
	// error, a request abandoned or never made).
	Failed Outcome = iota
	// Accepted: an answer that is not a throttle.
	Accepted
	// Refused: a throttle answer.
	Refused
)

const (
	// concLog is how many ended requests the fit looks at.
	concLog = 64
	// concMin is the least limit learned: one request at a time refused
	// with one other in flight is a bucket of one as much as a
	// concurrency limit of one.
	concMin = 2
	// capWait is how long a waiter held by the cap sleeps before it looks
	// again even if no request ended (Done wakes it at once).
	capWait = time.Second
)

// flightEnd is one ended request, for the fit.
type flightEnd struct {
	sent, end time.Time
	refused   bool
	// asked is the send time Done was given (the caller's clock), for
	// Success to find the request by.
	asked time.Time
}

// flights counts a Limiter's requests in flight and logs the ended ones.
type flights struct {
	open []time.Time // when each request in flight left, oldest first
	log  []flightEnd // the latest concLog ended with an answer
	// firstRefused is when the first refusal was answered; closed is set
	// once a request sent after it ended: the first burst is over, and
	// the concurrency model is no longer looked for.
	firstRefused time.Time
	closed       bool
	// said is when the latest wait a refusal stated ends (Throttle), a
	// wait of 0 left out (it claims no refill to come): the concurrency
	// model's trial counts an opener answered before it.
	said time.Time
	// pinned is set when the user gave the pool's size (--concurrency
	// N), pool: a counter whose limit is no more than the pool may then
	// count its slots. quota is set once an answer's counter showed more
	// used than our requests in flight when it left: it counts a quota,
	// not slots.
	pinned, quota bool
	pool          int
	// agreed counts the answers whose counter our requests in flight
	// explained; slots is set once an unpinned pool took it for slots.
	agreed int
	slots  bool
}

// begin counts a request that leaves at now.
func (f *flights) begin(now time.Time) { f.open = append(f.open, now) }

// end ends the request sent at sent (the latest in flight sent no later,
// else the oldest: the count is what matters) at now, and logs it unless it
// failed. It returns when the request it ended left (by Wait's clock),
// and false when none was in flight.
func (f *flights) end(sent, now time.Time, o Outcome) (time.Time, bool) {
	if len(f.open) == 0 {
		return time.Time{}, false
	}
	asked := sent
	i := 0
	for j := len(f.open) - 1; j >= 0; j-- {
		if !f.open[j].After(sent) {
			i = j
			break
		}
	}
	if !f.open[i].After(sent) {
		sent = f.open[i]
	}
	f.open = append(f.open[:i], f.open[i+1:]...)
	if o == Failed {
		return sent, true
	}
	if len(f.log) >= concLog {
		f.log = append(f.log[:0], f.log[1:]...)
	}
	f.log = append(f.log, flightEnd{sent: sent, end: now, refused: o == Refused, asked: asked})
	return sent, true
}

// since drops from the log the requests answered before t, when the first
// refused request left: a limit that shows only once the backend slows
// down (the first burst fitted because answers came at once) is fitted to
// what overlapped its first refusal, not to the answers before it, which
// were many in flight from our side and few on the server's.
func (f *flights) since(t time.Time) {
	f.log = slices.DeleteFunc(f.log, func(e flightEnd) bool { return e.end.Before(t) })
}

// countsSlots says whether the counter q on the accepted answer to the
// request sent at sent (ended by Done just before) counts the server's
// requests in hand, not a quota: a concurrency limit's counter (as the
// sandbox's concurrency model answers it, RateLimit r= the free slots)
// shows at most our requests in flight used (in flight at any time until
// its answer: requests need not reach the server in the order they left),
// and comes back as answers
// come, not as time passes. The counter models would read it as a quota
// spent and refilled slowly (a fixed window of N per second or so, paced
// at a few requests a second under --concurrency N). When the user gave
// the pool's size, while every answer so far is explained by our requests
// in flight, the counter is not theirs. A quota counter shows more used
// than is in flight as soon as requests sent after the first answers are
// answered (they still count), and from then on it is read as before.
//
// Without --concurrency the counter is read meanwhile: a quota's first
// burst is explained by the requests in flight alike, and its counter is
// what keeps that burst from being refused. A limit under the pool's size
// is learned from its first refusals; one at or over it never refuses,
// and once twice its count of answers came, all explained by our
// requests in flight and none refused, the counter is taken for slots
// (confirmed: the counter models start afresh, what they learned from it
// was wrong). A counter over its stated limit is a quota's from its first
// answer: free slots never number more.
func (f *flights) countsSlots(sent time.Time, q Quota) (slots, confirmed bool) {
	if f.quota || q.Limit <= 0 || q.Remaining < 0 {
		return false, false
	}
	if q.Remaining > q.Limit {
		// Free slots never number more than the limit: a counter over
		// it counts a quota, its limit something else (tollbooth at 30
		// per 3s states 10, its refill per second, its counter at 29).
		// Taken for slots once twice the limit's answers agreed, its
		// 30 was dropped with the counter models' restart, and the
		// first refusal began the Retry-After model as on a server
		// that shows no counter: a bucket of 11 learned, pinned at
		// 12.2/s for its 10/s.
		f.quota, f.slots = true, false
		return false, false
	}
	for i := len(f.log) - 1; i >= 0; i-- {
		if e := f.log[i]; !e.refused && e.asked.Equal(sent) {
			if q.Limit-q.Remaining > f.overlapping(i, e.end)+1 {
				f.quota, f.slots = true, false
				return false, false
			}
			f.agreed++
			// A pool given over the counter's limit can fill the slots
			// and be shown them free; under it, every quota's first
			// answers are explained by our requests in flight alike
			// (15 or 100 of a window's quota with --concurrency 8), and
			// holding them from the counter models cost them their
			// start: such a counter is judged as without the flag. Once
			// a request is refused, refusals teach the concurrency model
			// and the counter is read again (a small window's, 3 per
			// second under --concurrency 8, is a quota).
			unrefused := f.firstRefused.IsZero()
			pinned := f.pinned && q.Limit <= f.pool && unrefused
			if !f.slots && !pinned && unrefused && f.agreed >= 2*q.Limit {
				f.slots = true
				return true, true
			}
			return pinned || f.slots, false
		}
	}
	return false, false
}

// others is how many accepted requests other than e the server may have
// held when it decided on e. For an accepted e, those in flight when e
// was sent: logged, sent no later and answered after, or still in flight
// and sent no later (taken for accepted). For a refused e, those in
// flight at any time between its send and its answer: the server decided
// somewhere in between, and the order requests reach it need not be the
// order they left in (new connections are dialled in any order; a server
// may delay its refusals as it delays everything).
func (f *flights) others(i int) int {
	until := f.log[i].sent
	if f.log[i].refused {
		until = f.log[i].end
	}
	return f.overlapping(i, until)
}

// overlapping is how many accepted requests other than the log's ith were
// in flight at some time between its send and until.
func (f *flights) overlapping(i int, until time.Time) int {
	e, k := f.log[i], 0
	for j, o := range f.log {
		if j != i && !o.refused && !o.sent.After(until) && o.end.After(e.sent) {
			k++
		}
	}
	for _, t := range f.open {
		if !t.After(until) {
			k++
		}
	}
	return k
}

// fit is the concurrency limit that explains the log best: the N for
// which "refused when N accepted others were in flight" predicts the
// fewest answers wrongly (the smallest of equals; most is the largest),
// with that count and the number of refusals. shown says the log shows
// it: a request was accepted with N-1 others in flight, and nothing in
// flight was sent before the latest refusal was answered (their answers
// may change the count: a request still in flight counts as accepted, and
// answers need not come in the order requests left, so a server that is
// slow to refuse answers some refusals after acceptances).
func (f *flights) fit() (limit, most, wrong, refused int, shown bool) {
	k := make([]int, len(f.log))
	top := 0
	for i, e := range f.log {
		k[i] = f.others(i)
		top = max(top, k[i])
		if e.refused {
			refused++
		}
	}
	wrong = len(f.log) + 1
	for n := 1; n <= top+1; n++ {
		w := 0
		for i, e := range f.log {
			if (k[i] < n) == e.refused {
				w++
			}
		}
		if w < wrong {
			limit, wrong = n, w
		}
		if w == wrong {
			most = n
		}
	}
	var last *flightEnd
	took := false
	for i := range f.log {
		switch e := &f.log[i]; {
		case e.refused && (last == nil || e.end.After(last.end)):
			last = e
		case k[i] >= limit-1:
			took = true
		}
	}
	settled := last != nil && (len(f.open) == 0 || f.open[0].After(last.end))
	return limit, most, wrong, refused, took && settled
}

// concModel is the concurrency model in force.
type concModel struct {
	limit int // requests in flight allowed
	// Until proven, the model is on trial, at once, whatever pause the
	// refusals began: the opener goes alone; taken (before the wait a
	// refusal stated ended, if one did), limit requests may go, then one
	// more (the probe) once two of them were answered, and nothing else
	// until the probe's answer. A concurrency limit takes them all; a
	// bucket or a window of limit requests, which took the first ones
	// alike and has had no pause to refill in, refuses the opener or
	// some of those after it.
	proven bool
	opener time.Time // the opener's send time (zero: not sent)
	opened bool      // the opener was taken in time
	// measure is set once the opener was refused: nothing is proven,
	// but the rest of the trial goes when the pause ends, and the model
	// is put aside at its first refusal or the probe's answer; concAside
	// bounds the rate from below by what those requests found refilled.
	measure bool
	begun   int       // requests let go after the opener
	probe   time.Time // the probe's send time (zero: not sent)
	// Once proven, a limit under most (the largest the fit allowed as
	// well) is probed upward: after a round of limit answers taken at
	// the cap, one request may go with limit in flight; taken, the limit
	// grows by one; refused, most comes down to the limit.
	most   int
	round  int       // answers taken since the limit last moved
	upward time.Time // the upward probe's send time (zero: none out)
	since  time.Time // when the model was taken up
}

// capping says whether a proven concurrency model paces alone.
func (a *adaptive) capping() bool { return a.conc != nil && a.conc.proven }

// concBegun counts a request let go at now under the model's trial.
func (c *concModel) concBegun(now time.Time, open int) {
	if c.proven {
		if open > c.limit && c.upward.IsZero() {
			c.upward = now
		}
		return
	}
	if !c.opened {
		c.opener = now
		return
	}
	c.begun++
	if c.begun > c.limit && c.probe.IsZero() {
		c.probe = now
	}
}

// holds says whether the model holds a request back with open in flight.
func (c *concModel) holds(open int) bool {
	if c.proven && open == c.limit && c.limit < c.most && c.round >= c.limit && c.upward.IsZero() {
		return false // the upward probe
	}
	if open >= c.limit {
		return true
	}
	if !c.proven && !c.opened {
		// On trial: the opener goes alone.
		return !c.opener.IsZero()
	}
	// On trial: the probe goes alone, once two answers made room (a
	// server may free a slot a little after its answer left).
	return !c.proven && c.begun >= c.limit && (!c.probe.IsZero() || open > c.limit-2)
}

// begin counts a request Wait lets go at now, with l.mu held.
func (l *Limiter) begin(now time.Time) {
	l.seen = latest(l.seen, now)
	l.fl.begin(now)
	if l.alone && l.firstSent.IsZero() {
		l.firstSent = now
	}
	if l.adapt != nil && l.adapt.conc != nil {
		l.adapt.conc.concBegun(now, len(l.fl.open))
	}
}

// concEnded updates the concurrency model with a request sent at sent
// and ended at now, the latest in the log unless o is Failed. It reports
// whether the cap changed (set, lowered, proven or put aside).
func (l *Limiter) concEnded(sent, now time.Time, o Outcome) bool {
	a, f := l.adapt, &l.fl
	if a == nil {
		return false
	}
	if c := a.conc; c != nil {
		opener := !c.proven && !c.opened && !c.measure && !c.opener.IsZero() && !sent.Before(c.opener)
		probe := !c.proven && !c.probe.IsZero() && !sent.Before(c.probe)
		upward := !c.upward.IsZero() && !sent.Before(c.upward)
		if upward {
			c.upward, c.round = time.Time{}, 0
		}
		switch {
		case o == Refused && sent.Before(c.since):
			// Sent before the cap: the model was fitted to it.
			return false
		case o == Refused && opener:
			// The quota that refused the burst is still spent: the
			// trial is lost. Its requests measure the refill when the
			// pause ends.
			c.measure, c.opened = true, true
			return true
		case o == Failed && opener:
			// No answer to the opener: the next request is one.
			c.opener = time.Time{}
			return true
		case o == Failed && probe:
			// No answer to the probe: the next request is one.
			c.probe = time.Time{}
			return true
		case o == Accepted && opener && now.After(f.said) && !f.said.IsZero():
			// Taken once the wait a refusal stated was over: a quota
			// back on time says as much.
			l.concAside(now)
			return true
		case o == Accepted && opener:
			c.opened = true
			return true
		case o == Failed:
			return upward
		case o == Accepted && probe && c.measure:
			// Taken after the pause: a refill explains it.
			l.concAside(now)
			return true
		case o == Accepted && probe:
			// The rate models rest from here: no pace but the cap.
			c.proven = true
			l.lim = newPacer(a.limit(), 1)
			// The models the first burst's refusals started (a
			// Retry-After window, a bare one) took the cap's refusals
			// for a quota's, and their openers were never sent: should
			// the cap be put aside, they start afresh.
			a.ra, a.bare, a.bareBack = nil, nil, nil
			if now.Before(l.pauseUntil) {
				// The wait the refusals stated was refuted.
				l.stats.Paused -= l.pauseUntil.Sub(now)
				l.pauseUntil = now
			}
			l.drain = false
			return true
		case o == Accepted && upward:
			c.limit++
			return true
		case o == Accepted:
			c.round++
			return false
		case upward:
			// Refused with limit in flight: the limit it is.
			c.most = c.limit
			return false
		case !c.proven:
			// On trial, a refusal: the first burst was refused by a
			// quota, which the trial's requests found spent or refilled
			// short of them.
			l.concAside(now)
			return true
		}
		i := len(f.log) - 1
		k := f.others(i)
		switch {
		case k == 0 || c.round < c.limit || c.limit <= concMin:
			// Refused with nothing else in flight (not a count of ours),
			// or again within a round of the last change, or at the
			// least limit: whatever refuses these is not a count of
			// requests in flight.
			l.concAside(now)
		case k < c.limit || f.overlapping(i, f.log[i].sent) < c.limit:
			// Refused with fewer than the cap in flight, when it was
			// decided or when it left (requests sent after it may reach
			// the server first: at a full cap it overlaps as many as the
			// cap, so a cap fitted one too high never came down, and each
			// refusal's Retry-After paused the pool). At most one lower
			// at a time: a server may free a slot a little after its
			// answer left, and a request sent at once is refused for it.
			c.limit, c.round = c.limit-1, 0
		default:
			return false
		}
		return true
	}
	// Only the first burst is fitted: the pool starts unpaced, so a
	// concurrency limit under its size shows at once, and what is sent
	// after the first refusal was answered is paced by the other models,
	// whose refusals say nothing of a count in flight.
	switch {
	case f.closed:
		return false
	case !f.firstRefused.IsZero() && sent.After(f.firstRefused):
		f.closed = true
		return false
	case o == Refused && f.firstRefused.IsZero():
		f.firstRefused = now
		f.since(now)
	}
	if o == Failed || len(f.log) == 0 {
		return false
	}
	n, most, wrong, refused, shown := f.fit()
	if refused < 2 || !shown || n < concMin || n >= a.inFlight || 8*wrong > refused {
		return false
	}
	// On trial the cap comes on top of the other models' pacing; once
	// proven, they rest (no pace, no window) until it is put aside.
	a.conc = &concModel{limit: n, most: min(most, a.inFlight-1), since: now}
	return true
}

// concAside puts the concurrency model aside at now: the rate models take
// over, their segment starting afresh.
func (l *Limiter) concAside(now time.Time) {
	a := l.adapt
	a.conc = nil
	if n := a.sentIn(a.firstSign, now); a.measured == 0 && a.signs > 0 && n >= 2 {
		// The trial's requests, taken at once after the pause, were
		// refilled since the first refusal left the bucket under one:
		// its rate is at least that refill over that time, a better
		// first pace than the guess from the burst (nginx at 300r/s
		// burst=5 refilled six in 35ms and was paced at 50/s). Only
		// those sent once the first refusal was answered: the burst's
		// requests sent after the refused one but taken before it
		// (nginx takes a burst's new connections in no set order) are
		// the burst's, not refilled, and counting them read 3 requests
		// in 0.2ms, a first pace of 10000/s that let the whole pool go
		// at every pause's end.
		if d := a.sentLog[len(a.sentLog)-1].Sub(a.firstAnchor); d > 0 {
			a.pace = math.Max(a.pace, float64(n-1)/d.Seconds())
		}
	}
	a.lastSign, a.lastLeft = now, 0
	a.lastAnchor, a.lastRefused = now, false
	a.segStart, a.segAccepted, a.probed = now, 0, now
	l.lim = l.adaptivePacer(now, true)
}

// quotaSpent notes an accepted answer whose counter, one that counted more
// than our requests in flight (a quota, not slots), shows nothing left,
// with l.mu held: the refusals of the first burst are that quota's, not a
// count in flight. A fixed window met one request at a time until its
// last few went with the next ones refuses those next ones while the last
// are still out, and "refused with 2 in flight" fits exactly (a CI run
// against rate-limiter-flexible, whose answers came late on a loaded
// machine, learned so and ran capped at 2). The concurrency model is no
// longer looked for, and one on trial is dropped: the rate models paced
// meanwhile and go on. A proven one stays: its own refusals put it aside.
func (l *Limiter) quotaSpent() {
	l.fl.closed = true
	if a := l.adapt; a != nil && a.conc != nil && !a.conc.proven {
		a.conc = nil
		l.wakeWaiters()
	}
}

// trial is the concurrency model on trial, if any: its requests go at
// once, whatever pause or pace the rate models set (admit).
func (l *Limiter) trial() *concModel {
	if l.adapt == nil || l.adapt.conc == nil || l.adapt.conc.proven || l.adapt.conc.measure {
		return nil
	}
	return l.adapt.conc
}

// capFull says whether the cap on requests in flight holds one back now.
func (l *Limiter) capFull() bool {
	if l.adapt == nil || l.adapt.conc == nil {
		return false
	}
	if l.adapt.conc.measure && l.adapt.bareProbing() && len(l.fl.open) > 0 {
		// The trial was lost and its rest measures the refill, but the
		// bare-window model is probing: one request at a time, the
		// probe, until it is taken (a bucket: the model gives way to
		// the bucket equation and the rest goes) or refused (a window,
		// which refuses the rest too: the trial is put aside). Sent
		// together at the pause's end, the rest cost HAProxy at 20 per
		// 2s with 8 workers four 429s at once.
		return true
	}
	return l.adapt.conc.holds(len(l.fl.open))
}

// Done ends a request Wait let go, sent at sent, with its outcome, before
// the answer's Throttle or Success (so that a throttle the concurrency
// model no longer explains is handled by the rate models). Every Wait that
// returned nil must be matched by one Done, whatever happened to the
// request, or its slot stays taken: a caller defers it. A Done with no
// request in flight is ignored.
func (l *Limiter) Done(sent time.Time, o Outcome) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fitting {
		// Read once the fit landed, at the time it came (runFit).
		l.deferred = append(l.deferred, func() { l.done(sent, now, o) })
		return
	}
	l.done(sent, now, o)
}

func (l *Limiter) done(sent, now time.Time, o Outcome) {
	now = l.stamp(now)
	asked := sent
	capped := l.adapt != nil && l.adapt.conc != nil
	if o == Refused && l.adapt != nil {
		l.adapt.refusedSent = time.Time{}
	}
	sent, ok := l.fl.end(sent, now, o)
	if !ok {
		return
	}
	if rtt := now.Sub(sent); o != Failed && rtt > 0 {
		l.rtts.note(rtt)
	}
	if l.log != nil && l.log.done(sent, now, o) {
		// A place of the log's comes free at a time now known.
		l.wakeWaiters()
	}
	if o == Accepted && l.lim.strict() {
		l.lim.answered(sent, now)
	}
	if o == Refused && l.adapt != nil {
		// Throttle, which reads the refusal next, anchors its sign at
		// the refused request's send time: the Limiter's, as Wait let
		// it go (the caller's reading comes after Wait returned, a few
		// µs later), the time the window model and the requests in
		// flight hold.
		l.adapt.refusedSent = sent
		l.adapt.noteUnread(asked, sent, now)
		if len(l.adapt.refusedAt) < pinSeenMax {
			// Every refusal, whatever reads it next: quotaOneWindow's
			// lower bounds, a log's places (tryLog). Kept here, not
			// where Throttle reads refusedSent: two workers' Dones may
			// come before either's Throttle, which would read the
			// second only.
			l.adapt.refusedAt = append(l.adapt.refusedAt, refusal{sent: sent, recv: now})
		}
	}
	if l.burstLeft >= 0 && l.burstFrom.IsZero() && !l.aloneOut() {
		// The first request of the pool to end after lone answers set
		// burstLeft (openingAlone): the burst began, whatever this
		// one's answer carries (a counter, none, a failure), so the
		// hold lasts its round trip and no longer (burstHeld).
		l.burstFrom = now
	}
	// The first burst's counter holds the pool to what is in flight
	// (burstHeld): one fewer may let one go.
	wake := capped || l.burstLeft >= 0 && !l.burstOver
	if l.aloneOut() && o == Failed && sent.Equal(l.firstSent) {
		// The run's first request ended without an answer to read
		// (openingAlone): the pool goes.
		l.opened, wake = true, true
	}
	if r := l.adapt.retryAfter(); o == Failed && r != nil && !r.opener.IsZero() && !sent.Before(r.opener) {
		// The Retry-After window's opener got no answer: the next
		// request opens instead of the pool waiting for it.
		r.opener, wake = time.Time{}, true
	}
	if r := l.adapt.retryAfter(); o == Failed && r != nil && r.out > 0 && !r.verifyFrom.IsZero() && !sent.Before(r.verifyFrom) {
		// So did a request verifying a bare fixed window: the next
		// goes.
		r.out, wake = r.out-1, true
	}
	if l.concEnded(sent, now, o) || wake {
		// A slot is free, or the cap moved: waiters look again.
		l.wakeWaiters()
	}
}

// retryAfter is the Retry-After window model in force, if any (a may be
// nil).
func (a *adaptive) retryAfter() *raWindow {
	if a == nil {
		return nil
	}
	return a.ra
}

// InFlight is how many requests Wait let go that Done has not ended.
func (l *Limiter) InFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.awaitFit()
	return len(l.fl.open)
}

// unreadRefusal is a refusal Done ended and no ThrottleFor has read: the
// send time its caller gave (asked), the Limiter's own (sent), and when
// Done came (at).
type unreadRefusal struct{ asked, sent, at time.Time }

// unreadMax bounds the refusals kept unread, and unreadFor how long one
// is kept: a caller that never reads one (or reads it with Throttle,
// which leaves it) leaves it behind.
const (
	unreadMax = 64
	unreadFor = time.Second
)

// noteUnread keeps a refusal Done ended, until its ThrottleFor.
func (a *adaptive) noteUnread(asked, sent, now time.Time) {
	keep := a.unread[:0]
	for _, u := range a.unread {
		if now.Sub(u.at) < unreadFor {
			keep = append(keep, u)
		}
	}
	a.unread = keep
	if len(a.unread) == unreadMax {
		a.unread = append(a.unread[:0], a.unread[1:]...)
	}
	a.unread = append(a.unread, unreadRefusal{asked: asked, sent: sent, at: now})
}

// takeUnread is the Limiter's send time of the refused request its caller
// sent at asked, taken from the unread refusals (the latest such, should
// a caller's clock give two the same time); zero where Done did not end
// one so.
func (a *adaptive) takeUnread(asked time.Time) time.Time {
	for i := len(a.unread) - 1; i >= 0; i-- {
		if u := a.unread[i]; u.asked.Equal(asked) {
			a.unread = append(a.unread[:i], a.unread[i+1:]...)
			return u.sent
		}
	}
	return time.Time{}
}
