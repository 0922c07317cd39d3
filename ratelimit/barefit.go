package ratelimit

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// The bare-window fit: which window of which length explains every
// answer a bare server gave so far.
//
// A server that says nothing but 429 shows its window only through which
// requests it took and which it refused. Each way of counting the class
// runs (a log of the last window's requests; a counter whose periods
// start at the first request and weigh the previous one, rounded down, as
// HAProxy's stick tables do; a counter on periods aligned on the clock,
// weighed exactly, as go-chi/httprate's; a fixed window opened by the
// first request after the last ended, as express-rate-limit's memory
// store; a fixed window on a grid of periods aligned on the clock, as
// Rack::Attack's and django-ratelimit's, its phase read from the answers),
// with refused requests counted or
// not, the burst's quota L and a length W on a fine grid, is replayed over
// the answers; the candidates that contradict the fewest of them (a
// request's arrival is known only to within its round trip, and a server
// with several threads bends its own rule now and then) are the fit.
// Their lengths bound W, and their states say when the server takes the
// next request.

// Window models the fit tells apart.
const (
	fitLog     = iota // every request of the last window counts
	fitFirst          // periods from the first request, previous weighed and rounded down (HAProxy)
	fitAligned        // periods aligned on the clock, previous weighed exactly (httprate)
	// fitFixed is a fixed window opened by the first request after the
	// last one ended (express-rate-limit's memory store): nothing of a
	// window ago weighs, its quota comes back whole at its end.
	fitFixed
	// fitGrid is a fixed window on a grid of periods aligned on the clock
	// (Rack::Attack, django-ratelimit, a counter keyed by the period's
	// number), its phase free: nothing of a window ago weighs, its quota
	// comes back whole at each boundary, wherever our requests fell
	// (gridScratch.phases reads the phase from the answers).
	fitGrid
	fitModels
)

// bareFitStep is the grid's relative step in window length, and
// bareFitMaxMisses how many answers the best fit may contradict before it
// is not trusted: a request that arrived a round trip away from where it
// is estimated may fall on the other side of a boundary.
const (
	bareFitStep      = 0.0035
	bareFitMaxMisses = 2
	// fitCoarse is the coarse pass's step, in steps of the grid.
	fitCoarse = 16
)

// bareAnswer is one answer of a bare server: its request's send time
// (for a refusal, the one Done gave; zero where it came without one),
// when it came, and whether the server took the request. recv is zero for a
// request still in flight when the fit runs (bareFitAnswers): it arrived
// or will, and each candidate counts it as it would have answered it.
type bareAnswer struct {
	sent, recv time.Time
	ok         bool
}

// fitEvent is an answer placed at its estimated arrival at the server.
type fitEvent struct {
	at, from, to time.Time // estimate, earliest, latest
	ok           bool
	// burst is set for the unpaced burst's answers, up to the last
	// refused one in flight with the first: counted, but not held
	// against a candidate, since a server with several threads may take
	// and refuse them in another order than they came.
	burst bool
	// pending is set for a request still in flight: each candidate
	// counts it as it would have answered it, and none is held to it.
	pending bool
}

// fitCandidate is one way of counting: model, quota, refused requests
// counted or not, window length.
type fitCandidate struct {
	model   int
	quota   int
	counted bool
	w       time.Duration
	// origin, for a counter aligned on the clock, is a boundary of its
	// periods at or before every answer fitted: a period's start is then
	// found by a division of durations, which Time.Truncate by a length
	// that does not divide a second does bit by bit (it was most of the
	// fit's time). Zero: Truncate. For a fixed window on a grid it is the
	// phase itself (gridScratch.phases), never zero.
	origin time.Time
}

// fitState is a candidate's server state after replaying the answers.
type fitState struct {
	log        []time.Time
	start      time.Time
	prev, curr int
}

