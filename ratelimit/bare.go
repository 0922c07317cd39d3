package ratelimit

import (
	"math"
	"slices"
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
// Then the pool rides: it sends at twice the quota per the shortest
// window the probes allow until the next refusal. A counter that weighs
// its previous period has given back more since the burst aged out than
// its pace (HAProxy's allowance grows by the burst per window, refused
// requests included), so the ride catches up what the probes cost, and
// the refusal shows where the window's edge is. Every answer since the
// first is then fitted (barefit.go): the models of the class, a log, a
// counter from the first request and one aligned on the clock, with
// refused requests counted or not, are replayed over the answers for
// window lengths on a fine grid, and those that explain them bound the
// length. Where the bounds are more than bareWide apart the pool rides
// again (twice at most, a 429 each). It then paces by the longest length
// the fit allows, L per window (a request less where a counter that
// weighs exactly, which rounds against us, may be the one), a little
// under, from the time every candidate takes the requests at that pace.
// A refusal later refits, never to a shorter window.
// A log shows nothing of its length in a ride (it takes the quota at any
// pace and gives it back a window later): where a log may be the server
// and its fit allows a longer window than the search below would try,
// or where nothing explains the answers, the search by bounds goes on
// from where the probes left it, as it did before the fit: L-1.5 per
// window evenly, starting at the geometric middle of the bounds, the
// middle tried again after each whole window without a refusal, a
// refusal raising the lower bound and going back to the last that held
// after a pause of a few intervals, two refusals ending the search.
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
	// bareProbeGrowth is how much later each probe after the second goes:
	// every refused one is a 429, and the ride that follows the first
	// accepted one catches up what a window gave back meanwhile.
	bareProbeGrowth = 2
	// A burst that took bareSlowBurst or more, from a server that decided
	// on it about as late as it answered (one thread: Node.js, 2.5-7.5ms
	// a request on a busy machine, a burst of 100 a quarter to three
	// quarters of a second), ended on the server's clock about when its
	// answers did: a window is only known to be longer than the burst,
	// and the first probe at four times the burst's length fell past a
	// 1s window's end (and a 150ms one's), was taken, and the window was
	// paced as a bucket (express-rate-limit without headers: a bucket of
	// 84 at 63/s, 0.56). The first probe goes bareSlowFirst times the
	// burst's length after its start, the next bareSlowGrowth times
	// later. Not where the server answers its refusals at once and its
	// taken requests late (a backend): there the window path cost the
	// backend cases of the simulation more than the bucket's (a fixed
	// 100 per 1s behind 40ms: 0.62 -> 0.38).
	//
	// bareSlowBurst is 100ms, not less: at 30ms the real HAProxy at 100
	// per 1s went from 0.68 to 0.62 of the ideal (six runs each, with a
	// pause or two more a run: its 429s come back as fast as its
	// acceptances, so where its burst took 30ms the slow path, I suspect,
	// paid more probes for its long window); at 100ms it ran 0.67-0.68
	// again. A one-thread 15 per 150ms (a burst of 40ms) is left to the
	// old rule.
	bareSlowBurst  = 100 * time.Millisecond
	bareSlowFirst  = 1.15
	bareSlowAfter  = 20 * time.Millisecond
	bareSlowGrowth = 2
	// bareProbeSafe keeps a probe this far inside a counter's second
	// period: the server's periods start at its first request's arrival,
	// after our send, and a probe arrives up to a round trip late.
	bareProbeSafe = 0.97
	// bareRoundWeigh is the most a round probe is weighed past its
	// window's end (roundProbe): a fifth of it.
	bareRoundWeigh = 1.2
	// bareProbeMinGrowth bounds the probes' count, each a 429, where the
	// burst's refused tail is large beside its quota (10 per 1s at
	// --concurrency 8: 9 taken, 8 refused, a second period 1.4 times
	// shorter than the first).
	bareProbeMinGrowth = 1.6
	// bareProbeCapFrom is the shortest refused probe whose successor
	// the cap applies to: a shorter window lost costs less than the 429
	// of the probe the cap adds (a probe more at 15 per 150ms put the
	// runs over issue 11's 3% of 429s).
	bareProbeCapFrom = 400 * time.Millisecond
	// bareRides is how many more rides a fit still too wide to pace by
	// (its longest window more than bareWide over its shortest) gets:
	// each costs a 429 and narrows the fit about tenfold.
	bareRides = 2
	bareWide  = 0.03
	// bareFitMargin keeps the pace this far under the rate a fitted
	// window sustains, for the jitter of the requests' arrival on a busy
	// machine (0.99 drew a refusal every second or so from HAProxy at 15
	// per 150ms).
	bareFitMargin   = 0.98
	bareLearnMargin = 0.99
	// bareFixedFar: a fixed window that explains the answers, more than
	// this many times the shortest window a counter explaining them too
	// allows, rides again before it takes over (bareRefitWith). HAProxy
	// at 5 per 1s behind a 100ms path or a 5ms backend, its counter at
	// about 1s, was taken for a fixed window of 1.9-2.4s and paced and
	// pinned at 5 per that (0.42-0.51 of the ideal). Not at twice or
	// less: there the fixed window's trial sends the quota while the
	// counter still weighs its previous period, and is refuted (HAProxy
	// at 10 per 1s behind 20ms, a fixed window 2.0 times the shortest,
	// refuted at once; a ride there cost a 100-row run 0.79 -> 0.73).
	bareFixedFar = 2.1
)

