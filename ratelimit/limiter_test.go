package ratelimit

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulksend/bulksend/internal/testkit"
)

// limiterT0 is where every fake clock starts.
var limiterT0 = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// waiters is a group of goroutines blocked in Limiter.Wait on a fake clock.
// The clock is only moved while every live waiter is asleep on a timer, so
// the clock reading a waiter takes the moment Wait returns is exactly the
// instant the limiter let it go.
type waiters struct {
	t     *testing.T
	clk   *testkit.Clock
	n     int
	mu    sync.Mutex
	times []time.Time
	errs  []error
	done  atomic.Int32
}

func startWaiters(t *testing.T, ctx context.Context, l *Limiter, clk *testkit.Clock, n int) *waiters {
	t.Helper()
	w := &waiters{t: t, clk: clk, n: n}
	for range n {
		go func() {
			err := l.Wait(ctx)
			at := clk.Now()
			w.mu.Lock()
			if err == nil {
				w.times = append(w.times, at)
			} else {
				w.errs = append(w.errs, err)
			}
			w.mu.Unlock()
			w.done.Add(1)
		}()
	}
	return w
}

// settle waits until every waiter of every group has either returned or is
// asleep on a timer.
func settle(t *testing.T, clk *testkit.Clock, groups ...*waiters) {
	t.Helper()
	testkit.Eventually(t, "waiters to return or sleep", func() bool {
		alive := 0
		for _, w := range groups {
			alive += w.n - w.finished()
		}
		return clk.Pending() == alive
	})
}

func (w *waiters) settle() {
	w.t.Helper()
	settle(w.t, w.clk, w)
}

// finished is how many have returned.
func (w *waiters) finished() int { return int(w.done.Load()) }

// driveAll moves the clock from deadline to deadline until every waiter of
// every group has returned, and gives their release times in order.
func driveAll(t *testing.T, clk *testkit.Clock, groups ...*waiters) []time.Time {
	t.Helper()
	for {
		settle(t, clk, groups...)
		all := true
		for _, w := range groups {
			all = all && w.finished() == w.n
		}
		if all {
			break
		}
		clk.AdvanceToNext()
	}
	var ts []time.Time
	for _, w := range groups {
		w.mu.Lock()
		for _, err := range w.errs {
			t.Errorf("Wait: %v", err)
		}
		ts = append(ts, w.times...)
		w.mu.Unlock()
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	return ts
}

func (w *waiters) driveAll() []time.Time {
	w.t.Helper()
	return driveAll(w.t, w.clk, w)
}

// waitOne runs one Wait to completion and returns when it let go.
func waitOne(t *testing.T, l *Limiter, clk *testkit.Clock) time.Time {
	t.Helper()
	ts := startWaiters(t, context.Background(), l, clk, 1).driveAll()
	if len(ts) != 1 {
		t.Fatalf("Wait did not succeed")
	}
	return ts[0]
}

func newTestLimiter(cfg Config) (*Limiter, *testkit.Clock) {
	clk := testkit.NewClock(limiterT0)
	cfg.Clock = clk
	if cfg.Rand == nil {
		cfg.Rand = func() float64 { return 0.5 }
	}
	return New(cfg), clk
}

// near reports whether a and b are within a microsecond: x/time/rate turns
// tokens into durations through float64 seconds.
func near(a, b time.Time) bool {
	d := a.Sub(b)
	return d > -time.Microsecond && d < time.Microsecond
}

func TestLimiterPacesFixedRate(t *testing.T) {
	tests := []struct {
		name  string
		rate  Rate
		burst int
		n     int
	}{
		{"4 per second", Rate{Count: 4, Per: time.Second}, 0, 12},
		{"10 per second", Rate{Count: 10, Per: time.Second}, 0, 25},
		{"300 per minute", Rate{Count: 300, Per: time.Minute}, 1, 20},
		{"one every 2s", Rate{Count: 1, Per: 2 * time.Second}, 0, 5},
		{"burst 3 then paced", Rate{Count: 5, Per: time.Second}, 3, 10},
		{"3 per second (inexact interval)", Rate{Count: 3, Per: time.Second}, 0, 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, clk := newTestLimiter(Config{Rate: tc.rate, Burst: tc.burst})
			// The bucket starts one token short of full (a margin for the
			// first request's trip to the server): burst-1 go at once.
			burst := max(tc.burst-1, 1)
			for i := range burst {
				if at := waitOne(t, l, clk); !at.Equal(limiterT0) {
					t.Fatalf("request %d of the initial burst went at %v, want at once", i, at.Sub(limiterT0))
				}
			}
			interval := time.Duration(float64(time.Second) / tc.rate.PerSecond())
			for i := 1; i <= tc.n; i++ {
				at := waitOne(t, l, clk)
				if want := limiterT0.Add(time.Duration(i) * interval); !near(at, want) {
					t.Fatalf("request %d after the burst went at %v, want %v", i, at.Sub(limiterT0), want.Sub(limiterT0))
				}
			}
			want := time.Duration(float64(tc.n) / tc.rate.PerSecond() * float64(time.Second))
			if got := clk.Now().Sub(limiterT0); got-want > time.Microsecond || want-got > time.Microsecond {
				t.Errorf("%d paced Waits took %v of clock, want %v", tc.n, got, want)
			}
		})
	}
}

