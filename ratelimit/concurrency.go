package ratelimit

import (
	"time"
)

// The concurrency model: a server that refuses a request while N of ours
// are in its hands (Twilio's 429, nginx's limit_conn), whatever the rate.
//
// The Limiter counts the requests in flight: Wait lets one go, Done ends
// it, whatever its answer (or none). Every ended request is logged with
// its send and answer times and whether it was refused, and at each
// refusal the log is fitted as probe fits a concurrency limit: a request
// is refused when at least N accepted others were in flight at its send
// (sent no later, answered after); the N that predicts the fewest answers
// wrongly is the limit. It explains the evidence when it is under the
// pool's size (a cap that binds), there were at least two refusals, and
// it gets no more than a quarter of the refusals' count wrong: a bucket
// or a window refuses requests sent with few others in flight and takes
// many sent with the pool full, which no N explains.
//
// Then the pool is capped at N in flight, unpaced (a rate would only slow
// it), and the other models rest. A server-stated wait on a refusal is
// still honoured; a bare refusal pauses nothing, since the cap is the
// remedy. A refusal under the cap says N is too high: the request was
// refused with k others in flight, so the server holds at most k, and the
// cap becomes k. Before concConfirm answers were taken at the cap, one
// lowering is allowed; a second refusal, or any refusal with no other
// request in flight (whatever refused it, it was not a count of ours),
// puts the model aside and the rate models take over from there. The cap
// is not probed upward: the fit found it from refusals at N and over, and
// a probe would cost a refusal and whatever wait the server states.

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
	// concConfirm is how many accepted answers at the cap confirm the
	// model: until then one lowering of the cap is allowed.
	concConfirm = 20
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
}

// flights counts a Limiter's requests in flight and logs the ended ones.
type flights struct {
	open []time.Time // when each request in flight left, oldest first
	log  []flightEnd // the latest concLog ended with an answer
}

// begin counts a request that leaves at now.
func (f *flights) begin(now time.Time) { f.open = append(f.open, now) }

// end ends the request sent at sent (the latest in flight sent no later,
// else the oldest: the count is what matters) at now, and logs it unless it
// failed. It reports whether a request was in flight.
func (f *flights) end(sent, now time.Time, o Outcome) bool {
	if len(f.open) == 0 {
		return false
	}
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
		return true
	}
	if len(f.log) >= concLog {
		f.log = append(f.log[:0], f.log[1:]...)
	}
	f.log = append(f.log, flightEnd{sent: sent, end: now, refused: o == Refused})
	return true
}

// others is how many accepted requests other than e were in flight when e
// was sent: those logged, sent no later and answered after, and those
// still in flight sent no later (taken for accepted). For a refused e,
// only those answered no sooner than e count: a server that refuses for
// the requests it holds holds them until after it answered the refusal,
// while a rate limiter's refusal comes whatever became of the others.
func (f *flights) others(i int) int {
	e, k := f.log[i], 0
	after := e.sent
	if e.refused {
		after = e.end.Add(-1)
	}
	for j, o := range f.log {
		if j != i && !o.refused && !o.sent.After(e.sent) && o.end.After(after) {
			k++
		}
	}
	for _, t := range f.open {
		if !t.After(e.sent) {
			k++
		}
	}
	return k
}

// fit is the concurrency limit that explains the log best: the N for
// which "refused when N accepted others were in flight" predicts the
// fewest answers wrongly (the smallest of equals), with that count, the
// number of refusals, and whether an accepted request was sent with N-1
// others in flight (without one, nothing shows the server takes N).
func (f *flights) fit() (limit, wrong, refused int, shown bool) {
	k := make([]int, len(f.log))
	most := 0
	for i, e := range f.log {
		k[i] = f.others(i)
		most = max(most, k[i])
		if e.refused {
			refused++
		}
	}
	wrong = len(f.log) + 1
	for n := 1; n <= most+1; n++ {
		w := 0
		for i, e := range f.log {
			if (k[i] < n) == e.refused {
				w++
			}
		}
		if w < wrong {
			limit, wrong = n, w
		}
	}
	took := 0
	for i, e := range f.log {
		if !e.refused && k[i] >= limit-1 {
			took++
		}
	}
	return limit, wrong, refused, took >= limit
}

// concModel is the concurrency model in force.
type concModel struct {
	limit    int  // requests in flight allowed
	accepted int  // answers accepted at this cap
	lowered  bool // lowered before it was confirmed
}

// confirmed says whether enough answers were taken at the cap.
func (c *concModel) confirmed() bool { return c.accepted >= concConfirm }

// concEnded updates the concurrency model with a request ended at now,
// the latest in the log when o is not Failed. It reports whether the cap
// changed (set, lowered or put aside).
func (l *Limiter) concEnded(now time.Time, o Outcome) bool {
	a, f := l.adapt, &l.fl
	if a == nil || o == Failed || len(f.log) == 0 {
		return false
	}
	c := a.conc
	if c != nil {
		if o == Accepted {
			c.accepted++
			return false
		}
		k := f.others(len(f.log) - 1)
		switch {
		case k == 0 || (c.lowered && !c.confirmed()):
			l.concAside(now)
		case k < c.limit:
			c.lowered = c.lowered || !c.confirmed()
			c.limit, c.accepted = k, 0
		default:
			return false
		}
		return true
	}
	n, wrong, refused, shown := f.fit()
	if refused < 2 || !shown || n < concMin || n >= a.inFlight || 8*wrong > refused {
		return false
	}
	// The other models rest (no pace, no window) until it is put aside.
	a.conc = &concModel{limit: n}
	l.lim.SetLimitAt(now, a.limit())
	if l.pauseHintless && now.Before(l.pauseUntil) {
		// A pause of our own guessing: the cap is the remedy.
		l.pauseUntil = now
	}
	return true
}

// concAside puts the concurrency model aside at now: the rate models take
// over, their segment starting afresh.
func (l *Limiter) concAside(now time.Time) {
	a := l.adapt
	a.conc = nil
	a.lastSign, a.lastLeft = now, 0
	a.segStart, a.segAccepted, a.probed = now, 0, now
	l.lim = l.adaptivePacer(now, true)
}

// capFull says whether the cap on requests in flight holds one back now.
func (l *Limiter) capFull() bool {
	return l.adapt != nil && l.adapt.conc != nil && len(l.fl.open) >= l.adapt.conc.limit
}

// Done ends a request Wait let go, sent at sent, with its outcome, before
// the answer's Throttle or Success (so that a throttle the concurrency
// model no longer explains is handled by the rate models). Every Wait that
// returned nil must be matched by one Done, whatever happened to the
// request, or its slot stays taken: a caller defers it. A Done with no
// request in flight is ignored.
func (l *Limiter) Done(sent time.Time, o Outcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	capped := l.adapt != nil && l.adapt.conc != nil
	if !l.fl.end(sent, now, o) {
		return
	}
	if l.concEnded(now, o) || capped {
		// A slot is free, or the cap moved: waiters look again.
		close(l.changed)
		l.changed = make(chan struct{})
	}
}

// InFlight is how many requests Wait let go that Done has not ended.
func (l *Limiter) InFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.fl.open)
}
