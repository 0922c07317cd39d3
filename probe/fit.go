package probe

import (
	"math"
	"slices"
	"time"

	"github.com/bulksend/bulksend/ratelimit"
	"github.com/bulksend/bulksend/sandbox"
)

// ModelConcurrency is the Fit.Model of a concurrency limit: a request is
// refused while that many are in flight, however slowly they were sent.
// The other models are ratelimit's ModelBucket, ModelFixedWindow and
// ModelSlidingWindow, so a probe and a send run name them alike.
const ModelConcurrency = "concurrency"

// The Fit.Variant values.
const (
	VariantFromFirst = "from first request" // fixed window: opens at the first request after the last one closed
	VariantAligned   = "aligned"            // fixed or sliding window: on multiples of the period on the server's clock
	VariantLog       = "log"                // sliding window: every counted request's time is kept
	VariantCounter   = "counter"            // sliding window: the previous aligned window's count is weighed
	// VariantCounterFirst is a sliding window counter whose windows follow
	// on from the first request, as HAProxy's http_req_rate.
	VariantCounterFirst = "counter from first request"
)

// Fit is the limiter model that explains a probe's answers best.
type Fit struct {
	// Model is ratelimit.ModelBucket (a token bucket, or a leaky bucket
	// answering at once, as nginx's limit_req nodelay: the two decide
	// alike), ratelimit.ModelFixedWindow, ratelimit.ModelSlidingWindow or
	// ModelConcurrency.
	Model   string
	Variant string // for windows: one of the Variant values
	// Limit is the bucket's size, the window's quota or the requests
	// allowed in flight.
	Limit int
	// Period is the window's length, or the time a bucket takes to refill
	// Limit; 0 for a concurrency limit.
	Period time.Duration
	// RefusedCount says refused requests count against the quota: a
	// client that keeps sending while refused stays refused.
	RefusedCount bool
	// Unbounded says nothing the probe saw bounds the period from above:
	// it is at least Period (a window longer than the probe, say), and
	// PerSecond at most what it says.
	Unbounded bool
	// Explained is how many of Answers the model predicts.
	Explained, Answers int
	// Confidence, from 0 to 1, is the share of answers explained, lowered
	// when a model of another kind explains nearly as many: 0 says the
	// answers could not tell the two apart.
	Confidence float64
}

// PerSecond is the sustained rate the model allows, 0 for a concurrency
// limit or an unbounded period.
func (f Fit) PerSecond() float64 {
	if f.Period <= 0 || f.Unbounded {
		return 0
	}
	return float64(f.Limit) / f.Period.Seconds()
}

// Pinned is the send pacing that reproduces the model, as ratelimit pins
// what its adaptive rate learned: a bucket's rate a little under the
// measured one with its size as the burst, a sliding window's rate with
// no burst (a log's quota per its length, --window sliding, where the
// probe is sure of it), a fixed window's quota per its length. ok is
// false for a concurrency limit, which --concurrency expresses, not a
// rate, and for an unbounded period.
func (f Fit) Pinned() (ratelimit.Config, bool) {
	if f.Unbounded {
		return ratelimit.Config{}, false
	}
	s := ratelimit.Stats{LearnedModel: f.Model, LearnedBurst: f.Limit, LearnedRate: f.PerSecond()}
	switch f.Model {
	case ratelimit.ModelFixedWindow:
		s.LearnedWindow = f.Period
	case ratelimit.ModelSlidingWindow:
		if f.Variant == VariantLog && !f.RefusedCount && f.Confidence >= logPinConfidence {
			// A log gives each request's place back a window after it
			// was taken: its quota per the longest window the answers
			// allow, each place free a window after its answer
			// (--window sliding). A counter taken for one would refuse
			// what that sends at once a window after a burst, and a log
			// that counts refusals would keep a client that keeps
			// sending out: those keep the --rate alone.
			s.LearnedWindow = f.Period
		}
	case ratelimit.ModelBucket:
	default:
		return ratelimit.Config{}, false
	}
	return s.Pinned()
}

// logPinConfidence is the least confidence at which a sliding log is
// pinned as one (--window sliding) rather than by its rate.
const logPinConfidence = 0.9

// candidate is one model with its parameters, replayed against the answers.
type candidate struct {
	model, variant string
	limit          int
	period         time.Duration
	shift          time.Duration // aligned: added to our times, as the server's clock is off
	refused        bool
	score          int  // answers it predicts wrongly
	open           bool // periods up to the longest tried scored as well
}