// bareFitResult is what the answers say: the window's bounds among the
// candidates that explain them best, which models those are, and the
// earliest time all of them take another request.
type bareFitResult struct {
	ok      bool
	lo, hi  time.Duration
	quota   int
	models  [fitModels]bool
	misses  int
	nextAt  time.Time // the latest of the best candidates' earliest acceptance
	exactly bool      // some best candidate weighs exactly (a float counter): it rounds against the client
	// some of the best candidates (the shortest, the longest and a few
	// between, of each model) and their states, for clearFrom.
	cands  []fitCandidate
	states []fitState
}

// eventsFrom is the earliest time an answer in ev is placed at, from
// which the aligned counters' periods are counted (fitCandidate.origin).
func eventsFrom(ev []fitEvent) time.Time {
	var first time.Time
	for i, e := range ev {
		if i == 0 || e.from.Before(first) {
			first = e.from
		}
		if e.at.Before(first) {
			first = e.at
		}
	}
	return first
}

// fitEvents places the answers at their arrival at the server: a taken
// request between its send and its answer, a refused one between its send
// (or a round trip before its answer, where its send is not known) and its
// answer. They are ordered by an estimate that puts a taken request as
// early as the shortest round trip allows and a refused one as late, so
// that where a burst's last taken and first refused requests arrived
// together the order a window needs is kept. A server that answers its
// refusals at once and passes the requests it takes to a backend (a
// proxy, express-rate-limit) decides on a taken request as early as on a
// refused one: the shortest refusal's round trip bounds the way there.
func fitEvents(answers []bareAnswer) []fitEvent {
	var rtts []time.Duration
	var refused time.Duration
	for _, a := range answers {
		switch {
		case a.sent.IsZero() || a.recv.IsZero():
		case a.ok:
			rtts = append(rtts, a.recv.Sub(a.sent))
		case refused == 0 || a.recv.Sub(a.sent) < refused:
			refused = max(a.recv.Sub(a.sent), time.Microsecond)
		}
	}
	var short, long time.Duration
	if len(rtts) > 0 {
		slices.Sort(rtts)
		short, long = rtts[0], rtts[len(rtts)*9/10]
	}
	way := short
	if refused > 0 {
		way = min(way, refused)
	}
	ev := make([]fitEvent, 0, len(answers))
	for _, a := range answers {
		e := fitEvent{at: a.recv.Add(-short / 2), from: a.recv.Add(-long), to: a.recv, ok: a.ok}
		switch {
		case a.recv.IsZero():
			at := a.sent.Add(way / 2)
			e = fitEvent{at: at, from: at, to: at, pending: true}
		case a.ok && !a.sent.IsZero():
			e.at, e.from = a.sent.Add(way/2), a.sent
		case !a.sent.IsZero():
			rtt := a.recv.Sub(a.sent)
			e.at, e.from = a.recv.Add(-min(rtt, way)/2), a.sent
		}
		ev = append(ev, e)
	}
	slices.SortStableFunc(ev, func(x, y fitEvent) int { return x.at.Compare(y.at) })
	// The burst ends with the refusals answered within a round trip of
	// the first.
	var first time.Time
	for _, a := range answers {
		if !a.ok && !a.recv.IsZero() && (first.IsZero() || a.recv.Before(first)) {
			first = a.recv
		}
	}
	for i := range ev {
		ev[i].burst = !first.IsZero() && !ev[i].pending && !ev[i].to.After(first.Add(long))
	}
	return ev
}

// serve is the candidate's answer to a request arriving at at.
func (c fitCandidate) serve(s *fitState, at time.Time) bool {
	c.advance(s, at)
	ok := c.takes(s, at)
	c.count(s, at, ok)
	return ok
}

// explains reports whether the candidate would have answered the event
// as the server did had it arrived at either end of its bounds, and then
// counts it as the server did: a request's arrival is known only to
// within its round trip.
func (c fitCandidate) explains(s *fitState, e fitEvent) bool {
	p, q := *s, *s
	c.advance(&p, e.from)
	c.advance(&q, e.to)
	ok := c.takes(&p, e.from) == e.ok || c.takes(&q, e.to) == e.ok
	c.advance(s, e.at)
	c.count(s, e.at, e.ok)
	return ok
}

