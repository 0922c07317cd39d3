package ratelimit

import (
	"math"
	"slices"
	"time"
)

// A slow bucket of one (nginx's limit_req without a burst at a few
// requests a second) is bounded by single requests, as a bare window's
// probes bound its length: it refuses a request that came less than its
// interval I after the latest one it took, and takes one that came I or
// more after it. A refused request sent g after the latest accepted one
// (sent before it) says I > g - rtt, where rtt is the accepted one's round
// trip, which bounds how late it arrived; two requests accepted in a row
// g apart say I <= g + rtt of the later one. Each bound holds up to the
// server's clock, in whole milliseconds (oneClockSlack).
//
// The rate then lies in [1/(g+rtt), 1/(g-rtt)): its floor and ceiling. The
// equation of the segments (measure) knows neither: a segment of a bucket
// of one holds a handful of requests at a few a second, and the pace
// bounced past the rate, one request in two refused while it lay between
// the two (nginx at 3r/s, 2 workers: 20 of 120 requests refused in the
// simulation, 19-68 of 119-154 on the real server). Until they are
// within oneBisect of each other the pace goes to their geometric middle,
// each request a trial that raises the floor or, refused, lowers the
// ceiling; then it stays at pacerStrictGap of the floor, never again
// where the bucket refused. The floor and the ceiling are kept for the
// run (a limit that changes shows as a floor over the ceiling, and the
// older bound goes), so nothing creeps past them.
//
// Only where the slack (the round trip and the clock's millisecond) is
// under oneSlack of the interval: at 100r/s a millisecond of jitter is a
// tenth of the interval, the bounds are too wide to steer by, and the
// creep and the pacer's lateness rules (pacer.answered) serve.
const (
	oneBisect     = 1.08
	oneSlack      = 0.02
	oneClockSlack = time.Millisecond
	// oneRepace is how far the pace falls before the reservations made
	// at the old one are made again.
	oneRepace = 0.8
	// oneKept is how many accepted requests oneAcc keeps.
	oneKept = 16
)

// oneTaken is an accepted request of a bucket of one: its send time and
// round trip.
type oneTaken struct {
	sent time.Time
	rtt  time.Duration
}

// oneAccepted notes an accepted request sent at sent and answered at now.
func (a *adaptive) oneAccepted(sent, now time.Time) {
	rtt := now.Sub(sent)
	if rtt < 0 {
		return
	}
	if len(a.oneAcc) == oneKept {
		a.oneAcc = append(a.oneAcc[:0], a.oneAcc[1:]...)
	}
	i, _ := slices.BinarySearchFunc(a.oneAcc, sent, func(t oneTaken, s time.Time) int { return t.sent.Compare(s) })
	a.oneAcc = slices.Insert(a.oneAcc, i, oneTaken{sent: sent, rtt: rtt})
	// oneTook reads only the two pairs this request makes, unless
	// another came since it last ran (whose index this one may have
	// moved): then it reads them all once.
	if a.oneFresh {
		a.oneAll = true
	}
	a.oneFresh, a.oneNew = true, i
}

// oneRefused bounds the rate of a bucket of one from above by a request
// sent at sent that it refused: it came less than an interval after the
// latest accepted request sent before it. Nothing when a request sent in
// between is still in flight (it may have been taken) or the slack is
// over oneSlack of the gap. A ceiling at or under the floor says the limit was
// lowered (or the floor's pair was a server's hiccup): the floor goes.
func (a *adaptive) oneRefused(sent time.Time) {
	if sent.IsZero() {
		return
	}
	i, _ := slices.BinarySearchFunc(a.oneAcc, sent, func(t oneTaken, s time.Time) int { return t.sent.Compare(s) })
	if i == 0 {
		return
	}
	acc := a.oneAcc[i-1]
	for _, t := range a.open {
		if t.After(acc.sent) && t.Before(sent) {
			return
		}
	}
	g := sent.Sub(acc.sent)
	slack := acc.rtt + oneClockSlack
	if g <= 0 || float64(slack) > oneSlack*float64(g) {
		return
	}
	ceil := 1 / (g - slack).Seconds()
	a.oneCeil = least(a.oneCeil, ceil)
	if a.oneLow >= a.oneCeil {
		// The pairs the floor came from go with it: oneTook reads
		// every pair kept, and the older pair would raise the same
		// floor again and wipe this newer ceiling.
		a.oneLow = 0
		a.oneAcc = slices.Clone(a.oneAcc[i-1:])
		// The floor is read afresh from the pairs kept.
		a.oneAll = true
	}
}

// oneTook raises the floor of a bucket of one by the latest accepted
// requests: two taken in a row g apart prove a rate of 1/g, their slack
// added. Only a pair whose slack is under oneSlack of its gap counts.
//
// A pass over every pair kept leaves the floor at or over each of them
// and the ceiling 0 or over each, so reading them again changes nothing
// until a pair is new (an accepted request, whose two pairs are read) or
// the floor was dropped with the pairs before a refusal (all are read
// again). oneTookAll, the pass over every pair, is what this folds.
func (a *adaptive) oneTook() {
	switch {
	case a.oneAll:
		a.oneTookAll()
	case a.oneFresh:
		a.onePair(a.oneNew)
		a.onePair(a.oneNew + 1)
	}
	a.oneAll, a.oneFresh = false, false
}

// oneTookAll reads every pair kept.
func (a *adaptive) oneTookAll() {
	for i := 1; i < len(a.oneAcc); i++ {
		a.onePair(i)
	}
}

// onePair reads the pair of accepted requests i-1 and i, if both are kept.
func (a *adaptive) onePair(i int) {
	if i < 1 || i >= len(a.oneAcc) {
		return
	}
	g := a.oneAcc[i].sent.Sub(a.oneAcc[i-1].sent)
	slack := a.oneAcc[i].rtt + oneClockSlack
	if g <= 0 || float64(slack) > oneSlack*float64(g) {
		return
	}
	floor := 1 / (g + slack).Seconds()
	if a.oneCeil > 0 && floor >= a.oneCeil {
		// Over a refusal's bound: the limit was raised, or that
		// refusal was a hiccup.
		a.oneCeil = 0
	}
	a.oneLow = math.Max(a.oneLow, floor)
}

// oneFit keeps the pace and the measured rate of a bucket of one within
// its floor and ceiling: at their geometric middle while they are more
// than oneBisect apart, each request a trial, then at pacerStrictGap of
// the floor, which the tight schedule's departures, never closer than
// pacerStrictGap of an interval, keep at least an interval of the floor
// apart. Nothing until the floor is known: a fast bucket's pairs are
// within the jitter of its interval, and the creep serves it.
func (a *adaptive) oneFit() {
	if !a.oneAtATime() || math.IsInf(a.pace, 1) {
		return
	}
	was := a.pace
	defer func() {
		if a.pace < oneRepace*was {
			// Reservations made at the old pace would go
			// closer than the new interval: the bucket refuses
			// them.
			a.oneRepaced = true
		}
	}()
	a.oneTook()
	floor, ceil := a.oneLow, a.oneCeil
	if floor == 0 {
		return
	}
	if ceil == 0 {
		// Nothing refused near the floor: the search goes on, from
		// no lower than it (a measurement set from the floor would
		// end the search: a bucket of one at 100r/s, whose first
		// guess's pairs 100ms apart proved 9.8/s, crept from there).
		a.pace = math.Max(a.pace, pacerStrictGap*floor)
		return
	}
	if ceil/floor > oneBisect {
		a.pace = math.Sqrt(floor * ceil)
		return
	}
	a.measured, a.loose = floor, false
	a.pace = pacerStrictGap * floor
}
