package ratelimit

import (
	"math"
	"slices"
	"time"

	"golang.org/x/time/rate"
)

// The adaptive rate, for when nobody knows the server's limit.
//
// It starts unpaced (only the concurrency limit holds the pool back, and
// with Config.OpeningAlone the run's first request, and with the pool's
// size given sometimes a second, goes alone until its answer is read:
// Limiter.openingAlone), so a server with a generous limit
// is never slowed down. What follows depends on
// what the server says.
//
// With a quota counter on its answers (X-RateLimit-Remaining, RateLimit r=,
// inin-ratelimit-*): when the counter falls to what the requests in flight
// (and a few probes) could still take, the pool idles for 100ms; what the
// counter regained meanwhile is the refill rate, measured without a single
// 429. From then on the rate is re-measured on every answer as accepted
// plus counter gained per second over the last 300ms, and the pace follows
// it, a little faster while the counter holds more than a small reserve
// and slower while it holds less. A counter that regained nothing in the
// spell belongs to a window that has not ended: the fixed-window model
// (window.go) takes over, and hands back if the counter then comes back
// part of the way (a sliding window, paced from then on at least at what
// its counter's fill shows it sustains: slidingRate) or its pacing is
// refused twice. The package documentation says how the models are told
// apart.
//
// Without a counter, throttle answers are the only signs. The first tells
// the server's burst B: everything accepted before it. Then the time between
// signs is cut into segments, from one sign's request to the next's, and a
// token bucket of B refilling at r is replayed over each: it starts where
// the first sign left it, refills up to B (a bucket paced under its rate
// overflows, and loses that refill), gives one request to every request
// accepted in the segment by send time, and must end where the second
// sign shows it. A refusal shows a level under one request, at least the
// refill since the request accepted before it: taken at the middle. The
// replayed levels grow with r, and the sum of their gaps is solved for 0
// by bisection: pauses of any length (a whole second for Retry-After: 1, a
// few milliseconds for a hint-less backoff) fit the same replay. The pace
// is set just under the measurement and creeps upward while nothing is
// throttled: 1% a second, or, after a measurement from fewer than 50
// requests (good to about one in their number), through that doubt within
// a second or two, so that the next refusal measures from a longer
// segment. nginx's limit_req, whose run first gives one segment of ten
// requests, was measured 3-10% short and paced so for the whole run.
//
// Why not AIMD or CUBIC, as the AWS SDKs' adaptive mode does: they cut the
// rate blindly and climb back, throttling once per cycle forever and losing
// a large share of a short job. A token bucket's rate can be measured, so a
// measurement replaces many cycles; the upward creep keeps AIMD's ability to
// follow a limit that changes.
const (
	// adaptiveMargin keeps the pace this far under the measured rate.
	adaptiveMargin = 0.97
	// adaptiveProbe is the relative increase per second without a sign,
	// and adaptiveSearch the same before any measurement.
	adaptiveProbe = 0.01
	// adaptiveProbeRef is the pace under which adaptiveProbe is scaled
	// down with it for a server that takes one request at a time.
	adaptiveProbeRef = 10
	adaptiveSearch   = 0.5
	// adaptiveSearchStep is the least relative increase per request
	// while searching (adaptiveSearch is per second).
	adaptiveSearchStep = 0.02
	// adaptiveFullStep is the increase per answer while searching when
	// the answer's counter shows the bucket whole but for its request.
	adaptiveFullStep = 0.25
	// adaptiveDoubt over the accepted requests a measurement was taken
	// from is the relative increase per second after it, when more than
	// adaptiveProbe, up to the measured rate and one over their number
	// (the measurement is good to a request in them); adaptiveTrusted
	// of them make it good to 2%, which the gentle creep covers.
	adaptiveDoubt   = 2.0
	adaptiveTrusted = 50
	// adaptiveSearchOne is adaptiveSearch for a server that takes one
	// request at a time: the first guess is then ten requests a second,
	// and each refusal that finds the limit costs one 429, not a burst's.
	adaptiveSearchOne = 6
	// adaptiveNear is how close under the pace of the latest refusal the
	// search for a server that takes one request at a time slows down.
	adaptiveNear = 0.9
	// adaptiveJitter is how much the pace of a server that takes one
	// request at a time backs off from the pace of a refusal that came
	// while creeping near the previous one.
	adaptiveJitter = 0.95
	// adaptiveGuess is the first pace, in bursts per second, before any
	// measurement: fast enough to find the limit within a segment, paced
	// enough that finding it costs one or two throttle answers.
	adaptiveGuess = 10
	// A measurement needs at least this much time sending (and of the
	// pauses between, adaptivePauseSample) and evidence.
	adaptiveMinSample    = 40 * time.Millisecond
	adaptiveMinSuccesses = 3
	// adaptivePauseSample is the most of each pause of our own guessing
	// that counts towards adaptiveMinSample (measure).
	adaptivePauseSample = 10 * time.Millisecond
	// adaptiveMemory is how far back segments count, so a limit that
	// changes is followed.
	adaptiveMemory   = 5 * time.Second
	adaptiveSegments = 64
	// adaptiveIdle is the idle spell that measures the server's refill the
	// first time its quota runs low. Nothing is lost by it while the server
	// refills less than its burst meanwhile: those tokens are spent after.
	adaptiveIdle = 100 * time.Millisecond
	// adaptiveWindow is the stretch of answers the counter-based rate is
	// taken over; adaptiveSteer how strongly the counter's fill moves the
	// pace around that rate.
	adaptiveWindow = 300 * time.Millisecond
	// stillMargin is how much faster than the counter's still stretch
	// (or a row of refusals) allows a bucket to refill its coming back
	// whole must be for stillShows (refusedReset, stillReset) to call it
	// a fixed window's reset.
	stillMargin   = 1.5
	adaptiveSteer = 0.4
	// adaptiveReserve is the share of the quota (at least one request)
	// the pace steers the counter to: enough to absorb a misjudged rate,
	// and no more, since a sliding window's counter settles at the quota
	// minus what the pace takes over a window, so every request kept back
	// is pace given up.
	adaptiveReserve = 0.05
	// adaptiveLow is the remaining quota that counts as a sign: acting one
	// request early keeps requests already in flight from being refused.
	adaptiveLow = 1
	// adaptiveFloor keeps a measurement gone wrong from stalling the run.
	adaptiveFloor = 0.1
	// adaptiveSustain is the longest stretch of accepted requests that
	// bounds a bucket's rate from below (sustained).
	adaptiveSustain = 2 * time.Second
	// adaptiveLogMax bounds the accepted requests' send times kept for
	// the segments' replay.
	adaptiveLogMax = 8192
	// zeroWaitRow is how many refusals in a row zeroWait must find
	// before the pace falls: one, after a pause of the pool's own (the
	// pacer's), is a pool that resumed into a window its last requests
	// filled, and the accepted rate since the first request, idle time
	// included, is no bound (go-chi/httprate 15 per 150ms under
	// --concurrency 32: 0.34 -> 0.31 over eight seeds at one).
	zeroWaitRow = 2
)

// sustainSpans are the stretches, ending at a sign, over which accepted
// requests bound a bucket's rate from below.
var sustainSpans = [...]time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, adaptiveSustain}

// observation is one answer's quota counter, by its request's send time.
type observation struct {
	sent      time.Time
	recv      time.Time // when its answer came
	remaining int
	accepted  int // successes counted when it came
}

// segment is a pause followed by sending, ended by a sign of the limit.
type segment struct {
	end       time.Time
	pause     float64 // seconds
	sending   float64 // seconds
	accepted  int
	startLeft float64 // server tokens left at the sign before the pause
	endLeft   float64 // server tokens left at the sign that ended it
	// from and to are the signs' anchors: the send time of the request
	// the sign is about (the one refused, or the one whose counter fell
	// low). Accepted requests sent between them drew on the bucket in
	// this segment, whenever their answers came. fromRefused and
	// toRefused say the sign was a refusal, which leaves the bucket
	// somewhere under one request rather than at a counter's reading.
	from, to               time.Time
	fromRefused, toRefused bool
}

