package ratelimit

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults for the pause a throttle answer without any wait hint gets: full
// jitter exponential backoff, shared by every worker.
const (
	DefaultHintlessBase = 50 * time.Millisecond
	DefaultHintlessMax  = 30 * time.Second
)

// Config configures a Limiter. The zero Config is an unpaced limiter that
// still honours throttle pauses.
type Config struct {
	// Rate is the pace of the whole process; when Adaptive, the ceiling the
	// learned rate never exceeds. The zero Rate means none.
	Rate Rate
	// Burst is how many requests may leave at once after an idle spell.
	// 0 means 1 for a fixed rate (strict pacing) and is learned when Adaptive.
	// A fixed rate with Burst 1 holds every two requests pacerStrictGap of
	// an interval apart from the first (a bucket of one); with 0, half an
	// interval until the server refuses one (pacer.tight).
	Burst int
	// Adaptive learns the server's sustained rate from its throttle answers.
	Adaptive bool
	// FixedWindow sends Rate as a fixed window's quota (--window fixed):
	// Rate.Count requests at once when a window opens, none more until
	// Rate.Per has passed, as a server counting in fixed windows allows.
	// Burst is then unused. Ignored when Adaptive or without a Rate.
	FixedWindow bool
	// SlidingWindow sends Rate as a sliding window's log (--window
	// sliding): Rate.Count requests at once, each place free again
	// Rate.Per after the answer to the request that took it (logPacer).
	// Burst is then unused. Ignored when Adaptive, with FixedWindow or
	// without a Rate.
	SlidingWindow bool
	// InFlight is how many requests the pool may have in flight (its
	// concurrency): before the adaptive rate knows anything, that many may
	// still take the server's last tokens. 0 means 1.
	InFlight int
	// InFlightPinned says the user gave InFlight (--concurrency N): a
	// quota counter that our requests in flight explain on every answer
	// counts a concurrency limit's slots and is not read as a quota.
	InFlightPinned bool
	// OpeningAlone has the adaptive rate send the run's first request
	// alone and read its answer before the pool follows, and with
	// InFlightPinned a second one where the first one's counter could
	// count slots or a quota under the pool (Limiter.openingAlone);
	// bulksend sets it.
	OpeningAlone bool
	// Clock and Rand are injected by tests; nil means the real ones.
	Clock Clock
	Rand  func() float64
	// HintlessBase and HintlessMax bound the backoff after a throttle answer
	// with no wait hint. 0 means the defaults.
	HintlessBase, HintlessMax time.Duration
}

// Stats is what a Limiter has seen and learned.
type Stats struct {
	Throttles    int           // throttle answers reported
	Pauses       int           // distinct pauses of the whole pool they caused
	Paused       time.Duration // total time the pool was paused
	LearnedBurst int           // requests the server took in its first burst (0 if never throttled)
	LearnedRate  float64       // sustained requests/second it settled on (0 if never throttled)
	// LearnedModel is how the server counts, as learned: ModelBucket,
	// ModelSlidingWindow, ModelFixedWindow or ModelConcurrency ("" before
	// anything was learned). For a fixed window, LearnedBurst is its
	// quota and LearnedWindow its length; for a concurrency limit,
	// LearnedInFlight is how many requests it takes at once.
	LearnedModel    string
	LearnedWindow   time.Duration
	LearnedInFlight int
	Rate            float64 // the pace now, requests/second (+Inf for none)

	// seenBurst bounds a bucket's pinned burst by what the server was
	// seen to accept (pinSeen); 0: no bound. seenRate bounds a bucket's
	// pinned rate by the refill its counter showed (pinRate); 0: no
	// bound.
	seenBurst int
	seenRate  float64
	// unproven: the fixed window learned formed late and is pinned as an
	// even pace (windowModel.unproven).
	unproven bool
}

// The Stats.LearnedModel values.
const (
	ModelBucket        = "bucket"         // a token or leaky bucket: a burst, then a steady refill
	ModelSlidingWindow = "sliding window" // a quota over the last window: nothing back for a window after a burst
	ModelFixedWindow   = "fixed window"   // a quota per window, all of it usable at the window's start
	ModelConcurrency   = "concurrency"    // at most N requests in flight, at any rate
)

// pinnedMargin keeps a pinned rate this far under the learned one: the
// adaptive rate steered by the server's answers, a pinned one cannot.
const pinnedMargin = 0.97

// pinnedSpare is how many requests under a bucket's size a pinned burst
// is. A pinned run's token bucket starts full when its first request
// leaves, the server's refills from when that request arrives, the
// slowest of the run (a new connection): with the whole size, the
// request a refill after the burst may arrive early by the server's
// clock. nginx at 100r/s burst=15 (16 at once) refused 1-3 requests in
// half the runs pinned at 97/s --burst 16, none at --burst 15.
const pinnedSpare = 1

// fixedWindowMargin is how much longer than the server's window a pinned
// fixed window waits until an answer anchors it: a window that starts when
// the server has our first request may start a little after we sent it.
func fixedWindowMargin(per time.Duration) time.Duration {
	return max(2*time.Millisecond, per/50)
}

// Limiter paces every request of a process and holds one pause gate: a
// throttle answer seen by any worker pauses all of them until the server's
// reset, and sending resumes at the paced rate, not as a burst.
type Limiter struct {
	clock Clock
	rnd   func() float64
	base  time.Duration
	max   time.Duration

	mu         sync.Mutex
	lim        *pacer
	ceiling    rate.Limit
	pauseUntil time.Time
	// changed is closed and replaced whenever a pause starts or grows, so
	// every waiter re-reads the gate at once.
	changed  chan struct{}
	drain    bool
	hintless int
	// dry counts the pauses that refusals began, halved by each
	// acceptance (dryFloor).
	dry int
	// zeroSaid counts the refusals in a row, nothing taken between, that
	// stated a wait of 0 to a pinned rate (throttle).
	zeroSaid int
	stats    Stats
	adapt    *adaptive
	fixed    *windowPacer // --window fixed
	// rtts is the shortest round trip so far, which times a fixed
	// window's start before its first answer (lead).
	rtts roundTrips
	// log paces by place: --window sliding, or the adaptive rate's once
	// it told a sliding window for a log (tryLog).
	log *logPacer
	// finishing: the requests now waiting are the run's last (Finishing).
	finishing bool
	// rowsLeft is what the sender last said of the rows it has yet to
	// finish (RowsLeft); -1 never told.
	rowsLeft int
	// adaptBurst is Config.Burst, for the adaptive rate to start afresh.
	adaptBurst int
	// fl counts the requests in flight (concurrency.go); pauseHintless
	// says the pause in force is a backoff of our own guessing.
	fl            flights
	pauseHintless bool
	// heldMax is the most a counter held from the counter models as a
	// concurrency limit's free slots showed, plus its request (see
	// flights.countsSlots); 0 none.
	heldMax int
	// burstLeft is the least a counter held as free slots, its limit
	// under the pool's size, said remained while the pool's first burst
	// was out or in the lone answers before it (openingAlone), -1 before
	// one was read; burstFrom is when the burst's first answer was read
	// (after lone answers: when its first request ended, done); burstOver
	// is set once that burst is over (burstHeld).
	burstLeft int
	burstFrom time.Time
	burstOver bool
	// alone: the run's first request goes alone (openingAlone); opened
	// is set once its answer was read, it failed, or aloneMax passed;
	// firstSent is when it left (zero before); again is set once a
	// second went alone (aloneAgain).
	alone, opened, again bool
	firstSent            time.Time
	// reservedAt is the slowest pace the places the waiters hold may
	// have been taken at: the pace when they were last woken to reserve
	// again (wakeRequeued), or a slower one set since; 0 none yet.
	reservedAt rate.Limit
	// seen is the latest time the Limiter let a request go or read an
	// answer at: an answer is read at the time it came (Success and Done
	// read the clock before they wait for the lock), but never before
	// one read earlier.
	seen time.Time
	// fitting is set while a bare fit runs off the lock (runFit): no
	// request leaves, and the answers that come meanwhile wait in
	// deferred, in order, to be read once it landed; fitDone is closed
	// then.
	fitting  bool
	fitDone  chan struct{}
	deferred []func()
	// fitHook, when set (by tests), runs before each fit off the lock.
	fitHook func()
}

