package ratelimit

import (
	"math"
	"time"

	"golang.org/x/time/rate"
)

// The adaptive rate. It starts unpaced (only the concurrency limit holds the
// pool back), so a server with a generous limit is never slowed down. The
// first throttle answer tells the server's burst: everything accepted before
// it. From then on the server's sustained rate is measured directly, as the
// requests it accepted per second since that first throttle: while the pool
// sends at least as fast as the server allows and pauses exactly as long as
// the server asks, that is the server's refill rate. The pace is set just
// under the measurement and creeps upward while nothing is throttled, so a
// raised limit is found again; the next throttle re-measures.
//
// This is multiplicative decrease to a measured rate rather than AIMD's blind
// halving: with a known burst and rate, AIMD's saw-tooth would throttle once
// per cycle forever and lose a quarter of the throughput on average, where
// the measured rate leaves a few percent.
const (
	// adaptiveMargin keeps the pace this far under the measured rate.
	adaptiveMargin = 0.97
	// adaptiveProbe is the relative increase per second without throttles.
	adaptiveProbe = 0.02
	// adaptiveMinSample is the least evidence a measurement needs.
	adaptiveMinSample    = 50 * time.Millisecond
	adaptiveMinSuccesses = 3
	// adaptiveFloor keeps a measurement gone wrong from stalling the run.
	adaptiveFloor = 0.1
)

type adaptive struct {
	ceiling rate.Limit

	start         time.Time
	successes     int // all accepted answers
	firstThrottle time.Time
	sinceFirst    int // accepted since the first throttle
	lastThrottle  time.Time
	lastProbe     time.Time

	burstSeen int
	measured  float64 // requests/second; 0 unknown
	pace      float64 // requests/second; +Inf unpaced
}

func newAdaptive(ceiling rate.Limit, burst int, now time.Time) *adaptive {
	return &adaptive{ceiling: ceiling, start: now, pace: math.Inf(1), burstSeen: burst}
}

func (a *adaptive) succeeded(now time.Time) {
	a.successes++
	if !a.firstThrottle.IsZero() {
		a.sinceFirst++
	}
	if a.measured == 0 {
		return
	}
	// Probe gently upward, in proportion to the time spent unthrottled.
	if dt := now.Sub(a.lastProbe); dt > 0 {
		a.pace *= 1 + adaptiveProbe*dt.Seconds()
		a.lastProbe = now
	}
}

func (a *adaptive) throttled(now time.Time) {
	if a.firstThrottle.IsZero() {
		a.firstThrottle = now
		a.burstSeen = a.successes
	}
	a.lastThrottle, a.lastProbe = now, now
	elapsed := now.Sub(a.firstThrottle)
	if elapsed < adaptiveMinSample || a.sinceFirst < adaptiveMinSuccesses {
		return
	}
	a.measured = float64(a.sinceFirst) / elapsed.Seconds()
	a.pace = math.Max(a.measured*adaptiveMargin, adaptiveFloor)
}

// limit is the pace for the token bucket, never above the ceiling.
func (a *adaptive) limit() rate.Limit {
	if math.IsInf(a.pace, 1) {
		return a.ceiling
	}
	if l := rate.Limit(a.pace); l < a.ceiling {
		return l
	}
	return a.ceiling
}

// burst keeps pacing smooth once a rate is known: the server's own burst is
// already spent by the time we pace, and sending it again would throttle.
func (a *adaptive) burst() int {
	return 1
}

func (a *adaptive) learned() (burst int, perSecond float64) {
	return a.burstSeen, a.measured
}
