package ratelimit

import (
	"math"
	"slices"
	"time"
)

// windowPacer sends a fixed window's allowance at each window's start: a
// window opens with the first request after the last one closed, lets it
// go alone and the rest of the allowance at once with its answer (or,
// while the adaptive rate still learns the window, holds the last few
// back to leave at the probe offsets), and closes length after that
// answer. It serves --window fixed and the adaptive rate's fixed-window
// model alike.
type windowPacer struct {
	allowance int
	length    time.Duration // from a window's opening to the next one's
	// margin lengthens a window not anchored to an answer: opened at our
	// first send, the server's may have started a little later.
	margin time.Duration
	probes []time.Duration
	// extra is how many of the probes lie beyond the window's quota: sent
	// early they would be refused. The rest are requests the window takes
	// wherever they fall in it, held back only to time its end.
	extra int
	// last is set when the requests now waiting are the run's last (the
	// Limiter's Finishing): nothing comes after them that a measured end
	// would serve, so the probes within the quota go with the rest.
	last bool
	// unsent is how many requests the run has yet to let go, when
	// counted (the Limiter's RowsLeft, less those in flight); skew is
	// how many more that count may show for a moment (answers in that
	// the sender has not taken yet).
	counted      bool
	unsent, skew int
	// spread is how far the length's bounds lie apart (hi - lo): what
	// each window sent without probes may wait too long, at most.
	spread time.Duration
	// tries: the one probe tries the server's stated length, placed
	// before its end; it lands in the window unless the claim is false,
	// so it is held back however tight the rows.
	tries bool
	// hold is how long the rest of a window the pacer opened waits for
	// the answer to its first request; 0 not at all. Sent alone, that
	// request is answered sooner than in the company of the whole
	// burst, and the window's end is timed from that answer.
	hold time.Duration
	// alone: the window the pacer opens next, after a pause with no
	// reset seen, sends its first request alone, the rest held back for
	// aloneHold (two round trips) or until its answer shows the counter
	// whole (restart), where the pause lasted at least aloneWorth times
	// the hold: a hold on a shorter pause (a bucket's refill, a log's
	// place) costs more than the refusals it may save. This holds
	// wherever the pause ended relative to the server's claim of the
	// window's end: a counter that weighs its previous period
	// (go-chi/httprate) names its periods' ends truly, and the pool sent
	// at once into the period its claim said was new was refused but for
	// one or two, each 429 with a Retry-After of the whole period. The
	// opener refused past the claim is refused as an opener (refusedFloor:
	// the search, or the wait to the second after a truncated claim).
	// While searching (the pause was the model's own search for the
	// window's end, refusedFloor) it is held whatever the pause. paused
	// is when the refusal that began the pause came.
	alone     bool
	searching bool
	aloneHold time.Duration
	paused    time.Time
	// try, when not 0, is how long after the open window's start the
	// next window's first request is tried, once the whole quota went:
	// a point between the length's bounds (just below the bound above
	// where that bound is the server's reset claim found true), where
	// none of the quota is held back to find the window's end. Taken,
	// it ends the window there and opens the next (the bound above
	// comes down to it); refused, it costs one 429 and the wait to the
	// bound above, which the pacer waits without it anyway (the bound
	// below goes up). Either way no request of a window is counted in
	// the next, which with rows an exact multiple of the quota costs a
	// whole window. Where the rows counted leave the last window room,
	// the held probes are sent instead (trying), at no cost.
	try time.Duration
	// tried is when that request left, while the open window lasts;
	// zero none. No other goes before the window's end or its answer.
	tried time.Time
	// chosen: the open window chose between the try and the held
	// probes (trying); probing: it chose the probes.
	chosen, probing bool

	open time.Time
	sent int // requests let go in the open window
	// gen counts the windows opened and restarted: a request let go in
	// an earlier one is no longer counted by sent as it was (unadmit).
	gen int
	// anchored: open moved to the first answer from the open window.
	anchored bool
	// opened: the pacer opened the window itself, not yet anchored.
	opened bool
}

// reserve lets one request go at now (0), or says how long until one may.
func (p *windowPacer) reserve(now time.Time) time.Duration {
	if p.open.IsZero() || !now.Before(p.end()) {
		p.gen++
		p.open, p.sent, p.anchored, p.opened = now, 0, false, true
		p.tried, p.chosen = time.Time{}, false
		p.alone = p.alone && p.aloneStill(now)
	}
	burst := p.allowance - len(p.probes)
	if p.trying() || p.tight() {
		burst = p.allowance
	}
	hold := p.hold
	if p.alone {
		hold = max(hold, p.aloneHold)
	}
	switch {
	case p.sent > 0 && p.opened && now.Before(p.open.Add(hold)):
		return p.open.Add(hold).Sub(now)
	case p.sent < burst:
	case p.last && p.sent < p.allowance-p.extra:
	case p.sent < p.allowance:
		if at := p.open.Add(p.probes[p.sent-max(burst, 0)]); now.Before(at) {
			return at.Sub(now)
		}
	case p.trying() && p.tried.IsZero() && p.anchored:
		if at := p.open.Add(p.try); now.Before(at) {
			return at.Sub(now)
		}
		// The next window's first request, tried before the length's
		// upper bound: not one of this window's.
		p.tried = now
		return 0
	case p.length >= windowNever:
		// No reset seen and every probe planned sent: the window's end
		// is still to be found, and only a request can find it. One
		// more beyond the quota, at twice the last probe's offset, so
		// the pool never waits for a reset its answers cannot show (a
		// moving window past the server's claim, whose counter never
		// comes back whole): a refusal says how long to wait, and an
		// answer plans the probes over.
		next := time.Millisecond
		if n := len(p.probes); n > 0 {
			next = p.probes[n-1]
		}
		next = 2 * max(next, now.Sub(p.open))
		p.probes = append(p.probes, next)
		p.allowance++
		p.extra++
		return p.open.Add(next).Sub(now)
	default:
		return p.end().Sub(now)
	}
	p.sent++
	return 0
}

// windowAdmit is a request reserve let go, for taking it back (unadmit)
// where a finite token pace under the window (an adaptive ceiling) made it
// wait and the wait gave its place back: the request asks again, and the
// window would count it twice.
type windowAdmit struct {
	p   *windowPacer
	gen int       // the window it was let go in (windowPacer.gen)
	at  time.Time // when
	// tried: it was the next window's first request tried early
	// (p.tried), not one of the window's own.
	tried bool
}

// unadmit takes a back: the request it let go did not leave. A window
// opened since has not counted it; one restarted since (an answer that
// recounted it from the requests known sent, or showed the quota spent)
// keeps its count: at worst a request waits for the next window.
func (p *windowPacer) unadmit(a windowAdmit) {
	if p.gen != a.gen {
		return
	}
	switch {
	case !a.tried:
		p.sent = max(p.sent-1, 0)
	case p.tried.Equal(a.at):
		p.tried = time.Time{}
	}
}

// aloneStill reports whether a window opened at now still sends its first
// request alone (alone): while searching, always; else where the pause
// lasted aloneWorth holds or more.
func (p *windowPacer) aloneStill(now time.Time) bool {
	return p.searching || now.Sub(p.paused) >= aloneWorth*p.aloneHold
}

// tight reports whether the requests the run has yet to send fill the
// windows they need, the open one included, with no room for a probe to
// land late: a request held back to time the open window's end that
// lands past it is counted in the next window, which leaves this one
// short, and with rows an exact multiple of the quota that costs a
// whole window more. Then the whole quota goes at each window's start,
// timed from the length's upper bound, which costs at most the bound's
// slack. Only once the length is bounded (the probes beyond the quota
// that find the first reset are never held this way).
func (p *windowPacer) tight() bool {
	if !p.counted || p.tries || p.extra > 0 || p.length >= windowNever || len(p.probes) == 0 {
		return false
	}
	rest := p.unsent - max(p.allowance-p.sent, 0)
	if rest <= 0 {
		return true
	}
	// rest over the open window needs k more; r is how far into the
	// last of them it reaches. Within skew of a window's boundary the
	// true count may fill the windows exactly.
	k := (rest + p.allowance - 1) / p.allowance
	r := (rest-1)%p.allowance + 1
	if r > p.skew && p.allowance-r >= len(p.probes) {
		return false
	}
	// Unprobed, each window to come may wait up to the spread too long;
	// a window left short costs one window. With many windows to go and
	// the length still loose, the probes are worth their risk.
	return time.Duration(k+1)*p.spread <= p.length
}

// trying reports whether the open window's end is found by the next
// window's first request (try), its whole quota sent at its start: where
// the pacer also planned held probes, only while a request of this
// window that lands in the next may cost a window (fills). Otherwise the
// held probes find the end at no cost, where each try refused costs a
// 429 (a tenth of a run's requests at a quota of 10 per 1s, 100 rows).
// The choice is made once a window, at its first request: the count
// moves as answers come in, and a window whose quota went at once has no
// held probes left to send.
func (p *windowPacer) trying() bool {
	if !p.chosen {
		p.chosen = true
		p.probing = p.try > 0 && len(p.probes) > 0 && !p.fills(p.allowance-p.sent) && !p.overFills(p.allowance-p.sent)
	}
	return p.try > 0 && !p.probing
}

// claimAt is the probe offset, from the open window's start, for a claim
// c measured from the window's first request's send: the pacer times the
// window from its answer (less lead), and a slow first answer would make
// the probe late by as much. Never before the probes already planned.
func (p *windowPacer) claimAt(c time.Duration, firstSent time.Time) time.Duration {
	at := c - p.open.Sub(firstSent)
	if n := len(p.probes); n > 0 {
		at = max(at, p.probes[n-1])
	}
	return at
}

// fills reports whether the rows the run has yet to send, less the n
// the open window still takes, may fill the windows they need with none
// to spare (within skew): a request of the open window that lands in the
// next one would then cost a window. Until the rows are counted (the
// sender counts them once its input is read, which a run of a few
// windows reaches only near its end) they may. With none left after the
// open window, a request held back only waits: it fills too.
func (p *windowPacer) fills(n int) bool {
	if !p.counted {
		return true
	}
	rest := p.unsent - n
	if rest <= 0 {
		return true
	}
	r := (rest-1)%p.allowance + 1
	return r+p.skew >= p.allowance
}

