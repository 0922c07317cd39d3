package ratelimit

import (
	"context"
	"testing"
	"time"
)

// coarseClock is a clock whose timers fire as Go's do on Linux when the
// process is idle: on the whole milliseconds of the network poller, the
// span rounded up to one, and wakeLate after that. Wrapped in a
// coarseNapper it can Nap, ending napLate after the span. Waiting on it
// moves it: a timer's channel holds its firing time at once, so that one
// goroutine calling Wait over and over reads a deterministic schedule.
type coarseClock struct {
	now      time.Time
	wakeLate time.Duration
	napLate  time.Duration
	naps     int
}

func (c *coarseClock) Now() time.Time { return c.now }

func (c *coarseClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	if r := d % time.Millisecond; r > 0 {
		d += time.Millisecond - r
	}
	c.now = c.now.Add(d + c.wakeLate)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch, func() bool { return false }
}

// coarseNapper is a coarseClock that can nap.
type coarseNapper struct{ *coarseClock }

func (c coarseNapper) Nap(d time.Duration) {
	c.naps++
	c.now = c.now.Add(d + c.napLate)
}

// TestStrictScheduleCoarseTimers paces the flags pinned for a bucket of
// one (nginx's limit_req without a burst at 100r/s: --rate 94.1/s --burst
// 1, as the real run learned) by Wait itself, on a clock whose timers
// wake on whole milliseconds, as Go's do on Linux (a timer of 10.64ms
// fires after 11.2ms). Each departure of the tight strict schedule waits
// at least 98% of an interval after the one before, so such a late
// wake-up was paid on every request: 400 in 4.47s where 4.24s is the
// pace (real nginx-noburst pinned: 4.50s). It FAILED so. The wait now
// hands its last napLead from the timer to a nap of the thread
// (sleepFine), which ends within a tenth of a millisecond: the pace
// holds, and no two leave closer than 98% of an interval. A clock that
// cannot nap is paced as before.
func TestStrictScheduleCoarseTimers(t *testing.T) {
	const n = 400
	perSecond := 94.1
	run := func(clk Clock, base *coarseClock) (span, closest time.Duration) {
		l := New(Config{Rate: RateFromPerSecond(perSecond), Burst: 1, Clock: clk})
		var last time.Time
		for i := range n {
			if err := l.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
			now := base.now
			if i > 0 && (closest == 0 || now.Sub(last) < closest) {
				closest = now.Sub(last)
			}
			last = now
			// The answer comes a millisecond later, the usual round
			// trip: the schedule's lateness rule has nothing to push.
			l.Done(now, Accepted)
			l.Success(now, Quota{}, false)
			base.now = base.now.Add(time.Millisecond)
		}
		return last.Sub(simEpoch), closest
	}
	pace := time.Duration(float64(n-1) / perSecond * float64(time.Second))
	least := time.Duration(pacerStrictGap / perSecond * float64(time.Second))

	coarse := &coarseClock{now: simEpoch, wakeLate: 200 * time.Microsecond}
	span, _ := run(coarse, coarse)
	t.Logf("timers only: %d requests in %v (the pace: %v)", n, span, pace)
	if span < pace {
		t.Errorf("timers only: %v, under the pace's %v", span, pace)
	}

	fine := &coarseClock{now: simEpoch, wakeLate: 200 * time.Microsecond, napLate: 80 * time.Microsecond}
	span, closest := run(coarseNapper{fine}, fine)
	t.Logf("with naps: %d requests in %v (the pace: %v), closest %v (least allowed %v), %d naps", n, span, pace, closest, least, fine.naps)
	if over := span.Seconds()/pace.Seconds() - 1; over > 0.01 {
		t.Errorf("with naps: %v, %.1f%% over the pace's %v, want at most 1%%", span, 100*over, pace)
	}
	if closest < least {
		t.Errorf("with naps: two requests %v apart, under %v", closest, least)
	}
}