type adaptive struct {
	ceiling rate.Limit

	successes int // all accepted answers
	burstSeen int
	// burstLast is the latest send time of a request counted in
	// burstSeen: a bucket refilled until then.
	burstLast time.Time
	limitSaid int // the bucket size the server's quota headers state
	// counterMax is the most the server's counter has shown, plus the
	// request that answer was for: what the quota evidently holds.
	counterMax int
	inFlight   int // requests the pool may have in flight
	signs      int

	// The open segment.
	lastSign time.Time
	lastLeft float64
	// lastAnchor is the anchor of the sign that opened it (segment.from),
	// lastRefused whether that sign was a refusal.
	lastAnchor  time.Time
	lastRefused bool
	// firstAnchor is the first sign's anchor, firstSign when it came.
	firstAnchor, firstSign time.Time
	// refusal is the send time of the request whose refusal Throttle is
	// reading (its receive time when Done did not say), zero otherwise;
	// refusedSent is the send time of the refused request Throttle
	// reads, by the Limiter's clock as Done found it in flight: the one
	// ThrottleFor names (zero when Done did not end it refused), else
	// the latest (zero when Done found none, or Throttle found it
	// unknown or stale).
	refusal, refusedSent time.Time
	// unread are the refusals Done ended that no ThrottleFor has read
	// yet: the send time the caller gave Done (asked) and the Limiter's
	// own (sent). Two workers' Dones may come before either's Throttle;
	// ThrottleFor reads each its own.
	unread []unreadRefusal
	// sentLog is the send times of the accepted requests, in order, as
	// far back as the segments go: the replay in measure draws them on
	// the bucket.
	sentLog     []time.Time
	segStart    time.Time // when sending resumed after the pause
	segAccepted int
	// lateAccepted counts the accepted answers to requests sent before
	// the segment they came in, not tracked by a counter: nginx's
	// limit_req without nodelay holds the requests past its rate and
	// answers them at the rate, after the refusals it answers at once,
	// so a segment's own answers all come in the next.
	lateAccepted int
	// presumedBefore is the latest send time (the Limiter's) of a
	// refused request: the requests still in flight sent before it are
	// taken, since a bucket answers a refusal at once and what it took
	// late, if at all (a queue: nginx without nodelay). The replay
	// counts them until their answers come. open is the Limiter's
	// requests in flight (their send times, oldest first), for the
	// Throttle or Success being read only; ended is its log of ended
	// requests (flights.log), for the Success being read only: those
	// Done ended whose Success has not come yet are in neither open
	// nor sentLog.
	presumedBefore time.Time
	open           []time.Time
	ended          []flightEnd
	history        []segment

	measured float64 // requests/second; 0 unknown
	// evidence is how many accepted requests the latest measurement
	// was taken from, times one more than agreed, the measurements in a
	// row that came out within the doubt of the one before (measure);
	// waitSaid the longest wait a refusal asked, waitLeast the shortest
	// one over zero.
	evidence  int
	agreed    int
	waitSaid  time.Duration
	waitLeast time.Duration
	// loose: the latest measurement is what the bucket was seen to
	// sustain, more than the equation gave, so only a lower bound: the
	// pace searches upward briskly until the next sign measures again.
	loose bool
	// accepted is the send times of the requests accepted over the last
	// adaptiveSustain, in the order their answers came (sustained).
	accepted []time.Time

	obs []observation // recent answers' counters, for track

	// The idle spell at the first sign of the quota running low.
	idleUntil time.Time // when it ends (zero: none in progress)
	idleAt    time.Time // when it was measured (zero: not yet)
	idleSent  time.Time // send time of the latest request answered before it
	idleLeft  int       // what that answer said remained
	pace      float64   // requests/second; +Inf unpaced
	probed    time.Time

	// firstSpell is the first idle spell's reading where it regained too
	// few to measure by and a second spell measures again (spellAgain);
	// nil otherwise.
	firstSpell *spellRead

	// The first answer: when the server's counting began.
	firstSent, firstRecv time.Time
	// rtts is the Limiter's round trips (their lead), for the fixed-window
	// models it starts; nil for none.
	rtts *roundTrips
	// claimEnd is the earliest end of the quota's period its reset
	// headers stated, for the window model to try; claimSecond when
	// they gave it to the whole second (windowModel.claims).
	claimEnd    time.Time
	claimSecond bool
	// win is the fixed-window model, once the counter showed one; sliding
	// is set when it turned out a sliding window instead.
	win     *windowModel
	sliding bool
	// logChecked is how many answers were kept (seen) when the Limiter
	// last looked for a log (tryLog); logOff is set once one was refused
	// while paced by its places.
	logChecked int
	logOff     bool
	// roundFrom and roundUntil are set once the pool resumed early from
	// a wait of a whole second (roundedWait): when it resumed (the pause
	// Throttle set, which dryFloor may make longer than the cut), and
	// when the second stated ends; roundOff once one proved true.
	roundFrom, roundUntil time.Time
	roundOff              bool
	// logMissed counts the looks that judged the readings and told no
	// log while requests were refused (tryLog).
	logMissed int
	// slideUsed is how much of a sliding window's quota its counter
	// showed used, on average, once paced; slideRefused is set when a
	// request was refused while the pace followed it.
	slideUsed    ewma
	slideRefused bool
	// slideSpan is the window's length as our own sends show it: how far
	// back from each answered request the requests its counter counted
	// reach (slideSpanOf), averaged as slideUsed is.
	slideSpan ewma
	// slideSpanMid is the same to midway to the request before the
	// oldest counted one: the window itself, for a log (slideSpanOf).
	slideSpanMid ewma
	// slideOut is the shortest span from an answered request back to the
	// latest of our accepted requests its counter no longer counted: a
	// log's window is no longer (slideOutOf).
	slideOut time.Duration
	// slideUsedSteady is slideUsed, and slideSpan and slideSpanMid are,
	// but for two windows from slideCalm, when slideCheck stopped short
	// and the pace climbed back from its half (slideSteady): what is
	// learned reads them, the pace slideUsed.
	slideUsedSteady ewma
	slideCalm       time.Time
	lastRecv        time.Time
	// wholeSent and wholeRecv time the latest request whose answer showed
	// the counter whole (the quota but itself): in a fixed window, the
	// first of its window. countedSent is the latest request after it
	// whose answer showed less: still counted in that window. They bound
	// a window's length when one is found later.
	wholeSent, wholeRecv, countedSent time.Time
	// refusedRow is the refusals (their requests' send and answer
	// times) of requests sent after the latest request accepted when
	// each was read (those an acceptance read since left behind are
	// passed over), in the order they were read: the row refusedReset
	// reads.
	refusedRow []flightEnd
	// counterRead is set once an accepted answer's counter reached the
	// counter models (no bare, Retry-After or window model in force),
	// or refusedReset opened a window: refusedReset looks no more.
	counterRead bool
	// stillRun is the first and latest answer of the stretch stillReset
	// reads: answers in a row whose counter fell by our sends, exactly.
	stillRun [2]observation
	// bare is the bare-window model (bare.go), once a server that shows
	// no counter refused a request.
	bare *bareWindow
	// bareBack is the bare-window model while a fixed window it handed
	// over to the Retry-After window model is on trial (bareToFixed).
	bareBack *bareWindow
	// ra is the Retry-After window model (retryafter.go), once a server
	// that shows no counter refused a request with a wait hint.
	ra *raWindow
	// bareLog holds the answers of a server that showed no counter, from
	// the first, for the bare-window model to fit windows to.
	bareLog []bareAnswer
	// repace asks the Limiter for a fresh pacer at the new pace.
	repace bool
	// emptied is set when an answer showed the counter empty: the pacer
	// starts afresh, its next request an interval from now.
	emptied bool
	// refusedPace is the pace the latest refusal came at, while the
	// server takes one request at a time: one over the closest recent
	// departures, or the pace in force when the pacer does not know them.
	refusedPace float64
	// oneAcc is the latest accepted requests, by send time; oneLow and
	// oneCeil the most a bucket of one's accepted pairs proved of its
	// rate and the least its refusals left it (0: none): onebound.go.
	oneAcc          []oneTaken
	oneLow, oneCeil float64
	// oneFresh says an accepted request came since oneTook last ran, at
	// index oneNew of oneAcc; oneAll that oneTook reads every pair.
	oneFresh, oneAll bool
	oneNew           int
	// oneRepaced asks the Limiter for a fresh pacer: oneFit slowed the
	// pace.
	oneRepaced bool
	// conc is the concurrency model (concurrency.go), once the refusals
	// showed one: the Limiter caps requests in flight and the rest rests.
	conc *concModel
	// fitOff says the bare fit runs off the Limiter's lock: the bare
	// model leaves it in fitJob for the Limiter to run (bare.go).
	fitOff bool
	fitJob *bareFitJob
	// chk is the step-down check of a counter steered as a bucket's
	// (slideCheck): chkFrom its first request, chkLeft what the counter
	// then showed, chkUsed what it showed taken, chkUntil when it ends,
	// chkLow the answers in a row at the reserve before it; trackN counts
	// the answers tracked, trackRefused a refusal since.
	chk                      int
	chkFrom, chkUntil        time.Time
	chkLeft, chkUsed, chkLow int
	trackN                   int
	trackRefused             bool
	// still is where the counter last stood (nearly) whole in track: the
	// start of a stretch over which stillShows reads how much it
	// regained besides what the server accepted.
	still observation
	// stillRefused is the latest refusal's sign time (its send time
	// where Done said it, else its answer): the counter held no request
	// then, for stillShows.
	stillRefused time.Time
	// seen is the first accepted requests (pinSeenMax), in the order
	// they were sent: what the pinned flags are bounded by (pinSeen).
	seen []seenSend
	// seenRefused: a request was refused since the latest accepted one
	// kept in seen.
	seenRefused bool
	// calmFrom is when the latest refusal came (zero before any),
	// calmN how many requests sent after it were accepted, the first
	// and latest of them sent at calmFirst and calmLast (calmRate).
	calmFrom, calmFirst, calmLast time.Time
	calmN                         int
	// refusedAt is the first refused requests (pinSeenMax), as Done
	// named them: quotaOneWindow's lower bounds, and a log's places and
	// readings where it counts them (tryLog).
	refusedAt []refusal
	// orderFailed: a fixed window read from answers in flight together
	// (fixedWindowShows) never showed its length; resets are read from
	// then on only from requests the server surely took in order.
	orderFailed bool
	// fullClimb is when the search last climbed on a counter shown
	// whole (adaptiveFullStep).
	fullClimb time.Time
	// winDropped: a fixed window model was given up or handed back;
	// one formed after it is late (windowModel.unproven).
	winDropped bool
	// takenLast is the latest send time of an accepted request, and
	// refusedRead when throttled last read a refusal: a refusal of a
	// request sent after refusedRead with none taken since says the
	// pace is over the server's rate (zeroWait), zeroRow such
	// refusals in a row. refusalHinted says the refusal Throttle is
	// reading stated its wait.
	takenLast, refusedRead time.Time
	zeroRow                int
	refusalHinted          bool
	// shares are the latest stretches ended by a refusal, the latest
	// from shareFrom (the refusal before, with shareTaken successes and
	// shareRefused refusals read then; sending resumed at
	// shareResumed); flat, when not 0, says the refusals do not follow
	// the pace, one in about flat+1 requests refused, and flatFloor is
	// what the server accepted while the pace was higher (rowref.go).
	shares                   []shareNote
	shareFrom, shareResumed  time.Time
	shareTaken, shareRefused int
	flat, flatFloor          float64
}

func newAdaptive(ceiling rate.Limit, burst, inFlight int) *adaptive {
	return &adaptive{ceiling: ceiling, pace: math.Inf(1), burstSeen: burst, inFlight: max(inFlight, 1)}
}

// succeeded counts an accepted answer to a request sent at sent, received at
// now; remaining is the server's quota left after it, or -1 when the answer
// did not say, and limit its quota size (the bucket) or 0; reset is when
// the answer says the quota is back, and second the whole-second instant
// it named, on the local clock (zero when it named none). It returns how
// long the pool should stay idle, if at all: the first time the quota runs
// low, a short idle spell lets the server's refill show in its counter, which
// measures the rate without a single 429.
func (a *adaptive) succeeded(sent, now time.Time, remaining, limit int, reset time.Duration, second time.Time) time.Duration {
	a.successes++
	a.lastRecv = now
	row := a.takeRefusedRow(sent)
	a.noteCalm(sent)
	if sent.After(a.takenLast) {
		a.takenLast = sent
	}
	a.noteAccepted(sent)
	a.noteSeen(sent, now, remaining, reset, second)
	a.oneAccepted(sent, now)
	if a.signs == 0 && sent.After(a.burstLast) {
		a.burstLast = sent
	}
	if a.firstSent.IsZero() || sent.Before(a.firstSent) {
		a.firstSent, a.firstRecv = sent, now
	}
	if remaining >= 0 {
		a.counterMax = max(a.counterMax, remaining+1)
		defer a.noteWhole(sent, now, remaining)
		if end := now.Add(reset); reset > 0 && (a.claimEnd.IsZero() || end.Before(a.claimEnd)) {
			a.claimEnd, a.claimSecond = end, !second.IsZero()
		}
	}
	if remaining < 0 {
		a.noteBare(sent, now, true)
	}
	if a.bare != nil {
		if keep, hold := a.bareAccepted(sent); keep {
			return hold
		}
	}
	if a.ra != nil {
		if a.raAccepted(sent, now) {
			return 0
		}
		// The first opener went through: a bucket. Its equation takes
		// over from the sign the first refusal made, at the pace it
		// starts with.
		a.ra = nil
	}
	if a.win != nil {
		if !a.win.answered(sent, now, remaining, reset, second) {
			// The counter came back part of the way after it stood
			// still: a sliding window, whose requests age out of it one
			// by one once a window has passed. Paced like a bucket from
			// here, but it gives nothing back for a window after a burst.
			w := a.win
			var taken int
			if w.pastQuota {
				// The counter never came back, yet let this one
				// through after the window's quota: the refill is
				// what went from the window's first request on (it
				// included, acceptedBetween being open) up to this
				// one, which is left out: a log gives a window's
				// quota back a window after, no more.
				a.idleLeft, a.idleSent = remaining+1, w.startSent
				taken = a.acceptedBetween(w.startSent.Add(-time.Nanosecond), sent)
			} else {
				a.idleLeft, a.idleSent = w.left, w.leftSent
				taken = a.acceptedBetween(w.leftSent, sent)
			}
			a.dropWindow()
			a.sliding = true
			a.measureRefill(sent, remaining, taken)
			a.capSliding(w)
			if remaining == 0 {
				// Read empty: the next request an interval from now.
				a.emptied = true
			}
		}
		return 0
	}
	if limit > 0 {
		// The server states its bucket: better than counting answers, some
		// of which were already in flight when the limit showed.
		a.limitSaid = limit
	}
	if a.refusedReset(row, sent, now, remaining) {
		return 0
	}
	if remaining >= 0 {
		a.counterRead = true
	}
	if a.stillReset(sent, now, remaining) {
		return 0
	}
	if !a.idleUntil.IsZero() {
		return a.refill(sent, now, remaining, reset, second)
	}
	if !a.idleAt.IsZero() && remaining >= 0 && a.limitSaid > 0 {
		a.track(sent, remaining)
		if remaining == 0 && a.win == nil && a.pace > 0 && !math.IsInf(a.pace, 1) {
			// The counter says the next request would be refused. A
			// small quota (5 per second) moves a fifth with each
			// request, and one already paced would go into the empty
			// counter: the pacer starts afresh, its next request an
			// interval from now, for the server to regain one.
			a.emptied = true
		}
		return 0
	}
	if sent.Before(a.segStart) {
		// The answer to a request sent before the pause: it tells nothing
		// about the segment that starts when the pause ends, but after the
		// first sign it was part of the server's first burst; so was one
		// sent before that sign's anchor, however late it is answered (nginx
		// refuses at once and answers what it takes after its backend: the
		// first burst's one acceptance may come after a second sign, and
		// uncounted it left a bucket of one unseen, paced as a token bucket
		// at a third of its rate).
		if a.signs == 1 || !sent.After(a.firstAnchor) {
			a.burstSeen++
			if sent.After(a.burstLast) {
				a.burstLast = sent
			}
			if a.measured == 0 && a.bare == nil && a.win == nil && a.ra == nil && a.conc == nil && a.limitSaid == 0 {
				// The first refusal's answer came before the burst's
				// (the server refuses sooner than it serves): the first
				// guess was made from too small a burst. Ten bursts a
				// second of the burst counted so far, not of the one.
				a.pace = math.Max(a.pace, adaptiveGuess*float64(a.burstSize()))
				a.repace = true
			}
		}
		a.lateAccepted++
		return 0
	}
	a.segAccepted++
	low := adaptiveLow
	if a.signs == 0 {
		// Unpaced, every request in flight may still take a token: act
		// while enough remain for them, or they would be refused.
		// A few more are kept for the probes that time a window.
		low = a.inFlight + adaptiveLow + windowProbes
	}
	if remaining >= 0 && remaining <= low {
		// The server says the next requests would be refused: a sign of
		// the limit that costs no 429.
		if a.signs == 0 && a.limitSaid > 0 {
			a.sign(sent, adaptiveIdle, float64(remaining))
			return a.spell(sent, now, remaining)
		}
		a.sign(sent, 0, float64(remaining))
		if remaining == 0 && a.signs > 1 && a.pace > 0 && !math.IsInf(a.pace, 1) {
			// Empty, as in track: the next request an interval on.
			a.emptied = true
		}
		return 0
	}
	if a.signs > 0 && !a.probed.IsZero() && !math.IsInf(a.pace, 1) {
		// Creep upward while nothing says no: gently around a measured
		// rate, briskly while the pace is still the first guess, so a
		// guess under the limit does not hold the run down.
		probe := adaptiveProbe
		if a.oneAtATime() {
			// A bucket of one refuses the creep's first request closer
			// than its interval: a 429 per refusal however slow the
			// server. Under adaptiveProbeRef a second the creep goes
			// per request, not per second (nginx at 3r/s without a
			// burst was refused every 5.5s, a request in 16).
			probe *= math.Min(1, a.pace/adaptiveProbeRef)
		}
		if n := float64(a.evidence); n > 0 && a.evidence < adaptiveTrusted && !a.oneAtATime() && a.waitSaid < adaptiveIdle {
			// A rate measured from few requests is known to a request
			// or so in their number: creep up through that doubt within
			// a second or two, so that the next refusal measures again
			// from a longer segment (it costs one 429 and a short
			// pause; a rate measured short costs its shortfall for the
			// rest of the run). Past it, half as fast until a refusal
			// while the rate comes from one segment, whose start is
			// known less well (on a busy machine nginx's first ten
			// requests measured it 20% short). Not where the server asks
			// a long wait after a refusal (Retry-After: 1).
			doubt := adaptiveDoubt / n
			if a.pace >= a.measured*(1+1/n) {
				doubt = 0
				if len(a.history) == 1 {
					doubt = adaptiveDoubt / n / 2
				}
			}
			probe = math.Max(probe, doubt)
		}
		if a.measured == 0 || a.loose {
			// Searching: half again a second, or adaptiveSearchStep
			// per request where that is faster, so that a pace of
			// hundreds a second finds its limit within a few dozen
			// requests, not within seconds (nginx at 300r/s burst=5,
			// bounded at 150/s by what it sustained, took longer than
			// the whole run to creep to its rate).
			probe = math.Max(adaptiveSearch, adaptiveSearchStep*a.pace)
			if a.oneAtATime() {
				probe = adaptiveSearchOne
				if a.refusedPace > 0 && a.pace >= adaptiveNear*a.refusedPace && a.measured > 0 {
					// Near the pace a refusal came at: the limit
					// is there, or the refusal was the jitter of a
					// bucket that takes nothing early. Gently. Not
					// while nothing was measured: a request held
					// on a busy machine was refused at the first
					// guess's 10/s, and the creep at 1% a second
					// from there took 30s over 400 rows of nginx
					// at 100r/s (0.12).
					probe = adaptiveProbe
				}
			}
		}
		toMiddle := 0.0
		if a.oneAtATime() && !a.loose && a.measured > 0 && a.pace < adaptiveMargin*a.oneBetween() {
			// A bucket of one took requests at the measured rate and
			// refused one at refusedPace: its rate lies between, and
			// the creep from the lower end took seconds at 1% a second
			// (nginx at 50r/s in the simulation: one refusal at 59/s
			// after the first guess's climb, measured 42.6/s, 45/s at
			// the end of the run). Up to the middle of the two, at the
			// search's speed, from under adaptiveMargin of it, and no
			// step past it: uncapped, one went from 44.2/s to 50.3/s,
			// 98% of the refused pace (capped at the middle: the same
			// time over 40 seeds of that simulation, 4% fewer 429s;
			// capped at adaptiveMargin of it, 1% slower).
			probe, toMiddle = adaptiveSearchOne, a.oneBetween()
		}
		if a.measured == 0 && a.limitSaid > 0 && remaining >= a.burstSize()-1 && !a.oneAtATime() && sent.After(a.fullClimb) {
			// Nothing measured, and the counter whole but for this
			// request: the server refills at least as fast as we
			// send, and no answer can say how much faster until the
			// pace drains it. Climb a quarter per answer so, each
			// to a request sent after the climb before (answers to
			// those sent before it say nothing of its pace).
			a.pace = math.Min(a.pace*(1+adaptiveFullStep), float64(a.ceiling))
			a.fullClimb = now
		}
		if dt := sent.Sub(a.probed); dt > 0 {
			a.pace = math.Min(a.pace*(1+probe*dt.Seconds()), float64(a.ceiling))
			if toMiddle > 0 {
				a.pace = math.Min(a.pace, toMiddle)
			}
		}
	}
	a.probed = sent
	return 0
}

