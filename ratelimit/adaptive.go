package ratelimit

import (
	"math"
	"time"

	"golang.org/x/time/rate"
)

// The adaptive rate, for when nobody knows the server's limit.
//
// It starts unpaced (only the concurrency limit holds the pool back), so a
// server with a generous limit is never slowed down. The first sign of the
// limit (a throttle answer, or an answer saying no requests remain) tells
// the server's burst B: everything accepted before it. From then on the pool
// is paced, and the time between signs is cut into segments: a pause of p
// (the pool sends nothing, the server refills), then d of sending, in which
// N requests were accepted, ending with the server's bucket empty again.
// A token bucket refilling at r accepts, over a few segments,
//
//	sum(N) = sum(min(B, r*p)) + r*sum(d)
//
// which is increasing in r, so r is found by bisection. Pauses of any
// length (a whole second for Retry-After: 1, a few milliseconds for a
// hint-less backoff, none for "remaining: 0") fit the same equation. The
// pace is set just under the measurement and creeps upward while nothing is
// throttled, so a raised limit is found again.
//
// Why not AIMD or CUBIC, as the AWS SDKs' adaptive mode does: they cut the
// rate blindly and climb back, throttling once per cycle forever and losing
// a large share of a short job. A token bucket's rate can be measured from
// two signs, so one measurement replaces many cycles; the slow upward probe
// keeps AIMD's ability to follow a limit that changes.
const (
	// adaptiveMargin keeps the pace this far under the measured rate.
	adaptiveMargin = 0.97
	// adaptiveProbe is the relative increase per second without a sign.
	adaptiveProbe = 0.01
	// adaptiveGuess is the first pace, in bursts per second, before any
	// measurement: fast enough to find the limit within a segment, paced
	// enough that finding it costs one or two throttle answers.
	adaptiveGuess = 10
	// A measurement needs at least this much sending time and evidence.
	adaptiveMinSample    = 40 * time.Millisecond
	adaptiveMinSuccesses = 3
	// adaptiveMemory is how far back segments count, so a limit that
	// changes is followed.
	adaptiveMemory   = 5 * time.Second
	adaptiveSegments = 64
	// adaptiveLow is the remaining quota that counts as a sign: acting one
	// request early keeps requests already in flight from being refused.
	adaptiveLow = 1
	// adaptiveFloor keeps a measurement gone wrong from stalling the run.
	adaptiveFloor = 0.1
)

// segment is a pause followed by sending, ended by a sign of the limit.
type segment struct {
	end       time.Time
	pause     float64 // seconds
	sending   float64 // seconds
	accepted  int
	startLeft float64 // server tokens left at the sign before the pause
	endLeft   float64 // server tokens left at the sign that ended it
}

type adaptive struct {
	ceiling rate.Limit

	successes int // all accepted answers
	burstSeen int
	signs     int

	// The open segment.
	lastSign    time.Time
	lastLeft    float64
	segStart    time.Time // when sending resumed after the pause
	segAccepted int
	history     []segment

	measured float64 // requests/second; 0 unknown
	pace     float64 // requests/second; +Inf unpaced
	probed   time.Time
}

func newAdaptive(ceiling rate.Limit, burst int) *adaptive {
	return &adaptive{ceiling: ceiling, pace: math.Inf(1), burstSeen: burst}
}

// succeeded counts an accepted answer; remaining is the server's quota left
// after it, or -1 when the answer did not say, and limit its quota size (the
// bucket) or 0.
func (a *adaptive) succeeded(now time.Time, remaining, limit int) {
	a.successes++
	if limit > a.burstSeen && a.signs > 0 {
		a.burstSeen = limit
	}
	if now.Before(a.segStart) {
		// The answer to a request sent before the pause: it tells nothing
		// about the segment that starts when the pause ends, but after the
		// first sign it was part of the server's first burst.
		if a.signs == 1 {
			a.burstSeen++
		}
		return
	}
	a.segAccepted++
	if remaining >= 0 && remaining <= adaptiveLow {
		// The server says the next request or two would be refused: a sign
		// of the limit that costs no 429.
		a.sign(now, 0, float64(remaining))
		return
	}
	if a.measured > 0 && !a.probed.IsZero() {
		if dt := now.Sub(a.probed); dt > 0 {
			a.pace = math.Min(a.pace*(1+adaptiveProbe*dt.Seconds()), float64(a.ceiling))
		}
	}
	a.probed = now
}

// throttled records a throttle answer at now that pauses the pool for pause.
func (a *adaptive) throttled(now time.Time, pause time.Duration) {
	a.sign(now, pause, 0)
}

// sign closes the open segment at a sign of the limit, with left tokens on
// the server, measures, sets the pace, and opens the next segment after pause.
func (a *adaptive) sign(now time.Time, pause time.Duration, left float64) {
	a.signs++
	if a.signs == 1 {
		a.burstSeen = a.successes
		a.pace = math.Max(adaptiveGuess*float64(max(a.burstSeen, 1)), adaptiveFloor)
	} else {
		a.history = append(a.history, segment{
			end:       now,
			pause:     math.Max(0, a.segStart.Sub(a.lastSign).Seconds()),
			sending:   math.Max(0, now.Sub(a.segStart).Seconds()),
			accepted:  a.segAccepted,
			startLeft: a.lastLeft,
			endLeft:   left,
		})
		a.forget(now)
		a.measure()
	}
	a.lastSign, a.lastLeft = now, left
	a.segStart = now.Add(pause)
	a.segAccepted = 0
	a.probed = a.segStart
}

// forget drops segments older than adaptiveMemory, keeping at least two.
func (a *adaptive) forget(now time.Time) {
	drop := 0
	for drop < len(a.history)-2 && (now.Sub(a.history[drop].end) > adaptiveMemory || len(a.history)-drop > adaptiveSegments) {
		drop++
	}
	a.history = a.history[drop:]
}

// measure solves the segments' equation for the server's rate.
func (a *adaptive) measure() {
	var sending float64
	accepted := 0
	for _, s := range a.history {
		sending += s.sending
		accepted += s.accepted
	}
	if sending < adaptiveMinSample.Seconds() || accepted < adaptiveMinSuccesses {
		return
	}
	burst := float64(max(a.burstSeen, 1))
	predicted := func(r float64) float64 {
		n := r * sending
		for _, s := range a.history {
			n += math.Min(burst, s.startLeft+r*s.pause) - s.endLeft
		}
		return n
	}
	lo, hi := adaptiveFloor, float64(accepted)/sending+1
	for range 60 {
		mid := (lo + hi) / 2
		if predicted(mid) < float64(accepted) {
			lo = mid
		} else {
			hi = mid
		}
	}
	a.measured = (lo + hi) / 2
	a.pace = math.Max(a.measured*adaptiveMargin, adaptiveFloor)
}

// limit is the pace for the token bucket, never above the ceiling.
func (a *adaptive) limit() rate.Limit {
	if l := rate.Limit(a.pace); l < a.ceiling {
		return l
	}
	return a.ceiling
}

// burst keeps pacing smooth once paced: the server's own burst is spent by
// then, and sending it again would only be refused.
func (a *adaptive) burst() int {
	return 1
}

func (a *adaptive) learned() (burst int, perSecond float64) {
	return a.burstSeen, a.measured
}