// advance moves the state to at: the log forgets what left the window, a
// counter starts the period at holds.
func (c fitCandidate) advance(s *fitState, at time.Time) {
	switch c.model {
	case fitLog:
		drop := 0
		for drop < len(s.log) && at.Sub(s.log[drop]) >= c.w {
			drop++
		}
		s.log = s.log[drop:]
	case fitFirst:
		switch {
		case s.start.IsZero() || at.Sub(s.start) >= 2*c.w:
			s.start, s.prev, s.curr = at, 0, 0
		case at.Sub(s.start) >= c.w:
			s.start, s.prev, s.curr = s.start.Add(c.w), s.curr, 0
		}
	case fitFixed:
		if s.start.IsZero() || at.Sub(s.start) >= c.w {
			s.start, s.curr = at, 0
		}
	case fitGrid:
		if ws := c.periodStart(at); !ws.Equal(s.start) {
			s.start, s.curr = ws, 0
		}
	default:
		if ws := c.periodStart(at); !ws.Equal(s.start) {
			if ws.Sub(s.start) == c.w {
				s.prev = s.curr
			} else {
				s.prev = 0
			}
			s.start, s.curr = ws, 0
		}
	}
}

// periodStart is the start of the aligned period at holds: at.Truncate(w),
// or for a grid the period of its origin's phase.
func (c fitCandidate) periodStart(at time.Time) time.Time {
	if c.origin.IsZero() || at.Before(c.origin) {
		return at.Truncate(c.w)
	}
	return c.origin.Add(at.Sub(c.origin) / c.w * c.w)
}

// takes reports whether the candidate, advanced to at, takes a request
// arriving then.
func (c fitCandidate) takes(s *fitState, at time.Time) bool {
	switch c.model {
	case fitLog:
		return len(s.log) < c.quota
	case fitFirst:
		remain := c.w - at.Sub(s.start)
		return s.curr+int(int64(s.prev)*int64(remain)/int64(c.w)) < c.quota
	case fitFixed, fitGrid:
		return s.curr < c.quota
	default:
		used := float64(s.prev)*float64(c.w-at.Sub(s.start))/float64(c.w) + float64(s.curr)
		return int(math.Round(used)) < c.quota
	}
}

// count counts a request that arrived at at and was taken (ok) or refused.
func (c fitCandidate) count(s *fitState, at time.Time, ok bool) {
	if !ok && !c.counted {
		return
	}
	if c.model == fitLog {
		s.log = append(s.log, at)
		return
	}
	s.curr++
}

// replay replays the events over the candidate from state s and returns
// misses plus the answers it contradicts (those of the burst not held
// against it), counting no further once that is more than bound.
func (c fitCandidate) replay(ev []fitEvent, s *fitState, misses, bound int) int {
	for _, e := range ev {
		if e.pending {
			c.serve(s, e.at)
			continue
		}
		if !c.explains(s, e) && !e.burst {
			misses++
			if misses > bound {
				break
			}
		}
	}
	return misses
}