func (c candidate) kind() string { return c.model }

// config is the sandbox model that candidate stands for.
func (c candidate) config() sandbox.Config {
	switch c.model {
	case ratelimit.ModelFixedWindow:
		return sandbox.Config{Model: sandbox.ModelFixed, Burst: c.limit, Window: c.period, Aligned: c.variant == VariantAligned}
	case ratelimit.ModelSlidingWindow:
		s := sandbox.SlidingLog
		switch c.variant {
		case VariantCounter:
			s = sandbox.SlidingCounter
		case VariantCounterFirst:
			s = sandbox.SlidingCounterFirst
		}
		return sandbox.Config{Model: sandbox.ModelSliding, Burst: c.limit, Window: c.period, Sliding: s, RefusedCount: c.refused}
	}
	return sandbox.Config{Model: sandbox.ModelBucket, Burst: c.limit, Rate: float64(c.limit) / c.period.Seconds(), RefusedCount: c.refused}
}

// Search grid of the fit.
const (
	fitCoarse     = 1.06 // ratio between neighbouring periods tried first
	fitMid        = 1.01 // and around the guess from the rate
	fitBand       = 1.5  // how far from that guess
	fitFine       = 1.002
	fitPhases     = 4 // aligned offsets tried per period, besides those at resets
	fitFinePhases = 8
	fitMinPeriod  = time.Millisecond
	// fitLimitSpread is how far from the burst seen the limits tried go.
	fitLimitSpread = 2
	// fitRunnerUp is how much worse than the best a shape may score and
	// still lower the confidence.
	fitRunnerUp = 12
	// fitMargin answers, or fitMarginShare percent of them, is the margin
	// a shape with more freedom must win by.
	fitMargin      = 2
	fitMarginShare = 1
	// fitMarginUncertain percent of the answers whose round trip was
	// longer than 1/fitUncertainGap of the time between two accepted
	// requests widen the margin.
	fitMarginUncertain = 10
	fitUncertainGap    = 2
	// fitRefine is how many coarse steps either side of the best the fine
	// search covers.
	fitRefine = 1
)