// New returns a Limiter for cfg.
func New(cfg Config) *Limiter {
	l := &Limiter{
		clock:     cfg.Clock,
		rnd:       cfg.Rand,
		base:      cfg.HintlessBase,
		max:       cfg.HintlessMax,
		changed:   make(chan struct{}),
		ceiling:   cfg.Rate.Limit(),
		fl:        flights{pinned: cfg.InFlightPinned, pool: cfg.InFlight},
		alone:     cfg.OpeningAlone && cfg.Adaptive,
		rtts:      roundTrips{pool: cfg.InFlight},
		rowsLeft:  -1,
		burstLeft: -1,
	}
	if l.clock == nil {
		l.clock = SystemClock{}
	}
	if l.rnd == nil {
		l.rnd = rand.Float64
	}
	if l.base <= 0 {
		l.base = DefaultHintlessBase
	}
	if l.max <= 0 {
		l.max = DefaultHintlessMax
	}
	burst := cfg.Burst
	if burst <= 0 {
		burst = 1
	}
	if cfg.Adaptive {
		// Paced adaptively the bucket holds one request: by the time there
		// is a pace, the server's own burst is spent, and sending it again
		// would only be refused.
		l.adapt = newAdaptive(l.ceiling, cfg.Burst, cfg.InFlight)
		l.adapt.rtts = &l.rtts
		// On the real clock the bare fit (0.1s or more on a busy
		// machine) runs off the lock, so the answers meanwhile are
		// read at the time they came; under a test's clock it runs at
		// once, which keeps the simulation deterministic.
		_, l.adapt.fitOff = l.clock.(SystemClock)
		l.adaptBurst = cfg.Burst
		l.lim = newPacer(l.adapt.limit(), 1)
		return l
	}
	if cfg.FixedWindow && !cfg.Rate.IsZero() {
		l.fixed = &windowPacer{allowance: max(int(cfg.Rate.Count), 1), length: cfg.Rate.Per, margin: fixedWindowMargin(cfg.Rate.Per), hold: cfg.Rate.Per / 10}
		l.lim = newPacer(rate.Inf, 1)
		return l
	}
	if cfg.SlidingWindow && !cfg.Rate.IsZero() {
		l.log = newLogPacer(int(cfg.Rate.Count), cfg.Rate.Per)
		l.lim = newPacer(rate.Inf, 1)
		return l
	}
	if burst == 1 {
		// Strict pacing: no two requests closer than an interval, which
		// a server that takes one at a time asks. --burst 1 says the
		// server is one (a bucket of one, the flags pinned for it): the
		// schedule is tight from the first request, for a late timer
		// costs a refusal there. A --rate alone (a sliding window's
		// pinned flags) lets a request go half an interval after a late
		// one until a refusal shows a bucket of one (pacer.tight).
		l.lim = newStrictPacer(l.ceiling, cfg.Burst == 1)
		l.lim.cold = true
		return l
	}
	l.lim = newPacer(l.ceiling, burst)
	if burst > 1 && l.ceiling != rate.Inf {
		// Start one token short. The server's bucket starts counting when
		// the first request arrives, a dial later than ours: without the
		// margin the request after the first burst lands just before the
		// server's next token and is refused, which with a whole-second
		// Retry-After costs a second.
		l.lim.AllowN(l.clock.Now(), 1)
	}
	return l
}

// Wait blocks until one request may leave: the pool is not paused and the
// pace allows it. It returns ctx's error if ctx ends first.
func (l *Limiter) Wait(ctx context.Context) error {
	for {
		l.mu.Lock()
		now := l.clock.Now()
		d, r, changed := l.admit(now)
		if d <= 0 {
			l.begin(now)
		}
		fine := r != nil && r.fine()
		l.mu.Unlock()
		if d <= 0 {
			return nil
		}
		for {
			sleep := Sleep
			if fine {
				// A late wake-up is paid on every request after it
				// (sleepFine).
				sleep = sleepFine
			}
			interrupted, err := sleep(ctx, l.clock, d, changed)
			if r == nil {
				// A pause: look again when it ends or changes.
				if err != nil {
					return err
				}
				break
			}
			l.mu.Lock()
			now = l.clock.Now()
			ok, again := l.settle(now, r, interrupted || err != nil)
			if ok {
				l.begin(now)
			}
			changed, fine = l.changed, r.fine()
			l.mu.Unlock()
			if err != nil {
				return err
			}
			if ok {
				return nil
			}
			if again <= 0 {
				break
			}
			// Still in its place, a little later.
			d = again
		}
	}
}

// admit is one step of Wait at now, with l.mu held: it returns 0 when a
// request may leave now (the caller then counts it in flight: fl.begin); else how long to sleep, with the pace's
// reservation to settle after the sleep (nil for a pause, which holds
// none), and the channel that is closed when the gate changes meanwhile.
func (l *Limiter) admit(now time.Time) (time.Duration, *slot, chan struct{}) {
	if l.fitting {
		// The fit lands with the pace or pause it decides: look again
		// then (runFit wakes the waiters).
		return capWait, nil, l.changed
	}
	if c := l.trial(); c != nil {
		// The concurrency model's trial counts only what goes before a
		// window or bucket could refill: not after the pause.
		if c.holds(len(l.fl.open)) {
			return capWait, nil, l.changed
		}
		return 0, nil, l.changed
	}
	if now.Before(l.pauseUntil) {
		return l.pauseUntil.Sub(now), nil, l.changed
	}
	if l.capFull() {
		// As many in flight as the server takes: wait for one to end
		// (Done wakes the waiters).
		return capWait, nil, l.changed
	}
	if d := l.openingAlone(now); d > 0 {
		// The run's first request goes alone: its answer is read
		// before the pool follows (Success and Throttle wake it).
		return d, nil, l.changed
	}
	if l.burstHeld() {
		// The first burst's counter said no more is left than is still
		// in flight: wait for their answers (Done wakes the waiters).
		return capWait, nil, l.changed
	}
	if l.drain {
		// The pause is over: start from an empty bucket so what queued
		// up during it goes out at the paced rate, not all at once.
		l.drain = false
		if n := int(math.Floor(l.lim.TokensAt(now))); n > 0 && l.lim.Limit() != rate.Inf {
			l.lim.AllowN(now, n)
		}
	}
	if l.log == nil && l.adapt != nil {
		if p := l.adapt.bareLogPacer(now, l.fl.open); p != nil {
			l.log = p
		}
	}
	if l.log != nil {
		// --window sliding, or a log the adaptive rate told (tryLog):
		// its places pace the pool, whatever the other models make of
		// the answers meanwhile (paced so, a log gives its quota back
		// whole, as a fixed window does).
		if d := l.log.reserve(now); d > 0 {
			return d, nil, l.changed
		}
		return 0, nil, l.changed
	}
	if l.adapt != nil && l.adapt.ra != nil && !l.adapt.capping() {
		if d := l.adapt.ra.reserve(now); d > 0 {
			return d, nil, l.changed
		}
	}
	var let windowAdmit
	if w := l.window(); w != nil {
		// A window aligned on the clock is not the pacer's to time: its
		// probes bracket a boundary the pacer's window may straddle.
		w.last = l.finishing && (l.adapt == nil || l.adapt.win == nil || !l.adapt.win.aligned)
		l.countUnsent(w)
		wasTried := w.tried.Equal(now)
		if d := w.reserve(now); d > 0 {
			return d, nil, l.changed
		}
		// Let go, though not in flight until it leaves: counted among
		// the rows left to send until the next admission recounts, it
		// made every answer read meanwhile plan the window's probes for
		// one row too many (TestWindowUnsentDropsLetGo).
		w.unsent = max(w.unsent-1, 0)
		if l.adapt != nil && l.adapt.win != nil {
			l.adapt.win.sent(now)
		}
		let = windowAdmit{p: w, gen: w.gen, at: now, tried: w.tried.Equal(now) && !wasTried}
	}
	r := l.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		// A token pace under the window (a ceiling) holds it: should
		// the wait give its place back, it asks the window again.
		r.win = let
		return d, r, l.changed
	}
	return 0, nil, l.changed
}