type bareWindow struct {
	quota  int
	start  time.Time     // the first request's send time
	lo, hi time.Duration // lo < W <= hi; hi 0 while probing
	probe  time.Duration // the offset of the current probe
	// skel is the offset growth gives the current probe, which goes
	// ahead of it (probe < skel) just past a round window's end
	// (roundProbe): refused there, the probe at skel goes next. lead is
	// the pace's interval the probe leaves after (aim).
	skel, lead time.Duration
	// safe is the shortest window paced by for a whole window without a
	// refusal (0 none yet), since when the pace by hi began.
	safe  time.Duration
	since time.Time
	// refused counts the refusals since the burst began: where they
	// count (HAProxy), they are part of what the window holds. misses
	// counts those while paced.
	refused, misses int
	// held is what the burst's period counted by the first probe's
	// refusal, the burst's refusals and that probe included.
	held int
	// confirm is set from the first accepted probe to the answer to the
	// request after it, which tells a window from a slow bucket.
	confirm bool
	// confirmed is set once the request after it was refused and asked
	// again.
	confirmed bool
	// d0 and d1 are the offsets of the last probe refused and the first
	// accepted, the raw bounds the fit searches within.
	d0, d1 time.Duration
	// riding is set while the pool sends faster than any window the
	// probes allow could sustain, from the first accepted probe to the
	// next refusal: a counter that weighs its previous period has given
	// back more than its pace since the burst aged out (the run catches
	// up), and the refusal shows where the window's edge is. rides counts
	// the rides after the first; fit is the latest fit paced by.
	riding bool
	rides  int
	// mid is the window the search by bounds would pace by, rideFrom
	// when the ride began: a fit that cannot tell a log goes back to them.
	mid      time.Duration
	rideFrom time.Time
	// fitLo is the shortest window the fit tries: a little under the
	// probes' lower bound for a counter that weighs its previous period,
	// the lowest any model of the class has.
	fitLo time.Duration
	fit   bareFitResult
	// notFixed is set once a fixed window was tried and refuted
	// (bareToFixed); wasRiding says the hand-over came at a ride's
	// refusal, which the fit takes up again.
	notFixed, wasRiding bool
	// wasPace and wasMeasured are the adaptive pace and rate at the
	// hand-over, restored should the fixed window be refuted.
	wasPace, wasMeasured float64
	// began is when the first refusal came: a request sent before it is
	// one of the burst, whatever its answer's time. slow is set where the
	// server decided on the burst about as late as it answered
	// (bareDecidesLate).
	began time.Time
	slow  bool
	// refusedLast is set by a refusal once the probes found a window
	// (of a request sent at refusedSent), cleared by the acceptance of
	// the next request sent after it: where a fixed window's began. An
	// acceptance of one sent before is no sign of a window's start
	// (express-rate-limit answers a refusal at once and an accepted
	// request once its backend did: with a backend of 10ms the ride's
	// last acceptances came after its refusal, the fixed window was
	// tried there and refuted, and 100 per 1s was paced as a log).
	refusedLast bool
	refusedSent time.Time
	// edgeFrom is set while the edge probe (bareEdge) is out: the
	// request sent after it is that probe, edgeEnd when the pause it
	// splits would have ended, edgePace the pace from then; edged is
	// set once one went. edgeBound is the probe's offset from the first
	// accepted probe's, once taken: a log is no longer.
	edgeFrom, edgeEnd time.Time
	edgePace          float64
	edged             bool
	edgeBound         time.Duration
	// logLo and logHi bound a log's window (lo < W <= hi) once the fit at
	// a ride's refusal found a log may be the server: the Limiter takes
	// them up and paces by the log's places (bareLogPacer), once.
	logLo, logHi time.Duration
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
	slow := now.Sub(a.firstSent) >= bareSlowBurst && a.bareDecidesLate(now)
	a.bare = &bareWindow{quota: a.successes, start: a.firstSent, began: now, refused: 1, slow: slow}
	pause := max(backoff, a.firstSent.Add(bareFirstOffset(now.Sub(a.firstSent), slow)).Sub(now))
	a.sign(now, pause, 0)
	// One probe at the pause's end, and no second before its answer: the
	// pace the bucket equation starts with would send one a millisecond
	// later, refused too where the first is.
	return a.bare.next(a, now, now.Add(pause).Sub(a.firstSent)), true
}

// bareProbing reports whether the bare-window model is probing for the
// window's length: one probe at a time, no bounds yet.
func (a *adaptive) bareProbing() bool {
	return a.bare != nil && a.bare.hi == 0
}

// bareDecidesLate reports whether the server decided on the burst's
// requests about as late as it answered them, from the first refusal at
// now: its round trip (it was answered once decided) is at least half the
// accepted requests' usual one. A server that works on one request at a
// time (Node.js) queues a refusal behind the requests before it as it
// queues those it takes; a fast limiter in front of a slow backend
// answers a refusal at once and a taken request a backend's time later,
// and decided on each when it came.
func (a *adaptive) bareDecidesLate(now time.Time) bool {
	if a.refusedSent.IsZero() {
		return false
	}
	var rtts []time.Duration
	for _, x := range a.bareLog {
		if x.ok && !x.sent.IsZero() {
			rtts = append(rtts, x.recv.Sub(x.sent))
		}
	}
	if len(rtts) == 0 {
		return false
	}
	slices.Sort(rtts)
	return now.Sub(a.refusedSent)*2 >= rtts[len(rtts)/2]
}

