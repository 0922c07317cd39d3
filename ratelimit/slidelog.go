package ratelimit

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// A sliding window whose counter is a log (Flask-Limiter's moving window,
// a sorted set of request times in Redis, Caddy's rate_limit) counts each
// request for exactly its window W and then gives it back whole: its
// quota L spent at once comes back at once a window later. Paced by a
// --rate alone, such a server's run takes N/(L/W); sent by place, each
// request a window after the one whose place it takes (logPacer), it
// takes (ceil(N/L)-1)*W, the least any client can: 400 rows through 100
// per 1s in 3s, not 4. A fixed window's schedule (--window fixed) is not
// that: a window's requests sent one at a time may come closer than a
// window to the ones they follow, and a log refuses those.
//
// A counter that weighs its previous period (go-chi/httprate's, HAProxy's)
// reads as a log while the pace is steady, and refuses what a fixed window
// sends: L at once, a window after L went at once, weighs nearly the whole
// first L. So a log is told apart by what its counter said after the pace
// changed. Every reading of a log names the window: the L-1-left of our
// accepted requests before it still counted lie within W of it, and the
// one before them no longer does. Those spans bound W from each reading
// (logReading); a log's bounds all overlap. And replayed over our send
// times, a counter over periods of W (from the first request, the
// previous one's weight rounded down, HAProxy's; or on the clock at any
// phase, weighed exactly, httprate's) must say other than it did where
// the pace changed (logNotCounter).

// logMinReadings is how many counter readings that bound the window
// from above (some request of ours had left it) logWindow needs, and a
// quota's worth where that is fewer (at least 10): a second window's
// readings, a log of 10 per 1s with 2 workers told in its third second
// rather than its fourth. A log's first readings after its first burst
// went back tell it: the places come back in that burst's shape, a
// counter's weighed over its whole period. logAgree is the share of all
// readings whose bounds on the window must overlap (a request sent just
// before another may reach the server just after it, which shifts a
// reading's span by one request).
const (
	logMinReadings = 20
	logAgree       = 0.95
	// logCrowd is how many requests beyond its count crowdedReading
	// reads back, or sent in a request's flight, before it weakens a
	// bound rather than read on.
	logCrowd = 64
	// logStepMin is the fewest answers between two looks for a log
	// (tryLog), which looks again after the larger of a tenth of the
	// quota and an eighth of the answers kept (up to a quota).
	logStepMin = 4
	// logRefusedAfter is how many looks whose readings told no log,
	// with requests refused, tryLog makes before it reads them with the
	// refused requests among ours too (withRefused).
	logRefusedAfter = 5
	// logPhases is how many phases of a counter on the clock
	// logNotCounter replays, and logCounterMiss how many more readings
	// than the log each must contradict.
	logPhases      = 20
	logCounterMiss = 3
	// logGridFrom is how many windows the readings span from where
	// logNotCounter replays the counters at periods up to logPeriodRange
	// (a share of the window) either side of it too, each a step off
	// drifting logDrift of a period over the readings, in logGridSteps
	// steps at most either side.
	logGridFrom    = 8
	logPeriodRange = 0.03
	logDrift       = 0.1
	logGridSteps   = 12
	// logJitter is how far from our send times the server's may lie
	// apart: paced by its places, a log's readings lie within a
	// millisecond of its window, one way or the other.
	logJitter = 2 * time.Millisecond
	// logNoBound is a reading's bound above where no request of ours
	// had yet left its window: far beyond any, with room for logJitter.
	logNoBound = time.Duration(math.MaxInt64 / 2)
)

// logReading is what one counter reading says of a log's window: longer
// than in (the oldest of ours it counted, 0 when it counted none), no
// longer than out (the latest of ours it no longer counted).
type logReading struct {
	at      time.Time
	used    int
	in, out time.Duration
}