// spell starts an idle spell at now, after the answer to the request
// sent at sent, which said remaining were left, and returns the pause.
func (a *adaptive) spell(sent, now time.Time, remaining int) time.Duration {
	a.idleUntil = now.Add(adaptiveIdle)
	a.segStart = a.idleUntil
	a.idleLeft, a.idleSent = remaining, sent
	// One request after the spell, so its answer alone shows the
	// refill; the measurement then sets the pace.
	a.pace = 0.5 / adaptiveIdle.Seconds()
	return adaptiveIdle
}

// spellRead is what an idle spell regained (gained, over d from sent)
// after a burst that took used.
type spellRead struct {
	gained float64
	d      time.Duration
	sent   time.Time
	used   int
}

// refill handles answers around the idle spell: those to requests sent
// before it tell what the server had left when sending stopped; the first one
// sent after it tells how much the server refilled meanwhile. It returns
// the pause a second spell (spellAgain) begins with, else 0.
func (a *adaptive) refill(sent, now time.Time, remaining int, reset time.Duration, second time.Time) time.Duration {
	first := a.firstSpell
	if sent.Before(a.idleUntil) {
		if first != nil {
			// Sent before the second spell: the counter has regained
			// since the first spell's low, and its reading then would
			// add to what the second spell seems to regain.
			return 0
		}
		if remaining >= 0 {
			a.idleLeft = min(a.idleLeft, remaining)
			if sent.After(a.idleSent) {
				a.idleSent = sent
			}
		}
		return 0
	}
	if remaining >= 0 && sent.After(a.idleSent) {
		gained := float64(remaining + 1 - a.idleLeft)
		d := sent.Sub(a.idleSent)
		if a.spellAgain(gained) {
			a.firstSpell = &spellRead{gained: gained, d: d, sent: a.idleSent, used: a.burstSize() - a.idleLeft}
			return a.spell(sent, now, remaining)
		}
		if first != nil {
			if gained > first.gained*d.Seconds()/first.d.Seconds()+spellSlack {
				// The second spell regained more than the first did at
				// its rate, give or take spellSlack: no bucket, whose
				// refill is steady, but a counter that weighs its
				// previous period and gives it back over the current
				// one. Paced as a sliding window from here.
				a.sliding = true
				a.measureRefill(sent, remaining, 0)
				if a.measured > 0 {
					// What this spell regained is the burst's count going
					// out over part of a period: the quota goes out at
					// that rate times the quota over the burst, about (a
					// period ending inside the spell gives the rest back
					// at once, and the rate reads less). At what it
					// regained alone, 40/s for 15 per 150ms, the pace
					// took seconds to climb.
					a.measured *= float64(a.burstSize()) / float64(first.used)
					a.pace = math.Max(math.Min(a.measured*adaptiveMargin, float64(a.ceiling)), adaptiveFloor)
				}
				return 0
			}
			if both := first.gained + gained; both > 0 {
				// A bucket: measured over both spells together, what
				// each regained added up.
				a.idleLeft, a.idleSent = remaining+1-int(both), first.sent
				gained = both
			}
		}
		if gained <= 0 {
			// Nothing came back in the spell: not a bucket that refills
			// as time passes, but a window that has not ended yet.
			a.idleUntil = time.Time{}
			a.setWindow(newWindowModel(a.burstSize(), a.inFlight, a.burstSize()-remaining, a.firstSent, a.firstRecv, sent.Sub(a.firstRecv), a.rtts))
			a.win.anchorGrid(a.firstSent, a.firstRecv)
			if !a.claimEnd.IsZero() {
				a.win.claim, a.win.claimSecond = a.claimEnd.Sub(a.firstSent), a.claimSecond
			}
			a.win.answered(sent, now, remaining, reset, second)
			return 0
		}
	}
	a.measureRefill(sent, remaining, 0)
	return 0
}

// spellAgain reports whether the idle spell's first measurement, gained
// requests regained, is too few to pace by: a second spell measures
// again. A counter that weighs its previous period (go-chi/httprate,
// aligned to its own start) whose period ended inside the spell gives
// back part of the burst across it, a request or three of 15, which
// reads as a bucket's slow refill: the real httprate at 15 per 150ms, 8
// workers, its first request 60-85% into a period, was paced as a
// bucket of 15 at 10-30/s for up to two seconds. A bucket regains as
// much again at its rate over the second spell (refill compares the
// rates, give or take spellSlack); such a counter gives its previous
// period back steadily through the current one, so more, and is paced as
// a sliding window from there. Once a run, and
// only where the first spell regained under half of what the burst took
// and no more than spellFew: a bucket that regains more is measured well
// enough (without the spellFew bound, buckets of 50 and 100 at 100/s,
// which regain 10 over the spell, paid for a second one: 0.94-0.98 of
// the ideal in the simulation went to 0.83-0.94). Nor where the burst
// took under spellMinUsed (a bucket of 10 at 10/s with one or two
// workers took 5 or 6, and its second spell only moved the run's timing:
// behind a 50ms path its learned rate ended 10.2-11.1/s in four runs of
// forty, pinned over its refill), nor where the pool is larger than the
// quota: the spell then comes at the first answer, and a second one cost
// buckets of 5 and 6 at 20/s with 16 and 32 workers (TestWidePoolClimb,
// TestBucketAnswersOutOfOrder).
func (a *adaptive) spellAgain(gained float64) bool {
	used := float64(a.burstSize() - a.idleLeft)
	return a.firstSpell == nil && gained > 0 && gained <= spellFew && gained < used/2 && used >= spellMinUsed && !a.poolOverQuota()
}

const (
	// spellFew is the most regained over the idle spell that is measured
	// again (spellAgain): a count of three is a third off for a request
	// of rounding.
	spellFew = 3
	// spellSlack is how many requests more than the first spell's rate
	// the second may regain and still be a bucket's. A bucket's counter
	// read whole at either end of a spell is up to a request off, so
	// the first spell's rate may be (gained+1)/d, and the second spell,
	// waiting an interval of the spell's pace for its request, is about
	// twice the first: 2 is tight against the worst of that rounding (a
	// bucket of 15 at 20/s regains 2 and 4; the real httprate that
	// regained 3 and 8 was told from one by a tenth of a request), and
	// the worst case's (gained+1) x d2/d1 + 1 missed it every time.
	spellSlack = 2
	// spellMinUsed is the least the burst before the spell must have
	// taken for a second spell: less, and a counter's previous period
	// gives back too little to tell from a bucket's rounding.
	spellMinUsed = 8
)

// setWindow puts the fixed window model w in force: late when an
// earlier one was given up or handed back (windowModel.unproven).
func (a *adaptive) setWindow(w *windowModel) {
	w.late = a.winDropped
	a.win = w
}

// dropWindow gives the fixed window model in force up, or hands it back,
// and returns it.
func (a *adaptive) dropWindow() *windowModel {
	w := a.win
	a.win, a.winDropped = nil, true
	return w
}

// poolOverQuota reports whether the pool is larger than the server's
// whole quota: all of it sent at once, some are refused however full
// the counter.
func (a *adaptive) poolOverQuota() bool {
	return a.burstSize() < a.inFlight
}

// poolOverCounter reports whether the pool is larger than the most the
// server's counter ever showed, which is less than the limit it states:
// all of it sent at once into a counter that never held as much, some
// are refused however full it is.
func (a *adaptive) poolOverCounter() bool {
	return a.counterMax > 0 && a.counterMax < a.inFlight && a.counterMax < a.limitSaid
}