func TestLimiterUnlimitedNeverWaits(t *testing.T) {
	l, clk := newTestLimiter(Config{})
	for i := range 100 {
		if err := l.Wait(context.Background()); err != nil {
			t.Fatalf("Wait %d: %v", i, err)
		}
	}
	if clk.Created() != 0 || !clk.Now().Equal(limiterT0) {
		t.Errorf("an unpaced limiter armed %d timers and moved the clock %v", clk.Created(), clk.Now().Sub(limiterT0))
	}
}

func TestLimiterOneThrottleEventFromManyWorkers(t *testing.T) {
	l, clk := newTestLimiter(Config{})
	const workers = 8
	reset := time.Second
	now := clk.Now()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if got := l.Throttle(now, reset, true); got != reset {
				t.Errorf("Throttle returned %v, want the hint %v", got, reset)
			}
		}()
	}
	close(start)
	wg.Wait()
	s := l.Stats()
	if s.Pauses != 1 || s.Throttles != workers {
		t.Errorf("Stats: Pauses %d, Throttles %d; want 1 pause for %d throttles", s.Pauses, s.Throttles, workers)
	}
	if s.Paused != reset {
		t.Errorf("Stats.Paused %v, want %v", s.Paused, reset)
	}
	if until, paused := l.Paused(now); !paused || !until.Equal(now.Add(reset)) {
		t.Errorf("Paused(now) = %v, %v; want until %v", until, paused, now.Add(reset))
	}

	// A Wait blocks until the pause ends, and not a moment longer.
	w := startWaiters(t, context.Background(), l, clk, 1)
	w.settle()
	clk.Advance(reset - time.Millisecond)
	w.settle()
	if w.finished() != 0 {
		t.Fatalf("Wait returned %v before the pause ended", clk.Now().Sub(now))
	}
	clk.Advance(time.Millisecond)
	ts := w.driveAll()
	if len(ts) != 1 || !ts[0].Equal(now.Add(reset)) {
		t.Errorf("Wait let go at %v, want at the end of the pause %v", ts, reset)
	}
}