// bareFirstOffset is the first probe's offset from the burst's start,
// which took burst (the first refusal's answer): four times as long, not
// before bareFirstProbe; for a server that decides late (slow), a little
// past the burst's end on its own clock (bareSlowFirst, and at least
// bareSlowAfter past the answer, for a bucket to give a request back).
func bareFirstOffset(burst time.Duration, slow bool) time.Duration {
	if slow {
		return max(time.Duration(bareSlowFirst*float64(burst)), burst+bareSlowAfter)
	}
	return max(bareFirstProbe, 4*burst)
}

// next schedules the probe at offset d from the burst's start, or just
// past a round window's end before it (roundProbe), and returns the pause
// until it: one request leaves at the pause's end plus one pace interval,
// which is d/4 (the pacer's interval may be free, and the probe leave at
// the pause's end: a quarter early still lands past the probe refused
// before it); a round probe's is half its margin past the window's end.
func (b *bareWindow) next(a *adaptive, now time.Time, d time.Duration) time.Duration {
	b.skel = d
	if b.lo > 0 {
		if r, w, ok := b.roundProbe(b.lo, d); ok {
			// Within half its margin past the window's end: a
			// quarter of its offset early, it would leave before.
			return b.aim(a, now, r, (r-w)/2)
		}
	}
	return b.aim(a, now, d, d/4)
}

// aim schedules the probe at offset d, to leave a pace interval lead
// after the pause: see until.
func (b *bareWindow) aim(a *adaptive, now time.Time, d, lead time.Duration) time.Duration {
	b.probe, b.lead = d, lead
	a.pace = 1 / lead.Seconds()
	return b.until(now)
}

// roundWindows are the window lengths people configure (a limit is set
// per second, per ten seconds, per minute, per hour, rarely per 1.37s),
// from half a second: a shorter window's end found late costs less than
// the 429 of a probe at a round length it does not have.
var roundWindows = []time.Duration{
	time.Second / 2, time.Second, 2 * time.Second, 3 * time.Second, 5 * time.Second, 10 * time.Second,
	15 * time.Second, 20 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute,
	10 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour,
}

// roundProbe is a probe just past the end of the longest round window
// whose end lies between the probe refused at prev and the one growth
// would send next, at d; ok is false when none does. A window of 1s from
// the run's first request, refused at 0.88s, was probed next at 1.58s by
// growth alone and found taken there: half a window lost of a 3s run.
// Past the end by what a counter that weighs its previous period
// (HAProxy) needs before it gives the burst's first request back
// (R(2 - L/B) with the burst's refused requests and the probes counted in
// B, bareAccepted), and by 2% of the window for the probe's travel (the
// server's window starts at our first request's arrival, the probe's may
// come later); a fixed window or a log takes it there too: at 1.13s for
// that window. Refused, the probe at d goes as it would have: a 429 more
// where the window is not round. Not where the refused requests are many
// beside the quota (bareRoundWeigh): a probe that late saves little over
// growth's and costs the 429s of the round lengths refused on the way
// (HAProxy at 20 per 2s in the simulation, 8 workers: 564 -> 608 429s
// over 40 runs without this gate, 575 with it).
func (b *bareWindow) roundProbe(prev, d time.Duration) (at, window time.Duration, ok bool) {
	// B counts the probe itself too: later by a thousandth of R.
	weigh := b.weighing(b.quota + b.refused + 1)
	if weigh > bareRoundWeigh {
		return 0, 0, false
	}
	for _, w := range roundWindows {
		t := time.Duration(float64(w)*weigh) + w/50
		if t >= d {
			break
		}
		if w > prev {
			// Its end not yet passed by a probe.
			at, window, ok = t, w, true
		}
	}
	return at, window, ok
}

// until is the pause from now until the probe: it ends a pace interval
// before the probe's offset, as the pacer starts empty after a pause and
// the probe leaves an interval after it ended. Where the server decides
// late too: the pause ended at the offset there, and each probe left a
// quarter of its offset late (a one-thread server at 2.5ms a request,
// 100 per 1s: probes at 1.44, 2.9 and 5.2 times the burst's length, not
// 1.15, 2.3 and 4.1, the window found taken at 1.3s, 0.73 of the ideal;
// 0.88 once they left on time).
func (b *bareWindow) until(now time.Time) time.Duration {
	return max(b.start.Add(b.probe-b.lead).Sub(now), 0)
}

// weighing is when a counter that weighs its previous period (HAProxy)
// gives the burst's first request back, in periods from the burst: 2 -
// L/B, with counted of our requests, refused ones included, in B
// (bareAccepted).
func (b *bareWindow) weighing(counted int) float64 {
	return 2 - float64(b.quota)/float64(counted)
}

