package ratelimit

import (
	"slices"
	"time"
)

// A quota of one with a counter (a fixed window of 1 per W, a bucket of
// one) reads 0 after every request it takes: its counter never shows a
// window's reset, and the adaptive rate steers it as a bucket of one. The
// bucket equation reads a counter k as the level k+1/2, which a bucket of
// one never holds after a request: no rate meets it, the search runs to its
// bound, and the flags "to pin them" were --rate 49.5/s --burst 1 against
// 1 per 1s, a 429 a row (a fixed window of 1 per 5s: --rate 2130/s).
//
// Such a server takes one request per interval W: a window's length, or
// the time a bucket of one takes to refill. Pinned as --rate 1/W --window
// fixed, each request goes alone, the next W after its answer: never two
// within W of each other, which is what all three allow (two sends of a
// clock-aligned window more than W apart are in different windows),
// wherever W is no shorter than the server's interval.
//
// Upper bounds on the interval: two requests taken in a row g apart say
// it is at most g (up to the jitter of their way to the server, which the
// pinned schedule's wait from an answer covers), unless the windows are
// aligned on the clock, where a request at one window's end and the next
// at the next one's start are taken however close. And where the answers
// claim when the quota is back, the claimed ends of two requests taken in
// a row are at least an interval apart, aligned or not: at most their
// distance (plus a second where a claim is to the whole second, which
// may be rounded either way). Lower bounds: a request refused g after the
// answers to those taken before it came within the interval of the
// latest of them (or within its aligned window); an answer that claims
// the quota back in R (less a second where the claim is to the whole
// second) came at least R before its window's end, and its window began
// before the request did.
//
// Where the closest pair taken is no closer than the lower bounds, the
// interval pinned is the least upper bound (and no less than the lower
// bounds). Both are read across the way to the server and back. A
// refusal bounds the interval from the latest answer to a request sent
// before it (the server took those by then), and only where no request
// taken left before its answer came (a later one may have reached the
// server first and taken the token: on a loaded machine two sent
// together arrive in either order); the closest pair is that close plus
// its later request's round trip at most. A bucket of one at 50/s, its
// closest pair 20.2 ms apart and a refusal 20.7 ms after a request
// taken, was taken for an aligned window and pinned at its whole-second
// claims' 1 per 1s, 50 times under its rate (review 15 Q1); the whole
// run's spread of round trips as the noise instead took a cold server's
// 300 ms first answers for it, and an aligned 1 per 1s for a bucket
// pinned over its rate (Q2). Where it is closer, the windows are aligned
// (or the pair was noise): the claimed ends' bound, and nothing without
// claims (the bucket's flags stand). Whole-second claims of a window
// aligned on the clock bound it only to a second: an aligned 1 per 1s
// whose requests all came well into their windows reads as the closest
// pair, and the pin draws a 429 where a pair lands within one window.

// quotaOneMin is how many accepted requests quotaOneWindow reads a
// quota of one's interval from.
const quotaOneMin = 4

// refusal is a refused request: when it was sent and its answer came.
type refusal struct{ sent, recv time.Time }

// quotaOneWindow is the interval W of a quota of one whose accepted
// requests are seen (in send order) and whose requests were refused:
// see above. ok is false when too few were taken, or when the closest
// pair taken is closer than the lower bounds and no answer claimed a
// reset.
func quotaOneWindow(seen []seenSend, refused []refusal) (time.Duration, bool) {
	if len(seen) < quotaOneMin {
		return 0, false
	}
	closest, ends := time.Duration(-1), time.Duration(-1)
	var low time.Duration
	var prev *seenSend
	// pairRTT is the round trip of the later of the closest pair: the
	// server took it that much after it left at most.
	var pairRTT time.Duration
	for i := range seen {
		s := &seen[i]
		if i > 0 {
			if g := s.at.Sub(seen[i-1].at); closest < 0 || g < closest {
				closest = g
				pairRTT = s.rtt()
			}
		}
		if s.end.IsZero() {
			continue
		}
		prec := time.Duration(0)
		if s.whole {
			prec = time.Second
		}
		low = max(low, s.end.Sub(s.recv)-prec)
		if prev != nil {
			if prev.whole {
				prec = time.Second
			}
			if d := s.end.Sub(prev.end) + prec; d > 0 && (ends < 0 || d < ends) {
				ends = d
			}
		}
		prev = s
	}
	if closest <= 0 {
		return 0, false
	}
	// took[i]: the server took the requests seen[:i+1] by their answers
	// at the latest.
	took := make([]time.Time, len(seen))
	for i, s := range seen {
		took[i] = s.recv
		if i > 0 {
			took[i] = latest(took[i-1], s.recv)
		}
	}
	for _, r := range refused {
		i, _ := slices.BinarySearchFunc(seen, r.sent, func(s seenSend, t time.Time) int { return s.at.Compare(t) })
		if i == 0 || i < len(seen) && seen[i].at.Before(r.recv) {
			continue
		}
		// It reached the server no earlier than it was sent.
		low = max(low, r.sent.Sub(took[i-1]))
	}
	if closest+pairRTT >= low {
		if ends > 0 {
			return max(min(closest, ends), low), true
		}
		return max(closest, low), true
	}
	if ends <= 0 {
		return 0, false
	}
	return max(ends, low), true
}

// rtt is the request's round trip.
func (s seenSend) rtt() time.Duration { return s.recv.Sub(s.at) }