// capSliding bounds the first pace of a sliding window that the
// fixed-window model w handed back. The refill measured across the hand
// back means little: a log gives its quota back a window after it went
// out, all at once (a log of 40 per 500ms measured 313/s), and the burst
// into it is refused. But a request w saw counted lo after its window's
// first one was in the same window as that one, so the window is at
// least lo long and holds no more than the quota per lo.
func (a *adaptive) capSliding(w *windowModel) {
	if w.lo <= 0 || w.quota <= 0 {
		return
	}
	most := float64(w.quota) / w.lo.Seconds()
	if a.measured > most {
		a.measured = most
	}
	a.pace = math.Min(a.pace, adaptiveMargin*most)
}

// measureRefill reads the refill a bucket-like counter shows from
// idleLeft, left by a request sent at idleSent, to remaining after one sent
// at sent, sets the pace by it, and from then on tracks the counter.
func (a *adaptive) measureRefill(sent time.Time, remaining, taken int) {
	if remaining >= 0 && sent.After(a.idleSent) {
		// What the counter regained, or what the server took meanwhile
		// where that is more: a window that came back part of the way
		// under a burst (go-chi/httprate at 20 per 5s, 17 taken in
		// 8s, the counter back where it was) measured 0.12/s and paced
		// the run by it. Not their sum: across a log's reset the
		// quota given back at once is no refill rate, and a pace from
		// it drew a refusal that halved the pace for good.
		gained := math.Max(float64(remaining+1-a.idleLeft), float64(taken))
		r := gained / sent.Sub(a.idleSent).Seconds()
		if remaining+1 >= a.burstSize() {
			// The bucket filled up during the spell: r is at least this,
			// and track searches upward from it while the bucket stays full.
			a.measured = math.Max(r, adaptiveFloor)
			a.pace = a.measured
		} else if r > 0 {
			a.measured = r
			a.pace = math.Max(r*adaptiveMargin, adaptiveFloor)
		}
	}
	a.idleAt = sent
	a.idleUntil = time.Time{}
	a.lastSign, a.lastLeft = sent, float64(remaining)
	a.lastAnchor, a.lastRefused = sent, false
	a.segStart, a.segAccepted, a.probed = sent, 1, sent
	a.track(sent, remaining)
}

// acceptedBetween counts the accepted requests sent after from and
// before to.
func (a *adaptive) acceptedBetween(from, to time.Time) int {
	n := 0
	for _, t := range a.sentLog {
		if t.After(from) && t.Before(to) {
			n++
		}
	}
	return n
}

// track steers the pace by the server's own counter, once it has one: the
// rate is what the server accepted plus what its counter gained, over the
// last stretch of answers; the pace follows it, a little faster while the
// counter holds more than half the bucket (spend what was saved), slower
// while it holds less (keep a reserve so no request is refused).
func (a *adaptive) track(sent time.Time, remaining int) {
	a.obs = append(a.obs, observation{sent: sent, recv: a.lastRecv, remaining: remaining, accepted: a.successes})
	if a.fixedWindowShows(sent, remaining) {
		return
	}
	a.noteStill(a.obs[len(a.obs)-1])
	if a.slideCheck(sent, remaining) {
		return
	}
	// Keep the window to adaptiveWindow, but at least the two ends.
	drop := 0
	for drop < len(a.obs)-2 && sent.Sub(a.obs[drop+1].sent) >= adaptiveWindow {
		drop++
	}
	a.obs = a.obs[drop:]
	first, last := a.obs[0], a.obs[len(a.obs)-1]
	burst := a.burstSize()
	if d := last.sent.Sub(first.sent); d >= adaptiveWindow/2 && first.remaining < burst-1 && last.remaining < burst-1 {
		r := float64(last.remaining-first.remaining+last.accepted-first.accepted) / d.Seconds()
		if r > 0 {
			if a.measured > 0 {
				r = 0.7*a.measured + 0.3*r
			}
			a.measured = r
		}
	}
	if n := len(a.obs); a.measured > 0 && n >= 2 && last.remaining >= burst-1 {
		// The counter is full: the server refills faster than we send, and
		// a full bucket hides by how much. Search upward until it drains.
		if dt := last.sent.Sub(a.obs[n-2].sent); dt > 0 {
			a.measured *= 1 + adaptiveSearch*dt.Seconds()
		}
	}
	if a.measured == 0 {
		return
	}
	if a.sliding {
		a.slideUsed.add(float64(burst - 1 - remaining))
		if out, ok := a.slideOutOf(sent, burst-1-remaining); ok {
			a.slideOut = least(a.slideOut, out)
		}
	}
	if a.sliding && a.slideSteady(sent) {
		a.slideUsedSteady.add(float64(burst - 1 - remaining))
		if in, mid, ok := a.slideSpanOf(sent, burst-1-remaining); ok {
			a.slideSpan.add(in.Seconds())
			a.slideSpanMid.add(mid.Seconds())
		}
	}
	reserve := math.Max(1, adaptiveReserve*float64(burst))
	steer := 1 + adaptiveSteer*(float64(remaining)-reserve)/float64(max(burst, 1))
	if a.sliding && !a.slideRefused {
		// A sliding window's counter is steered firmly: requests age
		// out of a window at our own pace of a window ago, which is
		// what measured follows, so a weak pull leaves the pace where
		// it was and room the counter shows unused. But no faster than
		// slideSteerMax times that: after a pause a log shows its whole
		// quota, which comes back a window after it was spent, not at
		// the pace it went out.
		steer = min(1+slideSteer*(float64(remaining)-reserve)/float64(max(burst, 1)), slideSteerMax)
	}
	pace := a.measured * steer
	if r, ok := a.slidingRate(false); ok && r > a.measured {
		pace = math.Max(pace, adaptiveMargin*r)
	}
	a.pace = math.Max(math.Min(pace, float64(a.ceiling)), adaptiveFloor)
}

// fixedWindowShows looks for a fixed window in a counter taken for a
// bucket's: one that comes back whole from empty between two requests
// sent in a row. A bucket paced near its rate regains a request or two in
// that time; a fixed window's reset gives the whole quota back at once (a
// sliding window too, after a window without requests: the window model
// then sees it come back part of the way, and hands back). The window
// model takes over, the window opened by that request, its length to be
// found. It reports whether it did. Whole allows a pool's width short of
// the quota, for ours in flight with the request that read it, but no
// more than those a reset could have counted first (couldPrecede): a log
// comes back short by the places of what went after its first burst.
//
// Answers of requests in flight together come back in any order: one the
// server took later (remaining 1) read before one it took earlier
// (remaining 4) is no reset. A bucket of 6 at 50/s with 16 workers, taken
// so for a window that never found its length, drew 810 429s for 200
// rows. A small fixed window (3 per second) read whole again in a burst
// after the pause is found so, though: a model started from such a pair
// (fromOrder) is given up sooner, and once one never found its length,
// the earlier request is the latest one answered before this one left,
// which the server surely took first.
func (a *adaptive) fixedWindowShows(sent time.Time, remaining int) bool {
	n := len(a.obs)
	if n < 2 || a.pace <= 0 || math.IsInf(a.pace, 1) || a.slidingGap(sent) {
		return false
	}
	prev, burst := a.obs[n-2], a.burstSize()
	together := prev.recv.After(sent)
	if together && a.orderFailed {
		var ok bool
		if prev, ok = a.takenBefore(sent); !ok {
			return false
		}
		together = false
	}
	// Whole: all but what a request or two in flight took meanwhile.
	gap := sent.Sub(prev.sent).Seconds()
	if prev.remaining > burst/4 || remaining < burst-1-a.wholeSlack() {
		return false
	}
	if taken := burst - 1 - remaining; taken > a.couldPrecede(prev, sent)+1 {
		// A reset counts in the new window, before this request, only
		// what reached the server first: of ours, those couldPrecede
		// counts, and one more for a request it misses (one failed on
		// its way back, say). More taken than that is no fixed
		// window's reset of ours alone. A log that gave back its first
		// burst keeps the places of what went after it
		// (rolling-rate-limiter at 100 per 1s: back to 91 with 8
		// workers, two of ours sent since, taken for a window of
		// 1.06s, and the run paced at 0.72).
		return false
	}
	gained := float64(remaining + 1 - prev.remaining)
	if (gap > 3/a.pace || gained <= 2*a.pace*gap+1) && !a.stillShows(prev, gained, gap) {
		// A small quota (5 per second) is regained by a bucket or a
		// sliding window refilling at twice the pace within those
		// three intervals: not a reset.
		return false
	}
	a.openWindow(sent, a.lastRecv, remaining)
	a.win.fromOrder = together
	if lo, hi, ok := a.windowBounds(sent, a.lastRecv); ok {
		last := a.wholeSent
		if a.countedSent.After(last) && a.countedSent.Before(sent) {
			last = a.countedSent
		}
		a.win.priorWindow(a.wholeRecv, last)
		a.win.narrow(lo, hi)
	}
	return true
}

// noteRefused adds the refusal of the request sent at sent, answered at
// recv, to refusedRow, the row of refusals of requests sent after the
// latest one accepted, dropping those sent before it.
func (a *adaptive) noteRefused(sent, recv time.Time) {
	if a.counterRead {
		return
	}
	a.refusedRow = slices.DeleteFunc(a.refusedRow, func(e flightEnd) bool { return !e.sent.After(a.takenLast) })
	if !sent.After(a.takenLast) {
		return
	}
	if len(a.refusedRow) >= refusedRowMax {
		a.refusedRow = slices.Delete(a.refusedRow, 0, 1)
	}
	a.refusedRow = append(a.refusedRow, flightEnd{sent: sent, end: recv, refused: true})
}

// refusedRowMax bounds the refusals refusedRow keeps: the latest.
const refusedRowMax = 64

// refusedReset looks for a fixed window's reset in the first counter
// read after a row of refusals, where no counter model is in force: the
// signs came from refusals, not from the counter (a pool given with
// --concurrency over the counter's limit holds its first answers back
// from the counter models as a concurrency limit's slots until one is
// refused: go-limiter at 10 per 1s with 16 workers, its refusals read
// as a bare server's and the counter, whole again at each reset, paced
// as a bucket at 5.6/s). A bucket that refused two requests sent d
// apart regained less than one request between them, so it refills at
// under 1/d; back to remaining+1 within g of the row's last refusal, it
// refilled at over remaining/g. Where the two disagree by stillMargin,
// the counter came back whole at once: a window's reset, and the window
// model takes over with this request its window's first, its length no
// less than the row lasted. Once a counter reached the counter models,
// they look for resets themselves (fixedWindowShows). It reports whether
// it did.
func (a *adaptive) refusedReset(row []flightEnd, sent, now time.Time, remaining int) bool {
	if remaining < 0 || a.counterRead || len(row) < 2 || !a.unmodelled() {
		return false
	}
	burst := a.burstSize()
	if burst < 2 || remaining < burst-1-a.wholeSlack() {
		return false
	}
	slices.SortFunc(row, func(x, y flightEnd) int { return x.sent.Compare(y.sent) })
	if a.openBetween(row[0].sent, sent) {
		// In flight from amid the row: taken, perhaps, its answer yet
		// to come, and a bucket that took it refilled more than the
		// row shows.
		return false
	}
	// The least time the server can have taken between two refusals in
	// a row: from the earlier one's answer to the later one's send.
	var apart time.Duration
	for i := 1; i < len(row); i++ {
		apart = max(apart, row[i].sent.Sub(row[i-1].end))
	}
	gap := now.Sub(row[len(row)-1].sent)
	if apart <= 0 || gap <= 0 || float64(remaining)/gap.Seconds() < stillMargin/apart.Seconds() {
		return false
	}
	// No reset came between the row's first refusal and its last (the
	// first request after one is taken): the window is at least that
	// long, from the first's answer to the last's send. How long before
	// the row it began, nothing says.
	a.openAtReset(sent, now, remaining, max(row[len(row)-1].sent.Sub(row[0].end), 0))
	a.counterRead = true
	return true
}

// unmodelled reports whether no model but the bucket equation reads the
// server: no window, bare, Retry-After or concurrency model, no sliding
// window, and no idle spell begun or measured (the counter models'
// way in). refusedReset and stillReset look for a window's reset only
// then.
func (a *adaptive) unmodelled() bool {
	return a.win == nil && a.bare == nil && a.ra == nil && a.conc == nil && !a.sliding && a.idleAt.IsZero() && a.idleUntil.IsZero()
}

