package main

import (
	"math"
	"time"

	"github.com/bulksend/bulksend/internal/limiters"
)

// The server's best: issue 11's sliding-window ideal, (N - L)/(L/W), is
// what a sliding LOG allows (exactly L in any W). HAProxy's http_req_rate
// and go-chi/httprate are sliding window COUNTERS: the previous window's
// count, weighed by how much of it the last W still covers, plus the
// current window's. Against a counter each window takes at most L, and
// once a window holds L the next one admits its requests only paced
// through it, so no client sends N rows faster than about N x W/L, less
// the part of the first window that went by before its first request.
// bestSeconds computes that bound exactly, for the table's "server's best"
// column, by sending every row at the first moment a faithful model of the
// server admits it (no round trip, unlimited concurrency).
//
// Why that greedy schedule is the best one: in both counters, a request
// accepted at s weighs 1 in the rate while s is in the current window, the
// share of the previous window still covered when it is in that one, and
// 0 after; sending it earlier never raises its weight at any later moment,
// and with no new requests the rate only falls as time goes by. So if the
// greedy schedule's first k-1 requests are no later than another
// schedule's, the rate greedy sees at that schedule's k-th moment is no
// higher, that moment admits greedy's k-th request too, and greedy's k-th
// is no later: by induction greedy finishes first. Refused requests count
// for nothing (httprate) or only raise the rate (HAProxy), and an idle
// spell long enough to restart HAProxy's windows costs at least a window,
// in which a paced client sends as much as the restart gives back
// (TestGreedyBeatsDelayedSchedules searches schedules for a counterexample).

// admitter is a rate limiter's decision on one request at a moment after
// the client's first request, and what accepting it counts.
type admitter interface {
	admits(at time.Duration) bool
	accept(at time.Duration)
}

// greedySchedule is when each of n requests is sent if each goes at the
// first moment m admits it, in nanoseconds after the first request; m must
// admit any request two windows of silence after the last one.
func greedySchedule(m admitter, n int, window time.Duration) []time.Duration {
	out := make([]time.Duration, 0, n)
	var last time.Duration
	for range n {
		last = firstAdmitted(m, last, window)
		m.accept(last)
		out = append(out, last)
	}
	return out
}

