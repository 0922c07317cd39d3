package ratelimit

import (
	"math"
	"time"
)

// Refusals that do not follow the pace (doc.go has the whole account): a
// server that refuses some requests whatever the pace (a per-recipient
// rule, one row in k) refuses the same share at any pace, and the
// segments' equation, which reads each refusal as the bucket emptying,
// measured about (k-1)/k of the pace at every one of them, down to the
// floor. A rate limit paced over its rate r at p accepts r/(p-r) per
// refusal, more at a lower pace, at about r a second; under r nearly all.
//
// Each refusal the pool was not paused for notes the stretch since the
// refusal before. When the latest rowRefRecent went at rowRefLower or
// less of the pace of earlier ones (the latest rowRefRecent such, at
// least rowRefMin), took about as many per refusal (no more than
// rowRefSame times, no less than 1/rowRefSame² times, at least
// rowRefTook), at a rate, pauses included, rowRefFell or less of theirs,
// and the lower pace is under that earlier rate, the refusals are flat:
// measure no longer lowers the pace (flatPace). rowRefRevoke stretches
// at rowRefDrop of the share's count or less end it.
const (
	rowRefRecent = 3
	rowRefMin    = 2
	rowRefLower  = 1 / 1.6
	rowRefSame   = 1.5
	rowRefFell   = 0.8
	rowRefTook   = 2
	rowRefDrop   = 0.5
	rowRefRevoke = 6
	rowRefKeep   = 32
	rowRefZeros  = 0.25
)

// shareNote is a stretch from a refusal to the next: the pace it went
// at and the pace set, how many the server accepted and refused in it,
// how long it took and how long of it the pool was sending.
type shareNote struct {
	pace, set, accepted, refused, span, sending float64
}

// noteRefusal notes a refusal at now that the pool was not paused for,
// refusals the count of all read so far (those in a pause too): the
// stretch since the refusal before, its pause included (a bucket
// refills in it), and decides whether the refusals follow the pace (see
// above). Not the unpaced opening's, nor where a model times its own
// probes (a window refuses all of them until it ages out, whatever their
// pace) or paces one request at a time.
func (a *adaptive) noteRefusal(now time.Time, refusals int) {
	from, taken, refused, resumed := a.shareFrom, a.shareTaken, a.shareRefused, a.shareResumed
	a.shareFrom, a.shareTaken, a.shareRefused, a.shareResumed = now, a.successes, refusals, now
	if from.IsZero() || !a.refusalHinted || a.signs == 0 || a.win != nil || a.ra != nil || a.conc != nil || a.oneAtATime() ||
		a.bare != nil && (a.bare.hi == 0 || a.bare.confirm || a.bare.riding) ||
		!(a.pace > 0) || math.IsInf(a.pace, 1) {
		return
	}
	span, sending := now.Sub(from).Seconds(), now.Sub(latest(from, resumed)).Seconds()
	if !(span > 0) || !(sending > 0) {
		return
	}
	// Every answer since: the refusals that came during the pause too.
	n := shareNote{accepted: float64(max(a.successes-taken, 0)), refused: float64(max(refusals-refused, 1)), span: span, sending: sending}
	// The pace the requests went at: not the pace where the pool held
	// them back (round trips, the pacer's debt after a refusal).
	n.pace, n.set = math.Min(a.pace, (n.accepted+n.refused)/sending), a.pace
	a.shares = append(a.shares, n)
	if len(a.shares) > rowRefKeep {
		a.shares = a.shares[len(a.shares)-rowRefKeep:]
	}
	if len(a.shares) < rowRefRecent {
		return
	}
	if a.flat > 0 {
		if k, _ := sharesOf(a.shares[max(len(a.shares)-rowRefRevoke, 0):]); len(a.shares) >= rowRefRevoke && k <= rowRefDrop*a.flat {
			// Refused far more often than the share: a rate limit
			// past it. Measured afresh from here.
			a.flat, a.flatFloor, a.shares = 0, 0, nil
		}
		return
	}
	recent := a.shares[len(a.shares)-rowRefRecent:]
	top, set := 0.0, 0.0
	for _, n := range recent {
		if n.accepted == 0 {
			// Refused with nothing taken since the refusal before:
			// a full window or bucket.
			return
		}
		top, set = math.Max(top, n.pace), math.Max(set, n.set)
	}

	// The latest as many before them sent at a pace rowRefLower
	// higher or more, and paced so: the pace lowered, not the pool held
	// back by waits (Traefik's whole-second Retry-After over a bucket of
	// one, at 32 workers, spaced the stretches whatever the pace).
	var before []shareNote
	first := len(a.shares) - rowRefRecent
	for i := first - 1; i >= 0 && len(before) < rowRefRecent; i-- {
		if n := a.shares[i]; n.pace*rowRefLower >= top && n.set*rowRefLower >= set {
			before, first = append(before, n), i
		}
	}
	if len(before) < rowRefMin {
		return
	}
	zeros := 0
	for _, n := range a.shares[first:] {
		if n.accepted == 0 {
			zeros++
		}
	}
	if float64(zeros) > rowRefZeros*float64(len(a.shares)-first) {
		// Refused twice in a row that often since: a server refusing
		// one request in k does so one time in k, a limit paced over
		// its rate whenever it is empty.
		return
	}
	// As many accepted per refusal at the lower pace, at a rate that
	// fell with it: a rate limit accepts more per refusal at a lower
	// pace, at about its rate while the pace is over it. And refused at
	// the lower pace though it is under what the server accepted,
	// pauses and all, at the higher one: a rate limit there would refuse
	// nothing (a bucket refilled in long pauses, its stretches sent at
	// once, is such a limit).
	kNow, rNow := sharesOf(recent)
	kBefore, rBefore := sharesOf(before)
	if kBefore < rowRefTook || kNow > rowRefSame*kBefore || kNow*rowRefSame*rowRefSame < kBefore || rNow > rowRefFell*rBefore || top > rBefore {
		return
	}
	a.flat = (kNow + kBefore) / 2
	// What the server accepted while the pool sent at the higher pace.
	var sum, busy float64
	for _, n := range before {
		sum += n.accepted
		busy += n.sending
	}
	a.flatFloor = sum / busy
	// Noted afresh from here: the notes that end it are those taken
	// at the pace it keeps.
	a.shares = nil
}

// sharesOf is how many requests the server accepted per refusal in ns,
// and the rate it accepted them at, pauses included.
func sharesOf(ns []shareNote) (perRefusal, rate float64) {
	var accepted, refused, span float64
	for _, n := range ns {
		accepted += n.accepted
		refused += n.refused
		span += n.span
	}
	return accepted / math.Max(refused, 1), accepted / span
}

// flatPace is measure's pace when the refusals do not follow it: never
// lower than before the refusal nor than a margin under what the server
// accepted at the higher pace, searching upward from there. It reports
// whether it set the pace.
func (a *adaptive) flatPace() bool {
	if a.flat == 0 {
		return false
	}
	a.measured = math.Max(a.measured, a.flatFloor)
	a.flatFloor = a.measured
	a.loose = true
	if before := a.pace; before > 0 && !math.IsInf(before, 1) {
		a.pace = math.Max(before, a.measured*adaptiveMargin)
	} else {
		a.pace = math.Max(a.measured*adaptiveMargin, adaptiveFloor)
	}
	return true
}