// unadmit takes back from the window pacer a request it let go that
// the token pace then held and gave its place back (settle): it asks
// the window again.
func (l *Limiter) unadmit(a windowAdmit) {
	a.p.unadmit(a)
	if m := l.adapt; m != nil && m.win != nil && &m.win.pacer == a.p {
		m.win.unsend(a.at)
	}
}

// Finishing tells the Limiter that the requests waiting now are the run's
// last: none will follow them but retries. A fixed window's pacer holds a
// few of each window's quota back to time the window's end, which a later
// window's start is planned by; with no later window to plan, it lets
// them go with the rest at once rather than a window's length later.
func (l *Limiter) Finishing() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.finishing {
		return
	}
	l.finishing = true
	if w := l.window(); w != nil && len(w.probes) > 0 {
		// Waiters held for a probe's time look again.
		l.wakeWaiters()
	}
}

// RowsLeft tells the Limiter how many rows the run has yet to finish:
// waiting for a worker, or with one (waiting here, on the wire, or
// answered but not yet taken back). Less the requests in flight, that is
// what is left to send; a fixed window's pacer that knows it sends each
// window's whole quota at its start, holding none back to time the
// window's end, while those rows fill the windows they need with no room
// for a held request to land past a window's end (windowPacer.tight).
func (l *Limiter) RowsLeft(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n == l.rowsLeft {
		return
	}
	w := l.window()
	was := w != nil && w.tight()
	l.rowsLeft = n
	if w == nil {
		return
	}
	if l.countUnsent(w); w.tight() && !was {
		// Waiters held for a probe's time look again.
		l.wakeWaiters()
	}
}

// countUnsent gives w what is left to send, as far as RowsLeft told.
func (l *Limiter) countUnsent(w *windowPacer) {
	// A window aligned on the clock is not the pacer's to time (admit).
	w.counted = l.rowsLeft >= 0 && (l.adapt == nil || l.adapt.win == nil || !l.adapt.win.aligned)
	w.unsent = max(l.rowsLeft-len(l.fl.open), 0)
	w.skew = 1
	if l.adapt != nil {
		w.skew = l.adapt.inFlight
	}
}

// window is the fixed-window pacer in force, if any: the one --window
// fixed pins, or the adaptive rate's once it learned a fixed window.
func (l *Limiter) window() *windowPacer {
	if l.adapt != nil && l.adapt.conc != nil {
		return nil
	}
	if l.adapt != nil && l.adapt.win != nil {
		return &l.adapt.win.pacer
	}
	return l.fixed
}

// settle ends the sleep on reservation r at now, with l.mu held: it reports
// whether the request may leave, else how much longer it waits in its
// place (on the strict schedule, when the request before it left late),
// or 0 when it gave the reservation back (the sleep was interrupted, a
// pause began meanwhile, or the cap on requests in flight is full) so
// Wait asks again.
func (l *Limiter) settle(now time.Time, r *slot, interrupted bool) (bool, time.Duration) {
	if interrupted || r.back || now.Before(l.pauseUntil) || l.capFull() || l.fitting || l.log != nil {
		// (A log's places pace the pool now, tried since this slot
		// was taken: its pacer lets the request go, or not. A slot
		// given back by a wake whose waiter's timer fired first, or
		// woke it no sooner than the timer, holds no token: it asks
		// again.)
		r.CancelAt(now)
		if r.win.p != nil {
			l.unadmit(r.win)
			r.win = windowAdmit{}
		}
		return false, 0
	}
	if d := r.early(now); d > 0 {
		return false, d
	}
	r.TakeAt(now)
	return true, 0
}

// Throttle reports a throttle answer received at now. hinted says whether the
// server gave a wait (then wait is it); without one the pause is a shared
// full-jitter backoff. It pauses the whole pool until the later of the
// current pause and the new one, and returns the pause this answer asked for.
// Answers from requests that were already in flight when a pause began extend
// it but do not count as a new pause. Where a bare fit runs off the lock
// (runFit), the pause is set when it lands: Throttle then returns 0 for
// the refusal that asked for the fit, and wait for an answer that came
// while it ran (read once it lands); until then Paused says nothing of
// it, though no request leaves.
func (l *Limiter) Throttle(now time.Time, wait time.Duration, hinted bool) time.Duration {
	return l.throttleRead(nil, now, wait, hinted)
}

// ThrottleFor is Throttle for the refused request the caller sent at
// sent, the time it gave Done: the rate models read that request's send
// time, where Throttle reads the latest refused request's. Two workers'
// Dones may come before either's Throttle, and Throttle would read the
// second's send time for the first and none for the second. A sent that
// Done did not end as refused (a lookup's outage, say) is no request of
// ours the models may read as refused.
func (l *Limiter) ThrottleFor(sent, now time.Time, wait time.Duration, hinted bool) time.Duration {
	return l.throttleRead(func(a *adaptive) { a.refusedSent = a.takeUnread(sent) }, now, wait, hinted)
}

// throttleRead is Throttle, where read (when set) first tells the adaptive
// rate which refused request it reads. While a bare fit runs off the
// lock both are read once it landed, as if it took no time.
func (l *Limiter) throttleRead(read func(*adaptive), now time.Time, wait time.Duration, hinted bool) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	do := func() time.Duration {
		if a := l.adapt; a != nil && read != nil {
			read(a)
		}
		return l.throttle(now, wait, hinted)
	}
	if l.fitting {
		l.deferred = append(l.deferred, func() { do() })
		return wait
	}
	return do()
}

