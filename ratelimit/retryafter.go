package ratelimit

import (
	"math"
	"time"
)

// The Retry-After window model of the adaptive rate: for a server that
// shows no counter and answers a refusal with nothing but a wait
// (Retry-After), as express-rate-limit with its headers off, many gateways
// and hand-rolled limiters do. Paused for the whole wait, a fixed window of
// 150ms whose refusals say "Retry-After: 1" (whole seconds, rounded up)
// costs a second per refusal; fitted as a bucket, its refills come in
// steps the equation reads as a slow rate.
//
// A Retry-After is a claim: the window ends no later than it says, which
// the next request accepted confirms or not. The first refusal ends the
// unpaced burst, whose accepted requests are the quota L. Then one
// request at a time (never a second before the first's answer), the
// opener, goes 40ms after the refusal and then at offsets four times
// further, and once at the claim if they pass it. A bucket has refilled a
// request at the first and accepts it: the bucket equation takes over. A
// window refuses until it ends: the first opener accepted bounds its
// length W from above (a window that starts at a client's first request
// started no earlier than the burst's first send), the last refused from
// below (the window started no later than the first refusal: a cold
// server's slow answers may have let the burst fill windows before it). One more request right after it tells a window from a bucket
// that refills slower than the openers came: the window has given back
// its quota, the bucket a request. Then every window is an opener and,
// once it is accepted, the rest of the quota at once; the next opener
// goes hi after the last one's answer, or earlier to bisect the bounds
// while a refusal there costs nothing but a 429 (the pool would wait for
// hi anyway): refused, it raises lo and the opener goes again at hi;
// accepted, it lowers hi. A refusal's pause lasts until the next opener,
// never longer than its Retry-After. Refusals beyond what the model
// explains (an opener at hi, or the rest of a quota, refused twice) hand
// the server back to the bucket equation.
const (
	// raFirstProbe is how long after the first refusal the first opener
	// goes: a bucket refilling at 25/s or more has a request back by
	// then.
	raFirstProbe = 40 * time.Millisecond
	// raPrecision is how close the bounds get before bisection stops.
	raPrecision = 0.05
	// raBisections is how many refused openers the bisection may cost.
	// At 2, express-rate-limit's 100 per 1s with Retry-After alone (8
	// workers, 400 rows) stopped 7-8% long (100/1.067s pinned: 0.87); at
	// 4, 3% (100/1.031s: 0.93), for one more 429 in 400 rows.
	raBisections = 4
	// raMisses is how many refusals the model does not explain before it
	// hands the server back to the bucket equation.
	raMisses = 2
	// raAlignedMisses is how many more a window aligned on the clock
	// may have, while the brackets are too few to bound its length.
	raAlignedMisses = 2
	// raAlignedTries is how many refused openers the search of an
	// aligned window's length may cost once the window is known
	// aligned (aimAligned).
	raAlignedTries = 2
	// raPastClaim is how much further than a false claim's offset the
	// next opener goes.
	raPastClaim = 1.25
	// raIdle is how long the pool waits for an opener's answer before
	// it looks again, should the answer never come.
	raIdle = time.Second
)