// overFills reports whether the rows counted, less the n the open window
// still takes, may be an exact multiple of the quota the count shows up
// to skew too many of (answers in that the sender has not taken yet).
func (p *windowPacer) overFills(n int) bool {
	rest := p.unsent - n
	return p.counted && rest > 0 && (rest-1)%p.allowance+1 <= p.skew
}

// end is when the open window closes. Anchored to an answer (less lead)
// it needs no margin: the server had the window's first request by then.
func (p *windowPacer) end() time.Time {
	if p.anchored {
		return p.open.Add(p.length)
	}
	return p.open.Add(p.length + p.margin)
}

// answered moves the open window's start to the first answer from it,
// received at recv for a request sent at sent, less ahead (lead): the
// server's window began when it had the first of them, before any answer
// came back (arrived). Timing the window from there keeps a slow first
// request from making the next window open early. The adaptive model
// does the same with restart.
func (p *windowPacer) answered(sent, recv time.Time, ahead time.Duration) {
	if p.anchored || p.open.IsZero() || sent.Before(p.open) {
		return
	}
	p.open, p.anchored, p.opened = arrived(sent, recv, ahead), true, false
}

// lead is how long before its answer the server had a request at the
// latest, by the shortest round trip seen: half of it. A window the
// server opened with a request began no later than that request's answer
// less lead, and the next window's first request, sent a window after
// that, arrives after it ends. Timed from the answer itself, every
// window waited a round trip more than it lasts: over a path of 100ms a
// fixed window of 10 per 1s was paced at one per 1.2s (the bound on its
// length, measured to an answer, a round trip long too). The bounds keep
// to the answers: measured to when the server had the next window's
// first request, a grid's window from a late opener came out short
// (go-limiter behind a 60ms backend on a loaded machine, 10 per 946ms),
// and its tries, a round trip sooner, were taken in the old window.
//
// Half holds wherever the way back takes at least half of the shortest
// round trip: a path about as long each way (a remote API), or a server
// whose own work takes most of the trip (its limiter counts a request
// when it comes, before the work). The next window's first request
// spends its own way out on top, the margin where the way back was
// shorter than that. Nothing is assumed of the way out: a request may
// have reached the server as soon as it left.
//
// Under leadMin none: there the round trip is mostly the two ends'
// scheduling (a busy machine holds a request or an answer for several
// milliseconds now and then), which no half of it bounds, and a window
// would gain a fraction of a millisecond.
func lead(shortest time.Duration) time.Duration {
	if shortest < leadMin {
		return 0
	}
	return shortest / 2
}

// leadMin is the shortest round trip lead takes half of.
const leadMin = 2 * time.Millisecond

// leadAnswers is how many answers, past the pool's first one each, the
// Limiter's shortest round trip is taken from before it times a window
// (roundTrips.lead): a request's send is taken when it is let go, so each
// worker's first round trip holds its connection's dial (and TLS
// handshake), which would make half of it longer than the way back; and
// the least of a few may be one held up on its way out on a busy
// machine (the simulation's loaded runs, one answer in twenty up to
// 10ms late, set a pinned window of 15 per 150ms 2ms early so).
const leadAnswers = 8

// roundTrips is the shortest round trip the Limiter has seen, which
// times a fixed window's start before its first answer (lead). The
// Limiter keeps it; the adaptive rate and the window models it starts
// read the same one.
type roundTrips struct {
	least time.Duration // 0: none yet
	seen  int           // answers it is the least of
	pool  int           // the pool's size: each worker's first answer holds its dial
}

// note counts an answer that came rtt after its request left.
func (r *roundTrips) note(rtt time.Duration) {
	r.least, r.seen = least(r.least, rtt), r.seen+1
}

// lead is lead of the shortest round trip, once the pool's size and
// leadAnswers more answers showed it; 0 before, and for none (a model
// made alone, as tests do).
func (r *roundTrips) lead() time.Duration {
	if r == nil || r.seen < r.pool+leadAnswers {
		return 0
	}
	return lead(r.least)
}

// arrived is the latest the server can have had a request sent at sent
// and answered at recv: ahead (lead) before the answer, but not before
// the send.
func arrived(sent, recv time.Time, ahead time.Duration) time.Time {
	return latest(sent, recv.Add(-ahead))
}

// restart moves the open window's start to at, where the server's window
// evidently started, with sent of our requests counted in it so far.
func (p *windowPacer) restart(at time.Time, sent int) {
	p.gen++
	p.open, p.sent, p.anchored, p.opened = at, sent, true, false
	p.tried, p.chosen = time.Time{}, false
}

// The fixed-window model of the adaptive rate.
const (
	// windowProbes is how many of a window's requests are held back to
	// measure its length while it is not known to windowPrecision.
	windowProbes    = 3
	windowPrecision = 0.03
	// windowNever is a length that no window closes by: the length is
	// not known yet and only the server's reset will show it.
	windowNever = 1000 * time.Hour
)

// windowModel learns a fixed window from the server's counter: its quota
// is the most the counter shows; a counter back at the quota after it was
// spent is a new window, opened by the request that answer is for. The
// window's length L lies between the latest request still counted in a
// window and the first counted in the next, both measured from the window's
// first request: lo < L <= hi.
type windowModel struct {
	quota    int
	inFlight int // requests the pool may have in flight: answers come back that far out of order
	lo       time.Duration
	hi       time.Duration // 0: no reset seen yet
	claim    time.Duration // when the server's reset header says the window ends; 0 none
	// claimSecond: the claim came from an instant the server gave to
	// the whole second, which it truncates or rounds up (rounding).
	claimSecond bool
	refusals    int       // throttle answers in windows after a reset was seen, in a row
	refusedNow  bool      // one came in the current window
	left        int       // what the counter showed left in this window: its least reading, or a later send's
	leftSent    time.Time // the send time of the request that answer was for
	leftRecv    time.Time // and when that answer came
	// least is the least the counter showed in this window whatever the
	// order its answers came in: left follows a later send's reading
	// up again (a request that waited for a CPU reached the server
	// after ours sent later), which counts what may go at once too high.
	least int
	// blind counts refusals since the last accepted answer while no
	// reset was seen (hi 0): a server whose wait is 0 (httprate's
	// Retry-After below a second) ends no window by it.
	blind int
	// pauses counts refusals (that paused the pool) while no reset was
	// seen (hi 0), accepted answers between them or not; lost counts
	// refusals after a request was accepted though sent after a refused
	// one (lostRef, lostAcc), no reset seen between. A window whose
	// length never shows is not one: a bucket of 6 at 50/s with 16
	// workers, taken for a window by answers read out of order, drew
	// 800 429s for 200 rows so.
	pauses, lost int
	lostRef      time.Time
	lostAcc      bool
	// fromOrder: the reset that opened the model was read from two
	// answers in flight together, which came back in any order: it
	// is given up at lost 2, no reset seen.
	fromOrder bool
	// neverFound: given up so, its length never found.
	neverFound bool
	// openerRefused: the latest refusal was of the first request of a
	// window the pacer opened after a pause, no reset seen
	// (refusedFloor).
	openerRefused bool
	// alignedEnd: the latest refusal showed the window aligned on the
	// clock, and the window it came in ends by then, sooner than the
	// wait the refusal gave may be (alignedWait): with the length
	// bounded, by its first answer (less lead) plus the bound;
	// unbounded, by the end its answers claimed, where claims are taken
	// so. Or, no reset seen yet, the refusal came in the first window
	// of a length the server's policy names to the millisecond, which
	// ends by its first answer plus that length (throttled); zero none.
	alignedEnd time.Time
	// alignedHold is that end once the pause was cut to it: refusals
	// that come during the pause (requests in flight with the one that
	// showed it) are held to it too (alignedCap).
	alignedHold time.Time
	// truncWaited: an opener waited out a claim truncated to the second
	// (refusedFloor), and the window the next opened began up to that
	// second before it: on a grid, lengths measured from it are short.
	truncWaited bool
	// searchFrom is when the latest refusal that paused the pool and was
	// no window opener's came, searchStep the least pause the latest
	// opener's refusal asks where no claim is taken (refusedFloor); zero
	// none.
	searchFrom time.Time
	searchStep time.Duration
	// pastQuota: the model was handed back (answered false) for a
	// request accepted past the window's quota that found the counter
	// no higher than it was: the counter let it through, a window's worth
	// of ours counted before it, without coming back whole.
	pastQuota bool
	// lastLeft is the counter the latest request's accepted answer
	// showed, of those answered reads past the window's opener (in this
	// window or a later one; left keeps this window's low, and openers
	// are not recorded); lastSent and lastRecv are that request's send
	// and answer times.
	lastLeft           int
	lastSent, lastRecv time.Time
	lastCounted        bool // that request is among counted
	// resets counts the windows opened since the model formed; late:
	// it formed after an earlier one was given up or handed back
	// (unproven).
	resets int
	late   bool
	// sawReset: a counter was seen come back whole, a window's first
	// request (opened, or the reset fixedWindowShows started the model
	// from). Until then the reordering slack in answered is not given
	// to a counter that no reordering can explain (unexplained).
	sawReset bool

	// policy is the window's length as the server's policy header
	// states it (RateLimit-Policy w=): a claim, relied on (trusted) once
	// a reset came no sooner and a request sent just before it ends was
	// still counted; policyOff once the evidence contradicted it.
	policy    time.Duration
	trusted   bool
	policyOff bool
	// policyNamed: the policy's name stated the length to the
	// millisecond (express-rate-limit's "50-in-0.5sec"), a floor for
	// what is learned (learned).
	policyNamed bool
	// claimHi is the bound above when a request sent at the server's
	// claim of the window's end opened the next window (opened): the
	// window most likely ends just before it. 0 none.
	claimHi time.Duration

	// The server's current window: send and answer time of its first
	// request, and the latest the server can have had it (arrived: the
	// answer less lead), which the pacer times the window from; whole
	// once that request's answer showed the counter whole (not a request
	// of the first burst taken for it). The bounds below and the claims
	// keep to the answer: a way back shorter than lead would carry them
	// past the length, which costs the model, where the pacer's own
	// margin is the next request's way out.
	startSent, startRecv, startAt time.Time
	whole                         bool
	// reset is set once the current window's first request found the
	// counter whole after the old window's was seen used up (a refusal,
	// or at most a quarter of the quota left): a reset, not a counter
	// read again after a pause that took little from it.
	reset   bool
	rtt     time.Duration // longest recent round trip
	rtts    *roundTrips   // the Limiter's, whose lead is the least an answer comes after the server had its request
	sends   []time.Time   // our sends since startSent
	counted []time.Time   // those whose answers showed them counted in its window
	// suspect is the send time of a request whose counter came back part
	// of the way, more than our requests could have taken from a new
	// window; zero none. Its burst's answers decide (answered): those
	// sent within suspectRTT of it, the round trip when it came.
	suspect    time.Time
	suspectRTT time.Duration
	// refusedSent is the send time of the latest refused request: it
	// reached a window with nothing left, so a counter that shows more
	// later came back after it.
	refusedSent time.Time
	// open is when each of our requests still in flight left (the
	// Limiter's clock), as the Limiter has them while it hands an answer
	// over. On a loaded machine one sent with the suspect may still be
	// on its way, its answer late (answered), and one sent before a new
	// window's opener may reach the server after it (opened).
	open   []time.Time
	before int // and how many went before the log began
	pacer  windowPacer

	// second is the whole-second reset instant (X-RateLimit-Reset:
	// 1764763200) the current window's answers name, on the local clock;
	// zero none. rounding is how this server turns its window's end into
	// that second, as the counter proved it (roundsUnknown until then).
	second   time.Time
	rounding int

	// A window aligned on the clock began before our first request in
	// it, so bounds measured from that request are too short. Each reset
	// brackets a boundary instead: after the send of the latest request
	// known in the old window (lastIn, counted or refused), at or before
	// the answer to the first counted in the new. Two brackets a window
	// apart bound the length from above whatever the window's phase:
	// safeHi, the least of them. aligned is set once a window ended
	// sooner after our first request in it than a window lasts: from
	// then on only safeHi bounds the length.
	aligned  bool
	prevLast time.Time // lastIn of the window before this one; zero unknown
	lastIn   time.Time
	safeHi   time.Duration // 0: no two brackets yet
	// brackets holds the lower ends of the latest boundaries seen,
	// oldest first. A boundary seen k boundaries later lies at least k
	// windows on (more if a window passed with nothing of ours in it),
	// which bounds the length by a k-th of the time between: ever
	// tighter as the run goes on, however wide each bracket.
	brackets []time.Time

	// A window on a grid the client did not start (go-limiter's, phased
	// at the client's first request ever, or one aligned on the clock)
	// ends sooner after a late opener than a window from that opener:
	// hi, measured from the opener, is no bound on it, and a run whose
	// openers drifted early through their grid windows measured it short
	// without a refusal (go-limiter at 50 per 250ms: 222ms, and the
	// pinned flags refused). grid holds our latest windows as a grid
	// would place them; gridHi is the longest window a grid from the
	// run's first request (anchor) that explains all of them allows (0:
	// none known yet), and gridOff is set once no such grid longer than
	// lo does: the windows open at our openers, or on a grid phased
	// elsewhere, which shows as aligned.
	grid    []gridWindow
	gridHi  time.Duration
	gridOff bool
	// anchor is the run's first request (sent, answered): a grid the
	// server started at the client's first request (go-limiter's, a
	// fresh key) starts in between, taken as just before the answer
	// (anchorGrid). Windows of ours k grid windows
	// after it then lie within a k-th of the length, however late in
	// their windows our openers came. A grid phased elsewhere (on the
	// clock, or a key the server knew) leaves the first window short:
	// aligned, or no grid fits and gridOff.
	anchor gridWindow
}

