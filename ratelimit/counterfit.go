package ratelimit

import (
	"math"
	"slices"
	"time"
)

// A sliding window's counter over periods (HAProxy's stick table, from
// the first request; go-chi/httprate's, on the clock) weighs the previous
// period's count by how much of it still lies within a period of now, and
// sustains its quota per period at an even pace. Once a refusal steers a
// sliding window's pace as a bucket's, the rate the counter's refill shows
// is what we sent a window ago, which the steering set: a run slowed by a
// refusal reads its own slowness back (httprate at 20 per 2s with 8
// workers was learned at 2.74/s, and at 10 per 1s with 2 workers at
// 5.63/s, pinned at 0.22 and 0.57 of the ideal). counterWindow finds the
// period itself, replaying such a counter over our send times as
// logNotCounter does: paced at any rate, its readings say how many of our
// sends its period weighs, which names the period.
const (
	// counterFitReadings is how many of the latest readings the fit
	// replays: many periods' worth, few enough to run at Stats.
	counterFitReadings = 600
	// counterFitMiss is the share of readings the best period may
	// contradict by more than a request; counterFitSlack how many more
	// than the best a longer period may, and still explain them.
	counterFitMiss  = 0.10
	counterFitSlack = 0.02
)

// counterWindow reports the longest period of a counter over periods that
// explains the readings in seen (accepted requests, in send order, with
// what each answer said was left) about as well as the best, searched
// from half the quota per the fastest rate in rates to twice that per the
// slowest, for a quota of quota. ok is false when too few readings said
// or none explains them (a bucket, another client's requests counted).
func counterWindow(seen []seenSend, quota int, rates ...float64) (time.Duration, bool) {
	lo, hi := math.Inf(1), 0.0
	for _, r := range rates {
		if r > 0 {
			lo, hi = math.Min(lo, r), math.Max(hi, r)
		}
	}
	if quota < 2 || hi <= 0 || len(seen) == 0 {
		return 0, false
	}
	t0 := seen[0].at
	at := make([]int64, len(seen))
	for i, s := range seen {
		at[i] = int64(s.at.Sub(t0))
	}
	var rs []counterReading
	for i := len(seen) - 1; i >= 0 && len(rs) < counterFitReadings; i-- {
		s := seen[i]
		if !s.said || crowded(seen, i) {
			continue
		}
		used := quota - 1 - s.left
		if used < 0 {
			return 0, false
		}
		rs = append(rs, counterReading{at: at[i], used: used})
	}
	if len(rs) < max(logMinReadings, 2*quota) {
		return 0, false
	}
	// miss is how many readings the best replay at w contradicts, counted
	// up to most (any more: no better than most).
	miss := func(w int64, most int) int { return counterMisses(at, rs, w, t0, most) }
	slack := max(2, int(counterFitSlack*float64(len(rs))))
	// Coarse, then fine from just under the best to a tenth over it: the
	// longest period that explains the readings about as well is what
	// they show (few readings leave a range).
	best, bestW := len(rs)+1, int64(0)
	from, to := 0.5*float64(quota)/hi, 2*float64(quota)/lo
	// 1% steps, or more where the rates lie far apart: 300 at most.
	step := math.Max(1.01, math.Pow(to/from, 1.0/300))
	for f := from; f <= to; f *= step {
		w := int64(f * float64(time.Second))
		if m := miss(w, best); m < best {
			best, bestW = m, w
		}
	}
	if float64(best) > counterFitMiss*float64(len(rs)) {
		return 0, false
	}
	longest := bestW
	for f := 0.98; f <= 1.1; f += 0.0025 {
		w := int64(float64(bestW) * f)
		m := miss(w, best+slack+1)
		if m < best {
			best = m
		}
		if m <= best+slack && w > longest {
			longest = w
		}
	}
	return time.Duration(longest), true
}

// counterReading is one counter reading: when the request left (in
// nanoseconds since our first send) and how many of ours it counted
// besides.
type counterReading struct {
	at   int64
	used int
}

// counterMisses is how many readings rs the best-fitting counter over
// periods of w nanoseconds, replayed over our send times at (nanoseconds
// since t0, our first send), contradicts by more than a request:
// HAProxy's (periods from the first request) or httprate's on the clock
// at logPhases phases. Each replay stops counting at most.
func counterMisses(at []int64, rs []counterReading, w int64, t0 time.Time, most int) int {
	if w <= 0 {
		return len(rs)
	}
	before := func(from, to int64) int {
		hi, _ := slices.BinarySearch(at, to)
		lo, _ := slices.BinarySearch(at, from)
		return hi - lo
	}
	off := func(pred float64, used int) bool { return math.Abs(pred-float64(used)) > 1 }
	weighed := func(ps, t int64) float64 {
		return float64(before(ps, t)) + float64(before(ps-w, ps))*float64(w-(t-ps))/float64(w)
	}
	best := 0
	// HAProxy's: periods from our first request on.
	for _, r := range rs {
		if off(weighed(floorDiv(r.at, w)*w, r.at), r.used) {
			if best++; best >= most {
				break
			}
		}
	}
	// httprate's: on the clock, multiples of w since the zero time as
	// time.Time's Truncate has them, moved by a phase.
	clock := int64(t0.Truncate(time.Duration(w)).Sub(t0))
	for k := range logPhases {
		phase := w * int64(k) / logPhases
		m := 0
		for _, r := range rs {
			ps := clock + floorDiv(r.at-phase-clock, w)*w + phase
			if off(weighed(ps, r.at), r.used) {
				if m++; m >= best {
					break
				}
			}
		}
		best = min(best, m)
	}
	return best
}