type raWindow struct {
	quota int
	// start and startRecv time the burst's first request; began is the
	// first refusal, before which every request sent was the burst's.
	start, startRecv, began time.Time
	lo, hi                  time.Duration // lo < W <= hi; hi 0 while searching
	claim                   time.Time     // the earliest window end a refusal's wait stated; zero none
	probe                   time.Duration // while searching, the offset of the next opener from start

	// The current window: the send and answer time of its opener (zero
	// before the first), how many of ours it accepted, and how many more
	// of the quota may go.
	openSent, openRecv time.Time
	accepted, rest     int
	// cut is set once a refusal of the rest cut the quota in this window.
	cut bool
	// opener is the send time of the opener in flight (zero none); at is
	// when the next goes.
	opener, at time.Time
	// confirm: the first opener was accepted and the request after it
	// is to tell a window from a slow bucket.
	confirm   bool
	confirmed bool
	// aligned is set once an opener was refused where a window from our
	// opener would have ended: the window opened before it (aligned on
	// the clock), so an opener accepted no longer bounds the length.
	aligned    bool
	bisections int
	// tries counts the refused openers aimed from an anchor (aimAligned);
	// tryAnchor is that anchor's bracket and tryK how many starts on
	// from it the opener in flight aimed at (0: not aimed so).
	tries     int
	tryAnchor raBracket
	tryK      int
	tryExact  bool
	// aimLo is the longest length an aimed opener refused: no bound
	// (more starts may lie between), but where the next aims go above.
	aimLo  time.Duration
	misses int
	// rtt is the shortest round trip of an opener accepted.
	rtt time.Duration
	// before is the latest send known to precede the next window's
	// start (a refused opener, or the opener of the current window);
	// brackets holds, for the latest starts seen, oldest first, that
	// lower end and the answer of the opener accepted after it. A start
	// seen k starts after another lies at least k windows on, whether
	// windows open at our opener or on the clock: safeHi, the least of
	// the bounds they give, bounds the length from above.
	before   time.Time
	brackets []raBracket
	safeHi   time.Duration

	// wake asks the Limiter to wake waiting workers: the opener's answer
	// let the rest of the quota go.
	wake bool

	// bare is set for a server that says nothing but 429, handed over
	// by the bare-window model when a fixed window explains its answers
	// (bareToFixed): no claim, and the first window opened after the
	// hand-over (at from, its opener sent at verifyFrom) sends the rest
	// of its quota one request at a time, or as many at a time as the
	// window's average rate sends in a round trip where that is more
	// (verifyMany; out are in flight, single the latest sent), until
	// all are taken (verify).
	bare               bool
	from               time.Time
	verify             bool
	verifyFrom, single time.Time
	out                int
}

// raBracket is where a window started: after lo, at or before hi.
type raBracket struct{ lo, hi time.Time }

// mid is the middle of b, where a start in it is taken to be.
func (b raBracket) mid() time.Time { return b.lo.Add(b.hi.Sub(b.lo) / 2) }

// bracket records a window's start after r.before, at or before recv,
// narrows safeHi by it, and moves before to sent, the opener of the
// window that started.
func (r *raWindow) bracket(sent, recv time.Time) {
	for i, b := range r.brackets {
		k := time.Duration(len(r.brackets) - i)
		r.safeHi = least(r.safeHi, recv.Sub(b.lo)/k)
	}
	if len(r.brackets) == windowBrackets {
		r.brackets = r.brackets[1:]
	}
	r.brackets = append(r.brackets, raBracket{lo: r.before, hi: recv})
	r.before = sent
}

// startRetryAfter begins the Retry-After window model at the first refusal
// at now, with a wait hint of wait, when the server never showed a
// counter. It returns the pause until the first opener.
func (a *adaptive) startRetryAfter(now time.Time, wait time.Duration) (time.Duration, bool) {
	if a.signs > 0 || a.bare != nil || a.win != nil || a.ra != nil || a.counterMax > 0 || a.limitSaid > 0 || wait <= 0 {
		return 0, false
	}
	r := &raWindow{quota: a.successes, start: a.firstSent, startRecv: a.firstRecv, began: now}
	if a.firstSent.IsZero() {
		// The refusal came back before any acceptance of the burst: the
		// burst's answers, late, tell its start and size.
		r.start, r.startRecv = now, now
	}
	// The first opener soon after the refusal: a bucket has a request
	// back by then, while a window that took the whole burst (however
	// long a cold server took over it) has not ended.
	r.probe = raFirstProbe
	r.claimAt(now, wait)
	r.at = r.nextProbe()
	r.before = r.start
	a.ra = r
	pause := max(r.at.Sub(now), 0)
	// The bucket equation starts from this sign should the model hand
	// the server back.
	a.sign(now, pause, 0)
	return pause, true
}