// gridWindow is one of our windows as a grid would place it: its start
// lies in (from, to] (from zero: anywhere before to), and last is the
// latest of our requests known in it, which reached the server before
// the window ended.
type gridWindow struct {
	from, to, last time.Time
}

// How a server gives its window's end to the whole second.
const (
	roundsUnknown = iota
	// roundsDown: it truncates, the end lies in [R, R+1s). Proved by a
	// request counted in the window it names that was sent after R.
	roundsDown
	// roundsUp: it rounds up (Math.ceil), the end lies in (R-1s, R].
	// Proved by a request counted in a new window that arrived before
	// the old one's R.
	roundsUp
)

// secondSlack is how far a server's whole second on the local clock may
// be off (ServerClock's precision, halved) and a round trip's jitter: a
// proof of the rounding needs a request that far past the second.
const secondSlack = serverClockPrecise/2 + 2*time.Millisecond

// searchSplit: the first step of refusedFloor's search is this part of
// the time since the search began.
const searchSplit = 3

// aloneWorth is the least a pause lasts, in holds, for the window opened
// after it to send its first request alone (windowPacer.alone).
const aloneWorth = 10

// windowBrackets is how many boundaries back the length is bounded from.
const windowBrackets = 32

// windowBlind is how many refusals in a row, nothing accepted between
// and no reset seen, hand the server back to the bucket equation: more
// than the last few requests of a window in flight at once.
const windowBlind = windowProbes + 2

// windowLostAfter is how many times, no reset seen, a request sent
// after a refused one was accepted, and one refused after: a fixed
// window refuses all until its reset, which shows the counter whole.
const windowLostAfter = 3

// windowLost is how many refusals, no reset seen, hand the server back
// to the bucket equation: twice what a pool of inFlight sends into a
// window with quota used up, and then some.
func windowLost(quota, inFlight int) int {
	return 2*max(inFlight, quota) + windowBlind
}

func newWindowModel(quota, inFlight, before int, startSent, startRecv time.Time, lo time.Duration, rtts *roundTrips) *windowModel {
	w := &windowModel{quota: quota, inFlight: inFlight, before: before, startSent: startSent, startRecv: startRecv, lo: lo,
		rtt: startRecv.Sub(startSent), rtts: rtts}
	w.startAt = arrived(startSent, startRecv, rtts.lead())
	w.pacer.open = w.startAt
	w.left, w.leftSent, w.leftRecv = quota-before, startSent, startRecv
	w.least = w.left
	w.pacer.sent = before
	w.lastIn = startSent
	w.grid = []gridWindow{{to: startRecv, last: startSent}}
	w.plan()
	return w
}

// sent records a request let go at now.
func (w *windowModel) sent(now time.Time) {
	w.sends = append(w.sends, now)
}

// unsend forgets the request sent at sent: refused where refusals count
// in no window of ours to come, or given back before it left.
func (w *windowModel) unsend(sent time.Time) {
	if i := slices.IndexFunc(w.sends, sent.Equal); i >= 0 {
		w.sends = slices.Delete(w.sends, i, i+1)
	}
}