// grow is the offset of the probe after one refused at d: bareProbeGrowth
// times later, but before the end of a second period for a counter that
// weighs its previous period. Refused at d, such a counter's period is
// longer than d/(2 - L/B) (bareAccepted); a probe at or past twice that
// lands in a third period, the second one spent empty: the whole window
// it would have taken is lost (HAProxy at 100 per 1s refused a probe at
// 1.04s, just before it gave the first request back at 1.07s, and the
// next one at 2.09s found a period holding nothing, the run 0.5 of the
// ideal instead of 0.7).
func (b *bareWindow) grow(d time.Duration) time.Duration {
	if d < bareProbeCapFrom {
		return bareProbeGrowth * d
	}
	limit := 2 / b.weighing(b.held) * bareProbeSafe
	return time.Duration(float64(d) * max(min(bareProbeGrowth, limit), bareProbeMinGrowth))
}

// bareRefused reads a hint-less refusal at now while the bare-window
// model is on and returns the pause.
func (a *adaptive) bareRefused(now time.Time, backoff time.Duration) time.Duration {
	b := a.bare
	b.refused++
	if b.hi > 0 {
		b.refusedLast, b.refusedSent = true, a.refusal
		if pause, ok := a.bareEdgeAnswer(a.refusal, now, false); ok {
			// Refused: the window ends later, as the pause assumed.
			return pause
		}
	}
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
		at := b.probe
		if rs := a.refusedSent; !rs.IsZero() {
			if rs.Before(b.began) {
				// One of the burst, answered after the first refusal:
				// the probe is still to go.
				return b.until(now)
			}
			// The probe may have left before its offset (the pace's
			// interval was free): it bounds the window where it left.
			at = min(at, rs.Sub(b.start))
		}
		first := b.lo == 0
		b.lo = max(b.lo, at)
		b.d0 = b.lo
		if b.skel > b.probe {
			// Not the round window: the probe growth gave goes.
			return b.aim(a, now, b.skel, b.skel/4)
		}
		if first {
			b.held = b.quota + b.refused
			if b.slow {
				return b.next(a, now, bareSlowGrowth*b.probe)
			}
			return b.next(a, now, 4*b.probe)
		}
		return b.next(a, now, b.grow(b.probe))
	}
	if pause, ok := a.bareRefit(now); ok {
		return pause
	}
	return a.bareMissed(now)
}

// bareMissed reads a refusal at now while paced evenly that no fit
// explains, and returns the pause.
func (a *adaptive) bareMissed(now time.Time) time.Duration {
	b := a.bare
	// Paced and refused: the window is longer than hi. Wait a whole one,
	// so everything refused meanwhile has aged out, and pace by a longer:
	// the last one that held, if any.
	b.edgeFrom = time.Time{}
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
	if !b.rideFrom.IsZero() {
		// But a log still holds the ride, sent faster than any pace:
		// it gives it back only a window after it began.
		pause = max(pause, b.rideFrom.Add(b.hi).Sub(now))
	}
	b.since = now.Add(pause)
	if edge, ok := a.bareEdge(now, pause); ok {
		return edge
	}
	return pause
}

// bareEdge splits the pause after a ride's search was refused at now
// (the pause that waits until a log has given the ride back) with one
// probe, the edge probe, in its middle. It reports the pause until it,
// or false where the pause is not worth splitting.
//
// A fixed window opened at the first accepted probe (offset d1) and the
// ride filled it; this refusal says it had not ended by the refused
// request's send, and the pause ran to the longest window that held (d1,
// up to twice the window). No request went between, so the first taken
// after the pause said nothing of where the window had ended, and the
// fit's fixed windows stayed bounded by d1 alone: 100 per 1s was handed
// to the fixed window's pacing with bounds of 0.94-1.31s, which the four
// windows of 400 rows bisected to 1.22-1.26s (pinned 0.79-0.82). A log
// and a fixed window give back the ride's first request alike, a window
// after it went: one probe halfway between the refusal and the pause's
// end tells on which side the window ends, at one 429 where it is
// refused (the pause then goes on to its end). Taken, it is where the
// trial for a fixed window goes (bareFixedOpened), and a fixed window's
// next window opens there. Once a run, and not where the request after
// it would leave before its answer is back.
//
// A log taken as a fixed window on the old path (its trial came after
// the pause, when it had given back the whole ride, and it took the
// quota whole) refuses this earlier trial and is paced by the search by
// bounds, from the probe's offset (bareFromFixed): slower than the fixed
// window's pacing, under which a log takes each window's quota at once.
func (a *adaptive) bareEdge(now time.Time, pause time.Duration) (time.Duration, bool) {
	b := a.bare
	if b.edged || b.rideFrom.IsZero() || b.d1 <= 0 || a.refusal.IsZero() {
		return 0, false
	}
	base := b.start.Add(b.d1)
	end := now.Add(pause)
	lo, hi := a.refusal.Sub(base), end.Sub(base)
	if lo <= 0 || float64(hi) <= float64(lo)*(1+bareWide) {
		return 0, false
	}
	// The pause before it lasts until the answers still in flight are
	// back (they are read as the pause's, not the probe's), the probe
	// leaves a pace interval after it and the next request an interval
	// later, once the probe's answer is back.
	at := base.Add((lo + hi) / 2)
	rtt := a.bareRTT()
	gap := min(end.Sub(at), at.Sub(now)/2)
	if gap < max(bareEdgeGap, 2*rtt) || at.Add(-gap).Sub(now) < max(time.Duration(bareSettle/a.pace*float64(time.Second)), 2*rtt) {
		return 0, false
	}
	b.edged = true
	b.edgeFrom, b.edgeEnd, b.edgePace = now, end, a.pace
	a.pace = 1 / gap.Seconds()
	a.repace = true
	return at.Add(-gap).Sub(now), true
}