// logWindow reports the window of the log that the counter readings in
// seen (accepted requests, in send order, with what each answer said was
// left) show, for a quota of quota: the longest window every reading but
// a few allows. Requests still on their way when it looks left from open
// on (zero: none). ok is false when too few readings said, when they do
// not agree on a window (no log, or not ours alone), or when a counter
// over periods of that length explains them as well (logNotCounter).
func logWindow(seen []seenSend, quota int, open time.Time) (time.Duration, bool) {
	f := logFit(seen, quota, open)
	return f.hi, f.ok
}

// withRefused is seen (accepted requests in send order) with the refused
// requests of refused among them, as requests that said nothing: for a
// log that counts what it refuses, each reading's count of ours is of
// both.
func withRefused(seen []seenSend, refused []refusal) []seenSend {
	all := make([]seenSend, 0, len(seen)+len(refused))
	all = append(all, seen...)
	for _, r := range refused {
		all = append(all, seenSend{at: r.sent, recv: r.recv, left: -1})
	}
	slices.SortStableFunc(all, func(x, y seenSend) int { return x.at.Compare(y.at) })
	return all
}

// logFitted is what logFit made of a counter's readings: the bounds where
// ok; agree of total readings (those that bound the window, and those no
// window allows) agreeing on them, both 0 where they were not judged (too
// few bounded the window, or one showed more left than a log of the quota
// holds).
type logFitted struct {
	lo, hi       time.Duration
	agree, total int
	ok           bool
}

// better reports whether f's readings agree on a window in a larger share
// than g's.
func (f logFitted) better(g logFitted) bool {
	return f.total > 0 && (g.total == 0 || f.agree*g.total > g.agree*f.total)
}

// logFit is logWindow with the shortest window most readings allow too
// (lo; logWindow's is hi): not a sure bound below, since a few readings
// may disagree, but only where the log pacer's trials start (logPacer); a
// trial taken under it ends the trials, the window left at the bound
// above. And how well the readings agree.
func logFit(seen []seenSend, quota int, open time.Time) logFitted {
	if quota < 2 || len(seen) == 0 {
		return logFitted{}
	}
	rs := make([]logReading, 0, len(seen))
	odd := 0
	// Send and answer times as nanoseconds since our first send, for
	// crowdedReading, and latest[k] the latest answer of the first k+1:
	// none sent before them was answered later.
	t0 := seen[0].at
	at, recv, latest := make([]int64, len(seen)), make([]int64, len(seen)), make([]int64, len(seen))
	for i, s := range seen {
		at[i], recv[i] = int64(s.at.Sub(t0)), int64(s.recv.Sub(t0))
		latest[i] = recv[i]
		if i > 0 {
			latest[i] = max(latest[i], latest[i-1])
		}
	}
	var heap []int64
	for i, s := range seen {
		if !s.said {
			continue
		}
		used := quota - 1 - s.left
		if used < 0 {
			// More left than a log of quota holds besides this one.
			return logFitted{}
		}
		if crowded(seen, i) {
			// Another of ours left within logJitter of it: either may
			// have reached the server first (a pool's burst). Read by
			// what each request's flight allows.
			if !open.IsZero() && s.recv.After(open) {
				// A request still on its way may have reached the
				// server before this one and is not in seen.
				continue
			}
			in, out, ok := crowdedReading(at, recv, latest, i, used, &heap)
			if !ok {
				odd++
				continue
			}
			rs = append(rs, logReading{at: s.at, used: used, in: in, out: out})
			continue
		}
		j := i - used
		if j < 0 {
			// More counted than we had sent: another client's, or
			// ours reordered on the way (one sent just after this one
			// reached the server first).
			odd++
			continue
		}
		r := logReading{at: s.at, used: used, out: logNoBound}
		if used > 0 {
			r.in = s.at.Sub(seen[j].at)
		}
		if j > 0 {
			r.out = s.at.Sub(seen[j-1].at)
		}
		rs = append(rs, r)
	}
	told := 0
	for _, r := range rs {
		if r.out < logNoBound {
			told++
		}
	}
	if told < min(logMinReadings, max(10, quota)) {
		return logFitted{}
	}
	lo, hi, agree := logBest(rs)
	f := logFitted{agree: agree, total: len(rs) + odd}
	if float64(agree) < logAgree*float64(f.total) {
		return f
	}
	if !logNotCounter(seen, rs, quota, (lo+hi)/2) {
		return f
	}
	// The longest window the readings allow, and logJitter: a log no
	// longer than that has let a request go a window after it took it,
	// however our send times lie from the server's.
	f.lo, f.hi, f.ok = max(lo-logJitter, 0), hi+logJitter, true
	return f
}

