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
// latest one taken before it came within the interval of it (or within
// its aligned window); an answer that claims the quota back in R (less a
// second where the claim is to the whole second) came at least R before
// its window's end, and its window began before the request did.
//
// Where the closest pair taken is no closer than the lower bounds, the
// interval pinned is the least upper bound (and no less than the lower
// bounds). Both are read across the way to the server and back, whose
// time varies: a pair closer than the lower bounds by no more than the
// round trips seen vary is that noise, not another window; and a refusal
// sent that close before a request taken may have reached the server
// after it (on a loaded machine the later one took the token), so it
// bounds nothing. A bucket of one at 50/s, its closest pair 20.2 ms
// apart and a refusal 20.7 ms after a request taken, was taken for an
// aligned window and pinned at its whole-second claims' 1 per 1s, 50
// times under its rate (review 15 Q1); an aligned 1 per 1s whose closest
// pair is 45 ms under them, a hundred times its round trips' spread, is
// still read as aligned. Where it is closer, the windows are aligned (or
// the pair was noise): the claimed ends' bound, and nothing without
// claims (the bucket's flags stand). Whole-second
// claims of a window aligned on the clock bound it only to a second: an
// aligned 1 per 1s whose requests all came well into their windows reads
// as the closest pair, and the pin draws a 429 where a pair lands within
// one window.

// quotaOneMin is how many accepted requests quotaOneWindow reads a
// quota of one's interval from.
const quotaOneMin = 4

// quotaOneWindow is the interval W of a quota of one whose accepted
// requests are seen (in send order) and whose refused requests were sent
// at refused: see above. ok is false when too few were taken, or when
// the closest pair taken is closer than the lower bounds and no answer
// claimed a reset.
func quotaOneWindow(seen []seenSend, refused []time.Time) (time.Duration, bool) {
	if len(seen) < quotaOneMin {
		return 0, false
	}
	closest, ends := time.Duration(-1), time.Duration(-1)
	var low time.Duration
	var prev *seenSend
	for i := range seen {
		s := &seen[i]
		if i > 0 {
			if g := s.at.Sub(seen[i-1].at); closest < 0 || g < closest {
				closest = g
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
	spread := rttSpread(seen)
	for _, r := range refused {
		i, _ := slices.BinarySearchFunc(seen, r, func(s seenSend, t time.Time) int { return s.at.Compare(t) })
		if i == 0 || i < len(seen) && seen[i].at.Sub(r) <= spread {
			continue
		}
		acc := seen[i-1]
		low = max(low, r.Sub(acc.at)-acc.recv.Sub(acc.at))
	}
	if closest >= low-spread {
		if ends > 0 {
			return max(min(closest, ends), low), true
		}
		return closest, true
	}
	if ends <= 0 {
		return 0, false
	}
	return max(ends, low), true
}

// rttSpread is how much the round trips of the requests seen vary: the
// longest less the shortest.
func rttSpread(seen []seenSend) time.Duration {
	lo, hi := time.Duration(-1), time.Duration(0)
	for _, s := range seen {
		rtt := s.recv.Sub(s.at)
		if lo < 0 || rtt < lo {
			lo = rtt
		}
		hi = max(hi, rtt)
	}
	return max(hi-lo, 0)
}
