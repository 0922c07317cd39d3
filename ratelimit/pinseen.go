package ratelimit

import (
	"math"
	"slices"
	"time"
)

// A bucket's or sliding window's pinned flags (Stats.Pinned) send a burst
// at once, then a steady rate: at most burst + rate*T requests in any T.
// What the adaptive run learned may rest on thin evidence (a refill read
// over a short ramp, a sliding counter's first burst taken for a bucket's
// size), and a pin over it draws 429s the adaptive run, steered by the
// answers, did not: go-chi/httprate's counter at 60 per 150ms, learned a
// bucket of 59, refused 1-23 requests pinned at --burst 59 where adaptive
// drew none (a sliding window gives no burst back a window after one);
// HAProxy at 5 per 2s with 16 workers learned a bucket of 5, pinned
// --burst 4, 79 429s to adaptive's 55. So a bucket's pinned burst is
// bounded by what the server was seen to accept: on every time scale up
// to twice the time the learned size takes to refill (a window, for a
// sliding window taken for a bucket; no longer than the run), the pinned
// schedule sends no more than the adaptive run had accepted in its
// busiest stretch of that length. A sliding window's pin has no burst.

// pinSeenMax is how many accepted send times the pin's evidence keeps:
// the first ones, which hold the opening burst.
const pinSeenMax = 8192

// pinSeenSteps is how many time scales the evidence is checked on.
const pinSeenSteps = 64

// seenSend is an accepted request: when it was sent, and how many more
// its answer said the server would take (0 when it did not say).
type seenSend struct {
	at   time.Time
	left int
	said bool
	// refusedBefore: a request was refused since the one before.
	refusedBefore bool
	// recv is when its answer came; end when that answer said its
	// quota would be back (zero: not said), whole that it said so to
	// the whole second (quotaOneWindow).
	recv, end time.Time
	whole     bool
}

// noteSeen keeps an accepted request, sent at sent and answered at recv
// with remaining left (-1: not said), for pinSeen, pinRate and
// quotaOneWindow; its quota back reset after recv, or at second where
// the answer named a whole second (zero when it did not).
func (a *adaptive) noteSeen(sent, recv time.Time, remaining int, reset time.Duration, second time.Time) {
	if len(a.seen) >= pinSeenMax {
		return
	}
	i := len(a.seen)
	for i > 0 && a.seen[i-1].at.After(sent) {
		i--
	}
	s := seenSend{at: sent, left: max(remaining, 0), said: remaining >= 0, refusedBefore: a.seenRefused, recv: recv}
	switch {
	case !second.IsZero():
		s.end, s.whole = second, true
	case reset > 0 && remaining >= 0:
		// A whole number of seconds is a claim to the second (rounded
		// up or down): RateLimit-Reset, draft-8's t=.
		s.end, s.whole = recv.Add(reset), reset%time.Second == 0
	}
	a.seen = slices.Insert(a.seen, i, s)
	a.seenRefused = false
}

// busiest is the most the server was seen to take in a closed stretch d
// long: the accepted requests sent in it, and what the answer to the
// last one said it would take besides (a bucket's refill while the
// adaptive pace held back shows there; a sliding window's counter never
// says more than its quota less what its window holds).
func busiest(seen []seenSend, d time.Duration) int {
	most, j := 0, 0
	for i := range seen {
		for seen[i].at.Sub(seen[j].at) > d {
			j++
		}
		most = max(most, i-j+1+seen[i].left)
	}
	return most
}

// pinSeen bounds a bucket's pinned burst (burst requests at once, then
// perSecond), for a server whose learned size is size, by the accepted
// send times seen: the largest burst, from 2 up to burst, that sends no
// more in any stretch up to twice size's refill (no longer than the run)
// than were seen taken in one as long (busiest). ok is false when too little was
// seen to say (under two requests). The rate is left as learned: a run
// that never reached it steadily (a slow start, a wrong model's pauses)
// is no evidence the server would refuse it, and a bound on it cost the
// pinned flags up to half their pace in the simulation with no 429 saved.
func pinSeen(seen []seenSend, size, burst int, perSecond float64) (int, bool) {
	if len(seen) < 2 || perSecond <= 0 || burst <= 1 {
		return burst, false
	}
	span := seen[len(seen)-1].at.Sub(seen[0].at)
	h := time.Duration(math.Min(2*float64(max(size, burst))/perSecond, span.Seconds()) * float64(time.Second))
	if h <= 0 {
		return burst, false
	}
	// burst + floor(perSecond*T) <= seen(T) on pinSeenSteps scales T.
	fit := burst
	for i := 1; i <= pinSeenSteps; i++ {
		d := h * time.Duration(i) / pinSeenSteps
		fit = min(fit, busiest(seen, d)-int(math.Floor(perSecond*d.Seconds())))
	}
	// Never --burst 1, which holds a late request's successor a whole
	// interval (pacer.tight): a change of pacing, not a bound.
	return max(fit, 2), true
}