func (l *Limiter) throttle(now time.Time, wait time.Duration, hinted bool) time.Duration {
	l.firstRead()
	l.seen = latest(l.seen, now)
	l.stats.Throttles++
	if l.lim.strict() {
		// Refused while paced one at a time: keep departures a whole
		// interval apart from here on (pacer.tight).
		l.lim.tight = true
	}
	paused := now.Before(l.pauseUntil)
	if a := l.adapt; a != nil && l.log != nil && l.log.trialRefused(a.refusedSent) {
		// A log's trial, sent alone between the window's bounds, found
		// the window longer: the places pace on by the bound above
		// (logPacer), and the refusal is no sign against the log.
		a.refusedSent = time.Time{}
		return 0
	}
	if a := l.adapt; a != nil && a.win != nil && a.win.triedRefused(a.refusedSent) {
		// The next fixed window's first request, tried before the
		// window's length surely ran out, found it still open: the
		// pacer holds the pool to the length's upper bound, sooner than
		// a whole-second wait the server may state, and the refusal is
		// no sign against the window model.
		a.refusedSent = time.Time{}
		return 0
	}
	if l.adapt != nil && l.adapt.ra != nil && !l.adapt.ra.bare && !hinted {
		// The Retry-After window model is on: the server stated a wait
		// before, so a refusal without a usable hint is read as a wait
		// of 0, the window ending within it. That is what a hint at an
		// instant already past means (sethvargo/go-limiter names its
		// window's end to the second, truncated); a bare 429 from
		// another layer is read so too, and costs at most this one
		// refusal's pause, the model being handed back after it (not
		// where a bare server was handed to it as a fixed window:
		// bareFixedRefused reads those). Unread, a refused opener was
		// awaited for good (go-limiter at 5 per 1s with 8 workers: 10
		// of 40 rows in 180s).
		hinted, wait = true, 0
	}
	if a := l.adapt; a != nil {
		// The sign this refusal makes is about the refused request: at
		// its send time, when Done said it (and it is no older than the
		// pause would be), else at its answer.
		a.refusal = now
		if rs := a.refusedSent; !rs.IsZero() && !rs.After(now) && now.Sub(rs) < time.Second {
			a.refusal = rs
		} else {
			// Unknown or stale: no request of ours is said refused.
			a.refusedSent = time.Time{}
		}
		if !a.refusedSent.IsZero() {
			a.noteRefused(a.refusedSent, now)
		}
		a.open, a.refusalHinted = l.fl.open, hinted
		defer func() { a.refusal, a.refusedSent, a.open, a.refusalHinted = time.Time{}, time.Time{}, nil, false }()
		if hinted {
			a.waitSaid = max(a.waitSaid, wait)
			if wait > 0 {
				a.waitLeast = least(a.waitLeast, wait)
			}
			if until := now.Add(wait); wait > 0 && until.After(l.fl.said) {
				l.fl.said = until
			}
		}
	}
	if l.adapt != nil && l.adapt.conc != nil && l.adapt.conc.proven {
		// A concurrency limit: Done lowers the cap if need be. A bare
		// refusal pauses nothing; a wait the server states is honoured.
		// (On trial, the rate models still time the pause.)
		if !hinted {
			return 0
		}
		l.extendPause(now, wait, paused, true)
		return wait
	}
	if l.adapt != nil && !hinted {
		// The refused request's send time, where Done said it: a
		// refusal answered at once bounds how late the server decides.
		l.adapt.noteBare(l.adapt.refusedSent, now, false)
	}
	if l.adapt == nil {
		// A pinned rate (the adaptive rate has zeroWait). A wait of 0
		// said again, nothing taken since the first, was proved wrong:
		// the server truncates its wait to whole seconds (Envoy's
		// x-ratelimit-reset says 0 all through the last second before
		// each fill). From the second such refusal on it is no hint and
		// the backoff grows, where a pause of 0 reopened a pinned fixed
		// window and resent its quota every round trip until the fill
		// (3 per 5s pinned a little fast: 353 429s for 24 rows).
		switch {
		case hinted && wait <= 0:
			l.zeroSaid++
			hinted = l.zeroSaid < 2
		case hinted:
			l.zeroSaid = 0
		}
	}
	if !paused {
		l.dry++
	}
	if !hinted {
		if paused {
			if l.adapt != nil && l.adapt.bare != nil {
				l.adapt.bare.refused++
			}
			return l.pauseUntil.Sub(now)
		}
		wait = Backoff(l.hintless, l.base, l.max, l.rnd)
		l.hintless++
		if a := l.adapt; a != nil && a.oneAtATime() && l.lim.strict() {
			// A bucket of one is empty after each request it took and
			// takes the next an interval later: a refusal (a request
			// that came too soon, often by the jitter of its way there)
			// needs no more pause than that. A backoff of up to 100ms
			// cost the pool ten requests' time per refusal.
			wait = min(wait, l.lim.interval())
		}
	}
	if l.adapt != nil && !paused {
		l.adapt.noteRefusal(now, l.stats.Throttles)
	}
	bare := false
	if l.adapt != nil && hinted {
		// A wait from a server that shows no counter: the Retry-After
		// window model (retryafter.go) times the pause, never longer
		// than the wait.
		if l.adapt.ra != nil {
			wait, bare = l.adapt.raThrottled(now, wait), true
		} else if !paused {
			if d, ok := l.adapt.startRetryAfter(now, wait); ok {
				wait, bare = d, true
			}
		}
	}
	if l.adapt != nil && !hinted && !paused {
		// A server that says nothing but 429: the bare-window model
		// (bare.go) times the pause, not a backoff guess.
		if l.adapt.bare != nil {
			wait, bare = l.adapt.bareRefused(now, wait), true
		} else if l.adapt.ra != nil && l.adapt.ra.bare {
			wait, bare = l.adapt.bareFixedRefused(now, wait), true
		} else if d, ok := l.adapt.startBare(now, wait); ok {
			wait, bare = d, true
		}
	}
	if j := l.adapt.takeFitJob(); j != nil {
		// The bare fit times the pause: it runs off the lock, and
		// the pause begins when it lands (fitLanded).
		l.stats.Pauses++
		l.runFit(j, now)
		return 0
	}
	cut := false
	if hinted && !bare && l.adapt != nil {
		// A second's wait that may be rounded up: the models are told
		// the pause the pool keeps.
		wait, cut = l.adapt.roundedWait(now, wait, paused, l.pauseUntil)
	}
	if !paused {
		l.stats.Pauses++
		if l.fixed != nil {
			// The server's window is full: a new one opens when the
			// pause ends.
			l.fixed.open = time.Time{}
		}
		if l.log != nil && l.adapt != nil {
			// Refused while paced by the log's places: not a log of
			// ours alone. The sliding window's pace takes over.
			l.log, l.adapt.logOff = nil, true
		}
		if l.adapt != nil {
			if !bare {
				var closest time.Duration
				if l.lim.strict() {
					closest = l.lim.closest()
				}
				l.adapt.presume()
				l.adapt.throttled(now, wait, closest)
				if l.adapt.win != nil {
					wait = l.adapt.win.alignedWait(now, wait)
					wait = max(wait, l.adapt.win.refusedFloor(now, hinted))
				}
			}
			l.applyAdaptive(now)
			if l.adapt.oneRepaced {
				bare, l.adapt.oneRepaced = true, false
			}
			if bare {
				// Reservations made at the old pace would hold the
				// probe back: start the pace afresh.
				l.lim = l.adaptivePacer(now, true)
			}
		}
	}
	if !paused {
		wait = max(wait, l.dryFloor())
	} else if l.adapt != nil && l.adapt.win != nil {
		wait = l.adapt.win.alignedCap(now, wait)
	}
	l.extendPause(now, wait, paused, hinted)
	if cut {
		// When the pool resumes from the cut second.
		l.adapt.roundFrom = l.pauseUntil
	}
	if l.adapt != nil && !paused {
		l.adapt.shareResumed = latest(l.adapt.shareResumed, l.pauseUntil)
	}
	return wait
}

// dryFree is how many pauses begun by refusals, nothing accepted since,
// the models time as they please (dryFloor).
const dryFree = 12

// dryMax is the longest dryFloor grows to, unless HintlessMax is longer.
const dryMax = 2 * time.Hour