// nextAt is the earliest time from now that the candidate in state s takes
// a request.
func (c fitCandidate) nextAt(s *fitState, now time.Time) time.Time {
	switch c.model {
	case fitLog:
		n := len(s.log)
		if n < c.quota {
			return now
		}
		return latest(now, s.log[n-c.quota].Add(c.w))
	case fitFixed:
		if s.start.IsZero() || now.Sub(s.start) >= c.w || s.curr < c.quota {
			return now
		}
		return s.start.Add(c.w)
	case fitGrid:
		if !c.periodStart(now).Equal(s.start) || s.curr < c.quota {
			return now
		}
		return s.start.Add(c.w)
	case fitFirst:
		start, prev, curr := s.start, s.prev, s.curr
		switch {
		case start.IsZero() || now.Sub(start) >= 2*c.w:
			return now
		case now.Sub(start) >= c.w:
			start, prev, curr = start.Add(c.w), curr, 0
		}
		for range 3 {
			if curr < c.quota {
				// curr + floor(prev*(1-x)) < quota once prev*(1-x) <
				// quota-curr: x > 1 - (quota-curr)/prev.
				t := start
				if prev > 0 && prev > c.quota-curr {
					x := 1 - float64(c.quota-curr)/float64(prev)
					t = start.Add(time.Duration(math.Ceil(x*float64(c.w))) + time.Microsecond)
				}
				if t.Before(start.Add(c.w)) {
					return latest(now, t)
				}
			}
			start, prev, curr = start.Add(c.w), curr, 0
		}
		return latest(now, start)
	default:
		start, prev, curr := s.start, s.prev, s.curr
		if ws := now.Truncate(c.w); !ws.Equal(start) {
			if ws.Sub(start) == c.w {
				prev = curr
			} else {
				prev = 0
			}
			start, curr = ws, 0
		}
		for range 3 {
			// round(prev*(1-x) + curr) < quota once prev*(1-x) <
			// quota - 0.5 - curr.
			room := float64(c.quota) - 0.5 - float64(curr)
			if room > 0 {
				t := start
				if float64(prev) > room {
					x := 1 - room/float64(prev)
					t = start.Add(time.Duration(math.Ceil(x*float64(c.w))) + time.Microsecond)
				}
				if t.Before(start.Add(c.w)) {
					return latest(now, t)
				}
			}
			start, prev, curr = start.Add(c.w), curr, 0
		}
		return latest(now, start)
	}
}

