package probe

import (
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/bulksend/bulksend/ratelimit"
)

// Event is one answered probe request, as the estimators need it.
type Event struct {
	Seq       int       // the order requests were started in, from 0
	Sent      time.Time // local time the request left
	Received  time.Time // local time the answer arrived
	Status    int       // HTTP status of the answer
	Throttled bool      // a throttle answer: 429, or 503 with a wait hint
	// Round is the probe's round the request was sent in, from 0: between
	// two rounds the limiter sat idle (see Run), a time no rate is
	// measured across.
	Round int
}

// At is when the server most likely decided on the request: halfway
// between sending and the answer, so a constant network delay cancels out
// of every time difference taken between events.
func (e Event) At() time.Time { return e.Sent.Add(e.Received.Sub(e.Sent) / 2) }

// Rate is a sustained-rate measurement.
type Rate struct {
	PerSecond float64       // accepted requests per second; 0 when nothing could be measured
	Accepted  int           // accepted requests the rate was counted from
	Span      time.Duration // the time they were counted over
	// LowerBound says no throttled answer closed the span: the server let
	// through everything that was sent, so it allows at least PerSecond.
	LowerBound bool
	// FromQuota says nothing could be measured and PerSecond is what the
	// server's quota headers declare (a limit per window), not a count.
	FromQuota bool
}

// EstimateRate measures the sustained rate from the answers of a probe.
//
// The limiter has just run out when a throttled answer follows an accepted
// one (call that the start of a drain). From one drain start to another it
// was therefore refilled by exactly what it accepted in between, give or
// take one request, so accepted/span is the refill rate without knowing how
// the server refills (token bucket or fixed window) and without having sent
// at any particular pace, as long as the limiter was kept empty in between.
// The first cycle is left out when at least two more follow it: it is where
// the probe was still finding the pace, and a fixed window it only half
// used would read as a slower rate. The estimate improves with the number
// of accepted requests counted, not with the number of throttled ones.
//
// Each round of a probe (Event.Round) is counted on its own and the rounds
// added up: between two rounds the limiter sat idle, and a full limiter
// wastes what it would refill.
//
// Without two drain starts around some accepted requests, the best that can
// be said is the pace the server accepted after the last throttled answer
// (or from the first answer): a lower bound. ok=false when not even that is
// known (fewer than two events, or no time between them).
func EstimateRate(events []Event) (r Rate, ok bool) {
	evs := byTime(events)
	var sum Rate
	for _, round := range byRound(evs) {
		if a, span := drainedRate(round); a > 0 && span > 0 {
			sum.Accepted, sum.Span = sum.Accepted+a, sum.Span+span
		}
	}
	if sum.Accepted > 0 {
		sum.PerSecond = float64(sum.Accepted) / sum.Span.Seconds()
		return sum, true
	}
	last := -1
	for i, e := range evs {
		if e.Throttled {
			last = i
		}
	}
	if len(evs) < 2 {
		return Rate{}, false
	}
	// A lower bound: what was accepted from the last drained moment (or the
	// start) to the end. The first event's own acceptance is not counted:
	// n events make n-1 intervals.
	from := max(last, 0)
	accepted := 0
	for _, e := range evs[from+1:] {
		if !e.Throttled {
			accepted++
		}
	}
	if accepted == 0 {
		return Rate{}, false
	}
	span := evs[len(evs)-1].At().Sub(evs[from].At())
	if span <= 0 {
		return Rate{}, false
	}
	return Rate{PerSecond: float64(accepted) / span.Seconds(), Accepted: accepted, Span: span, LowerBound: true}, true
}

// drainedRate counts what the limiter accepted from one drain start to the
// last one in evs (one round, in time order), and the time between them;
// 0, 0 without two drain starts (see EstimateRate).
func drainedRate(evs []Event) (accepted int, span time.Duration) {
	var starts []int
	for i, e := range evs {
		if e.Throttled && (i == 0 || !evs[i-1].Throttled) {
			starts = append(starts, i)
		}
	}
	if len(starts) < 2 {
		return 0, 0
	}
	from, to := starts[0], starts[len(starts)-1]
	if len(starts) >= 3 {
		from = starts[1]
	}
	for _, e := range evs[from+1 : to] {
		if !e.Throttled {
			accepted++
		}
	}
	return accepted, evs[to].At().Sub(evs[from].At())
}

// byRound splits events in time order into their rounds, in order.
func byRound(evs []Event) [][]Event {
	rounds := map[int][]Event{}
	var order []int
	for _, e := range evs {
		if _, ok := rounds[e.Round]; !ok {
			order = append(order, e.Round)
		}
		rounds[e.Round] = append(rounds[e.Round], e)
	}
	slices.Sort(order)
	out := make([][]Event, 0, len(order))
	for _, r := range order {
		out = append(out, rounds[r])
	}
	return out
}