// FitModel finds the limiter model, among the sandbox's (the limiters met
// in the field), that decides as the server did on the probe's requests:
// each candidate replays the requests at the times the server most likely
// had them (Event.At) and predicts accepted or refused; the one that
// predicts fewest answers wrongly wins. Its limit is tried around the
// burst seen before the first throttle answer, and around hints (a limit
// the server's headers state); its period on a geometric grid from a
// millisecond to twice the probe's span, then finer around the best, and
// reported as the longest of the periods that score as well: a pin
// from a period too short would be too fast. Candidates
// that score alike are told apart by how simple they are: a bucket, then
// a window from the first request, an aligned window, a sliding log, a
// sliding counter from the first request (HAProxy's), an aligned sliding
// counter; refused requests not counting before counting.
//
// A concurrency limit is fitted apart from the rest: a request is refused
// when limit accepted others were in flight when the server decided on
// it (see fitConcurrency).
//
// ok is false without a throttle answer (nothing limited the requests) or
// without an accepted one after it (nothing shows how the limit refills).
func FitModel(events []Event, hints ...int) (Fit, bool) {
	evs := byTime(events)
	burst, limited := 0, false
	for _, e := range evs {
		if e.Throttled {
			limited = true
			break
		}
		burst++
	}
	refilled := false // something accepted after the first refusal
	for _, e := range evs[min(burst+1, len(evs)):] {
		refilled = refilled || !e.Throttled
	}
	if !limited || !refilled {
		return Fit{}, false
	}
	// Nothing before the first refusal: something else had just used the
	// quota, and the limit is at least one.
	burst = max(burst, 1)
	span := evs[len(evs)-1].At().Sub(evs[0].At())
	maxPeriod := max(2*span, 10*fitMinPeriod)
	limits := map[int]bool{burst: true}
	for _, h := range hints {
		limits[h] = true
	}
	f := newFitter(evs)

	shapes := []candidate{
		{model: ratelimit.ModelBucket},
		{model: ratelimit.ModelFixedWindow, variant: VariantFromFirst},
		{model: ratelimit.ModelFixedWindow, variant: VariantAligned},
		{model: ratelimit.ModelSlidingWindow, variant: VariantLog},
		{model: ratelimit.ModelSlidingWindow, variant: VariantCounterFirst},
		{model: ratelimit.ModelSlidingWindow, variant: VariantCounter},
		{model: ratelimit.ModelBucket, refused: true},
		{model: ratelimit.ModelSlidingWindow, variant: VariantLog, refused: true},
		{model: ratelimit.ModelSlidingWindow, variant: VariantCounterFirst, refused: true},
		{model: ratelimit.ModelSlidingWindow, variant: VariantCounter, refused: true},
	}
	// Periods: a coarse grid over all that the probe could have seen,
	// and a fine one around what the rate between drains suggests
	// (EstimateRate), where every model's period lies for a probe that
	// kept the limiter drained.
	var coarse []time.Duration
	for p := float64(fitMinPeriod); p <= float64(maxPeriod); p *= fitCoarse {
		coarse = append(coarse, time.Duration(p))
	}
	ls := make([]int, 0, len(limits))
	for l := range limits {
		ls = append(ls, l)
	}
	slices.Sort(ls)
	// The fine band is around each limit's own period at the rate seen: a
	// busy client sees a longer first burst than the server's, and the
	// limit its headers state is the one that needs the fine grid.
	rate, rateOK := EstimateRate(evs)
	periodsOf := func(l int) []time.Duration {
		periods := coarse
		if rateOK && rate.PerSecond > 0 && l > 0 {
			periods = slices.Clone(coarse)
			guess := float64(l) / rate.PerSecond * float64(time.Second)
			// A server that counts refusals lets less through than it
			// allows, so the guess may be long: the band reaches further down.
			for p := guess / fitBand / fitBand; p <= guess*fitBand; p *= fitMid {
				periods = append(periods, time.Duration(p))
			}
		}
		return periods
	}

	// The best candidate of each shape, and the best of each kind.
	best := make([]candidate, len(shapes))
	global := math.MaxInt // the best score of any shape so far
	for si, shape := range shapes {
		// A shape that cannot come within fitRunnerUp of the best matters
		// to nothing: its replays stop there.
		b := candidate{score: math.MaxInt}
		if global < math.MaxInt-fitRunnerUp {
			b.score = global + fitRunnerUp
		}
		for _, l := range ls {
			for _, p := range periodsOf(l) {
				c := shape
				c.limit, c.period = l, p
				c = f.bestPhase(c, fitPhases, b.score)
				if better(c, b, burst) {
					b = c
				}
			}
		}
		if b.model == "" {
			continue
		}
		best[si] = f.refine(b, burst)
		global = min(global, best[si].score)
	}
	conc := fitConcurrency(evs)
	n := len(evs)

	// A shape with an unknown phase (aligned windows, the counter) can
	// bend to fit jitter that a plainer one misses: it wins only by a
	// clear margin, wider when many answers took long enough, against the
	// time between two requests the server lets through, to have been
	// decided at any of several moments (a busy client, or a far server).
	uncertain := 0
	if rateOK && rate.PerSecond > 0 {
		gap := time.Duration(float64(time.Second) / rate.PerSecond)
		for _, e := range evs {
			if e.Received.Sub(e.Sent) > gap/fitUncertainGap {
				uncertain++
			}
		}
	}
	margin := max(fitMargin, n*fitMarginShare/100, uncertain*fitMarginUncertain/100)
	handicap := func(c candidate) int {
		if c.aligned() {
			return margin
		}
		return 0
	}
	winner := -1
	for i, c := range best {
		if c.model == "" {
			continue
		}
		if winner < 0 || c.score+handicap(c) < best[winner].score+handicap(best[winner]) {
			winner = i
		}
	}
	var w candidate
	if winner >= 0 {
		w = best[winner]
	}
	if winner < 0 || conc.score < w.score {
		w = conc
	}
	// A bucket, a window and a log that hold one request are one limiter
	// (one request per period), not rivals: they lower no confidence.
	same := func(c candidate) bool {
		return c.kind() == w.kind() || w.limit == 1 && c.limit == 1 && w.kind() != ModelConcurrency && c.kind() != ModelConcurrency
	}
	runnerUp := math.MaxInt
	for _, c := range append(best, conc) {
		if s := c.score + handicap(c); c.model != "" && !same(c) && c.score < math.MaxInt-margin && s < runnerUp {
			runnerUp = s
		}
	}
	fit := Fit{Model: w.model, Variant: w.variant, Limit: w.limit, Period: w.period, RefusedCount: w.refused,
		Explained: n - w.score, Answers: n, Unbounded: w.open || w.period >= span}
	if w.model == ratelimit.ModelBucket {
		fit.Variant = ""
	}
	fit.Confidence = float64(fit.Explained) / float64(n)
	if runnerUp < math.MaxInt {
		fit.Confidence *= 1 - math.Pow(2, -float64(max(runnerUp-w.score-handicap(w), 0))/2)
	}
	fit.Confidence = math.Round(fit.Confidence*100) / 100
	return fit, true
}