// claimAt records the end a refusal at now with a wait of wait states.
func (r *raWindow) claimAt(now time.Time, wait time.Duration) {
	if r.bare {
		return
	}
	if end := now.Add(wait); r.claim.IsZero() || end.Before(r.claim) {
		r.claim = end
	}
}

// nextProbe is when the next opener goes while searching: at the next
// doubling offset, or at the claim if that comes first (which costs
// nothing if the claim is true).
func (r *raWindow) nextProbe() time.Time {
	at := r.began.Add(r.probe)
	if !r.claim.IsZero() && r.claim.Before(at) {
		return r.claim
	}
	return at
}

// reserve lets one request go at now (0) or says how long until one may.
func (r *raWindow) reserve(now time.Time) time.Duration {
	switch {
	case !r.opener.IsZero():
		return raIdle
	case r.rest > 0 && !r.verifyFrom.IsZero():
		// Verifying a bare fixed window: verifyMany in flight, or
		// one more after raIdle, should the answers never come.
		if r.out >= r.verifyMany() && now.Sub(r.single) < raIdle {
			return raIdle - now.Sub(r.single)
		}
		r.single = now
		r.out++
		r.rest--
		return 0
	case r.rest > 0:
		r.rest--
		return 0
	case now.Before(r.at):
		return r.at.Sub(now)
	}
	r.opener = now
	return 0
}

// verifyMany is how many requests verifying a bare fixed window may be
// in flight: one, or as many as twice the window's average rate (the
// quota per the longest window) sends in the opener's round trip, where
// that is more. One at a time takes a round trip a request: on loopback
// (1-5ms) faster than the window's rate, over a long path (a remote API,
// every round trip 20-40ms) slower, and the trial's rest of 100 per 1s
// went on for 2-4s, past the window's end, where the next window took
// it whatever the server was (a log too) and the window's start was
// misplaced. At twice the rate it is done within half a window, and it
// outruns the pace before the trial, a little under the window's rate,
// at which a log gives back what it took (bareFixedOpened).
func (r *raWindow) verifyMany() int {
	if r.hi <= 0 {
		return 1
	}
	return max(1, int(2*float64(r.quota)*r.openRecv.Sub(r.openSent).Seconds()/r.hi.Seconds()))
}