// openAtReset puts the fixed window model in force with the request sent
// at sent (answered at now, remaining left) its window's first, the
// window at least lo long.
func (a *adaptive) openAtReset(sent, now time.Time, remaining int, lo time.Duration) {
	a.openWindow(sent, now, remaining)
	a.win.narrow(lo, 0)
}

// openWindow puts the fixed window model in force at a reset: the
// request sent at sent, answered at now with remaining left, found the
// counter whole and is its window's first; the grid from the run's first
// request anchored.
func (a *adaptive) openWindow(sent, now time.Time, remaining int) {
	burst := a.burstSize()
	a.setWindow(newWindowModel(burst, a.inFlight, burst-remaining, sent, now, 0, a.rtts))
	a.win.reset, a.win.sawReset = true, true
	a.win.anchorGrid(a.firstSent, a.firstRecv)
}

// stillReset looks for a fixed window's reset in the counter read while
// the bucket equation paces from refusals, no counter model in force
// (the first refusal came before the first counter, held or answered
// late, so the counter never opened the idle spell that leads to them):
// go-limiter at 15 per 150ms under --concurrency 16, paced at 35-45/s,
// its counter falling by one a request and back to 14 at each reset,
// was paced as a bucket creeping up from 34/s to 80/s, never low enough
// for a sign. A stretch of answers in a row whose counter fell by our
// sends alone, d long, is a bucket refilling at under 1/d (the counter
// shows whole requests, what it regained less than one); back by k more
// within gap of the stretch's last, at over (k-1)/gap. Where the two
// disagree by twice stillMargin (the bound taken at 2/d, a margin on a
// rule no refusal backs), the counter came back at once: the window
// model takes over, the window no shorter than the stretch. Each answer
// must come before the next request leaves, with none other of ours in
// flight when it is read: answers read out of order make no stretch. A
// counter fallen by more than our sends (a refusal the server counts, a
// request failed on its way back, another client) ends the stretch: it
// may hide a refill. It reports whether it did; once the window model
// took over, the idle time the model's hand-back or loss measures
// (idleAt) keeps it from looking again.
func (a *adaptive) stillReset(sent, now time.Time, remaining int) bool {
	if remaining < 0 || a.signs == 0 || a.limitSaid == 0 || !a.unmodelled() {
		a.stillRun = [2]observation{}
		return false
	}
	if len(a.open) > 0 {
		// Others in flight: their answers, read after this one, may be
		// of requests the server took before it.
		a.stillRun = [2]observation{}
		return false
	}
	o := observation{sent: sent, recv: now, remaining: remaining, accepted: a.successes}
	first, last := a.stillRun[0], a.stillRun[1]
	if first.sent.IsZero() || !last.recv.Before(sent) || !sent.After(last.sent) {
		a.stillRun = [2]observation{o, o}
		return false
	}
	regained := remaining - last.remaining + o.accepted - last.accepted
	if regained == 0 {
		a.stillRun[1] = o
		return false
	}
	a.stillRun = [2]observation{o, o}
	burst := a.burstSize()
	d, gap := last.sent.Sub(first.recv), now.Sub(last.sent)
	if regained < 0 || remaining < burst-1-a.wholeSlack() || d <= 0 || gap <= 0 || float64(regained-1)/gap.Seconds() < 2*stillMargin/d.Seconds() {
		return false
	}
	a.openAtReset(sent, now, remaining, d)
	return true
}

// openBetween reports whether a request of ours in flight left after
// from and before to.
func (a *adaptive) openBetween(from, to time.Time) bool {
	for _, t := range a.open {
		if t.After(from) && t.Before(to) {
			return true
		}
	}
	return false
}

// takeRefusedRow returns the row of refusals the accepted request sent at
// sent ends: those of refusedRow sent before it and after every request
// accepted before it. Nil where it was sent before them (an answer come
// late, which leaves the row as it is) or a refusal of the row left after
// it; the refusals that left after it start the row afresh.
func (a *adaptive) takeRefusedRow(sent time.Time) []flightEnd {
	if a.counterRead || len(a.refusedRow) == 0 {
		a.refusedRow = nil
		return nil
	}
	var row, after []flightEnd
	for _, e := range a.refusedRow {
		switch {
		case e.sent.After(sent):
			after = append(after, e)
		case e.sent.After(a.takenLast):
			row = append(row, e)
		}
	}
	if len(row) == 0 {
		return nil
	}
	a.refusedRow = after
	if len(after) > 0 {
		return nil
	}
	return row
}

// couldPrecede counts our requests that a window reset between prev's
// arrival and the arrival of the request sent at sent could have counted
// before it. Of those answered: the accepted ones sent after a round trip
// of prev's before prev left (one sent just before prev may have arrived
// after it) and before sent, read (sentLog) or only ended (ended), the
// larger count. And those still in flight that left before sent, or
// within a round trip after it (a later one may overtake it on its way).
func (a *adaptive) couldPrecede(prev observation, sent time.Time) int {
	rtt := max(prev.recv.Sub(prev.sent), 0)
	from := prev.sent.Add(-rtt)
	ended := 0
	for _, e := range a.ended {
		// By the send time the caller gave Done, as sent is: the
		// request being read is among them, at sent exactly.
		if !e.refused && e.asked.After(from) && e.asked.Before(sent) {
			ended++
		}
	}
	n := max(a.acceptedBetween(from, sent), ended)
	late := sent.Add(max(rtt, a.lastRecv.Sub(sent)))
	for _, t := range a.open {
		if t.Before(late) {
			n++
		}
	}
	return n
}

// takenBefore is the observation, of those before the latest, for the
// latest request sent whose answer came before sent: one the server took
// before the request sent at sent. ok is false without one.
func (a *adaptive) takenBefore(sent time.Time) (o observation, ok bool) {
	for _, p := range a.obs[:len(a.obs)-1] {
		if !p.sent.Before(sent) || p.recv.After(sent) {
			continue
		}
		// Of requests sent together the server took the one showing
		// the least left last.
		if !ok || p.sent.After(o.sent) || p.sent.Equal(o.sent) && p.remaining < o.remaining {
			o, ok = p, true
		}
	}
	return o, ok
}

// wholeSlack is how far under its quota a counter may show and still
// count as whole: what a request or two in flight took meanwhile.
func (a *adaptive) wholeSlack() int {
	return min(a.inFlight, max(a.burstSize()/8, 1))
}

// noteStill keeps the start of the stretch stillShows reads: it moves to
// an answer that shows the counter (nearly) whole once the counter
// regained more than a request since the stretch began.
func (a *adaptive) noteStill(o observation) {
	if o.remaining < a.burstSize()-1-a.wholeSlack() {
		return
	}
	if a.still.sent.IsZero() || o.remaining-a.still.remaining+o.accepted-a.still.accepted > 1 {
		a.still = o
	}
}

// stillShows tells a fixed window from a bucket where the counter came
// back whole (gained, over gap seconds since prev) across a pause, which a
// bucket at the pace could also regain: the pool at least as wide as the
// quota empties each window at once and is refused, and Retry-After
// holds it for a window, so the requests either side of the reset are a
// pause apart. The stretch before prev tells them apart: the counter fell
// by what the server accepted and regained at most a request over it, so
// a bucket refills under (regained+1)/stretch (a shown counter is
// floored); coming back whole across the gap needs half again that at
// least. A request refused after prev extends the stretch to it. A fixed
// window regains nothing until its reset, then all.
func (a *adaptive) stillShows(prev observation, gained, gap float64) bool {
	from := a.still
	if from.sent.IsZero() || !from.sent.Before(prev.sent) || gap <= 0 {
		return false
	}
	regained := float64(prev.remaining - from.remaining + prev.accepted - from.accepted)
	if regained > 1 || from.remaining-prev.remaining < 2 {
		return false
	}
	end := prev.sent
	if a.stillRefused.After(end) && a.stillRefused.Before(a.obs[len(a.obs)-1].sent) {
		// Refused after prev: the counter had not regained a request
		// by then either.
		end = a.stillRefused
	}
	d := end.Sub(from.sent).Seconds()
	return (gained-1)/gap >= stillMargin*(math.Max(regained, 0)+1)/d
}

// slidingGap reports whether a sliding window's counter, coming back
// whole for a request sent at sent, is explained by a gap of half a
// window or more between the latest earlier request and this one's
// answer (a stalled machine: the request reached the server late, or
// nothing left meanwhile): what we sent before it aged out in the gap,
// and a counter that weighs its previous period (httprate, HAProxy)
// refuses a fixed window's burst into it. A log that gives back a burst
// a window after it went out, with no gap, is rightly paced as a fixed
// window from then on. The window is what the counter shows paced at
// the measured rate.
func (a *adaptive) slidingGap(sent time.Time) bool {
	if !a.sliding || a.slideUsed.n == 0 || a.measured <= 0 {
		return false
	}
	var before time.Time
	for _, o := range a.obs[:len(a.obs)-1] {
		if o.sent.Before(sent) && o.sent.After(before) {
			before = o.sent
		}
	}
	w := a.slideUsed.mean / a.measured
	return !before.IsZero() && a.lastRecv.Sub(before).Seconds() >= w/2
}

// noteWhole records whether an answer to a request sent at sent,
// received at recv, showed the counter whole, for windowBounds.
func (a *adaptive) noteWhole(sent, recv time.Time, remaining int) {
	switch {
	case remaining >= a.burstSize()-1:
		if sent.After(a.wholeSent) {
			a.wholeSent, a.wholeRecv = sent, recv
		}
	case sent.After(a.wholeSent) && sent.After(a.countedSent):
		a.countedSent = sent
	}
}

// windowBounds bounds a fixed window's length when the counter shows
// whole again for a request sent at sent and answered at recv, from the
// latest earlier whole counter: that request opened the window that has
// just ended, so its length is at most the time from that request's send
// to this one's answer, and at least from that request's answer to the
// send of the latest request still counted in it. ok is false without an
// earlier whole counter answered before this request left.
func (a *adaptive) windowBounds(sent, recv time.Time) (lo, hi time.Duration, ok bool) {
	if a.wholeSent.IsZero() || !a.wholeSent.Before(sent) || a.wholeRecv.After(sent) {
		// None, or in flight with this one: of the same burst, not
		// the opener of a window before (a log of 10 per 2s so
		// bounded at 2ms, its flags "10 per 2ms" drew 390 429s).
		return 0, 0, false
	}
	if a.countedSent.After(a.wholeSent) && a.countedSent.Before(sent) {
		lo = max(a.countedSent.Sub(a.wholeRecv), 0)
	}
	return lo, recv.Sub(a.wholeSent), true
}

// throttled records a throttle answer at now that pauses the pool for pause.
// closest, when not 0, is the shortest time between the latest requests
// to leave: the one refused among them came at most that long after the
// request before it.
func (a *adaptive) throttled(now time.Time, pause, closest time.Duration) {
	a.seenRefused = true
	a.calmFrom, a.calmFirst, a.calmLast, a.calmN = now, time.Time{}, time.Time{}, 0
	if a.oneAtATime() {
		a.oneRefused(a.refusedSent)
		defer a.oneFit()
		// Refused while creeping near the latest refusal: not the
		// limit found again but the jitter of the send times, which a
		// bucket of one refuses whenever two requests come closer than
		// its interval. The pace backs off from the one refused, the
		// margin growing with every such refusal.
		gentle := a.measured > 0 && a.refusedPace > 0 && a.pace >= adaptiveNear*a.refusedPace
		at := a.pace
		// A bucket of one refused a request closer than its interval
		// to the one before: its rate is under 1/closest.
		a.refusedPace = a.pace
		if closest > 0 {
			a.refusedPace = 1 / closest.Seconds()
		}
		if gentle {
			defer func() {
				if p := adaptiveJitter * at; p < a.pace {
					a.pace, a.measured = p, p/adaptiveMargin
				}
			}()
		}
	}
	if a.sliding {
		a.slideRefused = true
	}
	a.trackRefused = true
	if !a.refusal.IsZero() {
		a.stillRefused = a.refusal
	}
	if a.chk == chkRunning {
		// Refused at half the pace: the bucket steering's pace stands.
		a.chk, a.pace = chkDone, a.measured
	}
	if a.win != nil {
		if a.win.throttled(now, a.refusedSent) {
			return
		}
		if a.win.fromOrder && a.win.neverFound {
			a.orderFailed = true
		}
		// Not a fixed window: a bucket that refills about a quota per
		// window length, measured from here on (or the sliding window
		// an earlier model was handed back as).
		// What it accepted on average so far is the safe first guess.
		rate := float64(a.successes) / math.Max(now.Sub(a.firstSent).Seconds(), 1e-3)
		w := a.dropWindow()
		a.idleAt, a.obs = now, nil
		if rate > 0 {
			a.measured = rate
			a.pace = math.Max(rate*adaptiveMargin, adaptiveFloor)
		}
		a.lastSign, a.lastLeft = now, 0
		a.lastAnchor, a.lastRefused = now, true
		if !a.refusal.IsZero() {
			a.lastAnchor = a.refusal
		}
		a.segStart, a.segAccepted, a.probed = now.Add(pause), 0, now.Add(pause)
		a.refusedRead = now
		if a.sliding {
			// As when handed back by a counter that came back part
			// of the way: the window it measured bounds the pace.
			a.capSliding(w)
		}
		return
	}
	over := a.zeroWait(pause)
	if over {
		a.zeroRow++
	} else {
		a.zeroRow = 0
	}
	a.refusedRead = now
	a.sign(now, pause, 0)
	if over && a.zeroRow >= zeroWaitRow && a.flat == 0 {
		if proven := float64(a.successes) / now.Sub(a.firstSent).Seconds(); proven < a.pace {
			a.pace = math.Max(proven, adaptiveFloor)
		}
	}
}

