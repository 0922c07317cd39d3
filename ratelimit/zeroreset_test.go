package ratelimit

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// fillTimer is a token bucket filled by a timer of its own, as Envoy's
// local rate limit is (local_ratelimit_impl.cc): full at start, perFill
// tokens added every interval from phase after simEpoch (the server's
// start, not our first request), capped at max. Every answer says
// x-ratelimit-limit, -remaining and -reset, the time to the next fill
// truncated to whole seconds (Envoy's DRAFT_VERSION_03 headers): "0" all
// through the last second before a fill.
type fillTimer struct {
	max, perFill    int
	interval, phase time.Duration

	started bool
	tokens  int
	fills   int64
}

func (f *fillTimer) serve(at time.Time) (bool, http.Header) {
	first := simEpoch.Add(f.phase)
	if !f.started {
		f.started, f.tokens = true, f.max
	}
	if !at.Before(first) {
		if due := int64(at.Sub(first)/f.interval) + 1; due > f.fills {
			f.tokens = min(f.max, f.tokens+int(due-f.fills)*f.perFill)
			f.fills = due
		}
	}
	ok := f.tokens > 0
	if ok {
		f.tokens--
	}
	next := first.Add(time.Duration(f.fills) * f.interval)
	h := http.Header{}
	h.Set("X-Ratelimit-Limit", strconv.Itoa(f.max))
	h.Set("X-Ratelimit-Remaining", strconv.Itoa(f.tokens))
	h.Set("X-Ratelimit-Reset", strconv.FormatInt(int64(next.Sub(at)/time.Second), 10))
	return ok, h
}

func runFillTimer(cfg Config, srv *fillTimer, workers, rows int) simResult {
	clk := &simClock{now: simEpoch}
	cfg.Clock, cfg.Rand = clk, rand.New(rand.NewPCG(1, 2)).Float64
	cfg.InFlight, cfg.InFlightPinned = workers, true
	s := &simulation{l: New(cfg), clk: clk, srv: srv, left: rows, ws: make([]simWorker, workers),
		rnd: rand.New(rand.NewPCG(1, 11)), until: 30 * time.Minute, lateWake: 2 * time.Millisecond,
		stall: 0.05, stallMax: 10 * time.Millisecond}
	return s.run(rows)
}

// TestPinnedZeroResetNoStorm: a pinned rate a little faster than a
// server whose reset is truncated to whole seconds. Each refusal in the
// last second before a fill says a wait of 0; honoured every time, it
// reopened the pinned window (or let the bucket's next request go) at
// once, and the pool was refused every round trip until the fill: 353
// 429s for 24 rows at 3 per 4.5s against 3 per 5s, 373 for 12 rows at
// 49.4/s against 1/s.
func TestPinnedZeroResetNoStorm(t *testing.T) {
	for _, c := range []struct {
		pin           Config
		max, fill     int
		iv            time.Duration
		workers, rows int
		allowed       int // 429s
	}{
		{Config{Rate: Rate{Count: 3, Per: 4488 * time.Millisecond}, FixedWindow: true}, 3, 3, 5 * time.Second, 1, 24, 12},
		{Config{Rate: Rate{Count: 3, Per: 4488 * time.Millisecond}, FixedWindow: true}, 3, 3, 5 * time.Second, 4, 24, 12},
		{Config{Rate: Rate{Count: 15, Per: 151 * time.Millisecond}, FixedWindow: true}, 15, 15, 150 * time.Millisecond, 2, 400, 40},
		// 50 times the server's rate: each row taken at a fill is
		// followed by a refusal or two before the next fill.
		{Config{Rate: Rate{Count: 494, Per: 10 * time.Second}, Burst: 1}, 1, 1, time.Second, 8, 12, 36},
	} {
		t.Run(fmt.Sprintf("%v fixed=%v b%d against %d+%d per %v c%d", c.pin.Rate, c.pin.FixedWindow, c.pin.Burst, c.max, c.fill, c.iv, c.workers), func(t *testing.T) {
			srv := &fillTimer{max: c.max, perFill: c.fill, interval: c.iv, phase: c.iv * 37 / 100}
			res := runFillTimer(c.pin, srv, c.workers, c.rows)
			t.Logf("%d 429s in %d requests, wall %v", res.throttled, res.requests, res.wall)
			if res.throttled > c.allowed {
				t.Errorf("%d 429s for %d rows: a wait of 0 proved wrong was honoured again", res.throttled, c.rows)
			}
		})
	}
}

// TestPinnedZeroResetNotMoreThanAdaptive: the flags the summary suggests
// against such a server draw no more 429s than the adaptive run did. (A
// bucket of one filled once a second is learned far over its rate, a
// refusal and an acceptance across a fill read as a refill: its pin
// draws more, the learning's defect, not the pause's.)
func TestPinnedZeroResetNotMoreThanAdaptive(t *testing.T) {
	for _, c := range []struct {
		max, fill     int
		iv            time.Duration
		workers, rows int
	}{{3, 3, 5 * time.Second, 1, 24}, {3, 3, 5 * time.Second, 4, 24}, {15, 15, 150 * time.Millisecond, 2, 400}} {
		t.Run(fmt.Sprintf("%d+%d per %v c%d", c.max, c.fill, c.iv, c.workers), func(t *testing.T) {
			mk := func() *fillTimer {
				return &fillTimer{max: c.max, perFill: c.fill, interval: c.iv, phase: c.iv * 37 / 100}
			}
			res := runFillTimer(Config{Adaptive: true}, mk(), c.workers, c.rows)
			pin, ok := res.stats.Pinned()
			if !ok {
				t.Fatalf("nothing to pin after %d requests (%d refused)", res.requests, res.throttled)
			}
			pr := runFillTimer(pin, mk(), c.workers, c.rows)
			t.Logf("adaptive %d 429s in %d requests; pinned %v b%d fixed=%v: %d in %d",
				res.throttled, res.requests, pin.Rate, pin.Burst, pin.FixedWindow, pr.throttled, pr.requests)
			if pr.throttled > res.throttled {
				t.Errorf("pinned flags drew %d 429s, the adaptive run %d", pr.throttled, res.throttled)
			}
		})
	}
}
