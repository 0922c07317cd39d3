package ratelimit

import (
	"math"
	"slices"
	"time"

	"golang.org/x/time/rate"
)

// pacer spaces the requests of a Limiter: a token bucket
// (golang.org/x/time/rate), or, for a server that takes one request at a
// time, a strict schedule of the times themselves.
//
// The token bucket keeps what the waiting reservations owe as tokens: when
// its limit rises, new reservations repay that debt at the new limit and
// land in between the waiting ones, less than an interval from them. Most
// servers take that in their burst, and the pool catches up with a pace
// that rose. A bucket of one (nginx's limit_req without a burst, its
// default) refuses any two requests closer than its interval: there the
// strict schedule gives a reservation the earliest time at least an
// interval (at the limit in force) from the latest request that left and
// from every reservation waiting, so a rise of the limit lets new
// reservations in between those made at the slower limit only where an
// interval fits, and one given back leaves a gap the next may take.
type pacer struct {
	tb *rate.Limiter // the token bucket; nil for the strict schedule

	// tight holds the strict schedule's departures pacerStrictGap of an
	// interval apart, else half an interval: a server that takes one
	// request at a time refuses any pair closer than its interval, but
	// a sliding window paced one at a time refuses none and would pay a
	// late timer's lateness on every request after it. The adaptive
	// rate's strict schedule is tight (it serves a bucket of one), and
	// so is a fixed --rate with --burst 1 given (the flags pinned for
	// one); a --rate alone turns tight at its first refusal.
	tight bool
	// cold is set on a fixed --rate's schedule: its first requests open
	// the pool's connections (answered). The adaptive rate's starts
	// after the first burst opened them.
	cold bool

	limit rate.Limit
	// slots are the waiting reservations: the strict schedule's by
	// time, the token bucket's in the order they were made (giveBack).
	slots []*slot
	left  time.Time // when the latest request left
	// gone is when the latest requests left, oldest first.
	gone []time.Time
	// rtts are the round trips of the latest requests taken, for
	// answered.
	rtts []time.Duration
}

// pacerRTTs is how many round trips answered keeps.
const pacerRTTs = 16

// answered notes that the request that left at sent was taken, its answer
// coming at recv. On the tight schedule, the latest to leave counts as
// having left as much later as its round trip was longer than the median
// of the latest pacerRTTs: a bucket of one counts the next interval from
// when a request arrived, and one held on its way (a busy machine's
// proxy, a late server) arrives late, so that the next, leaving an
// interval after it left, came too soon and was refused whatever the
// pace. Its answer comes long before the next leaves (a round trip is a
// millisecond, an interval ten at 100/s). The part of the round trip past
// the median is not only lateness on the way in: a backend slow after
// the limiter counted the request, or an answer held on its way back,
// push the schedule too, which costs a little pace and never a refusal.
func (p *pacer) answered(sent, recv time.Time) {
	rtt := recv.Sub(sent)
	if rtt < 0 {
		return
	}
	// On a cold schedule, until pacerRTTs are known, the usual is the
	// shortest before it (none: 0, the request arrived at the latest
	// when answered): the run's first requests go out on new
	// connections, each dialled first and some held longer than others
	// on the way, and a median of those few is no usual round trip
	// (nginx without a burst, pinned, refused one of the first ten in
	// most real runs).
	usual, cold := time.Duration(0), p.cold && len(p.rtts) < pacerRTTs
	if cold && len(p.rtts) > 0 {
		usual = slices.Min(p.rtts)
	}
	if len(p.rtts) == pacerRTTs {
		p.rtts = append(p.rtts[:0], p.rtts[1:]...)
	}
	p.rtts = append(p.rtts, rtt)
	if !p.tight || sent.Before(p.left) {
		return
	}
	if !cold {
		sorted := slices.Clone(p.rtts)
		slices.Sort(sorted)
		usual = sorted[len(sorted)/2]
	}
	p.left = laterOf(p.left, sent.Add(rtt-usual))
}

// pacerGone is how many departures the strict schedule remembers.
const pacerGone = 4

// pacerStrictGap is the least share of an interval the strict schedule
// lets pass between two departures: a timer that fires a little late
// passes, and the pace a bucket of one is paced at (0.97 of its rate,
// adaptive or pinned) leaves that much to spare. Only a tight schedule
// keeps it (pacer.tight); otherwise half an interval.
const pacerStrictGap = 0.98

// leave records a departure at t.
func (p *pacer) leave(t time.Time) {
	p.left = laterOf(p.left, t)
	if len(p.gone) == pacerGone {
		p.gone = append(p.gone[:0], p.gone[1:]...)
	}
	p.gone = append(p.gone, t)
}