// least is v where it is less than cur or cur is still 0 (none yet),
// else cur: the least of a series whose zero means "not seen".
func least[T time.Duration | float64](cur, v T) T {
	if cur == 0 || v < cur {
		return v
	}
	return cur
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// fitBare fits the candidates with the burst's quota and window lengths
// from lo to hi to the answers, and says when the best of them take the
// next request after now. aligned drops the doubt an aligned counter's
// free phase earns it, once another model's pace was refused.
func fitBare(answers []bareAnswer, quota int, lo, hi time.Duration, now time.Time, aligned bool) bareFitResult {
	ev := fitEvents(answers)
	first := eventsFrom(ev)
	// A counter aligned on the clock has a phase as well as a length,
	// and over a fine grid of lengths some phase explains answers by
	// chance: unless aligned (a pace by another model was refused), it
	// counts a contradicted answer more than the others do.
	penalty := [fitModels]int{}
	if !aligned {
		penalty[fitAligned] = 1
	}
	// So has a fixed window on a grid, whose phase is chosen to explain
	// the answers (gridScratch.phases).
	penalty[fitGrid] = 1
	replay := func(c fitCandidate, s *fitState, bound int) int {
		return c.replay(ev, s, penalty[c.model], bound)
	}
	// A pass over every fitCoarse-th length first finds a score the best
	// fit reaches at least: the fine pass then gives up on a candidate at
	// its first answer more than that, not at bareFitMaxMisses, which
	// most of them reach only far into the answers. Its result is the
	// same: a candidate it gives up on has more misses than the best.
	score := bareFitMaxMisses + 1
	for model := range fitGrid {
		for _, counted := range []bool{true, false} {
			k := 0
			for w := fitFirstW(model, lo); w <= hi; w = fitNextW(model, w) {
				if k++; k%fitCoarse != 1 {
					continue
				}
				c := fitCandidate{model: model, quota: quota, counted: counted, w: w}
				if model == fitAligned && len(ev) > 0 {
					c.origin = first.Truncate(w)
				}
				var s fitState
				score = min(score, replay(c, &s, score))
			}
		}
	}
	var best []fitCandidate
	var states []fitState
	var gs gridScratch
	for model := range fitModels {
		if model == fitGrid && score <= penalty[fitGrid] {
			// Another model explains the answers as well as a
			// grid's can: gridLast would drop it.
			break
		}
		for _, counted := range []bool{true, false} {
			for w := fitFirstW(model, lo); w <= hi; w = fitNextW(model, w) {
				c := fitCandidate{model: model, quota: quota, counted: counted, w: w}
				if model == fitAligned && len(ev) > 0 {
					c.origin = first.Truncate(w)
				}
				var s fitState
				var misses int
				if model == fitGrid {
					var ok bool
					if c, s, misses, ok = gs.judge(c, ev, first, bareFitMaxMisses-penalty[fitGrid], penalty[fitGrid], func(c fitCandidate, s *fitState) int {
						return replay(c, s, score)
					}); !ok {
						continue
					}
				} else {
					misses = replay(c, &s, score)
				}
				if misses < score {
					score, best, states = misses, best[:0], states[:0]
				}
				if misses == score && misses <= bareFitMaxMisses {
					best = append(best, c)
					states = append(states, s)
				}
			}
		}
	}
	if len(best) == 0 {
		return bareFitResult{misses: bareFitMaxMisses + 1}
	}
	best, states = gridLast(best, states)
	res := bareFitResult{misses: score}
	res.ok, res.lo, res.hi, res.quota, res.nextAt = true, best[0].w, best[0].w, best[0].quota, now
	for i, c := range best {
		res.lo, res.hi = min(res.lo, c.w), max(res.hi, c.w)
		res.quota = min(res.quota, c.quota)
		res.models[c.model] = true
		res.exactly = res.exactly || c.model == fitAligned
		res.nextAt = latest(res.nextAt, c.nextAt(&states[i], now))
	}
	const keep = 8
	for m := range fitModels {
		var idx []int
		for i, c := range best {
			if c.model == m {
				idx = append(idx, i)
			}
		}
		for k := range min(keep, len(idx)) {
			i := idx[0]
			if k > 0 {
				i = idx[k*(len(idx)-1)/(min(keep, len(idx))-1)]
			}
			res.cands = append(res.cands, best[i])
			res.states = append(res.states, states[i])
		}
	}
	return res
}

// clearFrom is the earliest time from the fit's next acceptance from
// which requests sent every 1/perSecond seconds are all taken, for the
// next two windows, by the best candidates no longer than w: after a
// ride, a counter that weighs its previous period takes requests no
// faster than that period's count per window until the period ends, and
// a log none until the ride has aged out.
func (r bareFitResult) clearFrom(perSecond float64, w time.Duration) time.Time {
	step := time.Duration(float64(time.Second) / perSecond)
	from := r.nextAt
	for i, c := range r.cands {
		if c.w > w {
			continue
		}
		for range 20 {
			s := r.states[i].clone()
			late := time.Duration(0)
			for t := from; t.Before(from.Add(2 * c.w)); t = t.Add(step) {
				if n := c.nextAt(&s, t); n.After(t) {
					// Shift the start by as much as this request is
					// early.
					late = n.Sub(t)
					break
				}
				c.serve(&s, t)
			}
			if late <= 0 {
				break
			}
			from = from.Add(max(late, time.Microsecond))
		}
	}
	return from
}

func (s fitState) clone() fitState {
	s.log = slices.Clone(s.log)
	return s
}

// fitFirstW and fitNextW walk the grid of window lengths: relative steps
// of bareFitStep, but whole milliseconds for a counter aligned on the
// clock, whose phase is the length's remainder in the Unix time (a
// length a fraction of a millisecond off puts its boundaries anywhere;
// such counters run whole milliseconds, seconds or minutes).
func fitFirstW(model int, lo time.Duration) time.Duration {
	lo = max(lo, time.Millisecond)
	if model == fitAligned {
		u := fitAlignedUnit(lo)
		return (lo + u - 1).Truncate(u)
	}
	return lo
}

func fitNextW(model int, w time.Duration) time.Duration {
	if model == fitAligned {
		return w + fitAlignedUnit(w)
	}
	return w + max(time.Duration(float64(w)*bareFitStep), time.Microsecond)
}

// fitAlignedUnit is the grid's step for aligned counters near w: a
// millisecond up to 2s, then 10ms up to 20s, then 100ms.
func fitAlignedUnit(w time.Duration) time.Duration {
	switch {
	case w < 2*time.Second:
		return time.Millisecond
	case w < 20*time.Second:
		return 10 * time.Millisecond
	}
	return 100 * time.Millisecond
}

// gridLast drops the fixed windows on a grid from the best candidates
// (and their states) where another model explains the answers as well.
// Its phase chosen to explain them (gridScratch.phases), it is the freest of the
// models: kept beside the others, it bounded a window of 50 per 500ms
// between 244ms and 1.04s, and the search by bounds paced it at 170/s.
func gridLast(best []fitCandidate, states []fitState) ([]fitCandidate, []fitState) {
	if !slices.ContainsFunc(best, func(c fitCandidate) bool { return c.model != fitGrid }) {
		return best, states
	}
	keep := 0
	for j, c := range best {
		if c.model != fitGrid {
			best[keep], states[keep] = c, states[j]
			keep++
		}
	}
	return best[:keep], states[:keep]
}

// gridScratch holds the buffers phases keeps from one length to the next.
type gridScratch struct {
	marks   []gridMark
	hist    []time.Time
	segs    []gridSeg
	origins []time.Time
}

// gridMark is an end of an arc of phases: d is +1 where an arc a request
// wants begins (or one it refuses ends), -1 the reverse.
type gridMark struct {
	at time.Duration
	d  int
}

// gridSeg is a stretch of phases (from, to] and the answers any phase in
// it contradicts, as phases counts them.
type gridSeg struct {
	from, to time.Duration
	score    int
}

// gridTries is how many of the stretches of phases that look best phases
// returns the middles of for the replay to judge (and the best one's
// ends).
const gridTries = 2

// judge replays the candidate c of a grid at each phase phases returns,
// until one scores least (none can do better), and returns it at the one
// replay counts the fewest misses at (the first of equals), its state
// and misses. ok is false where phases returns none.
func (g *gridScratch) judge(c fitCandidate, ev []fitEvent, first time.Time, bound, least int, replay func(fitCandidate, *fitState) int) (fitCandidate, fitState, int, bool) {
	origins := g.phases(ev, c.quota, c.counted, c.w, first, bound)
	if len(origins) == 0 {
		return c, fitState{}, 0, false
	}
	var best fitCandidate
	var bestState fitState
	bestMisses := -1
	for _, o := range origins {
		c.origin = o
		var s fitState
		if m := replay(c, &s); bestMisses < 0 || m < bestMisses {
			best, bestState, bestMisses = c, s, m
		}
		if bestMisses <= least {
			break
		}
	}
	return best, bestState, bestMisses, true
}

// phases chooses phases of a fixed window of length w on a grid
// (fitGrid) that contradict the fewest answers, and returns for each a
// boundary of its periods at or before first, the earliest time an
// answer is placed at, for the replay to judge (fitCandidate.explains),
// which places each answer within its round trip as this reckoning
// cannot quite: the middles of up to gridTries stretches of phases, the
// likeliest first, then the best one's ends. None where every phase
// contradicts more than bound.
//
// Each answer outside the burst says where a boundary lies. Of the
// requests counted before it (the taken ones, the refused too where
// refusals count, and those still in flight, taken as the replay takes
// them where the quota allows), the quota-th latest h: the server took
// the request only if a period began after h, and refused it only if
// none did. So a taken request wants a boundary in (h, e], which holds
// for any phase where e is a window or more after h, and a refused one
// none there, which no phase can give then. Each is an arc of phases,
// and the best phases lie where the most of them agree: a sweep round the
// circle of phases. A request taken is given its latest arrival, one
// refused its earliest.
func (g *gridScratch) phases(ev []fitEvent, quota int, counted bool, w time.Duration, first time.Time, bound int) []time.Time {
	// Arc ends as offsets in [0, w) from base, a time a window before
	// every answer.
	base := first.Add(-w)
	off := func(t time.Time) time.Duration { return t.Sub(base) % w }
	marks, hist := g.marks[:0], g.hist[:0]
	defer func() { g.marks, g.hist = marks[:0], hist[:0] }()
	fixed := 0 // contradictions whatever the phase
	want := 0  // arcs wanted: each phase outside one contradicts it
	for _, e := range ev {
		if e.pending {
			hist = append(hist, e.at)
			continue
		}
		if !e.burst && len(hist) >= quota {
			h := hist[len(hist)-quota]
			end := e.to
			if !e.ok {
				end = e.from
			}
			switch {
			case end.Sub(h) >= w && e.ok:
			case end.Sub(h) >= w:
				fixed++
			case !end.After(h):
				// Arrived no later than h: no period can begin
				// between them.
				if e.ok {
					fixed++
				}
			default:
				a, b := off(h), off(end)
				d := 1
				if !e.ok {
					d = -1
				} else {
					want++
				}
				// The arc (a, b], wrapping past w.
				marks = append(marks, gridMark{a, d}, gridMark{b, -d})
				if b < a {
					marks = append(marks, gridMark{0, d}, gridMark{w, -d})
				}
			}
		} else if !e.burst && !e.ok {
			// Refused before the quota was counted: no phase
			// explains it.
			fixed++
		}
		if fixed > bound {
			return nil
		}
		if e.ok || counted {
			hist = append(hist, e.at)
		}
	}
	// A phase in (m_i, m_i+1] scores want - (wanted arcs holding it) +
	// (refused arcs holding it); at equal offsets the arcs that end go
	// first, as they are open at their start. Before the first mark no
	// arc holds but those that wrap, whose marks at 0 open it.
	slices.SortFunc(marks, func(x, y gridMark) int {
		if c := cmp.Compare(x.at, y.at); c != 0 {
			return c
		}
		return cmp.Compare(x.d, y.d)
	})
	// The best gridTries stretches, the best score first, of equal ones
	// the widest (a stretch's ends are the least sure).
	top := g.segs[:0]
	better := func(x, y gridSeg) bool {
		return x.score < y.score || x.score == y.score && x.to-x.from > y.to-y.from
	}
	// Phase 0 is w, in the last stretch: a wrapping arc's marks at 0 and
	// at w hold it there.
	from, cover := time.Duration(0), 0
	for i := 0; i <= len(marks); i++ {
		to := w
		if i < len(marks) {
			to = marks[i].at
		}
		if sg := (gridSeg{from, to, want - cover}); to > from && fixed+sg.score <= bound {
			j := len(top)
			for j > 0 && better(sg, top[j-1]) {
				j--
			}
			if j < gridTries {
				top = slices.Insert(top, j, sg)
				if len(top) > gridTries {
					top = top[:gridTries]
				}
			}
		}
		if i < len(marks) {
			cover += marks[i].d
			from = marks[i].at
		}
	}
	g.segs = top
	origins := g.origins[:0]
	for _, sg := range top {
		// Inside (from, to], however narrow.
		origins = append(origins, base.Add(sg.from+(sg.to-sg.from+1)/2))
	}
	if len(top) > 0 && top[0].to-top[0].from > 2 {
		// And the best stretch's ends: where the replay places an
		// answer elsewhere in its round trip than the arcs do, the
		// phases it finds explain them lie towards one end.
		origins = append(origins, base.Add(top[0].to), base.Add(top[0].from+1))
	}
	g.origins = origins
	return origins
}