func TestLimiterResumesPacedAfterPause(t *testing.T) {
	rate := Rate{Count: 10, Per: time.Second}
	interval := 100 * time.Millisecond
	pause := time.Second
	tests := []struct {
		name  string
		burst int
		// queued waiters are already asleep on the pacing when the throttle
		// answer arrives; late ones call Wait during the pause.
		queued, late int
	}{
		{"burst 1, all arrive during the pause", 1, 0, 6},
		{"burst 5, all arrive during the pause", 5, 0, 6},
		{"burst 20, all arrive during the pause", 20, 0, 8},
		{"burst 1, pool queued on the pace when throttled", 1, 4, 3},
		{"burst 8, pool queued on the pace when throttled", 8, 8, 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, clk := newTestLimiter(Config{Rate: rate, Burst: tc.burst})
			// Spend the initial bucket so queued waiters really queue.
			for range tc.burst {
				waitOne(t, l, clk)
			}
			var queued *waiters
			if tc.queued > 0 {
				queued = startWaiters(t, context.Background(), l, clk, tc.queued)
				queued.settle()
			}
			clk.Advance(interval / 2)
			before := clk.Created()
			throttleAt := clk.Now()
			l.Throttle(throttleAt, pause, true)
			pauseEnd := throttleAt.Add(pause)
			if queued != nil {
				// Every queued waiter is woken by the pause and sleeps again.
				testkit.Eventually(t, "queued waiters to re-arm", func() bool {
					return clk.Created()-before >= tc.queued-queued.finished()
				})
			}
			late := startWaiters(t, context.Background(), l, clk, tc.late)
			groups := []*waiters{late}
			if queued != nil {
				groups = append(groups, queued)
			}
			ts := driveAll(t, clk, groups...)
			if len(ts) != tc.queued+tc.late {
				t.Fatalf("%d Waits succeeded, want %d", len(ts), tc.queued+tc.late)
			}
			queuedDuringPause := 0
			for i, at := range ts {
				if at.Before(throttleAt) {
					queuedDuringPause++ // went before the throttle answer arrived
					continue
				}
				if at.Before(pauseEnd) {
					t.Errorf("request %d went at %v, inside the pause (ends %v)", i, at.Sub(throttleAt), pause)
				}
			}
			after := ts[queuedDuringPause:]
			for i := 1; i < len(after); i++ {
				if gap := after[i].Sub(after[i-1]); gap < interval-time.Microsecond {
					t.Errorf("after the pause requests %d and %d went %v apart, want >= %v (releases: %v)",
						i-1, i, gap, interval, offsets(after, pauseEnd))
				}
			}
			inFirstInterval := 0
			for _, at := range after {
				if at.Before(pauseEnd.Add(interval)) {
					inFirstInterval++
				}
			}
			if inFirstInterval > 1 {
				t.Errorf("%d requests in the first %v after the pause, want at most 1 (releases: %v)",
					inFirstInterval, interval, offsets(after, pauseEnd))
			}
			if last, limit := after[len(after)-1], pauseEnd.Add(time.Duration(len(after))*interval+time.Microsecond); last.After(limit) {
				t.Errorf("the last request went at %v after the pause, want the pool paced, not slower: %v",
					last.Sub(pauseEnd), offsets(after, pauseEnd))
			}
		})
	}
}

func offsets(ts []time.Time, from time.Time) []time.Duration {
	out := make([]time.Duration, len(ts))
	for i, at := range ts {
		out[i] = at.Sub(from)
	}
	return out
}

func TestLimiterLongerHintExtendsPause(t *testing.T) {
	tests := []struct {
		name      string
		second    time.Duration // the later answer's hint, 200ms after the first
		wantUntil time.Duration // from the first answer
	}{
		{"longer hint extends", 2 * time.Second, 2200 * time.Millisecond},
		{"shorter hint keeps the first", 100 * time.Millisecond, time.Second},
		{"same instant keeps it", 800 * time.Millisecond, time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, clk := newTestLimiter(Config{})
			t0 := clk.Now()
			l.Throttle(t0, time.Second, true)
			w := startWaiters(t, context.Background(), l, clk, 1)
			w.settle()
			clk.Advance(200 * time.Millisecond)
			before := clk.Created()
			l.Throttle(clk.Now(), tc.second, true)
			if tc.wantUntil > time.Second {
				testkit.Eventually(t, "the waiter to re-arm for the longer pause", func() bool { return clk.Created() > before })
			}
			s := l.Stats()
			if s.Pauses != 1 || s.Throttles != 2 {
				t.Errorf("Stats: Pauses %d, Throttles %d; want 1 and 2", s.Pauses, s.Throttles)
			}
			if s.Paused != tc.wantUntil {
				t.Errorf("Stats.Paused %v, want %v", s.Paused, tc.wantUntil)
			}
			if until, _ := l.Paused(clk.Now()); !until.Equal(t0.Add(tc.wantUntil)) {
				t.Errorf("pause ends at %v, want %v", until.Sub(t0), tc.wantUntil)
			}
			ts := w.driveAll()
			if len(ts) != 1 || !ts[0].Equal(t0.Add(tc.wantUntil)) {
				t.Errorf("Wait let go at %v, want %v", offsets(ts, t0), tc.wantUntil)
			}
		})
	}
}