// answered reads an accepted answer's counter; reset is when the server
// says the window ends, from recv, and second the whole-second instant
// it named, on the local clock (zero when the reset was not one).
// It reports false when the counter contradicts a fixed window: it came
// back part of the way, as a bucket's or a sliding window's does.
func (w *windowModel) answered(sent, recv time.Time, remaining int, reset time.Duration, second time.Time) bool {
	// The longest round trip, forgetting the slow start of a server that
	// warms up (a JIT, a first connection) over some tens of answers.
	w.rtt = max(recv.Sub(sent), w.rtt-w.rtt/16)
	w.blind = 0
	w.pastQuota = false
	if w.hi == 0 && !w.lostRef.IsZero() && sent.After(w.lostRef) && remaining >= 0 && remaining < w.quota-1 {
		// Accepted, sent after a refused request, and no reset seen
		// yet: a fixed window refuses all until its reset, which
		// shows the counter whole (its answer may come later).
		w.lostAcc = true
	}
	if sent.Before(w.startSent) || remaining < 0 {
		return true
	}
	if !w.suspect.IsZero() {
		near := max(w.rtt, w.suspectRTT)
		switch {
		case remaining >= w.quota-1 && sent.Sub(w.suspect) <= near:
			// The opener of a new window, sent in the same breath as
			// the suspect (or before it, its answer late): the counter
			// came back whole, its answers out of order.
			w.suspect = time.Time{}
		case sent.Sub(w.suspect) > near && !w.inFlightNear(w.suspect, near):
			// A later request answered, and none sent with the suspect
			// found the counter whole: it came back part of the way.
			// Only once all of those are answered: on a loaded machine
			// the opener's answer may come after those of requests sent
			// well after it (ulule's fixed window of 15 per 150ms, its
			// opener answered 17ms late, was taken for a sliding window).
			return false
		}
	}
	if reset > 0 && remaining < w.quota-1 {
		// The server's word for when this window ends: a claim, tried
		// with a probe before it is relied on.
		if c := recv.Add(reset).Sub(w.startSent); w.claim == 0 || c < w.claim {
			w.claim, w.claimSecond = c, !second.IsZero()
		}
	}
	if remaining >= w.quota-1 {
		early := !sent.After(w.startSent)
		switch {
		case early:
		case w.aligned:
			// The window opened before our first request in it: a new
			// one cannot open sooner than a window after the latest
			// request known in the one before.
			early = !w.prevLast.IsZero() && recv.Sub(w.prevLast) <= w.lo
		case w.whole && sent.After(w.startRecv):
			// The window's first request showed the counter whole and
			// had arrived before this one left: this one opened a later
			// window, however soon after it it left. It arrived late (a
			// loaded machine): requests sent after it were still
			// counted in the old window.
		default:
			early = sent.Sub(w.startRecv) < w.lo
		}
		if early {
			// The first request of the window we took another for: the
			// window cannot have ended this soon.
			w.startSent, w.startRecv, w.startAt, w.whole = sent, recv, arrived(sent, recv, w.rtts.lead()), true
			return true
		}
		w.opened(sent, recv, remaining, second)
		return true
	}
	// Where this request stands among our sends since the window's first.
	// The request is one of them: let go by the pacer a little before
	// the sender took its send time (a journal write lies between), it
	// is not one that went before it.
	idx := w.before - 1
	for _, t := range w.sends {
		if !t.After(sent) {
			idx++
		}
	}
	idx = max(idx, w.before)
	// Never past the quota where even the latest place idx gives is not
	// (pastQuotaOf counts no more ahead of it): most answers.
	past := idx >= w.quota && w.pastQuotaOf(sent)
	left, leftSent, leftRecv := w.left, w.leftSent, w.leftRecv
	fromLast := past && w.lastSent.After(leftSent) && remaining > w.lastLeft &&
		sent.Sub(w.lastSent) > w.rtt && sent.After(w.lastRecv)
	if fromLast {
		// A counter that shows more left than the latest reading, in
		// any window (left is the current window's low), came back
		// after it too: that reading is the one to compare, its
		// request counted before the counter came back.
		left, leftSent, leftRecv = w.lastLeft, w.lastSent, w.lastRecv
	}
	// A request sent a round trip after another arrived after it: if its
	// counter shows more left, the counter went up in between. One past
	// the quota went in a later window, whatever it shows.
	if sent.Sub(leftSent) > w.rtt && sent.After(leftRecv) && (remaining > left || past) {
		// A new window counted quota-1-remaining requests before this
		// one: they must be ours, sent since the counter was last seen
		// going down. If not, it came back part of the way.
		// Ours sent a round trip before leftSent may have arrived after
		// that request, so they count too, but for those whose own
		// answers showed them counted in the old window.
		// Those sent at the same instant as this one may have too; the
		// request itself is one of the sends.
		// A refused request reached the old window still full: those
		// sent a round trip before it were counted there too.
		from := leftSent
		if w.refusedSent.After(from) && w.refusedSent.Before(sent) {
			from = w.refusedSent
		}
		from = from.Add(-w.rtt)
		// same counts those sent in the same breath as this request:
		// whether one of them reached the new window first, their own
		// answers tell (suspect).
		n, same := -1, -1
		for _, t := range w.sends {
			if t.After(from) && !t.After(sent) {
				n++
				if t.After(sent.Add(-w.rtt)) {
					same++
				}
			}
		}
		for _, t := range w.counted {
			if t.After(from) && t.Before(sent) {
				n--
			}
		}
		if fromLast && !w.lastCounted {
			// The latest reading's request, counted before the
			// counter came back (the loop above took it off if its
			// answer showed it in this window).
			n--
		}
		// Under load a request may start late and arrive after ours
		// sent a little after it: those sent within a round trip after
		// it may have been counted first too.
		later := 0
		for _, t := range w.sends {
			if t.After(sent) && !t.After(sent.Add(w.rtt)) {
				later++
			}
		}
		taken, slack := w.quota-1-remaining, min(w.inFlight, w.quota/4)
		switch {
		case taken > max(n+later, 0)+slack:
			w.pastQuota = remaining <= left
			return false
		case taken > 0 && n+later <= 0 && !w.sawReset && w.unexplained(sent):
			return false
		case taken > max(n-max(same, 0), 0)+slack && w.suspect.IsZero():
			// Only if they were: the rest of its burst's answers
			// decide (suspect).
			w.suspect, w.suspectRTT = sent, w.rtt
		}
		if idx >= w.quota {
			w.noteLast(sent, recv, remaining, false)
		}
		return true
	}
	if idx >= w.quota {
		// Counted in a later window whose first answer is still to come
		// (or in this one: not placed exactly, or answered within a
		// round trip of the reading compared).
		w.noteLast(sent, recv, remaining, false)
		return true
	}
	// Still counted in the window that startSent opened.
	w.counted = append(w.counted, sent)
	if !second.IsZero() {
		if w.second.IsZero() {
			w.second = second
		}
		if w.rounding == roundsUnknown && sent.Sub(w.second) > secondSlack {
			// Counted in the window after the second it names: the
			// server truncates its end.
			w.rounding = roundsDown
		}
	}
	if remaining < w.left || sent.After(w.leftSent) {
		w.left, w.leftSent, w.leftRecv = remaining, sent, recv
	}
	if sent.After(w.startRecv) {
		// Not one sent before the window's first answer, which the
		// old window may have counted and answered late.
		w.least = min(w.least, remaining)
	}
	w.noteLast(sent, recv, remaining, true)
	if lo := sent.Sub(w.startRecv); lo > w.lo && (w.hi == 0 || lo < w.hi || !w.aligned) {
		// Past hi, it says the window opened before startSent (narrow).
		w.narrow(lo, w.hi)
	}
	return true
}

// unexplained reports whether a counter that came back part of the way
// for the request sent at sent, where no request the model saw sent
// since a round trip before the lowest reading (and not shown counted in
// the old window) could have taken the rest (answered checks that), has
// nothing to explain it as a fixed window's. The slack answered allows
// is for answers read out of order; here none can be: no request of ours
// sent before this one is still in flight (it may have reached the
// server first and opened a window), and no window's first request was
// seen whole since the lowest reading's request left (one sent before
// the model began is not among its sends, and opened a new window the
// model took for the old one's first). answered asks only until the
// counter was seen come back whole (sawReset): nothing else says the
// server counts in fixed windows, and a sliding log read right after its
// first burst aged out, paced slowly in the meantime, counts the requests
// sent since that burst and nothing more (rolling-rate-limiter at 15 per
// 150ms with its headers came back to 12 of 15, and the window model,
// which let that off as reordering, held the pool for a reset until the
// counter came back whole 0.2s later).
func (w *windowModel) unexplained(sent time.Time) bool {
	if w.whole && w.startRecv.After(w.leftSent) {
		return false
	}
	return !w.openBefore(sent)
}

// pastQuotaOf reports whether the request sent at sent, accepted, went
// after the window's quota of ours, however its burst reached the
// server: a later window took it. Our sends place it only when the
// window's first answer showed the counter whole, none of ours left
// more than a round trip before that request (opened keeps none such;
// one taken for the window's first late does), or the window is the run's
// first, begun with our first request, before what the counter showed
// taken then. The request is one of the sends (not one the model began
// with), none of ours sent before it is still in flight, and those sent
// within a round trip before it may have reached the server after it.
func (w *windowModel) pastQuotaOf(sent time.Time) bool {
	ahead := 0
	switch {
	case w.whole:
		for _, t := range w.sends {
			if t.Before(w.startSent.Add(-w.rtt)) {
				return false
			}
		}
	case !w.sawReset && w.startSent.Equal(w.anchor.last):
		ahead = w.before
	default:
		return false
	}
	own := false
	for _, t := range w.sends {
		switch {
		case !t.After(sent.Add(-w.rtt)):
			ahead++
		case !t.After(sent):
			own = true
		}
	}
	return own && ahead >= w.quota && !w.openBefore(sent)
}

// noteLast records an accepted answer's counter read past the window's
// opener (lastLeft), counted in this window as its answer showed or not.
func (w *windowModel) noteLast(sent, recv time.Time, remaining int, counted bool) {
	if sent.After(w.lastSent) {
		w.lastLeft, w.lastSent, w.lastRecv, w.lastCounted = remaining, sent, recv, counted
	}
}

// openBefore reports whether one of our requests that left before t is
// still in flight.
func (w *windowModel) openBefore(t time.Time) bool {
	for _, o := range w.open {
		if o.Before(t) {
			return true
		}
	}
	return false
}

// inFlightNear reports whether one of our requests that left within d of
// t is still in flight.
func (w *windowModel) inFlightNear(t time.Time, d time.Duration) bool {
	for _, o := range w.open {
		if o.Sub(t).Abs() <= d {
			return true
		}
	}
	return false
}