// pinRate bounds a bucket's pinned rate perSecond, for a bucket whose
// learned size is size, by the refill its counter showed. Between two
// accepted requests in a row, the one the latter took plus what its
// answer said was left, less what the former's said, is what the bucket
// refilled in between, but where it filled up and lost some (the latter's
// answer said it was full: size-1 left) or a refused request came between
// (a server that counts those took from it unseen): the pairs read are
// the others. Summed over a chain of them the counter's rounding down
// cancels but at the ends; a chain mostly starts after a full bucket,
// whose level is whole, so the sum falls short by half a request a chain
// on average, which is added. The pin is no faster than pinnedMargin of that
// refill over the time the chains took, where perSecond is over
// pinRateOver times it: a rate learned across a pool's bursts and the
// refusals' pauses went 2-65 times over the refill (a bucket of 3 at 5/s
// whose RateLimit-Limit is its rate and whose Retry-After says 1 was
// learned at 27/s; a HAProxy-style counter of 3 per 5s after a window
// model was given up, at 187-431/s), and pinned it drew more 429s than
// the adaptive run, steered by the counter, had. ok is false, and the pin
// left as learned, when the counter showed too little (under pinRateMin
// pairs, or under twice size's refill at perSecond: a run that kept the
// bucket full, or a server that said nothing, is no evidence either way),
// or showed no bucket: all the pairs together gained more than the chains
// at their rate (a fixed window's counter gains nothing until its reset
// gives the quota back at once).
func pinRate(seen []seenSend, size int, perSecond float64) (float64, bool) {
	if perSecond <= 0 || size < 2 {
		return perSecond, false
	}
	c, ok := counterRefill(seen, size, perSecond)
	if !ok {
		return perSecond, false
	}
	most := c.most(c.chains)
	if most*c.dAll.Seconds() < float64(c.all) || perSecond <= pinRateOver*pinnedMargin*most {
		return perSecond, false
	}
	return pinnedMargin * most, true
}

// bucketRefill is a bucket's refill as its counter showed it (pinRate's
// chains), where that is over perSecond, the rate learned, by no more than
// bucketRefillOver: the bucket equation's measure lags a long window's
// refill (throttled at 60 per 3s learned at 19.1/s of 20, tollbooth at
// 50 per 2s at 23.2-24.2/s of 25), and the pin, a further pinnedMargin
// under it, made 0.89-0.93 of the ideal. Further over, the counter says
// something else than a bucket's refill (a sliding counter taken for a
// bucket shows what it counted a window before) and is not taken. ok is
// false, the rate left as learned, where the counter showed too little,
// no bucket, or no more.
func bucketRefill(seen []seenSend, size int, perSecond float64) (float64, bool) {
	if perSecond <= 0 || size < 2 {
		return perSecond, false
	}
	c, ok := counterRefill(seen, size, perSecond)
	if !ok || c.most(c.chains)*c.dAll.Seconds() < float64(c.all) {
		return perSecond, false
	}
	// The counter's rounding down costs a chain half a request on
	// average where it starts at a full bucket, whose level is whole,
	// and nothing where it starts after a refusal or an answer without
	// a counter, at any level: counted for every chain (pinRate's
	// bound), a bucket of 10 at 10/s with a refusal every tenth answer
	// read 10.54/s, and raised so, its pin would go over the refill.
	r := c.most(c.whole)
	if r <= perSecond || r > bucketRefillOver*perSecond {
		return perSecond, false
	}
	return r, true
}

// refillRead is what counterRefill read off a bucket's counter: got
// requests regained over d in chains of answers (whole of them starting
// at a full bucket), and all regained over dAll across every pair.
type refillRead struct {
	got, chains, whole, all int
	d, dAll                 time.Duration
}

// most is the refill the chains show, half a request added for each of
// the first rounded of them.
func (c refillRead) most(rounded int) float64 {
	return (float64(c.got) + 0.5*float64(rounded)) / c.d.Seconds()
}

// counterRefill reads a bucket's refill off its counter over the chains
// of answers pinRate describes. ok is false where the chains are too few
// or too short.
func counterRefill(seen []seenSend, size int, perSecond float64) (c refillRead, ok bool) {
	n := 0
	chained := false
	for i := 1; i < len(seen); i++ {
		p, q := seen[i-1], seen[i]
		if !p.said || !q.said {
			chained = false
			continue
		}
		gap := q.at.Sub(p.at)
		c.all += 1 + q.left - p.left
		c.dAll += gap
		if q.left > size-2 || q.refusedBefore {
			// Full when q came, so it lost refill in between; or a
			// refused request came between, which may have taken
			// from it (HAProxy counts them).
			chained = false
			continue
		}
		if !chained {
			c.chains++
			if p.left > size-2 {
				c.whole++
			}
			chained = true
		}
		c.got += 1 + q.left - p.left
		c.d += gap
		n++
	}
	if n < pinRateMin || c.d.Seconds() < 2*float64(size)/perSecond {
		return refillRead{}, false
	}
	return c, true
}

// pinRateMin is how many pairs of answers the refill pinRate reads must
// rest on.
const pinRateMin = 20

// bucketRefillOver is how far over the rate learned the refill a bucket's
// counter showed may raise it (bucketRefill).
const bucketRefillOver = 1.1

// pinRateOver is how far over the refill its counter showed a bucket's
// learned rate is before pinRate bounds its pin: the refill read over a
// run steered by it is noisier than that, and a sliding counter taken
// for a bucket shows what it counted a window before, at the pace then
// (HAProxy's at 15 per 150ms with 16 workers: learned at 76/s, its
// refill read 52/s, and its pin at 74/s drew one 429 as the adaptive run
// did; bounded at 1.3 times, the pin lost 0.21 of its efficiency).
const pinRateOver = 1.5