func TestLimiterHintlessThrottleBacksOff(t *testing.T) {
	const ms = time.Millisecond
	draws := []float64{0.5, 0.25, 0.75, 0.5, 0.9}
	var next int
	var rndMu sync.Mutex
	rnd := func() float64 {
		rndMu.Lock()
		defer rndMu.Unlock()
		v := draws[next%len(draws)]
		next++
		return v
	}
	base, maxWait := 100*ms, 500*ms
	l, clk := newTestLimiter(Config{Rand: rnd, HintlessBase: base, HintlessMax: maxWait})
	t0 := clk.Now()
	steps := []struct {
		name       string
		at         time.Duration // from t0
		success    bool          // report a success instead of a throttle
		hint       time.Duration // with hinted
		hinted     bool
		wantWait   time.Duration
		wantUntil  time.Duration // end of the pause, from t0
		wantPauses int
	}{
		{name: "first bare 429: base * draw", at: 0, wantWait: 50 * ms, wantUntil: 50 * ms, wantPauses: 1},
		{name: "second bare 429 inside the pause: no new pause", at: 10 * ms, wantWait: 40 * ms, wantUntil: 50 * ms, wantPauses: 1},
		{name: "bare 429 after the pause doubles the ceiling", at: 60 * ms, wantWait: 50 * ms, wantUntil: 110 * ms, wantPauses: 2},
		{name: "third in a row: 4 * base * draw", at: 200 * ms, wantWait: 300 * ms, wantUntil: 500 * ms, wantPauses: 3},
		{name: "fourth is capped by HintlessMax", at: 600 * ms, wantWait: 250 * ms, wantUntil: 850 * ms, wantPauses: 4},
		{name: "a success steps the backoff down", at: 900 * ms, success: true, wantUntil: 850 * ms, wantPauses: 4},
		{name: "then the backoff is one step lower", at: 1000 * ms, wantWait: 450 * ms, wantUntil: 1450 * ms, wantPauses: 5},
		{name: "a hinted answer uses its hint", at: 1500 * ms, hint: 2 * time.Second, hinted: true, wantWait: 2 * time.Second, wantUntil: 3500 * ms, wantPauses: 6},
	}
	for _, st := range steps {
		now := t0.Add(st.at)
		if st.success {
			l.Success(now, Quota{Remaining: -1}, false)
		} else if got := l.Throttle(now, st.hint, st.hinted); got != st.wantWait {
			t.Errorf("%s: Throttle returned %v, want %v", st.name, got, st.wantWait)
		}
		if until, _ := l.Paused(now); !until.Equal(t0.Add(st.wantUntil)) {
			t.Errorf("%s: pause ends at %v, want %v", st.name, until.Sub(t0), st.wantUntil)
		}
		if got := l.Stats().Pauses; got != st.wantPauses {
			t.Errorf("%s: %d pauses, want %d", st.name, got, st.wantPauses)
		}
	}
	if next != len(draws) {
		t.Errorf("the limiter drew %d random numbers, want %d (one per new hintless pause)", next, len(draws))
	}
}

func TestLimiterWaitEndsWithContext(t *testing.T) {
	tests := []struct {
		name  string
		setup func(l *Limiter, clk *testkit.Clock)
		// after is how long the next Wait, made once the cancelled one is
		// gone, must take: a cancelled reservation gives its slot back.
		after time.Duration
	}{
		{
			name:  "blocked in a pause",
			setup: func(l *Limiter, clk *testkit.Clock) { l.Throttle(clk.Now(), time.Hour, true) },
			// The pause ends with an empty bucket: one interval more.
			after: time.Hour + time.Second,
		},
		{
			name: "blocked on the pace",
			setup: func(l *Limiter, clk *testkit.Clock) {
				_ = l.Wait(context.Background()) // spends the only token
			},
			after: time.Second,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, clk := newTestLimiter(Config{Rate: Rate{Count: 1, Per: time.Second}})
			tc.setup(l, clk)
			ctx, cancel := context.WithCancel(context.Background())
			w := startWaiters(t, ctx, l, clk, 1)
			w.settle()
			cancel()
			testkit.Eventually(t, "Wait to return after cancel", func() bool { return w.finished() == 1 })
			w.mu.Lock()
			errs := slices.Clone(w.errs)
			w.mu.Unlock()
			if len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
				t.Fatalf("Wait returned %v, want context.Canceled", errs)
			}
			if !clk.Now().Equal(limiterT0) {
				t.Errorf("the clock moved %v: Wait should end on cancel, not on a timer", clk.Now().Sub(limiterT0))
			}
			if clk.Pending() != 0 {
				t.Errorf("%d timers left armed after cancel", clk.Pending())
			}
			if at := waitOne(t, l, clk); at.Sub(limiterT0) != tc.after {
				t.Errorf("the next Wait went at %v, want %v", at.Sub(limiterT0), tc.after)
			}
		})
	}
}