// zeroWait reports whether the refusal throttled is reading, whose pause
// is pause, says that the pace is over the server's rate whatever was
// measured: its request left after the refusal before was read, nothing
// sent since then was accepted or is still unanswered, and the wait the
// server stated (a Retry-After of 0, as go-chi/httprate says for a window
// under a second) spaces the requests less than the pace does. After
// zeroWaitRow of them in a row the pace falls to the most the answers
// proved: what the server accepted since the first request, per second
// (throttled). A measurement needs accepted requests, so nothing else
// lowers a pace read from the opening's bursts while the server refuses
// all: HAProxy-style 50 per 500ms, refused requests counted, handed from
// the fixed-window model at the average of its first 0.1s (471/s), was
// refused without end once the pacer kept its waiters' places. Not a bare
// 429, whose backoff grows with each one; not before a measurement, since
// the search's first guess climbs only on accepted requests.
func (a *adaptive) zeroWait(pause time.Duration) bool {
	if !a.refusalHinted || a.refusedRead.IsZero() || a.refusedSent.IsZero() {
		return false
	}
	if !a.refusedSent.After(a.refusedRead) || a.takenLast.After(a.refusedRead) {
		// Sent before the refusal before was read, or one taken since.
		return false
	}
	for _, t := range a.open {
		if t.After(a.refusedRead) && t.Before(a.refusedSent) {
			// Sent since, still unanswered: it may be taken.
			return false
		}
	}
	if a.firstSent.IsZero() || a.oneAtATime() || !(a.measured > 0) || !(a.pace > 0) || math.IsInf(a.pace, 1) {
		return false
	}
	return pause.Seconds() < 1/a.pace
}

// sign closes the open segment at a sign of the limit, with left tokens on
// the server, measures, sets the pace, and opens the next segment after pause.
func (a *adaptive) sign(now time.Time, pause time.Duration, left float64) {
	a.signs++
	anchor, refused := now, !a.refusal.IsZero()
	if refused {
		anchor = a.refusal
	}
	if a.signs == 1 {
		a.firstAnchor, a.firstSign = anchor, now
		a.burstSeen = a.successes
		a.pace = math.Max(adaptiveGuess*float64(max(a.burstSize(), 1)), adaptiveFloor)
	} else {
		from := a.lastAnchor
		if from.IsZero() {
			from = a.lastSign
		}
		if from.After(anchor) {
			// A request sent before the last sign's was refused after
			// it: nothing between them.
			from = anchor
		}
		a.history = append(a.history, segment{
			end:         now,
			pause:       math.Max(0, a.segStart.Sub(a.lastSign).Seconds()),
			sending:     math.Max(0, now.Sub(a.segStart).Seconds()),
			accepted:    a.segAccepted + a.lateAccepted,
			startLeft:   a.lastLeft,
			endLeft:     left,
			from:        from,
			to:          anchor,
			fromRefused: a.lastRefused,
			toRefused:   refused,
		})
		a.forget(now)
		a.measure(now)
	}
	a.lastSign, a.lastLeft = now, left
	a.lastAnchor, a.lastRefused = anchor, refused
	a.segStart = now.Add(pause)
	a.segAccepted, a.lateAccepted = 0, 0
	a.probed = a.segStart
}

// forget drops segments older than adaptiveMemory, keeping at least two.
func (a *adaptive) forget(now time.Time) {
	drop := 0
	for drop < len(a.history)-2 && (now.Sub(a.history[drop].end) > adaptiveMemory || len(a.history)-drop > adaptiveSegments) {
		drop++
	}
	a.history = a.history[drop:]
	if len(a.history) > 0 {
		// The replay looks one interval before the oldest segment, for
		// the request accepted before its refusal.
		keep := a.history[0].from.Add(-time.Second)
		cut := 0
		for cut < len(a.sentLog) && a.sentLog[cut].Before(keep) {
			cut++
		}
		a.sentLog = append(a.sentLog[:0], a.sentLog[cut:]...)
	}
}

// noteAccepted remembers the send time of an accepted request for
// sustained, forgetting those older than adaptiveSustain.
func (a *adaptive) noteAccepted(sent time.Time) {
	drop := 0
	for drop < len(a.accepted) && sent.Sub(a.accepted[drop]) > adaptiveSustain {
		drop++
	}
	if drop > 0 || len(a.accepted) >= 4096 {
		a.accepted = append(a.accepted[:0], a.accepted[max(drop, 1):]...)
	}
	a.accepted = append(a.accepted, sent)
	if len(a.sentLog) >= adaptiveLogMax {
		a.sentLog = append(a.sentLog[:0], a.sentLog[1:]...)
	}
	i := len(a.sentLog)
	for i > 0 && a.sentLog[i-1].After(sent) {
		i--
	}
	a.sentLog = slices.Insert(a.sentLog, i, sent)
}

// noteCalm counts an accepted request sent at sent for calmRate.
func (a *adaptive) noteCalm(sent time.Time) {
	if !sent.After(a.calmFrom) {
		return
	}
	a.calmN++
	if a.calmFirst.IsZero() || sent.Before(a.calmFirst) {
		a.calmFirst = sent
	}
	if sent.After(a.calmLast) {
		a.calmLast = sent
	}
}

// calmRate bounds from below what the server sustains by what it
// accepted since the latest refusal, n requests sent over calmFirst to
// calmLast (T): a bucket of B, or a log of B per window, accepts no more
// than B over its rate in any stretch, and a fixed window of B no more
// than 2B (a window at each end), so it sustains (n-2B)/T at least. Only
// a stretch of calmMin or more, and calmBursts quotas: shorter, what the
// server held at its start weighs too much. It is what a sliding
// window's summary learns at least: the rate its counter's fill and our
// sends' span show allows a request and a half under its quota, half the
// quota at 3, and a bucket of 3 at 3/s told sliding at its first window
// was learned at 1.95/s where the run sustained 3/s.
func (a *adaptive) calmRate() float64 {
	b := a.burstSize()
	d := a.calmLast.Sub(a.calmFirst)
	if a.calmN < calmBursts*max(b, 1) || d < calmMin {
		return 0
	}
	return float64(a.calmN-2*b) / d.Seconds()
}

const (
	calmMin    = 10 * time.Second
	calmBursts = 4
)

// sustained bounds the bucket's rate from below by what it accepted up to
// now: no bucket of size B accepts more than B + r*L requests in a stretch
// of L, whatever came before. The segments' equation assumes the pool
// kept the bucket empty between signs; while the pace was under the rate
// (the first guess creeping up, a pace a jittered 429 cut short) the
// bucket overflowed, and the equation measured the pace, not the rate:
// nginx's limit_req without a burst (one request per 1/r, any two closer
// refused) was paced at 36/s for a true 100/s.
func (a *adaptive) sustained(now time.Time) float64 {
	burst := float64(max(a.burstSize(), 1))
	best := 0.0
	for _, span := range sustainSpans {
		n := 0
		for _, t := range a.accepted {
			if now.Sub(t) <= span {
				n++
			}
		}
		if n >= adaptiveMinSuccesses {
			best = math.Max(best, (float64(n)-burst)/span.Seconds())
		}
	}
	return best
}

// spaced bounds from below the rate of a server that takes one request at
// a time: after a request it accepted its bucket of one is empty, so two
// more accepted in d mean it refills at least 2/d. Two intervals, not one,
// halve the jitter of the send times the intervals are taken from.
func (a *adaptive) spaced() float64 {
	if !a.oneAtATime() || len(a.accepted) < 3 {
		return 0
	}
	ts := slices.Clone(a.accepted)
	slices.SortFunc(ts, func(x, y time.Time) int { return x.Compare(y) })
	best := 0.0
	for i := 2; i < len(ts); i++ {
		if d := ts[i].Sub(ts[i-2]).Seconds(); d > 0 {
			best = math.Max(best, 2/d)
		}
	}
	return best
}