// firstAdmitted is the first moment from on at which m admits a request.
// With no request in between, admission only grows with time, and two
// windows of silence empty either counter: a binary search finds it.
func firstAdmitted(m admitter, from, window time.Duration) time.Duration {
	if m.admits(from) {
		return from
	}
	lo, hi := from, from+2*window
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if m.admits(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// haproxyCounter is HAProxy 2.6's http_req_rate(window) as a stick table
// tracks it (freq_ctr.c, update_freq_ctr_period and freq_ctr_total), with
// "http-request track-sc0 src" before "deny if { sc_http_req_rate(0) gt
// limit }": on HAProxy's millisecond clock, the first request opens a
// period; a request rotates it when it has ended (the count becomes the
// previous one, or both are dropped and the period restarts at the request
// when two periods went by); the request is counted, then the rate read is
// curr + floor(prev x remain/period), remain being what is left of the
// current period; over limit it is denied, but it was counted all the same.
// Times are whole milliseconds after the first request (HAProxy also
// clears the lowest bit of a restarted period's tick: at most 1 ms).
type haproxyCounter struct {
	limit      int64
	period     int64 // ms
	started    bool
	tick       int64 // ms: the current period's start
	curr, prev int64
}

func newHAProxyCounter(limit int, window time.Duration) *haproxyCounter {
	return &haproxyCounter{limit: int64(limit), period: window.Milliseconds()}
}

// update is update_freq_ctr_period: rotate if the period is over, count one.
func (h *haproxyCounter) update(ms int64) {
	switch {
	case !h.started:
		h.started, h.tick, h.prev, h.curr = true, ms&^1, 0, 0
	case ms-h.tick >= h.period:
		h.prev, h.curr = h.curr, 0
		h.tick += h.period
		if ms-h.tick >= h.period { // at least two periods went by
			h.prev, h.tick = 0, ms&^1
		}
	}
	h.curr++
}

// rate is read_freq_ctr_period at ms, after update.
func (h *haproxyCounter) rate(ms int64) int64 {
	remain := h.tick + h.period - ms
	return h.curr + h.prev*remain/h.period
}

// take is HAProxy's decision on a request at: counted, then allowed
// unless the rate is over the limit.
func (h *haproxyCounter) take(at time.Duration) bool {
	ms := at.Milliseconds()
	h.update(ms)
	return h.rate(ms) <= h.limit
}

func (h *haproxyCounter) admits(at time.Duration) bool {
	c := *h
	return c.take(at)
}

func (h *haproxyCounter) accept(at time.Duration) { h.take(at) }

// httprateCounter is go-chi/httprate v0.16.1's in-process limiter
// (limiter.go, local_counter.go): windows aligned to the instant the
// limiter was made, which is phase before the client's first request; the
// rate is prev x (W - elapsed)/W + curr, a request is refused when
// round(rate) + 1 > limit, and only accepted requests are counted.
type httprateCounter struct {
	limit      int
	window     time.Duration
	phase      time.Duration
	latest     int64 // index of the window curr counts; -1: none yet
	curr, prev int
}

func newHTTPRateCounter(limit int, window, phase time.Duration) *httprateCounter {
	return &httprateCounter{limit: limit, window: window, phase: phase % window, latest: -1}
}

// counts is Get: the current and previous windows' counts at index i.
func (h *httprateCounter) counts(i int64) (curr, prev int) {
	switch i {
	case h.latest:
		return h.curr, h.prev
	case h.latest + 1:
		return 0, h.curr
	}
	return 0, 0
}

func (h *httprateCounter) admits(at time.Duration) bool {
	abs := h.phase + at
	i := int64(abs / h.window)
	diff := abs - time.Duration(i)*h.window
	curr, prev := h.counts(i)
	rate := float64(prev)*(float64(h.window)-float64(diff))/float64(h.window) + float64(curr)
	return int(math.Round(rate))+1 <= h.limit
}

// accept is IncrementBy: evict the windows that ended, count one.
func (h *httprateCounter) accept(at time.Duration) {
	i := int64((h.phase + at) / h.window)
	h.curr, h.prev = h.counts(i)
	h.latest = i
	h.curr++
}

// bestSeconds is the least time, from the first request to the last, in
// which rows can pass the server sc names, the first request coming phase
// after the limiter started (only httprate's windows depend on it). For
// the sliding counters it is greedySchedule's last request; nginx's leaky
// bucket passes burst+1 at once (the request it serves on top of a full
// burst) and the rest at its rate; the windows of express-rate-limit,
// @fastify/rate-limit, rate-limiter-flexible and ulule/limiter open at the
// first request (go-limiter's keep the phase of the first request) and the
// buckets (the sandbox's, throttled's GCRA, tollbooth's x/time/rate) hold
// exactly their burst, so for them issue 11's ideal is already the
// server's best.
func (sc realScenario) bestSeconds(rows int, phase time.Duration) float64 {
	if rows <= 0 {
		return 0
	}
	var m admitter
	switch limiters.Kind(sc.Kind) {
	case limiters.HAProxy:
		m = newHAProxyCounter(sc.Limit, sc.window())
	case limiters.HTTPRate:
		m = newHTTPRateCounter(sc.Limit, sc.window(), phase)
	case limiters.Nginx:
		if sc.Queue || sc.Delay > 0 {
			// The queue answers what it holds at the rate: the ideal.
			return sc.idealSeconds(rows)
		}
		return max(float64(rows-sc.Burst-1), 0) / (float64(sc.Limit) / sc.WindowSeconds)
	default:
		return sc.idealSeconds(rows)
	}
	s := greedySchedule(m, rows, sc.window())
	return s[len(s)-1].Seconds()
}

// phaseMatters says whether the server's best depends on when the first
// request came after the limiter started: windows aligned to its start.
func (sc realScenario) phaseMatters() bool { return sc.Kind == string(limiters.HTTPRate) }