// accepted reads an accepted answer, received at recv, to a request sent
// at sent. It reports false when the server turned out a bucket.
func (a *adaptive) raAccepted(sent, recv time.Time) bool {
	r := a.ra
	if !sent.Before(a.segStart) {
		// Counted for the bucket equation, should the model hand
		// the server back.
		a.segAccepted++
	}
	if sent.Before(r.began) {
		// The burst, answered late.
		if r.hi == 0 && r.openSent.IsZero() {
			r.quota++
		}
		if sent.Before(r.start) {
			r.start, r.startRecv = sent, recv
			if r.before.After(sent) && r.brackets == nil {
				r.before = sent
			}
		}
		return true
	}
	if r.opener.IsZero() || sent.Before(r.opener) {
		// One of the rest of a window's quota.
		r.accepted++
		if !r.verifyFrom.IsZero() && !sent.Before(r.verifyFrom) {
			r.out, r.wake = max(r.out-1, 0), true
			if r.rest == 0 {
				// A bare server took the window's whole quota one
				// request at a time, faster than anything it took
				// before was sent: a fixed window, which gave it
				// back at once.
				r.verify, r.confirmed, r.verifyFrom = false, true, time.Time{}
			}
		}
		return true
	}
	r.opener = time.Time{}
	r.wake = true
	switch {
	case r.confirm:
		// The request right after the first opener went through: the
		// window gave back its quota, as a bucket would not.
		r.confirm, r.confirmed = false, true
		r.accepted++
		r.rest = max(r.quota-r.accepted, 0)
		r.plan()
		return true
	case r.hi == 0:
		if r.lo == 0 {
			// The first opener went through: a bucket, refilled at once.
			return false
		}
		// The window ended: it started no earlier than the burst's first
		// send and the opener arrived before its answer.
		r.hi = max(recv.Sub(r.start), r.lo+time.Millisecond)
		r.bracket(sent, recv)
		r.open(sent, recv)
		// One more, alone, tells a slow bucket from the window.
		r.confirm = true
		r.rest = 0
		r.at = recv
		return true
	}
	if full := r.accepted >= r.quota; full && !r.openSent.IsZero() {
		// The last window took its quota and this one was accepted: it
		// ended before this opener arrived. Opened by our opener, it
		// lasted at most from that opener's send; aligned on the clock,
		// only the brackets bound it.
		r.bracket(sent, recv)
		h := recv.Sub(r.openSent)
		if r.aligned {
			h = r.safeHi
		}
		if h > 0 && (h < r.hi || r.aligned) {
			r.hi = max(h, r.lo+time.Millisecond)
		}
	} else {
		r.before = sent
	}
	r.open(sent, recv)
	r.rest = max(r.quota-1, 0)
	if r.verify && !sent.Before(r.from) {
		// A new window's verification: what the last one left in
		// flight (a refused request is never taken off out) is not
		// this window's.
		r.verifyFrom, r.out = sent, 0
	}
	r.plan()
	return true
}

// open starts a window at its opener, sent and answered at the given
// times.
func (r *raWindow) open(sent, recv time.Time) {
	r.openSent, r.openRecv = sent, recv
	if rtt := recv.Sub(sent); rtt > 0 {
		r.rtt = least(r.rtt, rtt)
	}
	r.accepted = 1
	r.claim = time.Time{}
	r.cut = false
}

// plan sets when the next opener goes: hi after the current one's answer,
// or in the middle of the bounds while bisecting is worth a refusal.
//
// An opener sent d after the last one's answer raises lo to d if
// refused, but lowers hi only to d and both openers' round trips if
// taken (hi runs from the last opener's send to the next one's answer):
// what a try can still tell lies between lo and hi less two round trips,
// where bisecting stops. Aimed at the upper quarter of lo and hi
// themselves, each opener taken lowered hi by a quarter of their
// distance and raised it again by the round trips, and the bounds
// stalled eight round trips apart: a server on one thread (an opener's
// round trip 3.5-6ms) at 15 per 150ms was learned and pinned as 15 per
// 166-178ms (the real express-rate-limit's summary said 15/167ms). The
// try goes a round trip earlier: the bounds close to four round trips.
func (r *raWindow) plan() {
	r.tryK = 0
	if r.aligned && !r.bare && r.aimAligned() {
		return
	}
	d, rtt := r.hi, r.rtt
	if r.aligned || r.bare || float64(4*rtt) <= raPrecision*float64(r.hi) {
		// Aligned, hi is a k-th of the time between starts (safeHi),
		// which holds no round trip of its own. A bare server's fixed
		// window is timed from the fit's estimate, and aimed earlier
		// its openers moved aligned windows' bounds and logs' models
		// (the long-path sweep: aligned 5 per 1s behind 20-40ms
		// pinned 5-50% longer, a log of 5 per 1s read as a sliding
		// window). And where the round trips are short beside the
		// precision sought (loopback, a fast server: a millisecond at
		// 150ms), the bounds come close enough aimed at themselves, and
		// the earlier try only moved the refusals (aligned 15 per 150ms
		// 1% slower over 24 phases).
		rtt = 0
	}
	if span := r.hi - r.lo - 2*rtt; r.bisections < raBisections && float64(span) > raPrecision*float64(r.hi) {
		// In the upper quarter: accepted there, as it mostly is when
		// the window's end came before a doubling of the offsets, the
		// pace gains most of what it can; refused, it costs a 429.
		d = max(r.hi-(r.hi-r.lo)/4-rtt, r.lo+time.Millisecond)
	}
	r.at = r.openRecv.Add(d)
}