// bareEdgeGap is the least time the edge probe has before the request
// after it would leave.
const bareEdgeGap = 10 * time.Millisecond

// bareRTT is the accepted requests' median round trip so far.
func (a *adaptive) bareRTT() time.Duration {
	var rtts []time.Duration
	for _, x := range a.bareLog {
		if x.ok && !x.sent.IsZero() && !x.recv.IsZero() {
			rtts = append(rtts, x.recv.Sub(x.sent))
		}
	}
	if len(rtts) == 0 {
		return 0
	}
	slices.Sort(rtts)
	return rtts[len(rtts)/2]
}

// bareEdgeAnswer reads the edge probe's answer, of a request sent at
// sent: the pace before it again, and for a refusal the rest of the
// pause it split (the second return). It reports false for another
// request's answer.
func (a *adaptive) bareEdgeAnswer(sent, now time.Time, ok bool) (time.Duration, bool) {
	b := a.bare
	if b.edgeFrom.IsZero() || sent.IsZero() || sent.Before(b.edgeFrom) {
		return 0, false
	}
	b.edgeFrom = time.Time{}
	a.pace = b.edgePace
	a.repace = true
	if ok {
		b.since = sent
		b.edgeBound = sent.Sub(b.start.Add(b.d1))
		return 0, true
	}
	return max(b.edgeEnd.Sub(now), 0), true
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
		if hold, ok := a.bareRide(sent); ok {
			return true, hold
		}
		a.measured = b.pace()
		a.pace = b.pace()
		a.repace = true
		// The probe and this request are in the window as well: the
		// pace starts two intervals on, so that none of it is refused.
		return true, time.Duration(2 / a.pace * float64(time.Second))
	}
	if b.hi > 0 {
		a.bareEdgeAnswer(sent, a.lastRecv, true)
		if b.refusedLast && !b.riding && sent.After(b.refusedSent) {
			b.refusedLast = false
			if a.bareFixedOpened(sent) {
				return true, 0
			}
		}
		if !b.riding && !b.fit.ok {
			b.shorten(a, sent)
		}
		return true, 0
	}
	if sent.Before(b.began) || sent.Before(b.start.Add(b.probe/2)) {
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
	b.d1 = sent.Sub(b.start)
	b.lo = time.Duration(float64(b.lo) / b.weighing(b.quota+b.refused))
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

// bareRide starts the ride once the request after the first accepted
// probe was taken too, at sent: the pool sends at twice the quota per the
// shortest window the probes allow (no more than three times per the
// longest), which a window refuses once the run has caught up with what
// it gave back since the burst. It returns the hold before the ride's
// first request.
func (a *adaptive) bareRide(sent time.Time) (time.Duration, bool) {
	b := a.bare
	if b.d0 <= 0 || b.d1 <= b.d0 {
		return 0, false
	}
	b.riding = true
	b.mid, b.rideFrom, b.fitLo = b.hi, sent, b.lo*19/20
	a.pace = b.ridePace(b.lo, b.d1)
	a.measured = b.pace()
	a.repace = true
	return time.Duration(float64(time.Second) / a.pace), true
}

// ridePace is the pace of a ride: twice the quota per the shortest window
// lo, but no more than three times per the longest, hi.
func (b *bareWindow) ridePace(lo, hi time.Duration) float64 {
	return math.Min(2*float64(b.quota)/lo.Seconds(), 3*float64(b.quota)/hi.Seconds())
}

// bareRefit fits the answers at a refusal at now, once the ride began,
// and paces by the fit: the quota per the longest window that explains
// every answer (a request less where a counter that weighs exactly may
// be the one, as it rounds against us), from when all the candidates
// take the requests at that pace. While the lengths that explain the
// answers differ by more than bareWide, the pool rides again (at most
// bareRides times). ok is false when the fit cannot be paced by (no
// window explains the answers, or a log may, whose length a ride does
// not show): the search by bounds goes on from where the probes left it.
func (a *adaptive) bareRefit(now time.Time) (time.Duration, bool) {
	b := a.bare
	if !b.riding && !b.fit.ok {
		return 0, false
	}
	lo, hi := b.fitLo, b.d1+b.d1/20
	if b.fit.ok {
		lo, hi = min(lo, b.fit.lo), max(hi, b.fit.hi*3/2)
	}
	j := &bareFitJob{answers: a.bareFitAnswers(), quota: b.quota, lo: lo, hi: hi, now: now, aligned: !b.riding, b: b, refusal: true}
	if !a.fitOff {
		return a.bareRefitWith(now, j.run())
	}
	j.answers = slices.Clone(j.answers)
	j.then = func(fit bareFitResult) time.Duration {
		if pause, ok := a.bareRefitWith(now, fit); ok {
			return pause
		}
		return a.bareMissed(now)
	}
	a.fitJob = j
	return 0, true
}

// bareRefitWith paces by fit, the answers' fit at a refusal at now
// (bareRefit).
func (a *adaptive) bareRefitWith(now time.Time, fit bareFitResult) (time.Duration, bool) {
	b := a.bare
	wasRiding := b.riding
	b.riding = false
	// Where a counter explains the answers too and every fixed window
	// that does is more than bareFixedFar times the shortest the fit
	// allows, the pool rides again before the fixed window's pacing
	// takes over (rideAgain): paced so, the quota at windows more than
	// twice the counter's period apart, the counter has emptied its
	// previous period each time and never refutes the fixed window.
	rideAgain := wasRiding && b.rides < bareRides && fit.ok && fit.fixedFar()
	if fit.ok && fit.fixed() && !fit.models[fitLog] && !b.notFixed && !rideAgain {
		if pause, ok := a.bareToFixed(now, fit, wasRiding); ok {
			return pause, true
		}
	}
	wide := float64(fit.hi) > float64(fit.lo)*(1+bareWide)
	if wasRiding && fit.ok && !fit.models[fitLog] && wide && b.rides < bareRides {
		// Too wide to pace by: ride once more, once the window took
		// what the first ride sent.
		b.rides++
		b.riding = true
		b.fit = fit
		a.pace = b.ridePace(fit.lo, fit.hi)
		a.repace = true
		pace := math.Max(float64(fit.quota)-1, 1) / fit.hi.Seconds()
		return fit.clearFrom(pace, fit.hi).Sub(now), true
	}
	tryLog := wasRiding && fit.ok && fit.models[fitLog] && (!fit.fixed() || b.notFixed) && !a.logOff
	if !fit.ok || (fit.models[fitLog] && fit.hi > b.mid) || tryLog {
		b.fit = bareFitResult{}
		if !wasRiding {
			return 0, false
		}
		if tryLog {
			// A log may be the server, and no fixed window (none
			// explains the answers, or one was refuted): the Limiter
			// paces by its places (bareLogPacer). The search by bounds
			// below takes over should a request paced so be refused.
			b.askLog(a, max(fit.hi, b.d1+a.bareRTT()))
		}
		// Back to the search by bounds, after a pause as long as the
		// ride and until a log of the window it tries has given the ride
		// back (a window after the ride began): a refusal then is the
		// search's own, and counts as one of its misses. Resumed after
		// the ride's length alone, a log of 100 per 1s refused the
		// ride's leftovers two or three times in a row, which ended the
		// search at 40-50/s.
		b.hi = b.mid
		a.measured = b.pace()
		a.pace = b.pace()
		a.repace = true
		b.since = now
		return max(now.Sub(b.rideFrom), b.rideFrom.Add(b.hi).Sub(now)), true
	}
	if !wasRiding {
		// Refused at the fitted pace: whatever the answers say now, the
		// window is no shorter than the one paced by.
		fit.hi = max(fit.hi, b.fit.hi+b.fit.hi/100)
	}
	b.fit = fit
	b.lo, b.hi = fit.lo, fit.hi
	spare := 0.0
	if fit.exactly {
		spare = 1
	}
	// What is learned is a little under the window's rate too: a pinned
	// run (Stats.Pinned, a little under what is learned) cannot react to
	// the server's jitter as this one can, and HAProxy refused two of 400
	// requests pinned at 0.97 of its rate.
	rate := math.Max(float64(fit.quota)-spare, 1) / fit.hi.Seconds()
	a.pace = rate * bareFitMargin
	a.measured = rate * bareLearnMargin
	a.repace = true
	b.since = now
	// The requests still in flight count too: one interval more.
	pause := fit.clearFrom(a.pace, fit.hi).Sub(now) + time.Duration(float64(time.Second)/a.pace)
	return pause, true
}

// fixed reports whether a fixed window explains the answers, opened by
// our requests or on a grid.
func (f bareFitResult) fixed() bool {
	return f.models[fitFixed] || f.models[fitGrid]
}

// fixed reports whether the candidate is a fixed window's.
func (c fitCandidate) fixed() bool {
	return c.model == fitFixed || c.model == fitGrid
}

// fixedFar reports whether a counter explains the answers as well as a
// fixed window, every fixed window that does more than bareFixedFar times
// the fit's shortest.
func (f bareFitResult) fixedFar() bool {
	if !f.fixed() || !(f.models[fitFirst] || f.models[fitAligned]) {
		return false
	}
	for _, c := range f.cands {
		if c.fixed() && float64(c.w) <= float64(f.lo)*bareFixedFar {
			return false
		}
	}
	return true
}

// bareFitAnswers is what the fit replays: the answers, and the requests
// still in flight (recv zero). Behind a backend that answers the requests
// it takes later than the server refuses (a proxy, express-rate-limit
// passing them on), a refusal comes while requests sent before it and
// taken are still on their way back: without them a fixed window of 100
// per 1s counted 93 where it refused, and only a counter that weighs its
// previous period explained the answers (paced as a sliding window, 0.4
// of the ideal).
func (a *adaptive) bareFitAnswers() []bareAnswer {
	if len(a.open) == 0 {
		return a.bareLog
	}
	answers := slices.Clip(a.bareLog)
	for _, t := range a.open {
		answers = append(answers, bareAnswer{sent: t})
	}
	return answers
}

// bareFitJob is a fit of the answers: the Limiter runs it off its lock
// where fitOff is set (limiter.go, runFit), then calls then with the lock
// held again. While it runs, no request leaves and the answers that come
// wait to be read in order, stamped as they came: as if the fit took no
// time at all, which the simulation's clock, where it runs at once, says.
type bareFitJob struct {
	answers []bareAnswer
	quota   int
	lo, hi  time.Duration
	now     time.Time
	aligned bool
	// b is the model it was asked for: a result for another is dropped.
	b *bareWindow
	// refusal says it was asked at a refusal at now: then's result is
	// the pause. Else at an acceptance, and then repaces.
	refusal bool
	then    func(bareFitResult) time.Duration
}

func (j *bareFitJob) run() bareFitResult {
	return fitBare(j.answers, j.quota, j.lo, j.hi, j.now, j.aligned)
}

// bareLogMax bounds the answers kept for the fit.
const bareLogMax = 2048

// noteBare keeps an answer for the fit while the bare-window model may
// start or is on. sent is a refusal's send time where Done gave it
// (refusedSent), zero where the refusal came without one.
func (a *adaptive) noteBare(sent, recv time.Time, ok bool) {
	gone := a.signs > 0 && a.bare == nil && a.bareBack == nil
	if a.counterMax > 0 || a.limitSaid > 0 || a.win != nil || gone || len(a.bareLog) >= bareLogMax {
		if gone {
			a.bareLog = nil
		}
		return
	}
	a.bareLog = append(a.bareLog, bareAnswer{sent: sent, recv: recv, ok: ok})
}

// bareToFixed hands a bare server whose answers a fixed window explains
// (express-rate-limit with its headers off: a window opened by the first
// request after the last one ended, refusing the rest of it, its quota
// back whole at its end) to the Retry-After window model, without a
// claim: each window is an opener and, once it is taken, the rest of the
// quota at once, the length bisected between the fit's bounds. Until the
// first window opened after the hand-over has taken its whole quota one
// request at a time (verify), a refusal gives the server back to the
// bare-window model, the fixed window ruled out (bareFixedRefused). It
// reports false when the fit holds no fixed window's state to time the
// next from.
func (a *adaptive) bareToFixed(now time.Time, fit bareFitResult, wasRiding bool) (time.Duration, bool) {
	var lo, hi time.Duration
	var st fitState
	for i, c := range fit.cands {
		if !c.fixed() {
			continue
		}
		lo = least(lo, c.w)
		if c.w >= hi {
			hi, st = c.w, fit.states[i]
		}
	}
	if hi == 0 || st.start.IsZero() {
		return 0, false
	}
	b := a.bare
	b.wasRiding = wasRiding
	b.wasPace, b.wasMeasured = a.pace, a.measured
	r := &raWindow{quota: fit.quota, start: b.start, startRecv: b.start, began: b.start,
		lo: max(lo-time.Millisecond, 0), hi: hi, bare: true, from: now, verify: true}
	// The window in force opened at the arrival of its first request,
	// which the fit estimates (on a grid, at the period's boundary); what
	// it took is its quota.
	r.openSent, r.openRecv, r.before = st.start, st.start, st.start
	r.accepted = fit.quota
	r.plan()
	a.ra, a.bareBack, a.bare = r, b, nil
	return max(r.at.Sub(now), 0), true
}

// bareFixedRefused reads a hint-less refusal at now while a bare server
// is paced as a fixed window, and returns the pause; backoff is the pause
// a refusal without a hint gets otherwise. A request sent after the
// verifying opener refused, or a refusal the window model does not
// explain, gives the server back to the bare-window model.
func (a *adaptive) bareFixedRefused(now time.Time, backoff time.Duration) time.Duration {
	r := a.ra
	if r.opener.IsZero() {
		switch {
		case a.refusal.Before(r.from):
			// What was in flight at the hand-over.
			return max(r.at.Sub(now), 0)
		case r.verify && !r.verifyFrom.IsZero() && !a.refusal.Before(r.verifyFrom):
			return a.bareFromFixed(now, backoff)
		case !r.verify:
			// One of a window's quota, sent once its opener was taken:
			// a fixed window verified takes them all, a sliding counter
			// that took a window's quota one at a time may not. The
			// Retry-After window model would cut the quota to what was
			// taken and pace on (HAProxy at 15 per 150ms with stalled
			// answers: a fixed window of 4, 0.26).
			return a.bareFromFixed(now, backoff)
		}
	}
	pause, ok := a.raRefused(now, 0)
	if !ok {
		return a.bareFromFixed(now, backoff)
	}
	return pause
}

// bareFromFixed gives the server back to the bare-window model at a
// refusal at now, the fixed window ruled out: the fit takes up the
// answers again, this refusal with them.
func (a *adaptive) bareFromFixed(now time.Time, backoff time.Duration) time.Duration {
	b := a.bareBack
	r := a.ra
	a.ra, a.bareBack, a.bare = nil, nil, b
	b.notFixed = true
	if !b.wasRiding {
		// Refuted at the first acceptance after refusals while
		// paced evenly (bareFixedOpened): the pacing goes on where it
		// was, once the pace has made up for the requests that went
		// one at a time.
		b.refused++
		b.since = now
		a.pace, a.measured = b.wasPace, b.wasMeasured
		logHi := b.d1 + a.bareRTT()
		if e := b.edgeBound; e > b.lo && e < b.hi {
			// The edge probe was taken: a log gave back the ride's
			// first request by then.
			b.hi = e
			a.pace, a.measured = b.pace(), b.pace()
			logHi = min(logHi, e+a.bareRTT())
		}
		if !a.logOff {
			// A log, most likely: the Limiter paces by its places,
			// the search by bounds taking over should a request paced
			// so be refused.
			b.askLog(a, logHi)
		}
		a.repace = true
		// Since the window's opener: verifyFrom while on trial, cleared
		// once the window was taken whole.
		from := r.verifyFrom
		if from.IsZero() {
			from = r.openSent
		}
		n := 1
		for i := len(a.bareLog) - 1; i >= 0 && !from.IsZero() && !a.bareLog[i].recv.Before(from); i-- {
			n++
		}
		return time.Duration(float64(n) / a.pace * float64(time.Second))
	}
	// At a ride's refusal: the fit takes up the answers again, this
	// refusal with them, and the search by bounds that follows a ride
	// pauses as long as the ride took, as long as at the hand-over.
	b.riding = true
	b.rideFrom = now.Add(-r.from.Sub(b.rideFrom))
	return a.bareRefused(now, backoff)
}

// bareFixedOpened reads the first acceptance, of a request sent at sent,
// after refusals while the bare-window model paces: where a fixed window
// explains the answers, one opened then. A log explains the same answers
// (paced evenly, it gives back what it took as a fixed window does), but
// no faster than it took them: the rest of the quota goes one request
// at a time (a round trip each), which a fixed window takes and a log
// refuses (bareFixedRefused gives it back). Not where a sliding counter
// explains the answers too: one that weighs its previous period gives
// back a few at a time and may take the rest of the quota one by one, and
// the trial cost HAProxy at 15 per 150ms with stalled answers a 429 and
// 0.02 of the ideal a run. It reports whether the fixed window's pacing
// took over.
func (a *adaptive) bareFixedOpened(sent time.Time) bool {
	b := a.bare
	if b.notFixed || b.d1 <= 0 {
		return false
	}
	now := a.lastRecv
	lo := b.lo * 19 / 20
	if b.fitLo > 0 {
		lo = min(lo, b.fitLo)
	}
	if lo <= 0 {
		return false
	}
	// The requests sent after this one and still in flight count in the
	// window it opened: at a round trip of 5-20ms (a busy machine, a
	// server on one thread) one or two at the old pace, and the trial
	// sending the quota's rest on top of them was refused its last and
	// took a fixed window for a log (express-rate-limit at 100 per 1s).
	inFlight := 0
	for _, t := range a.open {
		if t.After(sent) {
			inFlight++
		}
	}
	j := &bareFitJob{answers: a.bareFitAnswers(), quota: b.quota, lo: lo, hi: b.d1 + b.d1/20, now: now, b: b}
	if !a.fitOff {
		return a.bareFixedWith(sent, now, inFlight, j.run())
	}
	// Off the lock: what bareAccepted does when no fixed window took
	// over waits for the fit too.
	j.answers = slices.Clone(j.answers)
	j.then = func(fit bareFitResult) time.Duration {
		if !a.bareFixedWith(sent, now, inFlight, fit) && !b.riding && !b.fit.ok {
			b.shorten(a, sent)
		}
		return 0
	}
	a.fitJob = j
	return true
}

// bareFixedWith hands the server to the fixed window's pacing if fit,
// the answers' fit at the acceptance at now of a request sent at sent
// after refusals, says a fixed window opened then (bareFixedOpened);
// inFlight is how many requests sent after it were in flight.
func (a *adaptive) bareFixedWith(sent, now time.Time, inFlight int, fit bareFitResult) bool {
	if !fit.ok || !fit.fixed() || fit.models[fitFirst] || fit.models[fitAligned] {
		return false
	}
	if _, ok := a.bareToFixed(now, fit, false); !ok {
		return false
	}
	r := a.ra
	r.from, r.verifyFrom, r.out = sent, sent, 0
	r.open(sent, now)
	r.rest = max(r.quota-1-inFlight, 0)
	r.plan()
	r.wake = true
	a.repace = true
	return true
}

// askLog asks the Limiter to pace by a log's places (bareLogPacer), its
// window no longer than hi, and longer than the probes' bound below: the
// last refused probe's offset, less a round trip (the burst's first
// request reached the server up to one after it left).
func (b *bareWindow) askLog(a *adaptive, hi time.Duration) {
	b.logLo, b.logHi = max(b.d0-a.bareRTT(), 0), hi
}

// bareLogPacer paces a log the bare-window model found possible by its
// places (logPacer), at now: the window at the probes' bound above, which
// the pacer's trials narrow from the bound below. Every request answered
// less than that window ago holds its place, refused or not (a log may
// count refusals), and so does every one still on its way. nil where the
// model asks for none.
func (a *adaptive) bareLogPacer(now time.Time, open []time.Time) *logPacer {
	b := a.bare
	if b == nil || b.logHi <= 0 || a.logOff {
		return nil
	}
	hi := b.logHi
	b.logHi = 0
	if len(a.bareLog) >= bareLogMax {
		// The answers kept end before now: the places are not known.
		return nil
	}
	p := newLogPacer(b.quota, hi)
	p.lo = b.logLo
	for _, x := range a.bareLog {
		if x.recv.IsZero() {
			continue
		}
		// A refusal whose send is not known (its answer came a
		// second or more after it) left before its answer.
		sent := x.sent
		if sent.IsZero() {
			sent = x.recv
		}
		p.hold(now, sent, x.recv, !x.ok)
	}
	p.holdOpen(open)
	return p
}