// better says c beats b: fewer wrong answers, then a limit nearer the
// burst seen, then a shorter period (the grid goes upwards, so the first
// of a run of equals is kept and refine finds the rest).
func better(c, b candidate, burst int) bool {
	if c.score != b.score {
		return c.score < b.score
	}
	return abs(c.limit-burst) < abs(b.limit-burst)
}

func abs(x int) int { return max(x, -x) }

// bestPhase scores c once, or when it is aligned (the server's clock is
// ours off by an unknown amount) at every shift that puts a window's
// boundary just before an accepted answer that followed a refused one, or
// just after that refused one, and at phases more spread evenly over the
// period, and returns it at the best; cut stops a replay as soon as it
// cannot beat a score already found.
func (f *fitter) bestPhase(c candidate, phases, cut int) candidate {
	if !c.aligned() {
		c.score = f.replay(c, cut)
		return c
	}
	b := c
	b.score = math.MaxInt
	try := func(shift time.Duration) {
		c.shift = shift
		if c.score = f.replay(c, min(cut, b.score)); c.score < b.score {
			b = c
		}
	}
	resets := f.resets
	if phases == fitPhases && len(resets) > fitCoarseResets {
		resets = resets[:fitCoarseResets]
	}
	for _, t := range resets {
		try(-time.Duration(t.UnixNano() % int64(c.period)))
	}
	for i := range phases {
		try(c.period * time.Duration(i) / time.Duration(phases))
	}
	return b
}

func (c candidate) aligned() bool {
	return c.variant == VariantAligned || c.variant == VariantCounter
}

// refine searches finely around c's limit and period and sets the period
// to the longest of those that score as well as the best (see below).
func (f *fitter) refine(c candidate, burst int) candidate {
	lo, hi := float64(c.period)/math.Pow(fitCoarse, fitRefine), float64(c.period)*math.Pow(fitCoarse, fitRefine)
	b := c
	var equal []time.Duration
	for l := max(c.limit-fitLimitSpread, 1); l <= c.limit+fitLimitSpread; l++ {
		for p := lo; p <= hi; p *= fitFine {
			t := c
			t.limit, t.period = l, time.Duration(p)
			t = f.bestPhase(t, fitFinePhases, b.score+1)
			switch {
			case t.score < b.score || t.score == b.score && t.limit != b.limit && better(t, b, burst):
				b, equal = t, []time.Duration{t.period}
			case t.score == b.score && t.limit == b.limit:
				equal = append(equal, t.period)
			}
		}
	}
	if len(equal) > 0 {
		// The good periods may go on past the scan: follow them up to
		// where they end.
		t := b
		b.open = true
		for p := float64(equal[len(equal)-1]) * fitFine; p <= float64(b.period)*fitBand; p *= fitFine {
			t.period = time.Duration(p)
			if t = f.bestPhase(t, fitFinePhases, b.score); t.score > b.score {
				b.open = false
				break
			}
			equal = append(equal, t.period)
		}
	}
	switch {
	case len(equal) == 0:
	default:
		// A window pinned shorter than the server's sends its next quota
		// early, a rate read from too short a period is too fast: into
		// refusals either way. The longest period that fits is the safe
		// one.
		b.period = equal[len(equal)-1]
	}
	return b
}

// fitter holds the timeline being fitted.
type fitter struct {
	at []time.Time // when the server most likely decided, in order
	// from and to bound when it may have: the request's send and answer.
	from, to []time.Time
	ok       []bool // and whether it accepted
	// resets are the instants a window may have begun: each accepted
	// answer after a refused one, and a nanosecond after that refused one.
	resets []time.Time
}

// fitMaxResets bounds the resets an aligned model is tried at, and
// fitCoarseResets those it is tried at on the coarse grid.
const (
	fitMaxResets    = 12
	fitCoarseResets = 4
)

