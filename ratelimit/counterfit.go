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
	// The latest readings, read in send order.
	var read []int
	for i := len(seen) - 1; i >= 0 && len(read) < counterFitReadings; i-- {
		if s := seen[i]; s.said && !crowded(seen, i) {
			if quota-1-s.left < 0 {
				return 0, false
			}
			read = append(read, i)
		}
	}
	if len(read) < max(logMinReadings, 2*quota) {
		return 0, false
	}
	c := newCounterReplay(seen, len(read))
	c.loose = true
	for _, i := range slices.Backward(read) {
		c.read(seen[i].at, quota-1-seen[i].left)
	}
	miss := c.misses
	slack := max(2, int(counterFitSlack*float64(len(read))))
	// Coarse, then fine from just under the best to a tenth over it: the
	// longest period that explains the readings about as well is what
	// they show (few readings leave a range).
	best, bestW := len(read)+1, int64(0)
	from, to := 0.5*float64(quota)/hi, 2*float64(quota)/lo
	// 1% steps, or more where the rates lie far apart: 300 at most.
	step := math.Max(1.01, math.Pow(to/from, 1.0/300))
	for f := from; f <= to; f *= step {
		w := int64(f * float64(time.Second))
		if m := miss(w, best); m < best {
			best, bestW = m, w
		}
	}
	if float64(best) > counterFitMiss*float64(len(read)) {
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

// counterReplay replays counters over periods over our accepted sends
// (at, in nanoseconds since t0, our first send) against counter readings
// (sent at rat, in send order, each counting used of ours besides, with
// sent[i] of ours sent before it): HAProxy's, periods from the first
// request (anew after two idle periods, the previous one's weight rounded
// down), and go-chi/httprate's on the clock at logPhases phases (weighed
// exactly). A replay contradicts a reading when its count, rounded, is
// not the reading's; loose, when its count lies more than a request from
// it (counterWindow, which looks for the period that explains most).
type counterReplay struct {
	at    []int64
	t0    time.Time
	rat   []int64
	used  []int
	sent  []int
	loose bool
}

// newCounterReplay replays counters over the sends in seen, against up
// to n readings.
func newCounterReplay(seen []seenSend, n int) *counterReplay {
	c := &counterReplay{t0: seen[0].at, at: make([]int64, len(seen)),
		rat: make([]int64, 0, n), used: make([]int, 0, n), sent: make([]int, 0, n)}
	for i, s := range seen {
		c.at[i] = int64(s.at.Sub(c.t0))
	}
	return c
}

// read adds a reading: a request sent at at whose answer counted used of
// ours besides it. Readings are read in send order.
func (c *counterReplay) read(at time.Time, used int) {
	t := int64(at.Sub(c.t0))
	c.rat, c.used, c.sent = append(c.rat, t), append(c.used, used), append(c.sent, c.sentBefore(t))
}

// off reports whether a replay that counts pred of ours before the i-th
// reading contradicts it.
func (c *counterReplay) off(i int, pred float64) bool {
	if c.loose {
		return math.Abs(pred-float64(c.used[i])) > 1
	}
	return int(math.Round(pred)) != c.used[i]
}

// sentBefore is how many of ours were sent before t.
func (c *counterReplay) sentBefore(t int64) int {
	i, _ := slices.BinarySearch(c.at, t)
	return i
}

// misses is how many readings the counter over periods of wn nanoseconds
// that explains them best contradicts, each replay counted up to most
// (any more: no better than most). A period's counts are read once per
// period.
func (c *counterReplay) misses(wn int64, most int) int {
	if wn <= 0 {
		return len(c.rat)
	}
	// HAProxy's: periods from the first request.
	best := 0
	start, prevSent := c.at[0], c.at[0]
	from, prev := c.sentBefore(start), c.sentBefore(start)-c.sentBefore(start-wn)
	for i := range c.rat {
		if best >= most {
			break
		}
		moved := false
		for c.rat[i]-start >= wn {
			start += wn
			moved = true
		}
		if c.rat[i]-prevSent >= 2*wn {
			// Idle two periods: a new one from this request.
			start, moved = c.rat[i], true
		}
		if moved {
			from = c.sentBefore(start)
			prev = from - c.sentBefore(start-wn)
		}
		prevSent = c.rat[i]
		remain := wn - (c.rat[i] - start)
		if c.off(i, float64(c.sent[i]-from+int(int64(prev)*remain/wn))) {
			best++
		}
	}
	// httprate's periods lie on the clock: multiples of the period since
	// the zero time, as time.Time's Truncate has them, moved by a phase.
	base := int64(c.t0.Truncate(time.Duration(wn)).Sub(c.t0))
	for k := range logPhases {
		phase := wn * int64(k) / logPhases
		m := 0
		ps, from, prev := int64(math.MinInt64), 0, 0
		for i := range c.rat {
			if m >= min(best, most) {
				break
			}
			if p := base + floorDiv(c.rat[i]-phase-base, wn)*wn + phase; p != ps {
				ps, from = p, c.sentBefore(p)
				prev = from - c.sentBefore(p-wn)
			}
			if c.off(i, float64(prev)*float64(wn-(c.rat[i]-ps))/float64(wn)+float64(c.sent[i]-from)) {
				m++
			}
		}
		best = min(best, m)
	}
	return best
}