// opened records the first request of a new window, sent and answered at
// the given times: the last window closed before that answer. second is
// the whole-second end the answer names for the new window, as in
// answered.
func (w *windowModel) opened(sent, recv time.Time, remaining int, second time.Time) {
	if w.rounding == roundsUnknown && !w.second.IsZero() && w.second.Sub(recv) > secondSlack {
		// The old window ended before the second it named: the server
		// rounds its end up.
		w.rounding = roundsUp
	}
	// The claims the pacer planned its probes at, before this answer's
	// second moves them.
	planned := w.claimList()
	w.second = second
	// The boundary just crossed lies in (w.lastIn, edge]: lastIn the
	// latest of ours known in the old window, sent a round trip before
	// the opener (those sent with it may have come after it and been
	// counted in the new window, their answers first).
	for _, t := range w.counted {
		if t.After(w.lastIn) && t.Before(sent.Add(-w.rtt)) {
			w.lastIn = t
		}
	}
	// The pacer's next window starts at at, when the server had the
	// opener at the latest (lead); the bounds keep to the answer.
	at := arrived(sent, recv, w.rtts.lead())
	hi, edge := recv.Sub(w.startSent), recv
	off := sent.Sub(w.startSent)
	claimed := false
	for _, c := range planned {
		// The request sent at the server's claim opened the window:
		// the length most likely ends just before it.
		claimed = claimed || off >= c-w.rtt && off <= c+2*w.rtt
	}
	for _, c := range w.claimList() {
		if off >= c-w.rtt && off <= c+2*w.rtt {
			// The probe at the server's claim found the window over:
			// the claim holds, and bounds the length tighter than the
			// probe.
			hi = min(hi, c+w.rtt)
			edge = minTime(edge, w.startSent.Add(c+w.rtt))
		}
	}
	for i, lo := range w.brackets {
		k := time.Duration(len(w.brackets) - i)
		w.safeHi = least(w.safeHi, edge.Sub(lo)/k)
	}
	if len(w.brackets) == windowBrackets {
		w.brackets = w.brackets[1:]
	}
	w.brackets = append(w.brackets, w.lastIn)
	if !w.aligned && (hi <= w.lo || w.trusted && hi < w.policy || w.namedShort(hi)) {
		// This window ended sooner after our first request in it than
		// windows last, or than the server states they last where a
		// request counted near that end bore it out (trusted) or its
		// policy names the length to the millisecond (namedShort): it
		// opened before that request, and from here only brackets a
		// window apart bound the length (the stated one is put aside
		// as on any grid: checkPolicy). Taken for a window from our
		// request, shorter than stated, the pool was paced by the short
		// one: on a clock's grid behind a long path (express-rate-
		// limit's headers, 15 per 150ms, 50ms round trips), where our
		// openers drift through the server's windows, 10-17 429s and
		// 0.42 of the ideal for 200 rows; the parent's openers, timed
		// a round trip later, hid it.
		w.aligned = true
		w.hi = 0
	}
	if w.aligned {
		hi = w.safeHi
	}
	if w.hi > 0 && (hi == 0 || w.hi < hi) {
		hi = w.hi
	} else if claimed && !w.aligned {
		w.claimHi = hi
	}
	if n := len(w.grid); n > 0 {
		w.grid[n-1].last = maxTime(w.grid[n-1].last, w.lastIn)
	}
	if len(w.grid) == windowBrackets {
		w.grid = w.grid[1:]
	}
	w.grid = append(w.grid, gridWindow{from: w.lastIn, to: edge, last: sent})
	w.prevLast, w.lastIn = w.lastIn, sent
	w.sawReset = true
	w.resets++
	w.reset = w.left <= w.quota/4 || !w.refusedSent.Before(w.startSent)
	w.scanGrid()
	if !w.refusedNow {
		w.refusals = 0
	}
	w.refusedNow = false
	w.startSent, w.startRecv, w.startAt, w.whole, w.claim, w.claimSecond = sent, recv, at, true, 0, false
	w.left, w.leftSent, w.leftRecv = remaining, sent, recv
	w.least = remaining
	// Ours sent a round trip before the opener or later count in the new
	// window: sent in the same breath, they may have arrived after it.
	keep := w.sends[:0]
	for _, t := range w.sends {
		if !t.Before(sent.Add(-w.rtt)) {
			keep = append(keep, t)
		}
	}
	// So may those sent earlier and still in flight: on a loaded
	// machine one waits for a CPU and reaches the server after the
	// opener.
	late := 0
	for _, t := range w.open {
		if t.Before(sent.Add(-w.rtt)) {
			late++
		}
	}
	w.sends, w.before, w.counted = keep, late, w.counted[:0]
	w.pacer.restart(at, len(keep)+late)
	w.narrow(w.lo, hi)
}

// throttled reads a refusal answered at now: the request was still in the
// window, and when the pause ends a new one has begun.
//
// It reports false when refusals contradict a fixed window: once a reset
// was seen, the pacer sends a window's quota only after the window ended,
// so a second refusal means the server is not counting in fixed windows.
func (w *windowModel) throttled(now, sent time.Time) bool {
	i := -1
	if !sent.IsZero() {
		i = slices.IndexFunc(w.sends, sent.Equal)
	}
	if !sent.IsZero() && sent.After(w.refusedSent) {
		w.refusedSent = sent
	}
	if i >= 0 {
		// Refused, it is counted in no window of ours to come: in the
		// one it reached where refusals count, in none where they do
		// not. Left among the sends, a refused request sent with a new
		// window's opener was counted as one of its quota, and the
		// pacer sent that window one request short.
		w.sends = slices.Delete(w.sends, i, i+1)
	}
	if w.trusted {
		// Paced by the stated window and refused: it is not the
		// server's.
		w.trusted, w.policyOff = false, true
	}
	if w.hi > 0 {
		w.refusals++
		w.refusedNow = true
		if w.refusals >= 2 {
			return false
		}
	} else {
		w.blind++
		w.pauses++
		if w.lostAcc {
			w.lost++
		}
		w.lostAcc = false
		if !sent.IsZero() {
			w.lostRef = sent
		}
	}
	if w.hi == 0 && (w.pauses >= windowLost(w.quota, w.inFlight) || w.lost >= windowLostAfter || w.fromOrder && w.lost >= 2) {
		// Refused more often than the pool and a window's quota
		// account for, or refused, accepted and refused again, and
		// no reset seen.
		w.neverFound = true
		return false
	}
	if w.hi == 0 && w.blind >= windowBlind {
		// Refused again and again, nothing accepted between, before
		// any reset: each refusal reopened the window at once (the
		// pause the server asked was 0), and the counter, never read
		// on a refusal, shows no reset. Not a window this model can
		// time: a main run against go-chi/httprate at 15 per 150ms drew
		// 9758 429s so.
		return false
	}
	if w.hi == 0 && w.policyNamed && !w.policyOff && !w.aligned && !sent.IsZero() {
		// No reset seen, and the server's policy names the window's
		// length to the millisecond ("15-in-0.15sec"): the window that
		// refused this request began by the first answer in it, on a
		// grid sooner, and ends by that answer plus the length, where
		// a Retry-After in whole seconds may lie most of a second past
		// it (alignedWait). express-rate-limit at 15 per 150ms with 16
		// workers, the first window's last requests refused at 105-
		// 127ms: the pool waited their Retry-After of 1s (0.66 of the
		// ideal in the simulation, 0.78 on the real one), where the
		// window ended at 151ms. Refused a round trip past that end,
		// the name is no measure of the window: it is put aside.
		end := w.startRecv.Add(w.policy)
		if sent.After(end.Add(w.rtt)) {
			w.policyOff = true
		} else if end.After(now) {
			w.alignedEnd = end
		}
	}
	// The window the pacer opened after a pause had not ended when its
	// first request, sent alone, arrived (refusedFloor).
	w.openerRefused = w.hi == 0 && w.pacer.alone && w.pacer.opened && !sent.IsZero() && sent.Equal(w.pacer.open)
	w.pacer.searching = w.openerRefused
	switch {
	case !w.openerRefused:
		w.searchFrom, w.searchStep = now, 0
	case w.searchStep == 0:
		w.searchStep = max(2*w.rtt, now.Sub(w.searchFrom)/searchSplit)
	default:
		w.searchStep *= 2
	}
	w.pacer.paused = now
	// The refused request left at least a round trip ago, before the
	// window ended.
	if t := now.Add(-w.rtt); t.After(w.lastIn) {
		w.lastIn = t
	}
	// The pacer opened a window of its own, the length measured from
	// startSent after it, and sent into it: a refusal now (the round trip
	// may be long, as on a cold server) says the same.
	ownWindow := w.pacer.open.After(w.startRecv) && w.pacer.sent > 0 && !now.Before(w.pacer.open)
	w.pacer.open = time.Time{}
	lo := now.Add(-w.rtt).Sub(w.startRecv)
	unseen := w.quota > 0 && len(w.sends) > w.quota+w.inFlight
	if unseen {
		// More of our requests went since the window's first than it
		// holds, a pool's worth to spare, and the counter never came
		// back whole: windows ended unseen (a moving window hands one
		// request back as each ages out, Flask-Limiter's). The window
		// that refused this one began no later than the latest quota
		// of them, not at startRecv: read so, a refusal at the end of
		// a run of 120 rows through 2 per 1s bounded the window below
		// by 70s, and its pinned flags took 4258s where the adaptive
		// run took 72s.
		lo = now.Add(-w.rtt).Sub(w.sends[len(w.sends)-w.quota])
	}
	if !w.aligned && w.hi > 0 && !unseen && (ownWindow || now.Add(-w.rtt).Sub(w.startSent) >= w.hi) {
		// Refused past the window's end as measured from our first
		// request in it: the window opened before that request.
		lo = max(lo, w.hi)
	}
	wasAligned, counted, refusedNow := w.aligned, w.hi > 0, w.refusedNow
	w.narrow(max(w.lo, lo), w.hi)
	if w.aligned && !wasAligned && counted && w.reset {
		// The refusal showed the window on a grid, opened before our
		// first request in it: explained, it is no sign against the
		// model. The window it came in is the one our last opener
		// found, which ends within the new bound of that answer: the
		// pool waits it out rather than knock again at the wait the
		// refusal gave (none, where go-limiter's Retry-After, a date
		// to the second, has passed), which a second refusal in the
		// window took for no fixed window at all (go-limiter at 40 per
		// 500ms: then a bucket, whose flags drew 22-24 429s).
		// Only where the window began with a reset: go-chi/httprate's
		// sliding counter at 3 per 1s with 2 workers, read whole again
		// only after pauses that took one request from it, is on the
		// clock too, and forgiven it was never handed back to the
		// sliding window: a fixed window of 3 per 1.57s, whose flags
		// drew 178 429s where adaptive drew 4.
		w.refusals--
		w.refusedNow = refusedNow
		if w.hi > 0 {
			w.pacer.restart(w.startAt, w.quota)
			// It ends, by the bound above, by the time the pacer
			// opens the next one: a refusal's whole-second wait
			// from a server that states the seconds left rounded
			// up (go-fiber's and fastify's at 100 per 1s: always
			// "1") lies up to a second past that (alignedWait).
			// The claimed end is not taken here, as it is below:
			// the bound is sure, and seconds left that a server
			// truncates (Envoy's) would open the next window up to
			// a second early, a refusal that leaves the model one
			// from being given up; where the server was seen to
			// round its claims up, cutting to them too lost a
			// little in TestSweep (32 runs, 0.949 -> 0.943).
			w.alignedEnd = w.pacer.end()
		} else if end := w.claimEnd(); end.After(now) && (w.rounding == roundsUp || w.rounding == roundsUnknown && !w.claimSecond) {
			w.alignedEnd = end
		}
	}
	return true
}