// crowdedReading is what the counter reading of the i-th of our accepted
// requests (sent at at, answered at recv, in nanoseconds, sorted by at;
// latest[k] the latest answer of the first k+1), sent in a crowd, says of
// a log's window however the server ordered the crowd: each request
// reached it somewhere in its flight, between when it left and when its
// answer came. The log of a window w counted used of ours before the
// i-th. It surely counted a request answered before the i-th left and
// sent within w of its answer: so w is no longer than out, when the
// (used+1)-th latest of those left. It can have counted only a request
// sent before the i-th's answer came and answered within w of its
// leaving: so w is longer than in, when the used-th latest answer among
// those came before the i-th left. Each bound is weakened rather than
// read past logCrowd requests beyond used (each look reads every
// reading: no look may take long, whatever the quota or one slow answer),
// in to 0 at worst. ok is false when no window allows it. heap is room
// it reuses.
func crowdedReading(at, recv, latest []int64, i, used int, heap *[]int64) (in, out time.Duration, ok bool) {
	out = logNoBound
	sure := 0
	for k := i - 1; k >= max(0, i-used-logCrowd); k-- {
		if recv[k] < at[i] {
			if sure++; sure > used {
				out = time.Duration(recv[i] - at[k])
				break
			}
		}
	}
	if used == 0 {
		return 0, out, true
	}
	// The requests sent before the i-th's answer came: up to top.
	top := i
	for top+1 < len(at) && at[top+1] < recv[i] {
		if top-i == logCrowd {
			// More than logCrowd sent in its flight: any of many may
			// have come first.
			return 0, out, true
		}
		top++
	}
	if top < used {
		// Fewer of ours than it counted.
		return 0, 0, false
	}
	// latest answer: no later than any of the used latest answers among
	// them (all but used-1 of them, i aside, were answered by then).
	var least int64
	if used > logCrowd {
		// All but used-1 of them, i aside: those up to j.
		j := top - used + 1
		if i >= j {
			j--
		}
		if j < 0 || i <= j {
			return 0, out, true
		}
		least = latest[j]
	} else {
		// The used latest answers among them: a min-heap, read down
		// until no earlier request was answered later than its least,
		// or logCrowd past used.
		h := (*heap)[:0]
		k := top
		for ; k >= 0 && k >= i-used-logCrowd; k-- {
			if k == i {
				continue
			}
			if len(h) == used && latest[k] <= h[0] {
				break
			}
			h = heapKeep(h, used, recv[k])
		}
		*heap = h
		if len(h) < used {
			return 0, 0, false
		}
		least = h[0]
		if k >= 0 && latest[k] > least {
			// Cut short: one before may have come later.
			least = latest[k]
		}
	}
	in = max(time.Duration(at[i]-least), 0)
	return in, out, in < out
}

// heapKeep keeps the n latest times in the min-heap h: t goes in when h
// has room or t is later than its least.
func heapKeep(h []int64, n int, t int64) []int64 {
	switch {
	case len(h) < n:
		h = append(h, t)
		for c := len(h) - 1; c > 0; {
			p := (c - 1) / 2
			if h[c] >= h[p] {
				break
			}
			h[c], h[p] = h[p], h[c]
			c = p
		}
	case t > h[0]:
		h[0] = t
		for p := 0; ; {
			c := 2*p + 1
			if c >= len(h) {
				break
			}
			if c+1 < len(h) && h[c+1] < h[c] {
				c++
			}
			if h[c] >= h[p] {
				break
			}
			h[c], h[p] = h[p], h[c]
			p = c
		}
	}
	return h
}