// dryFloor is the least a new pause may last: past dryFree pauses begun
// by refusals (each acceptance halves their count), HintlessBase
// doubled with each one, up to the longer of HintlessMax and dryMax. A
// new pause lasts at least that, whatever the model or the server asked:
// a server that refuses everything for long is not asked again and
// again, and a lockout that every refused request prolongs ends once the
// pool keeps quiet long enough; the sender parks the run once the pause
// is longer than its --max-wait. Against such a lockout (a log or a
// counter that counts refusals, one per second) the pool knocked every
// 0.2s and never got in: 888198 429s in 50 hours for the second of 12
// rows; against a bare window of one per five minutes it spent 124 429s
// per row.
func (l *Limiter) dryFloor() time.Duration {
	if l.dry <= dryFree {
		return 0
	}
	ceiling := max(l.max, dryMax)
	d := l.base
	for i := dryFree + 1; i < l.dry && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

// extendPause pauses the pool until now+wait unless a pause in force
// (paused) lasts longer, with l.mu held; hinted says the server stated
// the wait.
func (l *Limiter) extendPause(now time.Time, wait time.Duration, paused, hinted bool) {
	until := now.Add(wait)
	if !until.After(l.pauseUntil) {
		return
	}
	if paused {
		l.stats.Paused += until.Sub(l.pauseUntil)
	} else {
		l.stats.Paused += wait
	}
	l.pauseUntil = until
	l.pauseHintless = !hinted
	l.drain = true
	if wait <= 0 {
		// A refusal that asked for no pause (a Retry-After of 0, as
		// go-chi/httprate states for a window under a second): its
		// only pause is the waiters queueing again behind their own
		// reservations, about the pool's size in intervals (a debt a
		// later giveBack keeps). Given back whole, the pool went on at
		// the pace that was just refused, into a log that counts its
		// refusals (1 -> 5 429s at 15 per 150ms,
		// TestToldLogNarrowedByTrials).
		l.wakeRequeued()
		return
	}
	// After a pause the waiters reserve again as they were, not behind
	// each other (pacer.giveBack): a pool of 16 owed 32 intervals after
	// every refusal (TestGiveBackWidePool).
	l.wakeWaiters()
}

// Success reports an answer that was not a throttle, to a request sent at
// sent: the adaptive rate counts a request in the stretch of time it left
// in, not the one its answer arrived in. q, when ok, carries the quota
// headers of the answer: when the adaptive rate is on, an answer saying
// nothing remains is a sign of the limit that slows the pace before the
// server has to say 429. A fixed --rate is the user's word and is kept.
func (l *Limiter) Success(sent time.Time, q Quota, ok bool) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fitting {
		// Read once the fit landed, at the time it came.
		l.deferred = append(l.deferred, func() { l.success(sent, now, q, ok) })
		return
	}
	l.success(sent, now, q, ok)
}

func (l *Limiter) success(sent, now time.Time, q Quota, ok bool) {
	lone := l.aloneOut()
	l.firstRead()
	now = l.stamp(now)
	l.zeroSaid, l.dry = 0, l.dry/2
	if l.hintless > 0 {
		l.hintless--
	}
	held, tried := false, false
	var unbounded time.Time
	if w := l.window(); w != nil {
		held, tried = w.opened, !w.tried.IsZero()
		if w.length >= windowNever {
			unbounded = w.open
		}
	}
	defer func() {
		w := l.window()
		if w == nil {
			return
		}
		if held && !w.opened || tried && w.tried.IsZero() || !unbounded.IsZero() && w.open.After(unbounded) {
			// The window's first answer came, or the next window's
			// first request, tried between the length's bounds, was
			// taken and opened it, or, while the length was unbounded
			// (no reset seen yet, or the search started over), an
			// answer showed the window began later (a reset: the model
			// restarted it): the rest of its quota waits no longer
			// (asleep until the old bound above otherwise, or until a
			// probe planned at twice the last one's offset: a fixed
			// window of 200 per 1s, 400 rows, had 7 workers asleep to
			// 2s with a row each while the 8th sent the second
			// window's quota, and the run took 2s where 1s was ideal).
			l.wakeWaiters()
		}
	}()
	if l.fixed != nil {
		l.fixed.answered(sent, now, l.rtts.lead())
	}
	if l.adapt == nil {
		return
	}
	if ok {
		slots, confirmed := l.fl.countsSlots(sent, q)
		if confirmed {
			// The counter models took the slots for a quota: start them
			// afresh, unpaced.
			off := l.adapt.fitOff
			l.adapt = newAdaptive(l.adapt.ceiling, l.adaptBurst, l.adapt.inFlight)
			l.adapt.fitOff, l.adapt.rtts = off, &l.rtts
			l.lim = newPacer(l.adapt.limit(), 1)
			l.pauseUntil, l.drain = time.Time{}, false
			l.wakeWaiters()
		}
		switch {
		case slots && !l.fl.slots:
			// Held for the pool the user gave, until a refusal, or a
			// count fallen by more than ours in flight (the second
			// request alone: aloneAgain), says whether it counts slots
			// or a quota.
			l.heldMax = max(l.heldMax, q.Remaining+1)
			if q.Limit < l.fl.pool && !l.burstOver {
				if lone {
					// Before the pool's first burst, which starts
					// when its first request ends (done).
					l.aloneAgain()
				} else if l.burstFrom.IsZero() {
					l.burstFrom = now
				}
				if l.burstLeft < 0 || q.Remaining < l.burstLeft {
					// The least it said: answers come in any order, and
					// within the burst a quota's count only falls.
					l.burstLeft = q.Remaining
				}
			}
		case !slots && q.Remaining >= 0 && l.heldMax > 0:
			// A quota's after all (a refusal came): what it showed
			// while held is the most it holds, which the answers since,
			// taken near empty, do not show. A counter of 8 seen only
			// at 0 was a bucket of one, whose equation measured the
			// first burst's spacing: 80-100/s for 8/s, and a 429 for
			// every row.
			l.adapt.counterMax = max(l.adapt.counterMax, l.heldMax)
			l.heldMax = 0
		}
		// A concurrency limit's counter: the cap is the remedy, and a
		// refusal teaches it.
		ok = ok && !slots
		if ok && l.fl.quota && q.Remaining == 0 {
			l.quotaSpent()
		}
	}
	remaining, limit, reset := -1, 0, time.Duration(0)
	var second time.Time
	if ok {
		remaining, limit, reset = q.Remaining, q.Limit, q.Reset
		if q.ResetSecond {
			second = now.Add(q.ResetFine)
		}
	}
	if w := l.adapt.win; w != nil {
		// The requests the window model may still hear from, for
		// this answer only.
		w.open = l.fl.open
		defer func() { w.open = nil }()
	}
	l.adapt.open, l.adapt.ended = l.fl.open, l.fl.log
	idle := l.adapt.succeeded(sent, now, remaining, limit, reset, second)
	l.tryLog(now)
	l.adapt.oneFit()
	l.adapt.open, l.adapt.ended = nil, nil
	if j := l.adapt.takeFitJob(); j != nil {
		// Once this answer is read: the fit runs off the lock.
		defer l.runFit(j, now)
	}
	if l.adapt.capping() {
		// A concurrency limit: the cap paces; the rate models only
		// learn, should the concurrency model be put aside.
		return
	}
	if idle > 0 {
		if until := now.Add(idle); until.After(l.pauseUntil) {
			l.pauseUntil = until
			l.wakeWaiters()
		}
	}
	if l.adapt.win != nil && ok {
		l.adapt.win.statePolicy(q.Window, q.WindowNamed)
	}
	l.repaced(now)
}

// aloneMax is the longest the pool waits for the run's first answer
// (openingAlone): a server slower than that to answer at first (a cold
// start) is met by the pool as before.
const aloneMax = time.Second

