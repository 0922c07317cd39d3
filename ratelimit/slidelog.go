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
// rather than its fourth; logAgree
// the share of all readings whose bounds on the window must overlap (a
// request sent just before another may reach the server just after it,
// which shifts a reading's span by one request). A log's first readings
// after its first burst went back tell it: the places come back in that
// burst's shape, a counter's weighed over its whole period.
const (
	logMinReadings = 20
	logAgree       = 0.95
	// logStepMin is the fewest answers between two looks for a log
	// (tryLog), who looks again after a tenth of the quota, or an eighth
	// of the answers kept, up to a quota.
	logStepMin = 4
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
// a few allows. Requests still on their way when it looks left from open
// on (zero: none). ok is false when too few readings said, when they do
// not agree on a window (no log, or not ours alone), or when a counter
// over periods of that length explains them as well (logNotCounter).
func logWindow(seen []seenSend, quota int, open time.Time) (time.Duration, bool) {
	if quota < 2 {
		return 0, false
	}
	var rs []logReading
	odd := 0
	// Send and answer times as nanoseconds since our first send, for
	// crowdedReading; lat is the longest any answer took: no request
	// reached the server later than that after it left.
	t0 := seen[0].at
	at, recv := make([]int64, len(seen)), make([]int64, len(seen))
	var lat int64
	for i, s := range seen {
		at[i], recv[i] = int64(s.at.Sub(t0)), int64(s.recv.Sub(t0))
		lat = max(lat, recv[i]-at[i])
	}
	var heap []int64
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
			// have reached the server first (a pool's burst). Read by
			// what each request's flight allows.
			if !open.IsZero() && s.recv.After(open) {
				// A request still on its way may have reached the
				// server before this one and is not in seen.
				continue
			}
			in, out, ok := crowdedReading(at, recv, i, used, lat, &heap)
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

// crowdedReading is what the counter reading of the i-th of our accepted
// requests (sent at at, answered at recv, in nanoseconds, sorted by at;
// none took longer than lat), sent in a crowd, says of a log's window
// however the server ordered the crowd: each request reached it somewhere
// in its flight, between when it left and when its answer came. The log
// of a window w counted used of ours before the i-th. It surely counted a
// request answered before the i-th left and sent within w of its answer:
// so w is no longer than out, when the (used+1)-th latest of those left.
// It can have counted only a request sent before the i-th's answer came
// and answered within w of its leaving: so w is longer than in, when the
// used-th latest answer among those came before the i-th left. ok is
// false when no window allows it. heap is room it reuses.
func crowdedReading(at, recv []int64, i, used int, lat int64, heap *[]int64) (in, out time.Duration, ok bool) {
	out = logNoBound
	sure := 0
	for k := i - 1; k >= 0; k-- {
		if recv[k] < at[i] {
			if sure++; sure > used {
				out = time.Duration(recv[i] - at[k])
				break
			}
		}
	}
	if used > 0 {
		// The used latest answers among the requests sent before the
		// i-th's answer came: a min-heap of them.
		h := (*heap)[:0]
		top := i
		for top+1 < len(at) && at[top+1] < recv[i] {
			top++
		}
		for k := top; k >= 0; k-- {
			if k == i {
				continue
			}
			if len(h) == used && at[k]+lat <= h[0] {
				// None sent this early was answered later than the
				// least kept.
				break
			}
			h = heapKeep(h, used, recv[k])
		}
		*heap = h
		if len(h) < used {
			return 0, 0, false
		}
		in = time.Duration(at[i] - h[0])
	}
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

// logNotCounter reports whether every counter over periods of w, replayed
// over our accepted sends, contradicts logCounterMiss more of the
// readings than the log of window w does: HAProxy's (periods from the
// first request, anew after two idle periods, the previous one's weight
// rounded down) and go-chi/httprate's on the clock, at logPhases phases
// (weighed exactly, rounded).
func logNotCounter(seen []seenSend, rs []logReading, quota int, w time.Duration) bool {
	// Times as nanoseconds since our first send: the replays below read
	// them many times over.
	t0 := seen[0].at
	at := make([]int64, len(seen))
	for i, s := range seen {
		at[i] = int64(s.at.Sub(t0))
	}
	// before is how many of ours were sent in [from, to).
	before := func(from, to int64) int {
		hi, _ := slices.BinarySearch(at, to)
		lo, _ := slices.BinarySearch(at, from)
		return hi - lo
	}
	rat := make([]int64, len(rs))
	for i, r := range rs {
		rat[i] = int64(r.at.Sub(t0))
	}
	wn := int64(w)
	logMiss := 0
	for i, r := range rs {
		if before(rat[i]-wn+1, rat[i]) != r.used {
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
	for i, r := range rs {
		if miss >= need {
			break
		}
		for rat[i]-start >= wn {
			start += wn
		}
		if rat[i]-prevSent >= 2*wn {
			// Idle two periods: a new one from this request.
			start = rat[i]
		}
		prevSent = rat[i]
		remain := wn - (rat[i] - start)
		prev := before(start-wn, start)
		pred := before(start, rat[i]) + int(int64(prev)*remain/wn)
		if pred != r.used {
			miss++
		}
	}
	if miss < need {
		return false
	}
	// httprate's periods lie on the clock: multiples of w since the zero
	// time, as time.Time's Truncate has them, moved by a phase.
	base := int64(t0.Truncate(w).Sub(t0))
	for k := range logPhases {
		phase := int64(w * time.Duration(k) / logPhases)
		miss := 0
		for i, r := range rs {
			if miss >= need {
				break
			}
			ps := base + floorDiv(rat[i]-phase-base, wn)*wn + phase
			prev := before(ps-wn, ps)
			used := float64(prev)*float64(wn-(rat[i]-ps))/float64(wn) + float64(before(ps, rat[i]))
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
