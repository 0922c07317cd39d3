package ratelimit

import (
	"math"
	"time"
)

// The bare-window model of the adaptive rate: for a server that answers
// nothing but a status, with no counter and no wait (HAProxy's stick
// tables, a sliding log or counter behind a proxy). There only 429s are
// evidence, and where refused requests count against the window (HAProxy
// counts every request it sees) each one sent while the window is full
// keeps it full: a backoff guess that resumes too early pays again.
//
// So the first refusal ends the unpaced burst, whose accepted requests are
// the quota L (the window was empty), and the pool sends nothing but one
// probe at a time (never a second before the first's answer) at growing
// offsets from the burst's first request. A bucket has refilled a request
// or two at the first probe and accepts it: the bucket equation
// (adaptive.go) takes over as before. A window refuses it until the burst
// has aged out of it: the first probe accepted bounds its length from
// above, the last refused from below (for a counter that weighs its
// previous period, by a factor the burst's size gives: see bareAccepted).
// A bucket refilling slower than the probes come refuses them too; one
// more request right after the first accepted one tells it apart (a
// bucket has given back one request, a window its burst), asked twice
// since a counter gives back a few at a time.
// The pool then paces L-1.5 per window evenly, which a sliding log or
// counter never refuses, starting at the geometric middle of the bounds,
// and tries the middle again after each whole window without a refusal.
// A refusal while paced raises the lower bound to the window it paced by
// and goes back to the last that held; the pause is a few intervals of
// the slower pace, since an evenly paced window ages out as fast as it
// filled. Two such refusals end the search.
const (
	// bareFirstProbe is the earliest probe after the burst (or four times
	// the burst's length, if longer, and never before the backoff a bare
	// refusal gets anyway): a bucket refilling at 100/s has a request back
	// by then, a window of more than twice this length none.
	bareFirstProbe = 10 * time.Millisecond
	// bareSpare is how many requests under the quota per window the pace
	// keeps: a sliding counter weighs its previous window by a fraction
	// and rounds, which is worth up to a request and a half.
	bareSpare = 1.5
	// bareGrow lengthens the window after a refusal while paced, when no
	// longer one is known to hold; bareClose is how close the bounds on
	// the window get before the search stops.
	bareGrow  = 1.25
	bareClose = 0.05
	// bareSettle is the pause after a refusal while paced, in intervals
	// of the new, slower pace.
	bareSettle = 3
	// bareMisses is how many refusals while paced end the search for a
	// shorter window: each is a 429, and the probes spent most of the
	// share a run may have.
	bareMisses = 2
)

type bareWindow struct {
	quota  int
	start  time.Time     // the first request's send time
	lo, hi time.Duration // lo < W <= hi; hi 0 while probing
	probe  time.Duration // the offset of the current probe
	// safe is the shortest window paced by for a whole window without a
	// refusal (0 none yet), since when the pace by hi began.
	safe  time.Duration
	since time.Time
	// refused counts the refusals since the burst began: where they
	// count (HAProxy), they are part of what the window holds. misses
	// counts those while paced.
	refused, misses int
	// confirm is set from the first accepted probe to the answer to the
	// request after it, which tells a window from a slow bucket.
	confirm bool
	// confirmed is set once the request after it was refused and asked
	// again.
	confirmed bool
}

// shorten tries a shorter window, halfway (geometrically) to lo, after a
// whole window paced by hi went without a refusal: the first probe
// accepted may have come up to twice the window's length after the burst.
func (b *bareWindow) shorten(a *adaptive, sent time.Time) {
	if sent.Sub(b.since) < b.hi || float64(b.hi) <= float64(b.lo)*(1+bareClose) {
		return
	}
	b.safe = b.hi
	b.hi = max(time.Duration(math.Sqrt(float64(b.lo)*float64(b.hi))), b.lo+time.Millisecond)
	b.since = sent
	a.measured = b.pace()
	a.pace = b.pace()
	a.repace = true
}

// pace is the even pace that the window allows, in requests/second.
func (b *bareWindow) pace() float64 {
	return math.Max(float64(b.quota)-bareSpare, 1) / b.hi.Seconds()
}

// startBare begins the bare-window model at the first hint-less refusal
// at now, when the server never showed a counter. It returns the pause.
//
// backoff is the pause a refusal without a hint gets otherwise: the first
// probe leaves after it, at the pace the bucket equation starts with, so
// that a bucket is paced as it was without this model.
func (a *adaptive) startBare(now time.Time, backoff time.Duration) (time.Duration, bool) {
	if a.signs > 0 || a.bare != nil || a.win != nil || a.counterMax > 0 || a.limitSaid > 0 || a.successes < 2 || a.firstSent.IsZero() {
		return 0, false
	}
	a.bare = &bareWindow{quota: a.successes, start: a.firstSent, refused: 1}
	pause := max(backoff, a.firstSent.Add(max(bareFirstProbe, 4*now.Sub(a.firstSent))).Sub(now))
	a.sign(now, pause, 0)
	// One probe at the pause's end, and no second before its answer: the
	// pace the bucket equation starts with would send one a millisecond
	// later, refused too where the first is.
	return a.bare.next(a, now, now.Add(pause).Sub(a.firstSent)), true
}