// closest is the shortest time between two of the latest departures of
// the strict schedule (0 if fewer than two): a request among them that
// a bucket of one refused came at most this long after the one before.
func (p *pacer) closest() time.Duration {
	var d time.Duration
	for i := 1; i < len(p.gone); i++ {
		if g := p.gone[i].Sub(p.gone[i-1]); g > 0 {
			d = least(d, g)
		}
	}
	return d
}

// slot is a reservation of the pacer: one request may leave at act.
type slot struct {
	p    *pacer
	r    *rate.Reservation // the token bucket's
	act  time.Time
	iv   time.Duration // the strict schedule's interval when it was made
	done bool
	// back: given back by giveBack, it holds no token, and its waiter
	// must reserve again, even where its timer fired first.
	back bool
	// win: a fixed window's pacer let the request go before this pace
	// made it wait (win.p nil: none); given back, the window no longer
	// counts it.
	win windowAdmit
}

// newPacer returns a token bucket of burst at limit.
func newPacer(limit rate.Limit, burst int) *pacer {
	return &pacer{tb: rate.NewLimiter(limit, burst)}
}

// newStrictPacer returns the strict schedule at limit: no two requests
// closer than an interval.
func newStrictPacer(limit rate.Limit, tight bool) *pacer {
	return &pacer{limit: limit, tight: tight}
}

// strict reports whether p is the strict schedule.
func (p *pacer) strict() bool { return p.tb == nil }

// interval is the least time between two requests of the strict
// schedule: 0 when unpaced.
func (p *pacer) interval() time.Duration {
	switch {
	case p.limit == rate.Inf:
		return 0
	case p.limit <= 0:
		// A zero limit admits one request and then none: a very long
		// interval stands for it.
		return 365 * 24 * time.Hour
	}
	return time.Duration(float64(time.Second) / float64(p.limit))
}

// Limit is the limit in force.
func (p *pacer) Limit() rate.Limit {
	if p.tb != nil {
		return p.tb.Limit()
	}
	return p.limit
}

// SetLimitAt changes the limit at now. The strict schedule keeps the
// reservations already made where they are.
func (p *pacer) SetLimitAt(now time.Time, limit rate.Limit) {
	if p.tb != nil {
		p.tb.SetLimitAt(now, limit)
		return
	}
	p.limit = limit
}

// TokensAt is how many requests could leave at once at now (negative when
// reservations wait).
func (p *pacer) TokensAt(now time.Time) float64 {
	if p.tb != nil {
		return p.tb.TokensAt(now)
	}
	iv := p.interval()
	if iv == 0 {
		return 1
	}
	free := laterOf(now, p.left.Add(iv))
	if n := len(p.slots); n > 0 {
		free = laterOf(free, p.slots[n-1].act.Add(iv))
	}
	return 1 - float64(free.Sub(now))/float64(iv)
}

// AllowN takes n requests at now if they are there: the strict schedule
// has one at most.
func (p *pacer) AllowN(now time.Time, n int) bool {
	if p.tb != nil {
		return p.tb.AllowN(now, n)
	}
	if n <= 0 || p.TokensAt(now) < float64(n) {
		return n <= 0
	}
	p.leave(now)
	return true
}

// ReserveN reserves n requests at now (the strict schedule reserves one).
func (p *pacer) ReserveN(now time.Time, n int) *slot {
	if p.tb != nil {
		r := p.tb.ReserveN(now, n)
		s := &slot{p: p, r: r, act: now.Add(r.DelayFrom(now))}
		if r.OK() && s.act.After(now) {
			p.slots = append(p.slots, s)
		}
		return s
	}
	iv := p.interval()
	t := now
	if iv > 0 {
		t = laterOf(now, p.left.Add(iv))
	}
	at := len(p.slots)
	for i, w := range p.slots {
		if !t.Add(iv).After(w.act) {
			at = i
			break
		}
		t = laterOf(t, w.act.Add(iv))
	}
	s := &slot{p: p, act: t, iv: iv}
	if !t.After(now) {
		s.done = true
		p.leave(now)
		return s
	}
	p.slots = append(p.slots, nil)
	copy(p.slots[at+1:], p.slots[at:])
	p.slots[at] = s
	return s
}

// fine reports whether the wait for s should end to a fraction of a
// millisecond (sleepFine): on the tight strict schedule, where a request
// whose predecessor left late leaves as late, at most pacerStrictGap of
// an interval after it, the schedule catching up 2% of an interval a
// request, less than a timer's lateness at a hundred a second.
func (s *slot) fine() bool { return s.r == nil && s.p.tight }