// estimateSingle measures the rate of a limiter that holds a single
// request (a burst of 1), where EstimateRate reads low: such a limiter does
// not bank the time between its refill and the next probe, so every accepted
// probe restarts its clock. The next request is allowed exactly one interval
// after the last accepted one; it lies between the last throttled probe
// before the next accepted one and that accepted probe, and the middle of
// that bracket is an unbiased guess. Pairs with no throttled probe between
// them bound nothing and are skipped, and so are pairs from two rounds.
func estimateSingle(events []Event) (Rate, bool) {
	var (
		sum     time.Duration
		n       int
		prev    time.Time // the last accepted
		between time.Time // the last throttled after it
		round   int       // prev's
	)
	for _, e := range byTime(events) {
		if e.Throttled {
			if !prev.IsZero() {
				between = e.At()
			}
			continue
		}
		if !between.IsZero() && e.Round == round {
			sum += between.Add(e.At().Sub(between) / 2).Sub(prev)
			n++
		}
		prev, between, round = e.At(), time.Time{}, e.Round
	}
	if n == 0 || sum <= 0 {
		return Rate{}, false
	}
	return Rate{PerSecond: float64(n) / sum.Seconds(), Accepted: n, Span: sum}, true
}

// EstimateBurst measures the burst from the answers to the requests sent
// before the first throttled answer came back: all that were accepted, less
// what the limiter refilled at perSecond while it was deciding on them
// (rounded, and at least 1 when anything was accepted). On loopback the
// correction is nothing; across an ocean it is most of the count. Counting
// by the phase a request was sent in, rather than by the order the answers
// arrived, keeps requests that overtook each other on their way (a few are
// in flight at once) from being miscounted. ok=false when none of the
// answers was throttled: the burst was not reached.
//
// The decisions took at least from the first answer's arrival to the last
// request's departure, plus one round trip (the shortest seen) for the
// halves of the trips on either side. A busy client that notes a time late
// can only shorten that span, so the correction errs towards the raw count
// rather than towards a burst too small.
func EstimateBurst(events []Event, perSecond float64) (burst, accepted int, ok bool) {
	var firstReceived, lastSent time.Time
	rtt := time.Duration(-1)
	for _, e := range events {
		if e.Throttled {
			ok = true
			continue
		}
		accepted++
		if firstReceived.IsZero() || e.Received.Before(firstReceived) {
			firstReceived = e.Received
		}
		if e.Sent.After(lastSent) {
			lastSent = e.Sent
		}
		if d := e.Received.Sub(e.Sent); rtt < 0 || d < rtt {
			rtt = d
		}
	}
	if !ok || accepted == 0 {
		return 0, accepted, ok
	}
	burst = accepted
	if span := lastSent.Sub(firstReceived) + max(rtt, 0); perSecond > 0 && span > 0 && !math.IsInf(perSecond, 0) {
		burst = int(math.Round(float64(accepted) - perSecond*span.Seconds()))
	}
	return max(burst, 1), accepted, true
}

// SuggestedFlags is the send pacing that matches a measurement, such as
// "--rate 19/s --burst 15". The rate is rounded down to two significant
// digits: a probe measures to a few percent, so more digits would be false
// precision, and rounding down means send asks for no more than was seen.
// An unknown rate (0) gives ""; an unknown burst (0) leaves --burst out.
func SuggestedFlags(burst int, perSecond float64) string {
	if !(perSecond > 0) || math.IsInf(perSecond, 0) {
		return ""
	}
	r := ratelimit.RateFromPerSecond(perSecond)
	if c := floorSignificant(r.Count, 2); c > 0 {
		r.Count = c
	}
	flags := "--rate " + r.String()
	if burst > 0 {
		flags += " --burst " + strconv.Itoa(burst)
	}
	return flags
}

// PinnedFlags are the send flags that pace as cfg does: --rate with
// --burst, or --window fixed for a fixed window's quota per its length;
// for a concurrency limit (no rate, InFlight) --concurrency.
func PinnedFlags(cfg ratelimit.Config) string {
	if cfg.Rate.IsZero() && cfg.InFlight > 0 {
		return "--concurrency " + strconv.Itoa(cfg.InFlight)
	}
	flags := "--rate " + cfg.Rate.String()
	switch {
	case cfg.FixedWindow:
		flags += " --window fixed"
	case cfg.SlidingWindow:
		flags += " --window sliding"
	case cfg.Burst > 0:
		flags += " --burst " + strconv.Itoa(cfg.Burst)
	}
	return flags
}

// floorSignificant rounds x (> 0) down to n significant digits; the nudge
// keeps 0.29 from becoming 0.28 through binary rounding.
func floorSignificant(x float64, n int) float64 {
	e := n - 1 - int(math.Floor(math.Log10(x)))
	if e >= 0 {
		return math.Floor(x*math.Pow10(e)+1e-9) / math.Pow10(e)
	}
	return math.Floor(x/math.Pow10(-e)+1e-9) * math.Pow10(-e)
}

// byTime returns the events ordered by decision time, ties in dispatch
// order, leaving the caller's slice alone.
func byTime(events []Event) []Event {
	evs := slices.Clone(events)
	slices.SortStableFunc(evs, func(a, b Event) int {
		if c := a.At().Compare(b.At()); c != 0 {
			return c
		}
		return a.Seq - b.Seq
	})
	return evs
}