// next schedules the probe at offset d from the burst's start and returns
// the pause until it: one request leaves at the pause's end plus one pace
// interval, which is d/4.
func (b *bareWindow) next(a *adaptive, now time.Time, d time.Duration) time.Duration {
	b.probe = d
	a.pace = 4 / d.Seconds()
	return max(b.start.Add(d-d/4).Sub(now), 0)
}

// bareRefused reads a hint-less refusal at now while the bare-window
// model is on and returns the pause.
func (a *adaptive) bareRefused(now time.Time, backoff time.Duration) time.Duration {
	b := a.bare
	b.refused++
	if b.confirm && !b.confirmed {
		// A bucket gives the next request back only at its refill's
		// pace, a counter that weighs its previous period (HAProxy) a
		// few at a time as the period goes on: ask once more an eighth
		// of the window later.
		b.confirmed = true
		return b.safe / 8
	}
	if b.confirm {
		// A bucket after all: its equation takes over from the sign
		// the first refusal made, the accepted probe in its segment.
		a.bare = nil
		a.segAccepted++
		a.sign(now, backoff, 0)
		return backoff
	}
	if b.hi == 0 {
		// The probe was refused: the window, if it is one, is longer.
		// Past the first probe the server is no fast bucket: skip an
		// offset, which saves a refusal where the window is long and
		// changes nothing where it is short (the first acceptance is at
		// most twice the burst's age-out either way).
		first := b.lo == 0
		b.lo = max(b.lo, b.probe)
		if first {
			return b.next(a, now, 4*b.probe)
		}
		return b.next(a, now, 2*b.probe)
	}
	// Paced and refused: the window is longer than hi. Wait a whole one,
	// so everything refused meanwhile has aged out, and pace by a longer:
	// the last one that held, if any.
	b.lo = max(b.lo, b.hi)
	b.misses++
	if b.safe > b.hi {
		// Back to the last that held; the search goes on between the
		// two while refusals are few.
		b.hi = b.safe
	} else {
		b.hi = time.Duration(float64(b.hi) * bareGrow)
	}
	if b.misses >= bareMisses {
		b.lo = b.hi
	}
	a.pace = b.pace()
	a.measured = b.pace()
	a.repace = true
	// Paced evenly, the window holds about the pace times its length, and
	// what it holds ages out at the pace it was sent: a few intervals of
	// the slower pace bring it under the quota, refused requests and all.
	// Waiting a whole window would cost a window's sending per refusal.
	pause := time.Duration(bareSettle / a.pace * float64(time.Second))
	b.since = now.Add(pause)
	return pause
}

// bareAccepted reads an accepted answer to a request sent at sent while
// the bare-window model is on. It reports whether the model keeps it: not
// when the server turned out a bucket.
func (a *adaptive) bareAccepted(sent time.Time) (keep bool, hold time.Duration) {
	b := a.bare
	if b.confirm {
		// The request after the first accepted probe went through too:
		// the burst came back whole or nearly, as from a window.
		b.confirm = false
		b.since = sent
		a.sliding = true
		a.measured = b.pace()
		a.pace = b.pace()
		a.repace = true
		// The probe and this request are in the window as well: the
		// pace starts two intervals on, so that none of it is refused.
		return true, time.Duration(2 / a.pace * float64(time.Second))
	}
	if b.hi > 0 {
		b.shorten(a, sent)
		return true, 0
	}
	if sent.Before(b.start.Add(b.probe / 2)) {
		// A request of the burst, answered late: the bucket equation
		// counts it in the server's burst.
		return false, 0
	}
	if b.lo == 0 {
		// The first probe went through: the server gave back requests
		// soon after the burst, as a bucket does. Its equation takes over
		// from the sign the first refusal made, at the pace it starts with.
		a.bare = nil
		a.pace = math.Max(adaptiveGuess*float64(max(a.burstSize(), 1)), adaptiveFloor)
		return false, 0
	}
	// The probe refused at lo says the burst had not aged out by then. A
	// sliding log frees it a window after it was sent, so W > lo; a
	// counter that weighs its previous period (HAProxy) gives the first
	// request back at W(2 - L/B) once B requests were counted in the
	// burst's period, refused ones included, so W > lo/(2 - L/B).
	held := float64(b.quota + b.refused)
	b.lo = time.Duration(float64(b.lo) / (2 - float64(b.quota)/held))
	b.hi = max(sent.Sub(b.start), b.lo+time.Millisecond)
	b.quota = max(a.burstSize(), b.quota)
	b.since = sent
	// hi holds (the burst aged out by then); start at the geometric
	// middle of the bounds, and go back to hi if refused: a refusal costs
	// a request and a few intervals' pause, pacing by hi a window's worth
	// of sending.
	b.safe = b.hi
	b.hi = max(time.Duration(math.Sqrt(float64(b.lo)*float64(b.hi))), b.lo+time.Millisecond)
	// But a bucket refilling slower than a request per probe offset
	// refuses the first probes too: one more request, right after this
	// one's answer, tells them apart. A bucket that just gave back one
	// request refuses it; a window that gave back its burst does not.
	b.confirm = true
	a.pace = 1 / (2 * max(a.lastRecv.Sub(sent), time.Millisecond).Seconds())
	a.repace = true
	return true, 0
}