// alignedWait is how long the pool waits after the refusal at now that
// showed the window aligned on the clock (alignedEnd), where that is
// sooner than wait. With the length unbounded: to the end the server
// claimed for the window the refusal came in. The window's first answer
// named it; a whole-second Retry-After on the refusal may lie up to a
// second past it. Only where the server was seen to round its claims
// up, or, not seen either way, named the seconds left (as express-rate-
// limit's and fastify's resets do, rounded up): an instant to the second
// (a Unix time) is mostly truncated, the window ending up to a second
// after it (rolling-rate-limiter's log at 3 per 1s with 2 workers,
// knocking there, was refused twice and gave the model up). A claim that
// was short costs the window's first request, sent alone in a pool of
// more than two. With the length bounded: to the window's first answer
// (less lead) plus the bound above, when it surely ended whatever the
// server's rounding: a window on the clock of 100 per 1s that counts its
// refusals and states "Retry-After: 1" on a 429 (go-fiber's, whose
// windows follow a ticker of whole seconds) was refused up to a second
// before its end, and the pool waited the whole second past it, the next
// window's quota up to half a window late (in the simulation 400 rows in
// 4.21s where 3.96s do). With no reset seen and the length named to the
// millisecond: to the first window's answer plus that length (throttled).
// Else wait.
func (w *windowModel) alignedWait(now time.Time, wait time.Duration) time.Duration {
	end := w.alignedEnd
	w.alignedEnd, w.alignedHold = time.Time{}, time.Time{}
	if !end.After(now) || end.Sub(now) >= wait {
		return wait
	}
	w.alignedHold = end
	return end.Sub(now)
}

// alignedCap is the wait of a refusal that came during a pause
// alignedWait cut: no longer than to that end.
func (w *windowModel) alignedCap(now time.Time, wait time.Duration) time.Duration {
	if !w.alignedHold.After(now) {
		w.alignedHold = time.Time{}
		return wait
	}
	return min(wait, w.alignedHold.Sub(now))
}

// narrow sets the bounds; evidence that contradicts them (the window
// changed, or was not one from our first request) starts the search over.
func (w *windowModel) narrow(lo, hi time.Duration) {
	if hi > 0 && lo >= hi && !w.aligned {
		// A window lasted longer than one was measured to, from our
		// first request in it: that one began before the request, on
		// the clock. Only brackets a window apart bound it.
		w.aligned, hi = true, w.safeHi
		if hi > 0 && lo >= hi {
			hi = 0
		}
	}
	if hi > 0 && lo >= hi {
		lo, hi = hi/2, 0
	}
	w.lo, w.hi = lo, hi
	w.checkPolicy()
	w.plan()
}

// statePolicy records the window length the server's policy header
// states, a claim to check against the counter's resets.
func (w *windowModel) statePolicy(d time.Duration, named bool) {
	if d <= 0 || w.policyOff || d == w.policy {
		return
	}
	w.policy, w.policyNamed, w.trusted = d, named, false
	w.checkPolicy()
	w.plan()
}

// namedShort reports whether a window ended hi after our first request
// in it, well short of the length the server's policy names to the
// millisecond (express-rate-limit's "50-in-0.5sec"): a window on the
// clock's grid, which opened before that request. Read as the length,
// the first window's 337ms of a 500ms grid paced the pool too soon into
// 429s, and the model searched for a longer window: express-rate-
// limit's shape on the clock at 50 per 500ms, 8 workers, 0.59 of the
// ideal (its pinned flags 0.71), 0.79 (0.95) since (TestSweep, ten
// seeds; TestWindowNamedPolicy).
func (w *windowModel) namedShort(hi time.Duration) bool {
	return w.policyNamed && !w.policyOff && hi < w.policy-w.policy/10
}

// checkPolicy weighs the server's stated window against the bounds: a
// length outside them is not the window's (express-rate-limit rounds
// 150ms up to w=1), and once the bounds hold it within policyTolerance
// below, it is taken as the length: a window from the first request
// that lasts what the server says needs no more measuring.
func (w *windowModel) checkPolicy() {
	switch {
	case w.policy <= 0 || w.policyOff:
	case w.aligned || w.lo >= w.policy || (w.hi > 0 && w.hi < w.policy):
		w.policyOff, w.trusted = true, false
	case w.hi > 0 && w.lo >= w.policy-w.policyTolerance():
		w.trusted = true
	}
}

// policyTolerance is how close below the stated window a request must
// have been counted for the claim to hold: the window's precision plus
// what a round trip each way can hide.
func (w *windowModel) policyTolerance() time.Duration {
	return time.Duration(windowPrecision*float64(w.policy)) + 2*w.rtt
}

// refusedFloor is the least pause a refusal at now asks, from the
// model's own evidence, where the server's wait may end too soon; hinted
// says whether the server stated a wait it could use. While no reset was
// seen (hi 0), two refusals say the wait is no measure of the window's end:
// one that states no usable wait, and that of the first request of a
// window the pacer opened after a pause (openerRefused), sent alone, which
// says the pool waited what the refusal before it stated and the window
// outlasted that. Either waits for the server's claim of the window's end
// while it lies ahead and the model saw no reset of its own (taken). Past
// the claim, or where it is not taken, the opener's refusals search for
// the end in steps, none past a claim ahead: the first a searchSplit-th of
// the time since the refusal that began the search (searchFrom, the first
// that was no opener's), doubled at each opener refused since (one that
// waited for the claim too). Each window the search opens sends its first
// request alone (windowPacer.searching), so a step costs a 429 at most.
//
// go-limiter names its window's end as a date to the second, truncated:
// read against a server clock known to the second, its Retry-After ended
// the pause up to most of a second before the window, begun at the first
// request, did, and said nothing once that second had passed. The pool,
// resumed whole, was refused whole, then again every round trip: each
// refusal read as a bare 429 backed off for tens of milliseconds, and the
// fifth pause in a row gave the model up for a bucket. 4 real runs of 9
// with 16 workers at 100 per 1s drew 66-89 429s, three of them taking
// 6.7-6.9s for 400 rows (0.43-0.45); in the simulation 1 seed of 20 with
// 8 workers and 3 with 16, at every start in a second but the whole one
// (TestWindowEarlyResumeAlone). An opener refused after a claim to the
// whole second passed, no reset seen and the server not known to round
// up, waits to the second after the claim, where a truncated claim's
// window has surely ended (TestWindowTruncatedClaimPassed). 0 where the
// model has no floor to add.
func (w *windowModel) refusedFloor(now time.Time, hinted bool) time.Duration {
	if w.hi > 0 {
		return 0
	}
	var ahead time.Duration
	if end := w.claimEnd(); !end.IsZero() {
		ahead = end.Sub(now)
	}
	// A claim is taken until the model saw a reset of its own: a
	// window's end named to the second is no measure of a window under
	// one (go-limiter at 15 per 150ms: a claim 0.9s off, waited for,
	// cost 0.09 of the ideal).
	taken := ahead > 0 && !w.sawReset
	if claim, _ := w.resetClaims(); claim > 0 && w.openerRefused && !w.sawReset && w.claimSecond && w.rounding != roundsUp && !w.refusedSent.Before(w.startSent.Add(claim)) {
		// The claim named a whole second, it passed, and the window
		// the pacer opened after it had not ended: a claim truncated
		// to the second, the window's end within the second after.
		// Wait that out, not a search from the claim by round trips:
		// sethvargo/go-limiter at 10 per 2s, 45 rows through 8
		// workers from .890 in a second, searched 36, 72 and 145ms
		// past it, refused each time (the Retry-After it names, a
		// date to the second, already passed), and the fifth refusal
		// in a row gave the model up (windowBlind): 12-18 429s,
		// real 40 of 85 requests.
		if late := w.startSent.Add(claim + time.Second + w.rtt); late.After(now) {
			w.truncWaited = true
			return late.Sub(now)
		}
	}
	switch {
	case taken && (w.openerRefused || !hinted):
		return ahead
	case w.openerRefused && ahead > 0:
		return min(w.searchStep, ahead)
	case w.openerRefused:
		return w.searchStep
	}
	return 0
}

// claimEnd is when the server claims the current window ends (claims,
// from its first request's send); zero without a claim.
func (w *windowModel) claimEnd() time.Time {
	if claim, _ := w.claims(); claim > 0 {
		return w.startSent.Add(claim)
	}
	return time.Time{}
}

// length is the window's length as the pacer times it: the stated one
// once trusted, else the upper bound; 0 while no reset was seen.
func (w *windowModel) length() time.Duration {
	if w.trusted {
		return min(w.hi, w.policy)
	}
	return w.hi
}