// measure solves the segments' equation for the server's rate at a sign
// at now, never under what the bucket was seen to sustain.
//
// The equation is a replay: for a rate r, a bucket of the server's burst
// starts each segment where its first sign left it, refills at r up to
// the burst (a bucket paced under its rate overflows, and that refill is
// lost, which summing r over the segment's time would count), gives one
// request to each request accepted in it by send time, and ends at its
// last sign. r is where the replayed levels at the signs meet the levels
// the signs show. A counter's reading k is a level in [k, k+1): k+1/2. A
// refusal says the bucket held less than one request when the refused
// one came, and at least what it refilled since the last request
// accepted before it (dt earlier, which left it at 0 or more): a level in
// [r*dt, 1), taken at its middle. Taking it at 0, as the equation did
// before, measured a bucket paced past its rate (each refusal comes
// after a refill of r/pace since the request before, so the bucket held
// 1 - r/(2 pace) on average) about half a request short per segment:
// nginx at 100/s burst 15, measured from one segment of 10 requests,
// came out at 92/s.
func (a *adaptive) measure(now time.Time) {
	if held := a.presumedOpen(); len(held) > 0 {
		// The requests a queue holds, taken but not yet answered, are
		// replayed with the others.
		kept := a.sentLog
		a.sentLog = slices.Clone(kept)
		for _, t := range held {
			i := a.sentAfter(t)
			a.sentLog = slices.Insert(a.sentLog, i, t)
		}
		defer func() { a.sentLog = kept }()
	}
	var sending, sample float64
	accepted, counted := 0, 0
	for _, s := range a.history {
		sending += s.sending
		sample += s.sending
		if a.waitSaid == 0 {
			// A pause of our own guessing (no refusal of the run
			// stated a wait over zero) is short, and the bucket
			// refills through it: up to adaptivePauseSample of each
			// counts towards the sample. Sending alone, a pool that
			// goes at once after each pause sends for a round trip: a
			// bare bucket of 200 at 200/s took twelve refusals, 67-108
			// 429s, to gather 40ms, the first guess climbing to
			// thousands a second between. Not a stated wait: a bucket
			// full long before its end says nothing of its rate there
			// (Retry-After: 1 to a bucket of 100 at 100/s measured it
			// at half).
			sample += math.Min(s.pause, adaptivePauseSample.Seconds())
		}
		accepted += a.sentIn(s.from, s.to)
		counted += s.accepted
	}
	// counted is what the segments counted as they went, with the
	// answers that came in each to requests sent before it: nothing
	// while a server's counter is tracked (track measures it), which
	// the equation leaves alone.
	if sample < adaptiveMinSample.Seconds() || sending <= 0 || min(accepted, counted) < adaptiveMinSuccesses {
		// (No sending time at all bounds no rate: hi below.)
		return
	}
	burst := float64(max(a.burstSize(), 1))
	gap := func(r float64) float64 {
		g := 0.0
		for _, s := range a.history {
			g += a.replay(s, r, burst)
		}
		return g
	}
	// No rate past what the sending time accounts for, with a whole
	// burst per segment besides: where the levels cannot meet (a bucket
	// of one holds at most one at any rate), the least rate that comes
	// closest.
	lo, hi := adaptiveFloor, (float64(accepted)+burst*float64(len(a.history)))/sending+1
	for _, s := range a.history {
		// Nor past what the last stretch before a refusal sent, a
		// burst besides: where the pace was under the rate for most
		// of a segment (the first guess creeping up), the bucket
		// overflowed and the segment's average is no bound (nginx at
		// 300r/s burst=5, one segment of 0.9s mostly under 100/s, was
		// measured 138/s).
		for d := adaptiveMinSample; d <= s.to.Sub(s.from) && d <= sustainSpans[0]; d *= 2 {
			hi = math.Max(hi, (float64(a.sentIn(s.to.Add(-d), s.to))+burst)/d.Seconds()+1)
		}
	}
	for range 60 {
		mid := (lo + hi) / 2
		if gap(mid) < 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	eq, sus := (lo+hi)/2, math.Max(a.sustained(now), a.spaced())
	prev, doubt := a.measured, 1/float64(max(a.evidence, 1))
	a.measured, a.loose = math.Max(eq, sus), sus > eq
	if a.flatPace() {
		return
	}
	// A slow server's measurement rests on few requests however long
	// the run (the segments of adaptiveMemory: 15 at 3/s), and its
	// doubt sent the pace creeping past it again and again: nginx at
	// 3r/s burst=3 measured 3.00/s at every refusal, one every 7s, 31
	// of 431 requests refused. A measurement within the doubt of the one
	// before confirms it: their evidence adds up.
	if prev > 0 && !a.loose && math.Abs(a.measured-prev) <= doubt*prev {
		a.agreed++
	} else {
		a.agreed = 0
	}
	a.evidence = accepted * (1 + a.agreed)
	a.pace = math.Max(a.measured*adaptiveMargin, adaptiveFloor)
}

// presume notes that the requests in flight sent before the refused one
// Throttle is reading are taken: see presumedBefore. Nothing when its send
// time is unknown (Done found no such request in flight) or stale: the
// answer's own time would presume taken the requests sent after it.
func (a *adaptive) presume() {
	if a.refusedSent.After(a.presumedBefore) {
		a.presumedBefore = a.refusedSent
	}
}

// presumedOpen is the requests in flight presumed taken: those sent before
// presumedBefore.
func (a *adaptive) presumedOpen() []time.Time {
	n, _ := slices.BinarySearchFunc(a.open, a.presumedBefore, func(t, before time.Time) int { return t.Compare(before) })
	return a.open[:n]
}

// sentIn counts the accepted requests sent in (from, to].
func (a *adaptive) sentIn(from, to time.Time) int {
	return max(a.sentAfter(to)-a.sentAfter(from), 0)
}

// sentAfter is the index in sentLog of the first request sent after t.
func (a *adaptive) sentAfter(t time.Time) int {
	i, _ := slices.BinarySearchFunc(a.sentLog, t, func(x, t time.Time) int {
		if x.After(t) {
			return 1
		}
		return -1
	})
	return i
}

// replay is the segment's replayed level at its last sign less the level
// the sign shows, for a bucket of burst refilling at r per second: see
// measure. It grows with r.
func (a *adaptive) replay(s segment, r, burst float64) float64 {
	level := s.startLeft + 0.5
	switch {
	case s.fromRefused && s.from.Equal(a.firstAnchor) && r*s.from.Sub(a.firstSent).Seconds() < 1:
		// The unpaced burst's first refusal, within one refill of its
		// first request: a bucket full at the start (a whole number of
		// requests) held what it refilled since, all the rest taken.
		level = r * s.from.Sub(a.firstSent).Seconds()
	case s.fromRefused:
		level = a.refusedLevel(s.from, r)
	}
	t := s.from
	for _, x := range a.sentLog[a.sentAfter(s.from):max(a.sentAfter(s.to), a.sentAfter(s.from))] {
		level = math.Min(burst, level+r*x.Sub(t).Seconds()) - 1
		t = x
	}
	level = math.Min(burst, level+r*s.to.Sub(t).Seconds())
	if s.toRefused {
		return level - a.refusedLevel(s.to, r)
	}
	return level - (s.endLeft + 0.5)
}

// refusedLevel is the level a bucket refilling at r held when a request
// sent at at was refused: under one request, at least what it refilled
// since the latest request accepted before it; the middle of the two.
func (a *adaptive) refusedLevel(at time.Time, r float64) float64 {
	refill := 1.0
	if i := a.sentAfter(at.Add(-1)); i > 0 {
		refill = math.Min(r*at.Sub(a.sentLog[i-1]).Seconds(), 1)
	}
	// What the accepted one left is at most what keeps the sum under
	// one, and at most the burst less the request it took: nothing, in
	// a bucket of one.
	left := math.Min(1-refill, math.Max(float64(a.burstSize())-1, 0))
	return refill + left/2
}

// limit is the pace for the token bucket, never above the ceiling.
func (a *adaptive) limit() rate.Limit {
	if a.win != nil || a.ra != nil || a.conc != nil {
		// The window's pacer holds the pool back.
		return a.ceiling
	}
	if l := rate.Limit(a.pace); l < a.ceiling {
		return l
	}
	return a.ceiling
}

func (a *adaptive) learned() (burst int, perSecond float64) {
	if a.win != nil {
		return a.win.quota, a.win.perSecond()
	}
	if a.ra != nil {
		return a.ra.quota, a.ra.perSecond()
	}
	burst = a.burstSize()
	if a.limitSaid > 0 && a.counterMax > a.limitSaid {
		// The counter showed more left than the stated limit: that
		// limit is a rate, not the quota (tollbooth states its refill
		// per second beside its bucket: 25 with a bucket of 50, its
		// counter at 49 after the first request), and the bucket holds
		// at least what the counter showed. Learned at the claim, the
		// pinned flags kept --burst 24 and ran at 0.86-0.90 of the
		// ideal where the adaptive run made 0.99. Only the bucket's
		// size: a sliding window's period is read with the stated
		// quota (counterWindow, below).
		burst = a.counterMax
	}
	if a.limitSaid == 0 && !a.sliding && a.measured > 0 && !a.burstLast.IsZero() {
		// Counted from answers, the burst includes what the bucket
		// refilled while it lasted (requests in flight when the first
		// refusal came, accepted with the refill): a pinned --burst that
		// large would be refused. The bucket held what was accepted less
		// that refill.
		refill := int(math.Round(a.measured * a.burstLast.Sub(a.firstSent).Seconds()))
		burst = max(burst-refill, 1)
	}
	if r, ok := a.slidingRate(true); ok {
		return burst, a.waitCap(r)
	}
	if r, ok := a.spanRate(a.slideSpanMid); ok {
		// Steered as a bucket's since a refusal, the pace measured
		// follows the counter's refill, which a sliding window gives
		// at the pace it took requests a window ago, not at what it
		// holds: a log of 40 per 500ms on a busy machine was learned
		// at 84-105/s, and its pinned flags drew 16-108 429s. It holds
		// no more than its quota per the window our sends show, taken
		// here at its middle: a refusal says the pace reached it.
		// Nor less than a counter's period found by its readings shows
		// (counterWindow): the refill a refusal's steering slowed is
		// what we sent a window ago, not what the window holds.
		m, q := a.measured, a.burstSize()
		if w, ok := counterWindow(a.seen, q, a.measured, r); ok {
			m = math.Max(m, (float64(q)-bareSpare)/w.Seconds())
		}
		return burst, a.waitCap(math.Min(m, r))
	}
	// A bucket of one may have taken requests faster than measured at
	// its last refusal (the pace went up to oneBetween since): what it
	// took is its rate at least (spaced is 0 for any other server).
	r := math.Max(a.measured, a.spaced())
	if a.oneAtATime() && a.oneCeil > 0 {
		// Nor faster than a refusal left it: it refused a request
		// that came less than an interval after the latest it took,
		// whether it refills continuously, in steps (a timer's fill
		// of one) or holds requests until their token comes. The
		// segments' equation cannot meet a counter's "0 left" in a
		// bucket of one and ends at its bound on the sending time:
		// Envoy's bucket of one a second with its counter headers, 8
		// workers, was learned at 51/s, and its pinned flags drew 26
		// 429s for 12 rows where the adaptive run drew 14.
		r = math.Min(r, a.oneCeil)
	}
	return burst, a.waitCap(r)
}

// waitCap bounds what a sliding window's counter showed it sustains by its
// quota less one per the window a refusal's wait proved (a --rate alone
// sends up to 1 + r*W in a window W). go-chi/httprate
// asks for a whole window; read against our sends, its counter, which
// weighs the previous period as if its requests were spread over it (a
// burst late in it too) and rounds, showed a shorter one, and at a few
// requests a window the rate read so was over the server's (10 per 5s:
// learned 2.0-2.1/s, the pinned 1.91-2.01/s refused 1-3 times, in the
// simulation and on the real server; HAProxy's counter, which rounds
// down, at 2.22/s). A log that asks only until its oldest request ages
// out asks for less than the window, which bounds nothing further; a
// wait longer than the window (a penalty) only slows the pinned flags.
//
// Most servers round a wait up to the second (Caddy's rate_limit, a
// sliding log, says "1" for any wait under a second; express-rate-limit,
// @fastify/rate-limit, Traefik and hand-written middlewares take the
// ceiling too), and a wait read from a reset's Unix second ends at that
// second's end, so a wait proves only a window over one second less:
// taken whole, a log of 15 per 150ms that said "1" was pinned at 13.5/s.
// Only a server that asked for the same whole wait of two seconds or more
// every time is stating its window (httprate's floor), and bounds by it.
//
// Whatever the rate was read from, a log's window is no longer than any
// span to a request it no longer counted (slideOut), and a --rate alone
// sends up to 1 + r*W in a window: r is no more than the quota less one
// per that span. A sliding window with too few answers paced to weigh
// its fill or span (a long window: 20 answers are minutes at 20 per
// minute) was learned from the refill its counter showed, which follows
// what we sent a window ago, bursts after the pauses included (a log of
// 10 per 5s with X-RateLimit headers was learned at 2.9-8.1/s). And a
// short run's fill and span are read in the burst after a pause (a log
// of 100 per 1s, 200 rows with 8 workers: the second hundred went in
// 190ms, read as 223/s, whose pinned flags were refused).
func (a *adaptive) waitCap(r float64) float64 {
	if !a.sliding {
		return a.bucketWaitCap(r)
	}
	if a.slideOut > 0 && a.burstSize() > 1 {
		r = math.Min(r, float64(a.burstSize()-1)/a.slideOut.Seconds())
	}
	if a.waitSaid <= 0 {
		return r
	}
	w := a.waitSaid
	if stated := a.waitLeast == w && w >= 2*time.Second && w%time.Second == 0; !stated {
		if w -= time.Second; w <= 0 {
			return r
		}
	}
	return math.Min(r, float64(a.burstSize()-1)/w.Seconds())
}

// bucketWaitCap bounds what a bucket was learned to refill by the waits
// its refusals stated: a bucket refuses a request when it holds less than
// one, and the wait it states is the time its next one takes, at most an
// interval at its rate. The longest wait stated, less the second any
// server may round it up by, is then no longer than an interval. A rate
// read from the counter's give-back that a log (Flask-Limiter's moving
// window) hands back one request at a time, as it ages out, is no bucket's
// refill: 2 per minute with 8 workers was learned at 29600/s while its
// refusals asked for up to a minute, and the pinned --rate drew 21-25
// 429s where the adaptive run drew 13. Waits under two seconds bound
// nothing: a bucket refilling once a second or faster states 1 or less.
//
// A bound the run itself refutes bounds nothing: where the server asked
// for the same whole wait every time and took more over the run than a
// bucket that size refilling at that rate can (bucketWaitOver), the wait
// was no interval of a bucket's but a window's. go-chi/httprate asks for
// its whole window, 2s at 20 per 2s; its weighted counter, taken for a
// bucket after its first bursts, was pinned at 1/s where the adaptive
// run had 8.6/s taken. It is bounded then as waitCap bounds a sliding
// window that states its window: its quota less one per that wait. Not
// where the waits differ: a bucket that counts its refusals goes into
// debt and asks for longer and longer waits (one of 50 at 0.4/s asked
// for up to 27s), and bounded so it was pinned at 1.45/s and refused 129
// times.
func (a *adaptive) bucketWaitCap(r float64) float64 {
	w := a.waitSaid - time.Second
	if w < time.Second {
		return r
	}
	most := 1 / w.Seconds()
	took := a.lastRecv.Sub(a.firstSent).Seconds()
	stated := a.waitLeast == a.waitSaid && a.waitSaid%time.Second == 0
	if stated && float64(a.successes) > float64(a.burstSize())+bucketWaitOver*most*took+1 {
		return math.Min(r, float64(a.burstSize()-1)/a.waitSaid.Seconds())
	}
	return math.Min(r, most)
}

// bucketWaitOver is how far over the bound a bucket's stated wait puts on
// its refill the run's accepted requests must go to refute it.
const bucketWaitOver = 1.5

// spanRate is the most a sliding window sustains by the window span our
// own sends show: quota-1.5 per that window. ok is false until
// slideMinAnswers answers showed it.
func (a *adaptive) spanRate(span ewma) (float64, bool) {
	if !a.sliding || span.n < slideMinAnswers || span.mean <= 0 {
		return 0, false
	}
	return (float64(a.burstSize()) - bareSpare) / span.mean, true
}

// slidingRate is the rate a sliding window's counter shows it sustains,
// once paced for slideMinAnswers answers without a refusal. Paced at r, a
// sliding window (a log, or a counter weighing its previous window) holds
// r*W requests, and the counter says how many: used, on average. The most
// it sustains, a request and a half under its quota (the counter weighs
// and rounds) before each request, is r*(quota-1.5)/used. A bucket's
// counter tells nothing of the kind (its fill is any level at any rate).
// spanned bounds it by the window our own sends show (slideSpan): what is
// learned and pinned; the pace's floor takes the ratio alone, the adaptive
// run learning from a refusal what the pinned flags would only be refused.
func (a *adaptive) slidingRate(spanned bool) (float64, bool) {
	fill := a.slideUsed
	if spanned {
		fill = a.slideUsedSteady
	}
	if !a.sliding || a.slideRefused || fill.n < slideMinAnswers || a.measured <= 0 {
		return 0, false
	}
	used := math.Max(fill.mean, 1)
	r := math.Max(a.measured, a.measured*(float64(a.burstSize())-bareSpare)/used)
	if spanned {
		if s, ok := a.spanRate(a.slideSpan); ok {
			// measured is the rate requests age out at, which is the pace
			// kept only while it holds steady: after a burst (the window
			// model's, before it handed back) a counter that weighs its
			// previous period gives it back at the burst's rate for a whole
			// period, whatever the pace since, and the ratio read go-chi/
			// httprate at 30 per 1s as 32-36/s. The span our own sends
			// show is no such ratio: the same figure paced steadily, and
			// after a burst the time the requests it counts took to send.
			r = math.Min(r, s)
		}
	}
	return r, true
}

// slideSteady reports whether a sliding window's counter, read by a
// request sent at sent, shows the pace in force, for what is learned:
// two windows on from slideCalm, when slideCheck stopped short and the
// pace climbed back from its half. A pace change takes a window to show
// in a log and two in a counter that weighs its previous period
// (go-chi/httprate, HAProxy): while the pace climbs, such a counter counts
// fewer of our sends than the last window holds, and both the fill and
// the span read short, so the rates taken from them read high (httprate
// at 30 per 150ms with 2 workers was learned at 214/s, its pinned 207/s
// refused 16 times where the adaptive run was not). The window is taken
// as the time our latest quota of sends took, which is at least the
// window while none was refused. The pace still reads every answer
// (slideUsed): kept from them too, it climbed more slowly, and an aligned
// counter of 15 per 150ms lost 0.02 of its efficiency.
func (a *adaptive) slideSteady(sent time.Time) bool {
	if a.slideCalm.IsZero() {
		return true
	}
	k := a.sentAfter(sent.Add(-1)) - a.burstSize()
	if k < 0 {
		return false
	}
	return sent.Sub(a.slideCalm) >= 2*sent.Sub(a.sentLog[k])
}

// slideSpanOf is how far back from sent the requests a counter reading
// used (besides the one sent at sent) reach: in, to the oldest of the
// latest used of our accepted requests, and mid, halfway from there to
// the one before it, which the window no longer held. Every request a
// sliding window counts is ours (one client per key), so a log's window
// ends between those two requests; paced
// steadily at r, in is used/r, the window that measured*(quota-1.5)/used
// reads (slidingRate), but in a transient it follows what we sent, not
// the rate requests age out at. ok is false when the log of sends does
// not reach that far back.
func (a *adaptive) slideSpanOf(sent time.Time, used int) (in, mid time.Duration, ok bool) {
	k := a.sentAfter(sent.Add(-1))
	j := k - used
	if used < 1 || j < 1 {
		return 0, 0, false
	}
	in = sent.Sub(a.sentLog[j])
	return in, (in + sent.Sub(a.sentLog[j-1])) / 2, true
}

// slideOutOf is how far back from sent the latest of our accepted
// requests lies that a counter reading used (besides the one sent at
// sent) no longer counted: a log's window ends after it, so the window
// is no longer than that, whatever the pace (a burst's answers, which
// read a short span to the requests they counted, read a long one
// here). ok is false when the log of sends does not reach that far back.
func (a *adaptive) slideOutOf(sent time.Time, used int) (out time.Duration, ok bool) {
	j := a.sentAfter(sent.Add(-1)) - used
	if used < 0 || j < 1 {
		return 0, false
	}
	return sent.Sub(a.sentLog[j-1]), true
}

const (
	// slideMinAnswers is how many answers a sliding window's fill is
	// averaged over before it is trusted.
	slideMinAnswers = 20
	// slideSteer is how firmly a sliding window's counter steers the
	// pace to the reserve (adaptiveSteer a bucket's), and slideSteerMax
	// the most the pace goes over the rate requests age out at to get
	// there. Until the first refusal; then a bucket's steering.
	slideSteer    = 1.0
	slideSteerMax = 1.15
)

// ewma is an exponentially weighted mean, over about the last 20 values.
type ewma struct {
	mean float64
	n    int
}

func (e *ewma) add(x float64) {
	e.n++
	w := math.Max(1/float64(e.n), 0.05)
	e.mean += w * (x - e.mean)
}

// oneBetween is, for a server that takes one request at a time, the
// geometric middle of the rate measured (what it took) and the pace of
// the latest refusal (what it did not), where the latter is the higher,
// never closer to that refusal's pace than adaptiveNear; the measured
// rate otherwise.
func (a *adaptive) oneBetween() float64 {
	if a.refusedPace <= a.measured {
		return a.measured
	}
	return math.Max(math.Min(math.Sqrt(a.measured*a.refusedPace), adaptiveNear*a.refusedPace), a.measured)
}

// oneAtATime reports whether the server takes one request at a time: a
// bucket of one, learned from a burst of one and no counter saying more.
func (a *adaptive) oneAtATime() bool {
	return a.signs > 0 && a.win == nil && a.bare == nil && a.burstSize() == 1
}

// burstSize is the server's burst: as its quota headers state it, else as
// counted before its first sign.
func (a *adaptive) burstSize() int {
	if a.limitSaid > 0 {
		// The stated limit is a claim: it may be the bucket, or a rate,
		// or a window's quota. The counter never exceeds the bucket.
		if a.counterMax > 0 {
			return min(a.limitSaid, a.counterMax)
		}
		return a.limitSaid
	}
	return a.burstSeen
}

// slideCheckMax is the longest slideCheck runs.
const slideCheckMax = time.Second

// slideCheckLow is how many answers in a row show the counter at the
// reserve before slideCheck runs: settled there, not passing through.
const slideCheckLow = 5

const (
	chkNone = iota
	chkRunning
	chkDone
)

// slideCheck tells a sliding counter from a bucket once a counter taken
// for a bucket's settled at the reserve without a refusal. It holds the
// pace at half the measured rate for 2.5 times the time the counter's
// used part takes at that rate: a bucket regains what the half left, and
// its counter climbs to full (it is done once it climbed past 3/4 of what
// was used); a sliding window counts our sends of the last window, and
// its counter climbs by half what it showed used, then stays. Not run
// where that takes over slideCheckMax (a large quota's time lost).
// A sliding counter aligned to its own clock whose first burst fell late
// in its period gives part of it back across the idle spell, which reads
// as a bucket's refill (go-chi/httprate at 15 per 150ms, steered to 87/s).
// It reports whether it holds the pace.
func (a *adaptive) slideCheck(sent time.Time, remaining int) bool {
	if a.sliding || a.limitSaid <= 0 || a.chk == chkDone || a.measured <= 0 || a.conc != nil || a.bare != nil || a.ra != nil {
		return false
	}
	burst := a.burstSize()
	a.trackN++
	switch a.chk {
	case chkNone:
		used := burst - 1 - remaining
		reserve := int(math.Ceil(math.Max(1, adaptiveReserve*float64(burst))))
		if remaining > reserve+1 {
			a.chkLow = 0
			return false
		}
		if a.chkLow++; a.trackRefused || a.trackN < slideMinAnswers || a.chkLow < slideCheckLow || used < 4 {
			return false
		}
		d := time.Duration(2.5 * float64(used) / a.measured * float64(time.Second))
		if d > slideCheckMax {
			// Too long at half the pace: a large bucket would lose more
			// than a sliding window gains.
			a.chk = chkDone
			return false
		}
		a.chk, a.chkFrom, a.chkLeft, a.chkUsed, a.chkUntil = chkRunning, sent, remaining, used, sent.Add(d)
		a.pace = math.Max(a.measured/2, adaptiveFloor)
		a.repace = true
		return true
	case chkRunning:
		if !sent.After(a.chkFrom) {
			return true
		}
		if remaining >= burst-1 || float64(remaining-a.chkLeft) > 0.75*float64(a.chkUsed) {
			// Climbing on as a bucket's does.
			a.chk = chkDone
			a.obs = a.obs[len(a.obs)-1:]
			return false
		}
		if sent.Before(a.chkUntil) {
			return true
		}
		// Stopped short: the sends of a window ago aged out. A sliding
		// window from here, paced at its quota per the window our own
		// sends show (spanRate), not at the bucket steering's rate.
		a.chk, a.sliding, a.pace = chkDone, true, a.measured
		a.slideCalm = sent
		if _, mid, ok := a.slideSpanOf(sent, burst-1-remaining); ok && mid > 0 {
			a.measured = (float64(burst) - bareSpare) / mid.Seconds()
			a.pace = adaptiveMargin * a.measured
		}
		a.repace = true
		a.obs = a.obs[len(a.obs)-1:]
		return false
	}
	return false
}

// roundedWait is the pause for a refusal at now that stated wait, with
// the pool paused until pauseUntil or not (paused), and whether it cut
// the wait (the caller then sets roundFrom to when the pool resumes). A
// wait of one whole second may be rounded up from any time under it:
// rolling-rate-limiter at 15 per 150ms states "Retry-After: 1" for the
// 100ms until its oldest place ages out. (A wait of N seconds rounded up
// is more than N-1: only one second can hide a wait this short.) Where
// the counter shows a sliding window whose quota, at the rate it
// measured, comes back in under half a second, the pool resumes after
// that time and a quarter more instead, until the second ends
// (roundUntil). A refusal read while the pool is paused within that
// second is of a request sent before the pause (none leaves during one):
// old news, which does not lengthen the pause unless it states more than
// a second (another layer's). Any other refusal within the second, and a
// later one of a request sent after the pool resumed and before the
// second ended, proves the second true: the rest of it is waited out and
// no wait is cut again. (An old refusal answered after the pool resumed
// is read so too: its request is not surely known, and the second it
// costs is what waiting it whole costs.) What a true second costs is the
// requests the pool let go before the proof came back, up to the pool,
// once a run.
func (a *adaptive) roundedWait(now time.Time, wait time.Duration, paused bool, pauseUntil time.Time) (time.Duration, bool) {
	if !a.roundUntil.IsZero() {
		rs := a.refusedSent
		switch {
		case paused && now.Before(a.roundUntil):
			if wait <= time.Second {
				return max(pauseUntil.Sub(now), 0), false
			}
			return wait, false
		case now.Before(a.roundUntil) || !rs.IsZero() && !rs.Before(a.roundFrom) && rs.Before(a.roundUntil):
			d := a.roundUntil.Sub(now)
			a.roundFrom, a.roundUntil, a.roundOff = time.Time{}, time.Time{}, true
			return max(wait, d), false
		}
	}
	if paused || a.roundOff || wait != time.Second || a.limitSaid <= 0 || !a.sliding || a.measured <= 0 ||
		a.win != nil || a.ra != nil || a.conc != nil || a.bare != nil {
		return wait, false
	}
	back := time.Duration(roundedSpare * float64(a.burstSize()) / a.measured * float64(time.Second))
	if back >= wait/2 {
		return wait, false
	}
	a.roundFrom, a.roundUntil = now.Add(back), now.Add(wait)
	return back, true
}

// roundedSpare is how much longer than its quota takes at the measured
// rate the pool waits before it resumes early from a whole-second wait
// (roundedWait).
const roundedSpare = 1.25