// logBest is the range of windows most readings allow (in < w <= out,
// give or take logJitter), the latest of those ranges where several
// tie, and how many allow it.
func logBest(rs []logReading) (lo, hi time.Duration, most int) {
	type edge struct {
		at   time.Duration
		open bool
	}
	edges := make([]edge, 0, 2*len(rs))
	for _, r := range rs {
		// Our send times are not the server's: a reading allows a
		// window logJitter beyond its bounds.
		if in, out := r.in-logJitter, r.out+logJitter; in < out {
			edges = append(edges, edge{in, true}, edge{out, false})
		}
	}
	// At a tie a window closes before another opens: in < w <= out,
	// the interval open below and closed above.
	slices.SortFunc(edges, func(a, b edge) int {
		if a.at != b.at {
			return cmp.Compare(a.at, b.at)
		}
		switch {
		case a.open == b.open:
			return 0
		case a.open:
			return 1
		}
		return -1
	})
	n := 0
	for i, e := range edges {
		if !e.open {
			n--
			continue
		}
		n++
		// From here to the next edge, n readings allow w.
		if n >= most && i+1 < len(edges) {
			lo, hi, most = e.at, edges[i+1].at, n
		}
	}
	return lo, hi, most
}

// logNotCounter reports whether every counter over periods near w,
// replayed over our accepted sends, contradicts logCounterMiss more of
// the latest readings than the log of window w does: HAProxy's (periods
// from the first request, anew after two idle periods, the previous one's
// weight rounded down) and go-chi/httprate's on the clock, at logPhases
// phases (weighed exactly, rounded). A counter's period is not the window
// a log's bounds name (go-chi/httprate at 15 per 150ms read as a log of
// 148.5ms), and a replay a period a hundredth off drifts a phase in a
// hundred periods: its misses grow with the run, and a long run's counter
// once read as a log (pinned by place: 22% 429s). So where the readings
// span many periods, the counters are replayed at periods either side of
// w too (logGridFrom).
func logNotCounter(seen []seenSend, rs []logReading, quota int, w time.Duration) bool {
	if w <= 0 {
		return false
	}
	c := newCounterReplay(seen, len(rs))
	for _, r := range rs {
		c.read(r.at, r.used)
	}
	logMiss := 0
	for i := range rs {
		if c.off(i, float64(c.sent[i]-c.sentBefore(c.rat[i]-int64(w)+1))) {
			logMiss++
		}
	}
	need := logMiss + logCounterMiss
	// Periods either side of w, where the readings span enough periods
	// that a replay a step off drifts logDrift of a period over them (no
	// more than logGridSteps steps either side).
	steps, step := 0, 0.0
	if p := float64(c.rat[len(c.rat)-1]-c.rat[0]) / float64(w); p >= logGridFrom {
		step = max(logDrift/p, logPeriodRange/logGridSteps)
		steps = int(math.Ceil(logPeriodRange / step))
	}
	for j := range 2*steps + 1 {
		// w first, then the nearest either side.
		off := (j + 1) / 2
		if j%2 == 0 {
			off = -off
		}
		if c.misses(int64(float64(w)*(1+step*float64(off))), need) < need {
			// A counter explains the readings as well.
			return false
		}
	}
	return true
}

// floorDiv is a/b rounded down, for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// crowded reports whether another of the accepted requests in seen left
// within logJitter of the i-th while one of the two was on its way: they
// may have reached the server in either order. One sent after the other's
// answer came reached it after.
func crowded(seen []seenSend, i int) bool {
	near := func(a, b seenSend) bool { return b.at.Sub(a.at) < logJitter && b.at.Before(a.recv) }
	return i > 0 && near(seen[i-1], seen[i]) || i+1 < len(seen) && near(seen[i], seen[i+1])
}