// aimAligned sets when the next opener of a window aligned on the clock
// goes, aimed from the narrowest bracket of a start seen (the anchor)
// rather than from the current opener's answer, and reports whether it
// did. On a window aligned on the clock our opener comes some time after
// the start, and an opener hi after its answer tells nothing: the window
// has ended by then whatever its length, and the brackets its starts
// leave are a window wide (Kong with its headers hidden, 3 per 1s, was
// learned 3 per 1.27s, its hi shrinking 3% a window). An opener aimed k
// starts on from the anchor, at k times a length m between lo and hi,
// bounds the length by m if accepted (safeHi: the bracket it makes is
// k starts on from the anchor); refused, by (sent - anchor's end)/k from
// below where the starts between are known to be k-1 (each seen less
// than two shortest windows after the last, lo), and the next aims go
// above it either way (aimLo). It goes only where it comes before hi
// after the current opener's answer (where the next window surely has
// started) and while raAlignedTries refusals are left.
func (r *raWindow) aimAligned() bool {
	floor := max(r.lo, r.aimLo)
	if r.tries >= raAlignedTries || len(r.brackets) == 0 || float64(r.hi-floor) <= raPrecision*float64(r.hi) {
		return false
	}
	ai := len(r.brackets) - 1
	for i, b := range r.brackets {
		if b.hi.Sub(b.lo) < r.brackets[ai].hi.Sub(r.brackets[ai].lo) {
			ai = i
		}
	}
	k := len(r.brackets) - ai
	m := max(floor+(r.hi-floor)/2, floor+time.Millisecond)
	a := r.brackets[ai]
	at := a.mid().Add(time.Duration(k) * m)
	if !at.After(r.openRecv) || !at.Before(r.openRecv.Add(r.hi)) {
		return false
	}
	// Exact: between each two starts seen after the anchor no other
	// fits (each is less than two shortest windows on from the last).
	// A start comes more than lo after the one before.
	exact, after := r.lo > 0, a.lo
	for _, b := range r.brackets[ai+1:] {
		if b.hi.Sub(after) >= 2*r.lo {
			exact = false
		}
		after = latest(b.lo, after.Add(r.lo))
	}
	r.at, r.tryAnchor, r.tryK, r.tryExact = at, a, k, exact
	return true
}