// openingAlone is how long the pool waits at now, with l.mu held, for the
// answer to the run's first request, under the adaptive rate with
// Config.OpeningAlone (bulksend sets it); 0 before it left and once its
// answer (an acceptance or a refusal) was read, it ended without one
// (Failed), or aloneMax after it left (for good, unless that answer sent
// a second alone: aloneAgain, below). Its Done comes before the answer is
// read, and the pool waits for that reading too; a lookup's answer is
// read by no Success (--resume settling unknown rows), and the pool then
// waits aloneMax (twice at most, where the second lone request is one).
// A quota of a few a window met by the
// whole pool at once refuses part of its opening burst before any answer
// could say the quota: the models then learn the server from a burst it
// mostly refused (a sliding counter taken for a bucket at half its rate),
// and the burst's refusals cost a 429 each. Read first, a counter that
// says the pool would spend it opens the idle spell that measures its
// refill with nothing refused, and a bare server's first refusal comes
// from a smaller burst. In the simulation (TestSweep, 10 seeds, the
// pool's size not given) 171 cells better, 77 worse, 429s 61577 ->
// 51698; HAProxy-style counters at 5 per 1s with httprate's headers and 8
// workers 0.62 -> 0.75, their 429s 38 -> 9. It costs the run one round
// trip, two where a second goes alone.
//
// With the pool's size given (InFlightPinned) a counter whose limit is
// under it is held as a concurrency limit's free slots until something
// tells them from a quota (flights.countsSlots): one request alone cannot
// (its count is ours in flight either way), and the pool after it went as
// before, into a quota it overran (TestSweep pinned lost so: 140 cells
// worse, 73 better, 429s +8%). So a second request goes alone after such
// an answer (aloneAgain): a quota's count falls by one with nothing else
// in flight, which proves it one, and the counter models read it from
// there; slots come back. The burst that follows is held to the least the
// lone answers said remained (burstHeld). With --concurrency 8 on the
// real limiters that state a counter, at 5 per 1s, 7-8% of the requests
// refused -> 1-2%; go-chi/httprate 0.48 -> 0.70.
func (l *Limiter) openingAlone(now time.Time) time.Duration {
	if !l.alone || l.adapt == nil || l.opened || l.firstSent.IsZero() {
		return 0
	}
	if d := aloneMax - now.Sub(l.firstSent); d > 0 {
		return d
	}
	l.opened = true
	return 0
}

// aloneAgain lets a second request go alone, with l.mu held, once the
// first one's answer showed a counter held as free slots under the
// pool's size (openingAlone): the pool waits for its answer as it did for
// the first one's. Once a run.
func (l *Limiter) aloneAgain() {
	if l.again {
		return
	}
	l.again, l.opened, l.firstSent = true, false, time.Time{}
}

// aloneOut says, with l.mu held, whether a request that went alone is
// out and the pool waits for its answer (openingAlone): an answer read
// now is that request's.
func (l *Limiter) aloneOut() bool { return l.alone && !l.opened }

// firstRead notes, with l.mu held, that an answer was read: the pool
// waiting on the first one (openingAlone) goes.
func (l *Limiter) firstRead() {
	if l.aloneOut() {
		l.opened = true
		l.wakeWaiters()
	}
}

// burstHeld says whether the pool waits for the first burst's answers,
// with l.mu held. Under --concurrency N a counter whose limit is under N
// is held from the counter models as a concurrency limit's free slots
// until a refusal tells slots from a quota (flights.countsSlots), while
// the pool went out whole at first, more than that limit. Slots or
// quota, the least remaining its answers showed is the most the server
// takes of what is still in flight and what would go now (a quota's
// requests in flight that the server had not counted yet take from it;
// slots come back only as requests end), so nothing more goes while as
// many are in flight. The least, not the latest: answers come in any
// order, and one decided early, read late, would let a request go into
// a window already spent. A window of 10 per second met by 16 at once
// took 10 and refused 6, and each of the 10 answers, read before the
// refusals, let its worker send its next row: 13-17 429s in the first
// second where 9-10 are left (the burst's 6 and the refusals' own
// probes). It holds for at most the burst's round trip: until the first
// refusal is read, the counter shows a quota or slots, or every request
// that left before the first held answer was read (after lone answers:
// before the burst's first request ended) is answered (the oldest in
// flight left after it), after which it never applies again.
// A counter the burst did not spend (a concurrency limit its requests
// reach spread out, a bucket that refills faster than they come) sends
// no refusal to end it, and the pool, admitting one request as one
// ends, is never empty: held to the least the burst showed, 2 of 8 in
// flight for a whole run, 2.5-4 times its time. Where requests went
// alone first (openingAlone), what their answers said remained holds the
// pool from the start, and the burst begins when its first request ends.
func (l *Limiter) burstHeld() bool {
	if l.burstLeft < 0 || l.burstOver {
		return false
	}
	if l.fl.quota || l.fl.slots || !l.fl.firstRefused.IsZero() {
		l.burstOver = true
		return false
	}
	if l.burstFrom.IsZero() {
		// Only requests that went alone were read (openingAlone): the
		// burst has not begun, and what they said remained goes. One
		// at least, or a counter they left at 0 holds the pool with
		// nothing in flight whose answer could end it.
		return len(l.fl.open) > 0 && len(l.fl.open) >= l.burstLeft
	}
	if len(l.fl.open) == 0 || !l.fl.open[0].Before(l.burstFrom) {
		l.burstOver = true
		return false
	}
	return len(l.fl.open) >= l.burstLeft
}

// repaced moves the pacer to what an answer read at now made of the
// adaptive rate, with l.mu held.
func (l *Limiter) repaced(now time.Time) {
	l.applyAdaptive(now)
	if r := l.adapt.ra; r != nil && r.wake {
		// An opener's answer: the rest of the window's quota may go.
		r.wake = false
		l.wakeWaiters()
	}
	if l.adapt.emptied {
		l.adapt.emptied = false
		l.lim = l.adaptivePacer(now, true)
		l.lim.AllowN(now, 1)
		l.wakeWaiters()
	}
	if l.adapt.oneRepaced {
		l.adapt.oneRepaced, l.adapt.repace = false, true
	}
	if l.adapt.repace {
		// The bare-window model set a new pace: reservations made at the
		// old one would let a burst through when given back, which a
		// sliding window counts.
		l.adapt.repace = false
		l.lim = l.adaptivePacer(now, true)
		l.wakeWaiters()
	}
}

// adaptivePacer is the pacer for the adaptive rate from now: the strict
// schedule once the server took one request at a time (a bucket of one
// refuses any two closer than its interval), else a token bucket of one.
// fresh starts the pace afresh, without the reservations made at the old
// one; else the pacer in force is kept unless it is the wrong kind.
func (l *Limiter) adaptivePacer(now time.Time, fresh bool) *pacer {
	strict := l.adapt.oneAtATime()
	if !fresh && l.lim.strict() == strict {
		return l.lim
	}
	if !strict {
		return newPacer(l.adapt.limit(), 1)
	}
	p := newStrictPacer(l.adapt.limit(), true)
	if l.lim.strict() {
		p.left, p.gone = l.lim.left, l.lim.gone
	} else {
		// The token bucket does not say when the latest request left:
		// count one leaving now.
		p.left = now
	}
	return p
}