// logPacer paces the flags pinned for a sliding window's log (--window
// sliding): no more than quota of our requests counted in any window of
// per. A request counts from when the server took it, which is before its
// answer came: its place comes free per after that answer, and a request
// sent then reaches the server a window after the old one, however long
// either took on the way. So does a refused request's place: some logs
// count every attempt (rolling-rate-limiter logs a refused request's time
// too, and a client that sends into it again is refused again), and a
// refusal, rare when paced so, costs no more than a window of that place.
// One with no answer (a lost connection) may have been taken: its place
// comes free per after the Limiter heard of it.
//
// A log the adaptive rate found with its window only bounded (lo < W <=
// per) narrows the bounds by trials: with every place held and answered,
// one request alone (nothing else leaves before its answer) goes at the
// geometric middle of the bounds after the quota-th latest answer among
// the places (trialBase). Whatever left before the places came free per
// after its answer, at least a window before, so what the log counts is
// among them, each taken between its send and its answer: a refusal says
// a quota of them were still in the window, W longer than the trial's
// send less that answer (the middle). Taken, fewer than a quota were: of
// the m sure places (taken, so counted) at least m-quota+1 had aged out,
// W no longer than the trial's answer less the (m-quota+1)-th earliest
// send. A refused or failed place may not be counted: no trial while
// fewer than a quota are sure, a taken one would say nothing. Each
// refused trial is a 429: after the first, one more goes only while the
// bounds lie far apart (logTrialFar).
type logPacer struct {
	quota int
	per   time.Duration
	// lo is the longest window trials proved too short (0: no trials).
	lo time.Duration
	// trial is the send time of the trial on its way (zero: none), trialAt
	// the middle it tried.
	trial   time.Time
	trialAt time.Duration
	// trialSince is the send of the earliest place the trial, taken,
	// says had aged out (trialBase).
	trialSince time.Time
	// trials counts the trials sent, refusedTrials those refused;
	// lastRefused is the send time of the latest refused, for the
	// refusal's Throttle after its Done (trialRefused).
	trials, refusedTrials int
	lastRefused           time.Time
	// held are the places taken: when each request left and when its
	// answer came (zero until it did); the place comes free per after.
	held []logPlace
}

type logPlace struct {
	sent, recv time.Time
	// unsure: refused or failed, a request the log may not count.
	unsure bool
}

// free is when the place comes free, once its answer came.
func (p *logPacer) free(h logPlace) time.Time { return h.recv.Add(p.per) }

// hold keeps the place of a request that left at sent and was answered
// at recv (unsure: refused or failed), where it is not yet free at now:
// what a pacer taking over from another pace starts with.
func (p *logPacer) hold(now, sent, recv time.Time, unsure bool) {
	if h := (logPlace{sent: sent, recv: recv, unsure: unsure}); p.free(h).After(now) {
		p.held = append(p.held, h)
	}
}

// holdOpen keeps the places of the requests still on their way, sent at
// the times in open.
func (p *logPacer) holdOpen(open []time.Time) {
	for _, sent := range open {
		p.held = append(p.held, logPlace{sent: sent})
	}
}

// logTrialClose is how close the trials bring per to lo before they stop.
// After logTrialMisses refused trials (each a 429) they go on only while
// the bounds lie more than logTrialFar apart, and stop at the next refusal.
const (
	logTrialClose  = 0.02
	logTrialMisses = 1
	logTrialFar    = 0.2
)

func newLogPacer(quota int, per time.Duration) *logPacer {
	return &logPacer{quota: max(quota, 1), per: per}
}

// trying reports whether the bounds are still far enough apart to try.
func (p *logPacer) trying() bool {
	near := logTrialClose
	if p.refusedTrials >= logTrialMisses {
		// Past its share of 429s, a trial more only where the bounds
		// still lie far apart.
		near = logTrialFar
	}
	return p.lo > 0 && p.refusedTrials <= logTrialMisses && float64(p.per) > float64(p.lo)*(1+near)
}