// plan sets the pacer from what is known: until a reset shows, one probe
// at a time at doubling offsets; then the whole quota at each window's
// start, the last few held back to bisect the length while it is unsure.
func (w *windowModel) plan() {
	p := &w.pacer
	p.alone = false
	p.allowance, p.extra, p.try = w.quota, 0, 0
	if w.hi == 0 {
		p.length = windowNever
		p.probes = p.probes[:0]
		if p.open.IsZero() {
			// After a pause to the server's reset: a new window, its
			// quota at once. Should its answers show no reset (a window
			// aligned on the clock that the pause did not outlast),
			// probes beyond the quota at doubling offsets find the
			// reset; else they are planned over as the answers come.
			// In a pool of more than two, the window's first request
			// goes alone, the rest two round trips later or once its
			// answer shows the counter whole (alone): a pause that
			// ended before the server's window did costs one 429,
			// not the pool's worth, and its refusal tells the model so
			// (refusedFloor); after a pause into a period that a
			// counter weighing the one before still holds nearly
			// full, its answer hands the window back as a sliding one
			// before the rest go. A pool of two saves one at most, and
			// the hold parted its pairs: a log of 3 per 1s with
			// httprate's headers and 2 workers ran at 0.42 of the
			// ideal, not 0.63.
			if w.inFlight > 2 {
				p.alone, p.aloneHold = true, 2*w.rtt
			}
			for d := max(w.lo, w.rtt, time.Millisecond); d < time.Minute; {
				d *= 2
				p.probes = append(p.probes, d)
			}
			p.allowance += len(p.probes)
			p.extra = len(p.probes)
			return
		}
		// What the counter says is left, less what is on its way, goes
		// at once but for a few held back to probe at doubling offsets.
		// When the server claims an end, they all go before it (if the
		// window ended earlier, they open the next one: nothing lost)
		// and one probe at the claim, which costs nothing if it is true.
		pending := 0
		for _, t := range w.sends {
			if t.After(w.leftSent) {
				pending++
			}
		}
		left := max(w.left-pending, 0)
		held := min(left, windowProbes)
		d := max(w.lo, w.rtt, time.Millisecond)
		claim, test := w.claims()
		if test <= w.lo+w.rtt {
			// The counter saw the window last longer than that.
			test = 0
		}
		// timing of the held requests time the window's end; the test
		// is one of them too where one that lands in the next window
		// costs nothing (below), the quota permitting.
		timing := held
		if test > 0 && !p.fills(left) {
			if left > held {
				held++
			} else if held > 0 {
				timing--
			}
		}
		if claim > w.lo {
			first := claim
			if test > 0 {
				first = test
			}
			// The held probes are offsets from the pacer's open, the
			// window's first answer: the claim, measured from the
			// first request's send, lies that round trip sooner from
			// there (rel).
			rel := first - p.open.Sub(w.startSent)
			// A claim a second or less away, most often one given to
			// the whole second (fastify's reset of 1, express-rate-
			// limit's draft-6 t=1, a Unix second), says little of a
			// window under a second: fastify, ulule and go-limiter at
			// 100 per 500ms ended the first window at 0.5s and the
			// doubling probes found it at 0.59-0.75s. The held probes
			// go first just past the round lengths people set
			// (roundAbove) above the window's least length, each one
			// counted in the window if it lasts longer, or opening the
			// next a millisecond after it ended; the rest as before.
			// The first burst's pause (adaptiveIdle) puts that least
			// length past 100ms: 251ms and 501ms for a claim of 1s.
			// None within a tenth of the claim, where the probe at the
			// claim tries it and a held probe landing past a window of
			// whole seconds would leave it short.
			if rel <= time.Second+time.Second/10 {
				for c := roundAbove(max(d, rel-time.Second)); timing > len(p.probes) && c < rel*9/10; c = roundAbove(c) {
					d = c + time.Millisecond
					p.probes = append(p.probes, d)
				}
			}
			// The rest aim at the claim from the first request's send,
			// as before: measured from the open, a cold server's
			// express-rate-limit at 100 per 1s (w=1) ran at 0.91 of the
			// ideal, under the 0.93 it holds in the simulation, though
			// a first answer 250ms late puts the last held probe on
			// the claim's own.
			for timing > len(p.probes) && 2*d <= first/2 {
				d *= 2
				p.probes = append(p.probes, d)
			}
			for i, extra := 0, timing-len(p.probes); i < extra; i++ {
				p.probes = append(p.probes, d+(first-d)*time.Duration(i+1)/time.Duration(extra+1))
			}
			if test > 0 {
				// The whole second read as rounded up, tried before
				// the claim. Where the server truncates, it is before
				// the end: one of the window's own requests costs
				// nothing there (it is counted), but landing in the
				// next window where the server rounds up, it leaves
				// this one a request short, which costs a window when
				// the rows fill theirs exactly: then it goes beyond
				// the quota (timing above), and a truncating server
				// refuses it.
				p.probes = append(p.probes, p.claimAt(test, w.startSent))
			}
			d = claim
			p.probes = append(p.probes, p.claimAt(claim, w.startSent))
		}
		for d < time.Minute && len(p.probes) < w.quota {
			d *= 2
			p.probes = append(p.probes, d)
		}
		// What goes at once is never more than the counter leaves for
		// it with every request still in flight counted too: the pacer
		// lets a burst go before the sender stamps any of it sent, so
		// none of the burst left after the answered request's send
		// (pending), and the server may count any of it after that
		// answer. Counted from the sends alone, the pool went over what
		// the counter said by as much as it had in flight: express-
		// rate-limit's shape at 15 per 150ms with 16 workers, after the
		// first requests went alone, spent the window with 5 more in
		// flight (5-6 429s a run, 0-2 since). The held probes stay as
		// they were: taken from them, a window whose last answers came
		// one by one held its last three requests back to time its end,
		// and on a cold server the third landed in the next window, a
		// window's worth of rows late where the rows fill their
		// windows. Only those the count leaves room for are the
		// window's own (extra: the run's last rows send those at once).
		// The count is the least any answer in the window showed: a
		// later send's reading of more is one the server took before
		// (fastify at 15 per 150ms with 16 workers: 9 read after 6,
		// four more let go, and the refusals' Retry-After of 1s cost
		// half the runs a second). The plan is made again only where
		// an answer moves the window's bounds (narrow): a lower count
		// read after a higher one from a request sent sooner waits for
		// the next (planned again on it, a window of 50 per 500ms on
		// the clock with 8 workers lost a window in one seed of five:
		// TestWindowNamedPolicy).
		onWay, count := max(pending, len(w.open)), min(w.left, w.least)
		atOnce := min(left-held, max(count-onWay, 0))
		p.allowance = p.sent + atOnce + len(p.probes)
		p.extra = len(p.probes) - min(held, max(count-onWay-atOnce, 0))
		return
	}
	// The pacer times a window from its first request's answer, when the
	// server surely had it: hi measured from that request's send is
	// enough, however long that answer took.
	p.length = w.length()
	p.spread = w.hi - w.lo
	p.probes = p.probes[:0]
	p.tries = false
	p.hold = min(2*w.rtt, p.length/10)
	switch {
	case w.trusted:
		return
	case w.policy > 0 && !w.policyOff && w.lo >= w.policy/2:
		// The server's stated window fits the bounds: one request held
		// back to just before it ends tries the claim; counted, it holds
		// (checkPolicy), and if it opened the next window instead, the
		// claim is off at a cost of one request. Tried only once the
		// window surely lasts half of it: before, bisecting narrows the
		// bounds faster, and on a window aligned on the clock (which
		// starts before our first request in it) a probe this late
		// finds the window ended and sends the bounds the wrong way.
		// Half the tolerance is margin: the round trip it is measured
		// by moves meanwhile.
		at := max(w.policy-w.policyTolerance()/2, w.lo+time.Millisecond)
		if !w.aligned {
			// Not one of the window's own requests, which landing past
			// its end on a loaded machine left it a request short (a
			// fifth window for 400 rows at 100 per 1s), but the next
			// window's first, tried there (try): refused, the claim
			// holds at the cost of one 429, and the pool waits to the
			// upper bound, as it would have.
			p.try = at
			return
		}
		p.probes = append(p.probes, at)
		p.tries = true
		return
	}
	if float64(w.hi-w.lo) > windowPrecision*float64(w.hi)+float64(w.rtt) {
		// Spread geometrically: the length is as likely a tenth of what
		// is known as nine tenths.
		n := min(windowProbes, w.quota-1)
		lo := max(w.lo, w.rtt, time.Millisecond)
		if w.aligned && !w.prevLast.IsZero() {
			// The next boundary is a window after this one, which lies
			// between the latest request known in the last window and
			// the answer (less lead) the pacer's window is timed from:
			// probe evenly across where it may fall, and each probe
			// narrows its bracket.
			lo = max(w.lo-w.startAt.Sub(w.prevLast), w.rtt, time.Millisecond)
			for i := range n {
				p.probes = append(p.probes, lo+(w.hi-lo)*time.Duration(i+1)/time.Duration(n+1))
			}
			return
		}
		if w.aligned || w.hi >= 2*lo {
			for i := range n {
				f := math.Pow(float64(w.hi)/float64(lo), float64(i+1)/float64(n+1))
				p.probes = append(p.probes, time.Duration(float64(lo)*f))
			}
			return
		}
		// A window from its first request: its whole quota goes at
		// its start and the next window's first request tries where
		// the length may end, between the bounds. Held back to bisect,
		// the last few of a window's own requests landed past its end
		// on a loaded machine and were counted in the next, and 400
		// rows at 100 per 1s spilled into a fifth window (0.72-0.74).
		// Only once the bounds lie within a factor of two: wider, the
		// held requests narrow them three times a window, and their
		// counters show a sliding window taken for a fixed one (the
		// try's refusal shows nothing, and a sliding counter of 10 per
		// 1s, handed back later, was paced 25% slower).
		//
		// Where the rows counted do not fill their windows, a held
		// request landing in the next window costs nothing: the held
		// probes stay planned and the pacer sends them instead
		// (trying).
		for i := range n {
			f := math.Pow(float64(w.hi)/float64(lo), float64(i+1)/float64(n+1))
			p.probes = append(p.probes, time.Duration(float64(lo)*f))
		}
		p.try = time.Duration(math.Sqrt(float64(lo) * float64(w.hi)))
		if w.claimHi == w.hi {
			// The bound above is the server's claim, found true: the
			// window most likely ends just before it. Tried there, a
			// refusal settles the length at once (one 429 where
			// bisecting from the geometric mean cost four or five);
			// taken, the claim was early and bisecting goes on from
			// the bound it gave, at no cost.
			p.try = max(p.try, w.hi-3*(time.Duration(windowPrecision*float64(w.hi))+w.rtt)/4)
		}
	}
}

// triedRefused reads the refusal of a request sent at sent, answered at
// now, when it is the next window's first request the pacer tried early
// (windowPacer.try): the window had not ended when it arrived, so it
// lasts longer than that request's send after the window's first answer.
// That is the try's answer, no sign against the model. It reports false
// for any other refusal.
func (w *windowModel) triedRefused(sent time.Time) bool {
	p := &w.pacer
	if p.tried.IsZero() || sent.IsZero() || sent.Before(p.tried) {
		return false
	}
	w.unsend(sent)
	if sent.After(w.refusedSent) {
		w.refusedSent = sent
	}
	if sent.After(w.lastIn) {
		w.lastIn = sent
	}
	if lo := sent.Sub(w.startRecv); lo > w.lo {
		w.narrow(lo, w.hi)
	}
	return true
}

