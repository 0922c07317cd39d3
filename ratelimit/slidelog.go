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

// logMinReadings is how many counter readings, and at least twice the
// quota, logWindow needs; logAgree the share of them whose bounds on the
// window must overlap (a request sent just before another may reach the
// server just after it, which shifts a reading's span by one request).
const (
	logMinReadings = 20
	logAgree       = 0.95
	// logPhases is how many phases of a counter on the clock
	// logNotCounter replays, and logCounterMiss how many more readings
	// than the log each must contradict.
	logPhases      = 20
	logCounterMiss = 3
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
// a few allows. ok is false when too few readings said, when they do not
// agree on a window (no log, or not ours alone), or when a counter over
// periods of that length explains them as well (logNotCounter).
func logWindow(seen []seenSend, quota int) (time.Duration, bool) {
	if quota < 2 {
		return 0, false
	}
	var rs []logReading
	odd := 0
	for i, s := range seen {
		if !s.said {
			continue
		}
		used := quota - 1 - s.left
		if used < 0 {
			// More left than a log of quota holds besides this one.
			return 0, false
		}
		if crowded(seen, i) {
			// Another of ours left within logJitter of it: either may
			// have reached the server first, and the reading's bounds
			// would be a request off (a pool's burst).
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
	if len(rs) < max(logMinReadings, 2*quota) {
		return 0, false
	}
	lo, hi, agree := logBest(rs)
	if float64(agree) < logAgree*float64(len(rs)+odd) {
		return 0, false
	}
	if !logNotCounter(seen, rs, quota, (lo+hi)/2) {
		return 0, false
	}
	// The longest window the readings allow, and logJitter: a log no
	// longer than that has let a request go a window after it took it,
	// however our send times lie from the server's.
	return hi + logJitter, true
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

// logNotCounter reports whether every counter over periods of w, replayed
// over our accepted sends, contradicts logCounterMiss more of the
// readings than the log of window w does: HAProxy's (periods from the
// first request, anew after two idle periods, the previous one's weight
// rounded down) and go-chi/httprate's on the clock, at logPhases phases
// (weighed exactly, rounded).
func logNotCounter(seen []seenSend, rs []logReading, quota int, w time.Duration) bool {
	at := make([]time.Time, len(seen))
	for i, s := range seen {
		at[i] = s.at
	}
	// before is how many of ours were sent in [from, to).
	before := func(from, to time.Time) int {
		return sentBefore(at, to) - sentBefore(at, from)
	}
	logMiss := 0
	for _, r := range rs {
		if before(r.at.Add(-w+1), r.at) != r.used {
			logMiss++
		}
	}
	need := logMiss + logCounterMiss
	// Each replay counts its misses only until they reach need: from
	// there it contradicts the readings enough, however many more.
	// HAProxy's: periods from the first request.
	miss := 0
	start := at[0]
	prevSent := at[0]
	for _, r := range rs {
		if miss >= need {
			break
		}
		for r.at.Sub(start) >= w {
			start = start.Add(w)
		}
		if r.at.Sub(prevSent) >= 2*w {
			// Idle two periods: a new one from this request.
			start = r.at
		}
		prevSent = r.at
		remain := w - r.at.Sub(start)
		prev := before(start.Add(-w), start)
		pred := before(start, r.at) + int(int64(prev)*int64(remain)/int64(w))
		if pred != r.used {
			miss++
		}
	}
	if miss < need {
		return false
	}
	for k := range logPhases {
		phase := w * time.Duration(k) / logPhases
		miss := 0
		for _, r := range rs {
			if miss >= need {
				break
			}
			ps := r.at.Add(-phase).Truncate(w).Add(phase)
			prev := before(ps.Add(-w), ps)
			used := float64(prev)*float64(w-r.at.Sub(ps))/float64(w) + float64(before(ps, r.at))
			if int(math.Round(used)) != r.used {
				miss++
			}
		}
		if miss < need {
			return false
		}
	}
	return true
}

// crowded reports whether another of the accepted requests in seen left
// within logJitter of the i-th while one of the two was on its way: they
// may have reached the server in either order. One sent after the other's
// answer came reached it after.
func crowded(seen []seenSend, i int) bool {
	near := func(a, b seenSend) bool { return b.at.Sub(a.at) < logJitter && b.at.Before(a.recv) }
	return i > 0 && near(seen[i-1], seen[i]) || i+1 < len(seen) && near(seen[i], seen[i+1])
}

// sentBefore is how many of the send times at (sorted) are before t.
func sentBefore(at []time.Time, t time.Time) int {
	i, _ := slices.BinarySearchFunc(at, t, func(x, t time.Time) int {
		if x.Before(t) {
			return -1
		}
		return 1
	})
	return i
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
type logPacer struct {
	quota int
	per   time.Duration
	// held are the places taken: when each request left and when its
	// place comes free (zero until its answer came).
	held []logPlace
}

type logPlace struct{ sent, free time.Time }

func newLogPacer(quota int, per time.Duration) *logPacer {
	return &logPacer{quota: max(quota, 1), per: per}
}

// reserve lets one request go at now (0), or says how long until one may:
// until the earliest place comes free, or capWait where every place
// waits for its answer (done wakes the waiters when one comes).
func (p *logPacer) reserve(now time.Time) time.Duration {
	keep := p.held[:0]
	for _, h := range p.held {
		if h.free.IsZero() || h.free.After(now) {
			keep = append(keep, h)
		}
	}
	p.held = keep
	if len(p.held) < p.quota {
		p.held = append(p.held, logPlace{sent: now})
		return 0
	}
	var soonest time.Time
	for _, h := range p.held {
		if !h.free.IsZero() && (soonest.IsZero() || h.free.Before(soonest)) {
			soonest = h.free
		}
	}
	if soonest.IsZero() {
		return capWait
	}
	return soonest.Sub(now)
}

// done ends the place of the request that left at sent, answered (or
// given up) at now, whatever the answer: free a window from now. It
// reports whether a place's time changed.
func (p *logPacer) done(sent, now time.Time) bool {
	for i := range p.held {
		if p.held[i].sent.Equal(sent) && p.held[i].free.IsZero() {
			p.held[i].free = now.Add(p.per)
			return true
		}
	}
	return false
}