// reserve lets one request go at now (0), or says how long until one may:
// until the earliest place comes free (or the next trial is due), or
// capWait where every place waits for its answer or a trial is on its way
// (done wakes the waiters when one comes).
func (p *logPacer) reserve(now time.Time) time.Duration {
	if !p.trial.IsZero() {
		return capWait
	}
	keep := p.held[:0]
	for _, h := range p.held {
		if h.recv.IsZero() || p.free(h).After(now) {
			keep = append(keep, h)
		}
	}
	p.held = keep
	if len(p.held) < p.quota {
		p.held = append(p.held, logPlace{sent: now})
		return 0
	}
	var soonest time.Time
	open := false
	for _, h := range p.held {
		if h.recv.IsZero() {
			open = true
		} else if f := p.free(h); soonest.IsZero() || f.Before(soonest) {
			soonest = f
		}
	}
	if soonest.IsZero() {
		return capWait
	}
	if !p.trying() || open {
		return soonest.Sub(now)
	}
	from, since, ok := p.trialBase()
	if !ok {
		return soonest.Sub(now)
	}
	// Tried no later than halfway from the middle to the bound above:
	// later (the places of one burst come free together, and a trial
	// taken in the middle leaves the rest past the next middle) it would
	// bound the window at what it was.
	mid := time.Duration(math.Sqrt(float64(p.lo) * float64(p.per)))
	switch at := from.Add(mid); {
	case now.Before(at):
		if at.Before(soonest) {
			soonest = at
		}
	case now.Sub(from) <= (mid+p.per)/2:
		p.trial, p.trialAt, p.trialSince = now, now.Sub(from), since
		p.trials++
		p.held = append(p.held, logPlace{sent: now})
		return 0
	}
	return soonest.Sub(now)
}

// trialBase is what a trial is timed and read by, every place answered:
// from, the quota-th latest answer (a refusal says a quota of the places
// were still in the window, so the window is longer than the trial's send
// less that answer, each place taken before its answer), and since, the
// send of the earliest place a trial taken says had aged out (of m sure
// places, all counted, at least m-quota+1 had: the (m-quota+1)-th
// earliest send). ok is false while fewer than the quota are sure: a
// trial taken would say nothing.
func (p *logPacer) trialBase() (from, since time.Time, ok bool) {
	recvs := make([]time.Time, 0, len(p.held))
	sure := make([]time.Time, 0, len(p.held))
	for _, h := range p.held {
		recvs = append(recvs, h.recv)
		if !h.unsure {
			sure = append(sure, h.sent)
		}
	}
	if len(sure) < p.quota {
		return time.Time{}, time.Time{}, false
	}
	slices.SortFunc(recvs, func(a, b time.Time) int { return b.Compare(a) })
	slices.SortFunc(sure, time.Time.Compare)
	return recvs[p.quota-1], sure[len(sure)-p.quota], true
}

// done ends the place of the request that left at sent, answered (or
// given up) at now with o, whatever the answer: free a window from now.
// A trial's answer moves the bounds (one with none tells nothing). It
// reports whether a place's time changed, or the trial ended.
func (p *logPacer) done(sent, now time.Time, o Outcome) bool {
	// A failed request may not have reached the server: the log counts
	// one fewer than its places, and a trial taken says nothing.
	unsure := o != Accepted
	if !p.trial.IsZero() && p.trial.Equal(sent) {
		p.trial = time.Time{}
		switch o {
		case Refused:
			p.refusedTrials++
			p.lastRefused = sent
			p.lo = max(p.lo, p.trialAt)
		case Accepted:
			if hi := now.Sub(p.trialSince); hi > p.lo && hi < p.per {
				p.per = hi
			} else {
				// No narrower than it was (the way there takes as
				// long as the bounds are apart), or under what a
				// refusal proved (not a log's answer): no more trials.
				p.lo = p.per
			}
		}
	}
	for i := range p.held {
		if p.held[i].sent.Equal(sent) && p.held[i].recv.IsZero() {
			p.held[i].recv, p.held[i].unsure = now, unsure
			return true
		}
	}
	return false
}

// trialRefused reports whether the request refused, sent at sent, was
// the latest trial (Done read its answer before Throttle does): the
// refusal says the window is longer, not that the log was wrong.
func (p *logPacer) trialRefused(sent time.Time) bool {
	return !sent.IsZero() && p.lastRefused.Equal(sent)
}