// applyAdaptive moves the pacer to the adaptive controller's rate.
func (l *Limiter) applyAdaptive(now time.Time) {
	l.lim = l.adaptivePacer(now, false)
	if lim, old := l.adapt.limit(), l.lim.Limit(); lim != old {
		l.lim.SetLimitAt(now, lim)
		if l.reservedAt == 0 || lim < l.reservedAt {
			// Places taken from now on are of this pace, the slowest
			// the waiters may hold.
			l.reservedAt = lim
		}
		if lim > old && lim <= old*1.5 && l.adapt.measured == 0 && lim > l.reservedAt*1.5 && !l.lim.strict() {
			// Before any measurement, a search crept up in small
			// steps to half again the pace the waiters reserved at:
			// they would hold their places of the slower pace, each
			// a slow interval after the one before, until the last
			// of them left (throttled's bucket of 6 at 40/s with 32
			// workers: 100ms apart for 2.7s while the pace crept from
			// 10/s to 40/s). Given back whole, the pool paced by the
			// new pace alone.
			l.wakeWaiters()
		} else if lim > old*1.5 {
			// Waiters hold reservations made at the old, much slower pace:
			// wake them to reserve again at the new one. Not given back
			// whole: the first to reserve again repays the old debt at
			// the new pace, and each given back after it (x/time/rate's
			// CancelAt, with a reservation made since that lands before
			// its own) restores a whole token, so most of the pool
			// leaves at once. That burst is what the opening's climb
			// reads (httprate at 15 per 150ms: 0.80 of the ideal, 0.61
			// with the reservations given back whole and the pool
			// paced by the new pace alone).
			//
			// Given back whole for a sliding window whose pool is larger
			// than its quota: such a burst is refused in part however
			// full the counter, and each refusal halves the pace (a log
			// of 10 per 1s with 16 workers, 20 seeds: 0.68 of the ideal
			// and 528 429s, 0.83 and 210 so). So for a pool larger than
			// the most a counter ever showed, itself under the limit
			// the server states (tollbooth's RateLimit-Limit, its
			// rate): tollbooth at 15 per 150ms with 32 workers sent the
			// pool at once after each of its one-second pauses, and the
			// runs that did so drew 177-306 429s (0.15-0.21 of the
			// ideal); now 17 a run, 0.91 in three runs of three. Not
			// where the limit stated is the counter's own: the burst
			// reads a fixed window's reset there (fixed windows and logs
			// of 3 per 1s and 15 per 150ms: TestSweep 55 runs worse, 35
			// better).
			if l.adapt.win == nil && (l.adapt.sliding && l.adapt.poolOverQuota() || l.adapt.poolOverCounter()) {
				l.wakeWaiters()
			} else {
				l.wakeRequeued()
			}
		}
	}
}

// PinnedEvenly reports whether Pinned spreads a fixed window's quota
// evenly over its length, without FixedWindow: the window was learned
// late in the run, after an earlier model was given up, and was seen
// open too few times to pace by (windowModel.unproven).
func (s Stats) PinnedEvenly() bool {
	return s.LearnedModel == ModelFixedWindow && s.LearnedWindow > 0 && s.LearnedBurst > 0 && s.unproven
}

// Pinned returns the Config that paces as the adaptive rate learned it,
// for a later run to start from (the summary's "to pin them" flags): a
// little under the learned rate, with the learned burst for a bucket (a
// request less, pinnedSpare, from three up) and none for a sliding
// window (after a burst it gives nothing back for a whole window; Burst
// 0, one at a time but not held tight); a fixed window's quota per its
// length rounded up to the millisecond, spread evenly (no FixedWindow)
// while the model is unproven; for a concurrency limit no rate, InFlight
// its limit (--concurrency). ok is false when nothing was learned.
func (s Stats) Pinned() (cfg Config, ok bool) {
	switch {
	case s.LearnedModel == ModelConcurrency && s.LearnedInFlight > 0:
		// Not a rate: as many in flight as the server takes (--concurrency).
		return Config{InFlight: s.LearnedInFlight, InFlightPinned: true}, true
	case (s.LearnedModel == ModelFixedWindow || s.LearnedModel == ModelSlidingWindow) && s.LearnedWindow > 0 && s.LearnedBurst > 0:
		// A fixed window's quota per its length, or a log's (logWindow):
		// each of its quota's places free again a window after its
		// request was taken.
		per := (s.LearnedWindow + time.Millisecond - 1).Truncate(time.Millisecond)
		fixed := s.LearnedModel == ModelFixedWindow
		r := Rate{Count: float64(s.LearnedBurst), Per: per}
		if s.PinnedEvenly() {
			// Its quota spread evenly over its length: one at a time.
			return Config{Rate: r}, true
		}
		return Config{Rate: r, FixedWindow: fixed, SlidingWindow: !fixed}, true
	case s.LearnedRate > 0:
		cfg := Config{Rate: RateFromPerSecond(s.LearnedRate * pinnedMargin), Burst: s.LearnedBurst}
		switch {
		case s.LearnedModel == ModelSlidingWindow:
			// One at a time, but no --burst 1: that would hold every
			// late request's successor a whole interval after it
			// (pacer.tight), which a sliding window does not need.
			cfg.Burst = 0
		case cfg.Burst > 2:
			cfg.Burst -= pinnedSpare
		}
		if s.seenRate > 0 && cfg.Rate.PerSecond() > s.seenRate {
			// No faster than its counter showed it refill (pinRate).
			cfg.Rate = RateFromPerSecond(s.seenRate)
		}
		if s.seenBurst > 0 && cfg.Burst > s.seenBurst {
			// No larger than the server was seen to accept (pinSeen).
			cfg.Burst = s.seenBurst
		}
		return cfg, true
	}
	return Config{}, false
}

// tryLog paces a sliding window whose counter readings show a log of
// ours alone (logWindow) by place, as its pinned flags would (logPacer):
// its quota at once as it comes free, each place free a window after its
// request's answer. The pace the sliding window steers by keeps the pool
// a request or more under the quota per window and never sends it at
// once; a log takes both. Looked for again once a tenth of the quota
// more answers came (an eighth of those kept, up to a quota, where many
// are: each look reads them all), as long as the answers are kept
// (pinSeenMax), and never again after a refusal while paced so
// (throttle). The readings bound the window (logFit); the pacer's
// trials narrow the bounds.
func (l *Limiter) tryLog(now time.Time) {
	a := l.adapt
	if l.log != nil || a.logOff || !a.sliding || a.limitSaid <= 0 || a.win != nil || a.ra != nil || a.conc != nil || a.bare != nil {
		return
	}
	q := a.burstSize()
	if len(a.seen) < a.logChecked+max(logStepMin, q/10, min(q, len(a.seen)/8)) {
		return
	}
	a.logChecked = len(a.seen)
	f := logFit(a.seen, q, l.openFrom())
	if !f.ok && f.total > 0 && len(a.refusedAt) > 0 {
		// Some logs count the requests they refuse (rolling-rate-
		// limiter): read against our accepted requests alone, their
		// readings count more than we had sent, and no look tells a
		// log. Once logRefusedAfter looks judged the readings and told
		// no log, read them again with the refused among ours: a log
		// that does not count its refusals reads worse so (each reading
		// after one names a request too late), and what is told needs
		// 95% of the readings to agree, as any log does, and a larger
		// share than the plain readings had (which matters where those
		// agreed but a counter explained them as well).
		if a.logMissed++; a.logMissed >= logRefusedAfter {
			if m := logFit(withRefused(a.seen, a.refusedAt), q, l.openFrom()); m.ok && m.better(f) {
				f = m
			}
		}
	}
	if !f.ok {
		return
	}
	lo, w := f.lo, f.hi
	p := newLogPacer(q, w)
	// The readings bound the window; trials narrow the bounds (crowded
	// readings, a pool's bursts, bound it loosely: rolling-rate-limiter
	// at 15 per 150ms was told 156-160ms).
	p.lo = lo
	// The places our answered requests still hold, and those in flight:
	// every one answered less than a window ago (seen is in send order,
	// and one sent earlier may have been answered later), however many.
	for _, s := range a.seen {
		p.hold(now, s.at, s.recv, false)
	}
	// And the refused ones answered less than a window ago: some logs
	// count them (rolling-rate-limiter).
	for _, r := range a.refusedAt {
		p.hold(now, r.sent, r.recv, true)
	}
	p.holdOpen(l.fl.open)
	l.log = p
	l.wakeWaiters()
}