func newFitter(evs []Event) *fitter {
	f := &fitter{at: make([]time.Time, len(evs)), from: make([]time.Time, len(evs)), to: make([]time.Time, len(evs)), ok: make([]bool, len(evs))}
	for i, e := range evs {
		f.at[i], f.from[i], f.to[i], f.ok[i] = e.At(), e.Sent, e.Received, !e.Throttled
		if i > 0 && f.ok[i] && !f.ok[i-1] {
			f.resets = append(f.resets, f.at[i], f.at[i-1].Add(1))
		}
	}
	if n := len(f.resets); n > fitMaxResets {
		// Spread over the timeline: a clock drifting from the server's
		// shows at either end.
		kept := make([]time.Time, 0, fitMaxResets)
		for i := range fitMaxResets {
			kept = append(kept, f.resets[i*n/fitMaxResets])
		}
		f.resets = kept
	}
	return f
}

// replay counts the answers c predicts wrongly, stopping past cut. An
// answer is wrong when no moment between its request's send and its
// answer explains it (see sandbox.Model.FollowWithin): a busy client
// stretches its own timeline, and a model with more freedom (a phase, a
// limit far from the burst seen) would otherwise win by fitting that
// noise.
func (f *fitter) replay(c candidate, cut int) int {
	m := sandbox.NewModel(c.config())
	if m == nil {
		return math.MaxInt
	}
	wrong := 0
	for i, t := range f.at {
		if m.FollowWithin(f.from[i].Add(c.shift), t.Add(c.shift), f.to[i].Add(c.shift), f.ok[i]) != f.ok[i] {
			if wrong++; wrong > cut {
				return wrong
			}
		}
	}
	return wrong
}

// fitConcurrency fits a concurrency limit: a request is refused when at
// least limit accepted others were in flight when the server decided on
// it, accepted when fewer were. The server's moments are known only
// within bounds: the requests of a burst leave together and reach the
// server in any order (nginx's limit_conn refuses the first ones sent as
// readily as the last), so a refusal is explained when limit others may
// have been in flight at some moment between its send and its answer,
// and an acceptance when, at some moment between its send and the middle
// of its round trip (it was decided when it arrived), fewer than limit
// surely were. An accepted request may be in flight from its send to its
// answer, and surely is from a one-way trip after its send to one before
// its answer; a refusal's round trip, the median one, bounds that trip.
func fitConcurrency(evs []Event) candidate {
	var trips []time.Duration
	for _, e := range evs {
		if e.Throttled {
			trips = append(trips, e.Received.Sub(e.Sent))
		}
	}
	var trip time.Duration
	if len(trips) > 0 {
		slices.Sort(trips)
		trip = trips[len(trips)/2]
	}
	// mayHold[i] is the most accepted others that may have been in flight
	// at a moment request i may have been decided, held[i] the fewest
	// surely in flight at one.
	mayHold, held := make([]int, len(evs)), make([]int, len(evs))
	countAt := func(i int, t time.Time, sure bool) int {
		n := 0
		for j, o := range evs {
			if j == i || o.Throttled {
				continue
			}
			from, to := o.Sent, o.Received
			if sure {
				from, to = from.Add(trip), to.Add(-trip)
			}
			if !from.After(t) && to.After(t) {
				n++
			}
		}
		return n
	}
	most := 0
	for i, e := range evs {
		if e.Throttled {
			// The count only rises where a request leaves.
			mayHold[i] = countAt(i, e.Sent, false)
			for j, o := range evs {
				if j != i && !o.Throttled && o.Sent.After(e.Sent) && !o.Sent.After(e.Received) {
					mayHold[i] = max(mayHold[i], countAt(i, o.Sent, false))
				}
			}
			most = max(most, mayHold[i])
			continue
		}
		// The sure count only falls where a request's sure span ends.
		end := e.At()
		held[i] = countAt(i, e.Sent, true)
		for j, o := range evs {
			if t := o.Received.Add(-trip); j != i && !o.Throttled && t.After(e.Sent) && !t.After(end) {
				held[i] = min(held[i], countAt(i, t, true))
			}
		}
		most = max(most, held[i])
	}
	b := candidate{model: ModelConcurrency, score: math.MaxInt}
	for l := 1; l <= most+1; l++ {
		wrong := 0
		for i, e := range evs {
			if e.Throttled && mayHold[i] < l || !e.Throttled && held[i] >= l {
				wrong++
			}
		}
		// Of limits that explain as much, the largest: a refusal with
		// nothing else in flight but the accepted pins it from above,
		// while an acceptance's count is mostly the few surely in flight.
		if wrong <= b.score {
			b.limit, b.score = l, wrong
		}
	}
	return b
}