// TestLimiterSuccessQuota: a quota in a successful answer never pauses the
// pool. A fixed --rate is the user's word; the adaptive rate takes
// "nothing remains" as a sign of the limit and slows its pace instead
// (TestAdaptive*). Pausing until a coarse reset cost a second per burst.
func TestLimiterSuccessQuota(t *testing.T) {
	tests := []struct {
		name      string
		q         Quota
		ok        bool
		wantPause time.Duration // 0: no pause
	}{
		{"nothing left: no pause", Quota{Limit: 10, Remaining: 0, Reset: 2 * time.Second}, true, 0},
		{"requests left: no pause", Quota{Limit: 10, Remaining: 3, Reset: 2 * time.Second}, true, 0},
		{"remaining unknown: no pause", Quota{Remaining: -1, Reset: 2 * time.Second}, true, 0},
		{"reset unknown: no pause", Quota{Remaining: 0}, true, 0},
		{"no quota headers: no pause", Quota{Remaining: 0, Reset: 2 * time.Second}, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, clk := newTestLimiter(Config{})
			t0 := clk.Now()
			l.Success(t0, tc.q, tc.ok)
			until, paused := l.Paused(t0)
			if paused != (tc.wantPause > 0) || (paused && !until.Equal(t0.Add(tc.wantPause))) {
				if !paused {
					t.Fatalf("not paused, want a pause of %v", tc.wantPause)
				}
				t.Fatalf("paused for %v, want %v", until.Sub(t0), tc.wantPause)
			}
			if at := waitOne(t, l, clk); !at.Equal(t0.Add(tc.wantPause)) {
				t.Errorf("Wait let go at %v, want %v", at.Sub(t0), tc.wantPause)
			}
		})
	}
}

// TestLimiterFixedWindow: --window fixed sends a window's first request
// alone and the rest of its quota with that request's answer (or a tenth
// of the window later without one), and the next quota a window later,
// timed from the window's first answer when one came (the server had the
// request by then), else from its first send with a small margin; a
// throttle answer ends the window, and the next one opens when the pause
// is over.
func TestLimiterFixedWindow(t *testing.T) {
	const per = 100 * time.Millisecond
	margin, hold := fixedWindowMargin(per), per/10
	tests := []struct {
		name     string
		throttle time.Duration // a throttle answer after the first request, pausing this long; 0 none
		answer   time.Duration // the first request's answer, this long after it; 0 none
		want     []time.Duration
	}{
		{"quota at each window's start, without answers", 0, 0,
			[]time.Duration{0, hold, hold, per + margin, per + margin + hold, per + margin + hold, 2 * (per + margin)}},
		{"the rest of the quota goes with the first answer", 0, 4 * time.Millisecond,
			[]time.Duration{0, 4 * time.Millisecond, 4 * time.Millisecond, 4*time.Millisecond + per}},
		{"a throttle answer opens the next window after the pause", 30 * time.Millisecond, 0,
			[]time.Duration{0, 30 * time.Millisecond, 30*time.Millisecond + hold, 30*time.Millisecond + hold, 30*time.Millisecond + per + margin}},
		{"a slow first answer times the window", 0, 40 * time.Millisecond,
			[]time.Duration{0, 40 * time.Millisecond, 40 * time.Millisecond, 40*time.Millisecond + per}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, clk := newTestLimiter(Config{Rate: Rate{Count: 3, Per: per}, FixedWindow: true})
			t0 := clk.Now()
			var got []time.Duration
			for i := range tc.want {
				got = append(got, waitOne(t, l, clk).Sub(t0))
				if i == 0 && tc.throttle > 0 {
					l.Throttle(clk.Now(), tc.throttle, true)
				}
				if i == 0 && tc.answer > 0 {
					clk.Advance(tc.answer)
					l.Success(t0, Quota{Remaining: -1}, false)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("requests left at %v, want %v", got, tc.want)
			}
		})
	}
}