// claims is when the server says the window ends, from startSent (0
// none), as the pacer tries it, and test, a sooner end to try first (0
// none): its reset's claims (resetClaims), or the end its stated policy
// gives the first window where that is sooner (policyClaim).
func (w *windowModel) claims() (claim, test time.Duration) {
	claim, test = w.resetClaims()
	if c := w.policyClaim(); c > 0 && (claim == 0 || c < claim) {
		claim = c
		if test >= claim {
			test = 0
		}
	}
	return claim, test
}

// resetClaims is when the server's reset says the window ends, from
// startSent (0 none), as the pacer tries it, and test, a sooner end to
// try first (0 none). A whole second R the server names is an interval:
// its window ends in [R, R+1s) where it truncates, in (R-1s, R] where it
// rounds up. claim, read against the Date header (to the second too),
// falls on the end of a window of whole seconds where the server
// truncates; where it may round up, test is the instant in (R-1s, R]
// whole seconds after the window's first answer, where a window of whole
// seconds ends. Once the counter proved the server rounds up, R itself
// (and the precision of the server's clock) is the claim: by then the
// window has surely ended.
func (w *windowModel) resetClaims() (claim, test time.Duration) {
	claim = w.claim
	if !w.claimSecond || w.second.IsZero() || w.rounding == roundsDown {
		return claim, 0
	}
	if w.rounding == roundsUp {
		claim = least(claim, w.second.Add(secondSlack).Sub(w.startSent))
	}
	if k := w.second.Sub(w.startRecv) / time.Second; k >= 1 {
		test = w.startRecv.Add(k * time.Second).Sub(w.startSent)
	}
	if test >= claim {
		test = 0
	}
	return claim, test
}

// policyClaim is when the window the server's policy states ends, from
// startSent, while no reset showed the length (0 none): the window began
// when the server had its first request, by that request's answer at
// the latest. A reset whole seconds from now (express-rate-limit's t=1
// for half a second) claims the first window's end a round second late,
// where a policy named "50-in-0.5sec" claims it to the millisecond; a
// probe at the claim that finds the window over ends it there. A false
// claim costs its probe's 429 and the wait the refusal states, and the
// bounds that refusal gives put the policy aside (checkPolicy): a window
// of 50 per 1s named "50-in-0.5sec" in the simulation took 0.62 of the
// ideal time, learned as 50 per 1.55s.
func (w *windowModel) policyClaim() time.Duration {
	if w.hi > 0 || w.policy <= 0 || w.policyOff || w.aligned {
		return 0
	}
	return w.startRecv.Sub(w.startSent) + w.policy
}

// claimList is the claim and the test claims gives, those set.
func (w *windowModel) claimList() []time.Duration {
	var list []time.Duration
	claim, test := w.claims()
	for _, c := range []time.Duration{test, claim} {
		if c > 0 {
			list = append(list, c)
		}
	}
	return list
}

// anchorGrid records the run's first request, sent and answered at the
// given times: a grid of the server's from it starts within a
// millisecond before the answer. The server had the request by then, and
// a start as early as the send spans a cold server's late first answer
// (40-60ms for a fresh Node.js), which let grids fit that were as much
// longer than a window from each opener (flexible at 100 per 1s, cold:
// 1.025-1.108s in the simulation, where 1.020-1.058s from the openers).
func (w *windowModel) anchorGrid(sent, recv time.Time) {
	w.anchor = gridWindow{from: maxTime(sent, recv.Add(-time.Millisecond)), to: recv, last: sent}
}

// priorWindow records the window before the model's first, whose first
// answer came at recv and in which a request sent at last was counted:
// the model's first window began after that request.
func (w *windowModel) priorWindow(recv, last time.Time) {
	w.grid[0].from = last
	w.grid = append([]gridWindow{{to: recv, last: last}}, w.grid...)
}

// windowLateResets is how many windows a model formed after an earlier
// one was given up must have seen open before its flags send its quota
// at once (unproven).
const windowLateResets = 5

// unproven says whether the model formed late, after an earlier one was
// given up or handed back, and has seen fewer than windowLateResets
// windows open since: what the run showed of the server contradicted a
// fixed window once, and a few resets read since do not outweigh it. Its
// pinned flags pace the window's quota evenly over its length, which a
// fixed window of that length or a sliding window of it or less rarely
// refuses (Stats.Pinned; the window learned is a little long, and a
// request after a late one may follow it by half an interval). A sliding
// counter at 3 per 1s (go-chi/httprate's, 8 workers), whose first model
// never found a reset, had its bucket steering form a new one 121s into
// a run of 128s: after three resets its window of 3 per 1.6s was pinned
// as --window fixed, and the flags drew 93 429s where the adaptive run
// drew 24.
func (w *windowModel) unproven() bool {
	return w.late && w.resets < windowLateResets
}

// learned is the window's length as the summary states it and the
// flags it suggests pace it: the length the pacer times, unless a grid
// the client did not start may still explain every window seen and
// allows a longer one. A pinned run opens its first window at its own
// first request, wherever the server's grid lies, so a length measured
// from late openers would send into windows not yet ended; a window a
// few percent long costs a few percent, one short costs 429s. A length
// the server stated and a request near its end confirmed holds on any
// grid; one it named to the millisecond is the least learned.
func (w *windowModel) learned() time.Duration {
	l := w.length()
	if !w.trusted && !w.gridOff && w.gridHi > l && (len(w.grid) >= gridMinWindows || w.truncWaited) {
		// (After a truncated claim was waited out, at once: the window
		// found then began up to a second before its opener, and on
		// go-limiter's grid, 10 per 2s from .890 in a second, the
		// length measured from the next opener, 1.76s, pinned over the
		// rate: 9-15 429s where the adaptive run drew 4.)
		l = w.gridHi
	}
	if w.policyNamed && l > 0 && l < w.policy {
		// A window the server named to the millisecond and measured
		// shorter was measured from openers late in their windows: on
		// the clock, where four windows of 50 per 500ms ended before a
		// refusal showed it aligned, and the length learned from them
		// (364ms) pinned over the rate. No window is shorter than its
		// own configuration says.
		l = w.policy
	}
	return l
}

// scanGrid finds the longest window a grid from the run's first request
// allows, below safeHi and gridHi (evidence only takes lengths away),
// scanning down from there in steps small enough to miss none, and sets
// gridOff when none over lo fits.
func (w *windowModel) scanGrid() {
	if w.gridOff || w.safeHi <= 0 {
		return
	}
	top, bottom := w.safeHi, max(w.lo, time.Millisecond)
	if w.gridHi > 0 {
		top = min(top, w.gridHi)
	}
	if top <= bottom {
		w.gridHi = top
		return
	}
	// A grid that fits at d fits, each window's bracket widened by tol,
	// anywhere within tol/n of d, n the windows the grid spans: a step
	// of that finds it. Found at d, none longer than d+step fits.
	first := w.grid[0].to
	if !w.anchor.to.IsZero() {
		first = w.anchor.to
	}
	n := time.Duration(w.grid[len(w.grid)-1].to.Sub(first)/bottom + 2)
	tol := max(bottom/200, 100*time.Microsecond)
	step := max(tol/n, (top-bottom)/gridSteps, time.Microsecond)
	tol = step * n
	ws := w.grid
	if !w.anchor.to.IsZero() {
		ws = append([]gridWindow{w.anchor}, ws...)
	}
	for d := top; d > bottom; d -= step {
		if gridFits(ws, d, tol) {
			w.gridHi = min(d+step, top)
			return
		}
	}
	w.gridOff, w.gridHi = true, 0
}

// gridMinWindows is how many of our windows a grid from the first
// request must place before its length is learned. In fewer, windows
// the rows fill at their starts leave brackets wide enough for grids
// well over the server's window: fastify at 100 per 1s, a window from
// each opener, fit grids of 1.22-1.37s, and the pinned flags lost a
// fifth of the pace.
const gridMinWindows = 6

// gridSteps is the most lengths scanGrid tries.
const gridSteps = 4000

// gridFits reports whether a grid of windows of length d places every
// one of ws: some phase puts a boundary in each window's (from, to]
// with its last request less than d after it. tol widens each bracket.
func gridFits(ws []gridWindow, d, tol time.Duration) bool {
	ref := ws[len(ws)-1].to
	// The phases that fit so far, as closed intervals within [0, d).
	fit := [][2]time.Duration{{0, d}}
	var arcs, next [][2]time.Duration
	for _, g := range ws {
		a, b := g.last.Sub(ref)-d-tol, g.to.Sub(ref)+tol
		if !g.from.IsZero() {
			a = max(a, g.from.Sub(ref)-tol)
		}
		if b-a >= d {
			continue
		}
		lo := a % d
		if lo < 0 {
			lo += d
		}
		hi := lo + (b - a)
		arcs = append(arcs[:0], [2]time.Duration{lo, min(hi, d)})
		if hi > d {
			arcs = append(arcs, [2]time.Duration{0, hi - d})
		}
		next = next[:0]
		for _, f := range fit {
			for _, c := range arcs {
				if l, h := max(f[0], c[0]), min(f[1], c[1]); l <= h {
					next = append(next, [2]time.Duration{l, h})
				}
			}
		}
		if len(next) == 0 {
			return false
		}
		fit, next = next, fit
	}
	return true
}

// maxTime is the later of a and b.
func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// perSecond is the window's average rate.
func (w *windowModel) perSecond() float64 {
	if w.hi == 0 {
		return 0
	}
	return float64(w.quota) / math.Max(w.length().Seconds(), 1e-3)
}

// minTime is the earlier of a and b.
func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// roundSteps are the 1-2.5-5 series' steps in a decade, in tenths.
var roundSteps = [...]time.Duration{10, 25, 50}

// roundAbove is the least window length of the 1-2.5-5 series (1ms,
// 2.5ms, 5ms, 10ms ... 250ms, 500ms, 1s ... 5000s) above d: the lengths
// a limiter's window is most often set to under a second. Past the
// series, twice d.
func roundAbove(d time.Duration) time.Duration {
	for unit := time.Millisecond; unit <= time.Hour; unit *= 10 {
		for _, m := range roundSteps {
			if c := unit * m / 10; c > d {
				return c
			}
		}
	}
	return 2 * d
}