// openFrom is when the oldest request still on its way left (zero: none
// is).
func (l *Limiter) openFrom() time.Time {
	if len(l.fl.open) == 0 {
		return time.Time{}
	}
	return l.fl.open[0]
}

// Paused reports the end of the current pause, if the pool is paused at now.
func (l *Limiter) Paused(now time.Time) (until time.Time, paused bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pauseUntil, now.Before(l.pauseUntil)
}

// Stats returns what the limiter has seen and learned so far.
func (l *Limiter) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.awaitFit()
	s := l.stats
	s.Rate = float64(l.lim.Limit())
	if l.adapt != nil {
		s.LearnedBurst, s.LearnedRate = l.adapt.learned()
		switch {
		case l.log != nil:
			// Paced by a log's places to the end (tryLog).
			s.LearnedModel, s.LearnedBurst, s.LearnedWindow = ModelSlidingWindow, l.log.quota, l.log.per
			s.LearnedRate = float64(l.log.quota) / l.log.per.Seconds()
		case l.adapt.conc != nil:
			s.LearnedModel, s.LearnedInFlight = ModelConcurrency, l.adapt.conc.limit
			s.LearnedBurst, s.LearnedRate = 0, 0
		case l.adapt.win != nil && l.adapt.win.hi > 0:
			s.LearnedModel, s.LearnedWindow = ModelFixedWindow, l.adapt.win.learned()
			s.unproven = l.adapt.win.unproven()
		case l.adapt.ra != nil && l.adapt.ra.confirmed:
			s.LearnedModel, s.LearnedWindow = ModelFixedWindow, l.adapt.ra.hi
		case s.LearnedRate > 0 && l.adapt.sliding:
			s.LearnedModel = ModelSlidingWindow
			logged := false
			if q := l.adapt.burstSize(); l.adapt.limitSaid > 0 {
				if w, ok := logWindow(l.adapt.seen, q, l.openFrom()); ok {
					// A log: its quota back whole a window after.
					s.LearnedBurst, s.LearnedWindow, s.LearnedRate = q, w, float64(q)/w.Seconds()
					logged = true
				}
			}
			if !logged {
				// No less than it was seen to sustain (calmRate).
				s.LearnedRate = math.Max(s.LearnedRate, l.adapt.calmRate())
			}
		case s.LearnedRate > 0:
			s.LearnedModel = ModelBucket
		}
		if s.LearnedModel == ModelBucket && s.LearnedBurst == 1 && l.adapt.counterMax == 1 {
			// A counter that read 0 after every request: a quota of
			// one, pinned one request per interval (quotaOneWindow).
			if w, ok := quotaOneWindow(l.adapt.seen, l.adapt.refusedAt); ok {
				s.LearnedModel, s.LearnedWindow, s.LearnedRate = ModelFixedWindow, w, 1/w.Seconds()
			}
		}
		if s.LearnedModel == ModelBucket {
			if cfg, ok := s.Pinned(); ok {
				if r, ok := pinRate(l.adapt.seen, s.LearnedBurst, cfg.Rate.PerSecond()); ok && r < cfg.Rate.PerSecond() {
					// What is learned, too: the counter's refill.
					s.seenRate, s.LearnedRate = r, math.Min(s.LearnedRate, r/pinnedMargin)
				} else if r, ok := bucketRefill(l.adapt.seen, s.LearnedBurst, s.LearnedRate); ok {
					// Or a little over it: the pace the equation
					// measured lags the refill the counter shows.
					s.LearnedRate = r
				}
			}
		}
		if s.LearnedModel == ModelBucket && l.adapt.limitSaid > 0 {
			// A burst the headers stated is a claim (a sliding window's
			// quota too); one counted from answers was seen taken.
			if cfg, ok := s.Pinned(); ok {
				if b, ok := pinSeen(l.adapt.seen, s.LearnedBurst, cfg.Burst, cfg.Rate.PerSecond()); ok {
					s.seenBurst = b
				}
			}
		}
	}
	return s
}

// wakeWaiters wakes every Wait sleeping on the gate, with l.mu held: a
// pause began or grew, a slot came free, or the pace changed, and each
// waiter looks again. Their reservations go back to the pace first, all
// at once (pacer.giveBack), so that those who reserve again find its
// debt as it was.
func (l *Limiter) wakeWaiters() {
	// At the latest the Limiter read (stamp): the pace may have moved
	// to it, a little past the clock.
	l.lim.giveBack(latest(l.clock.Now(), l.seen))
	l.wakeRequeued()
}

// wakeRequeued is wakeWaiters leaving each waiter to give its reservation
// back as it wakes: all but the latest restore nothing, and each waiter
// that reserves again goes behind the others (pacer.giveBack), unless
// the pace rose meanwhile.
func (l *Limiter) wakeRequeued() {
	l.reservedAt = l.lim.Limit()
	close(l.changed)
	l.changed = make(chan struct{})
}

// stamp is the time an answer that came at now is read at, with l.mu
// held: now, unless the Limiter read or let go something later already.
func (l *Limiter) stamp(now time.Time) time.Time {
	now = latest(now, l.seen)
	l.seen = now
	return now
}

// awaitFit waits, with l.mu held, until no fit runs off the lock: the
// answers it holds back are read once it lands.
func (l *Limiter) awaitFit() {
	for l.fitting {
		done := l.fitDone
		l.mu.Unlock()
		<-done
		l.mu.Lock()
	}
}

// takeFitJob is the bare fit the adaptive rate asked for, if any, taken.
func (a *adaptive) takeFitJob() *bareFitJob {
	if a == nil {
		return nil
	}
	j := a.fitJob
	a.fitJob = nil
	return j
}

// runFit runs the bare fit j, asked for at now, off the lock, with l.mu
// held: no request leaves until it lands (fitLanded), and the answers
// that come meanwhile are read then, in order, each at the time it came.
// One fit at a time: none is asked for while one runs, since nothing is
// read meanwhile.
func (l *Limiter) runFit(j *bareFitJob, now time.Time) {
	l.fitting = true
	l.fitDone = make(chan struct{})
	l.wakeWaiters()
	a, hook := l.adapt, l.fitHook
	go func() {
		if hook != nil {
			hook()
		}
		fit := j.run()
		l.mu.Lock()
		defer l.mu.Unlock()
		l.fitLanded(a, j, now, fit)
	}()
}

// fitLanded applies fit, the result of j asked for at now by a, with
// l.mu held, then reads the answers that came meanwhile. A fit asked for
// by a model no longer in force is dropped (nothing is read while it
// runs, so none should be).
func (l *Limiter) fitLanded(a *adaptive, j *bareFitJob, now time.Time, fit bareFitResult) {
	if l.adapt == a && a.bare == j.b {
		wait := j.then(fit)
		switch {
		case j.refusal:
			// Throttle's end, for the pause the fit timed.
			l.applyAdaptive(now)
			a.oneRepaced = false
			l.lim = l.adaptivePacer(now, true)
			l.extendPause(now, max(wait, l.dryFloor()), false, false)
		case !a.capping():
			// Success's end, after the model the fit decided: a
			// fixed window that took over may pace one at a time.
			a.oneFit()
			l.repaced(now)
		}
	}
	l.fitting = false
	close(l.fitDone)
	l.wakeWaiters()
	for len(l.deferred) > 0 && !l.fitting {
		f := l.deferred[0]
		l.deferred = l.deferred[1:]
		f()
	}
}