// DelayFrom is how long from now until the request may leave.
func (s *slot) DelayFrom(now time.Time) time.Duration {
	return max(s.act.Sub(now), 0)
}

// early is how long the request must still wait at now, keeping its
// place: 0 when it may leave. On the tight strict schedule it may not
// leave less than pacerStrictGap of an interval (half an interval when
// not tight; at the limit when it was
// reserved or now, whichever is shorter) after the request before it,
// which may have left late: a bucket of one refuses such a pair, however
// slow the pace on average. It then waits until that much after the
// request before it, in its place: a waiter given a new place goes behind
// every other, and on a busy machine, where timers fire a few
// milliseconds late, requeueing at every late wake-up slowed the pool to
// half its pace. The waiters after it keep their times, so the schedule
// catches up 2% of an interval a request. (Letting a request go half an
// interval after a late one, as the schedule did before, drew 53-58
// refusals a run from nginx without a burst pinned at 97/s of its 100/s,
// and 10-19 at 90/s.)
func (s *slot) early(now time.Time) time.Duration {
	if s.r != nil || s.done {
		return 0
	}
	share := 0.5
	if s.p.tight {
		share = pacerStrictGap
	}
	gap := time.Duration(share * float64(min(s.iv, s.p.interval())))
	if !now.Before(s.p.left.Add(gap)) {
		return 0
	}
	s.act = s.p.left.Add(gap)
	slices.SortStableFunc(s.p.slots, func(x, y *slot) int { return x.act.Compare(y.act) })
	return s.act.Sub(now)
}

// TakeAt records that the request left at now.
func (s *slot) TakeAt(now time.Time) {
	if s.done {
		return
	}
	s.done = true
	s.p.unslot(s)
	if s.r == nil {
		s.p.leave(laterOf(s.act, now))
	}
}

// CancelAt gives the reservation back at now.
func (s *slot) CancelAt(now time.Time) {
	if s.done {
		return
	}
	s.done = true
	if s.r != nil {
		s.r.CancelAt(now)
	}
	s.p.unslot(s)
}

// giveBack gives every waiting reservation of the token bucket back at
// now, before the waiters are woken to reserve again: the bucket holds
// what it would have held had they never been made (its tokens at now,
// plus one for each, a debt included), at the limit in force. The
// waiters reserve again at the times they had, in the order they take
// the lock.
//
// Left to the waiters (Limiter.wakeRequeued), they give them back one by
// one in the order they wake, each reserving again before the next gives
// its own back, and x/time/rate's CancelAt restores a reservation's token
// less what was reserved after it: all but the latest restore nothing
// (the latest restores its own, and the next latest then has a
// reservation after it), and each waiter goes behind the others: the
// wait the pool owed doubles. A pool of 16 at 10 per second owed 3.2s
// after each pause so, where it owed 1.6s. Where the limit rose
// meanwhile, the first reservation made again lands before the old ones
// (the debt repaid at the new limit), and each old one given back after
// it restores a whole token: most of the pool leaves at once.
func (p *pacer) giveBack(now time.Time) {
	if p.tb == nil || len(p.slots) == 0 {
		return
	}
	held := p.slots
	p.slots = nil
	for _, s := range held {
		s.done, s.back = true, true
	}
	lim, burst := p.tb.Limit(), p.tb.Burst()
	if lim == rate.Inf || lim <= 0 || burst <= 0 {
		// No pace to repay a debt at: each back, latest first.
		for _, s := range slices.Backward(held) {
			s.r.CancelAt(now)
		}
		return
	}
	tokens := min(p.tb.TokensAt(now)+float64(len(held)), float64(burst))
	tb := rate.NewLimiter(lim, burst)
	if tokens < float64(burst) {
		// A fresh bucket emptied, owing as many whole tokens as the
		// old one owes past its waiters' (a requeue's debt), as long
		// ago as it takes to refill the fraction left by now.
		owed := max(math.Ceil(-tokens), 0)
		ago := time.Duration((tokens + owed) / float64(lim) * float64(time.Second))
		tb.AllowN(now.Add(-ago), burst)
		for range int(owed) {
			tb.ReserveN(now.Add(-ago), 1)
		}
	}
	p.tb = tb
}

// unslot removes s from the waiting reservations.
func (p *pacer) unslot(s *slot) {
	if i := slices.Index(p.slots, s); i >= 0 {
		p.slots = slices.Delete(p.slots, i, i+1)
	}
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