// raRefused reads a refusal at now whose wait hint is wait and returns
// the pause. It reports false when the model no longer explains what the
// server does.
func (a *adaptive) raRefused(now time.Time, wait time.Duration) (time.Duration, bool) {
	r := a.ra
	r.claimAt(now, wait)
	if r.opener.IsZero() {
		// The burst's tail, or one of a window's quota: the quota
		// is less than it seemed (the burst straddled a window's end)
		// or the server is no fixed window.
		if r.hi > 0 && r.accepted > 0 && !r.confirm && !r.cut {
			// Once a window: the rest of its quota in flight are
			// refused alike.
			r.cut = true
			r.misses++
			r.quota = max(r.accepted, 1)
			r.rest = 0
			if r.misses >= raMisses {
				return 0, false
			}
		}
		return max(r.at.Sub(now), 0), true
	}
	sent := r.opener
	r.opener = time.Time{}
	r.wake = true
	r.before = sent
	switch {
	case r.confirm:
		// A bucket that gave back one request, not a window.
		return 0, false
	case r.hi == 0:
		// The window had not ended when the opener arrived, after its
		// send, and it started no later than the first refusal: the
		// burst may have filled windows before it (a cold server,
		// whose answers came slower than windows end), so the first
		// answer says nothing about this window's start.
		r.lo = max(r.lo, sent.Sub(r.began))
		// Four times further: the bisection that follows narrows the
		// bounds, and a refusal saved here is one a run may spend there.
		r.probe *= 4
		if !r.claim.IsZero() && !sent.Before(r.claim) {
			// The claim was false: the server's wait is no bound.
			// The search goes on past it, from the claim: a quarter
			// further, not four times the offset the claim cut short
			// (a claim of 1s after openers at 40, 160 and 640ms put
			// the next at 10.24s, while a sliding counter or a reset
			// a few milliseconds late had a request back within 1.1s).
			r.claim = time.Time{}
			r.misses++
			if r.misses >= raMisses {
				return 0, false
			}
			r.probe = time.Duration(float64(sent.Sub(r.began)) * raPastClaim)
		}
		for !r.began.Add(r.probe).After(now) {
			r.probe *= 2
		}
		r.at = r.nextProbe()
	default:
		d := sent.Sub(r.openRecv)
		if d < r.hi {
			// Bisecting: the window is longer than that.
			r.lo = max(r.lo, d)
			if r.tryK > 0 {
				// Aimed from an anchor (aimAligned): the next start
				// is k on from the anchor's where the starts between
				// are known to be k-1.
				r.tries++
				k := time.Duration(r.tryK)
				if r.tryExact {
					r.lo = max(r.lo, sent.Sub(r.tryAnchor.hi)/k)
				}
				r.aimLo = max(r.aimLo, sent.Sub(r.tryAnchor.mid())/k)
			} else {
				r.bisections++
			}
		} else {
			// Refused where the window had ended before: it is longer
			// than measured, or opened before our opener (aligned on
			// the clock).
			r.misses++
			if r.misses >= raMisses+raAlignedMisses || (!r.aligned && r.misses >= raMisses) {
				return 0, false
			}
			r.lo = max(r.lo, d)
			r.aligned = true
			if r.safeHi > r.lo {
				r.hi = r.safeHi
			} else {
				r.hi = max(time.Duration(float64(r.hi)*bareGrow), r.lo+time.Millisecond)
			}
			if c := r.claim; r.misses == raMisses+raAlignedMisses-1 && c.After(r.openRecv.Add(r.hi)) {
				// The last miss the model may have: the next opener
				// goes where the refusals said the window ends, not
				// a quarter further (a first window a sixth of a
				// minute, grown by quarters, was handed to the
				// bucket equation before it reached a minute).
				r.hi = c.Sub(r.openRecv)
			}
		}
		r.at = r.openRecv.Add(r.hi)
	}
	if until := r.claim; !until.IsZero() && until.Before(r.at) {
		r.at = until
	}
	return max(r.at.Sub(now), 0), true
}

// raThrottled reads a refusal at now with a wait hint of wait while the
// model is on and returns the pause.
func (a *adaptive) raThrottled(now time.Time, wait time.Duration) time.Duration {
	if pause, ok := a.raRefused(now, wait); ok {
		return pause
	}
	if a.ra.confirm {
		// A bucket after all: its equation takes over from the sign
		// the first refusal made, the accepted opener in its segment.
		a.ra = nil
		a.segAccepted++
		a.sign(now, wait, 0)
		return wait
	}
	a.ra = nil
	a.sign(now, wait, 0)
	// No faster than what the server accepted on average meanwhile:
	// the pace the model started with was a guess for a burst.
	avg := float64(a.successes) / math.Max(now.Sub(a.firstSent).Seconds(), 1e-3)
	if a.measured == 0 {
		a.measured = avg
	}
	a.pace = math.Max(math.Min(a.pace, avg), adaptiveFloor)
	return wait
}

// perSecond is the window's average rate.
func (r *raWindow) perSecond() float64 {
	if r.hi == 0 {
		return 0
	}
	return float64(r.quota) / math.Max(r.hi.Seconds(), 1e-3)
}
