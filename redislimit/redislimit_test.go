package redislimit

import (
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/bulksend/bulksend/internal/testkit"
	"github.com/bulksend/bulksend/ratelimit"
)

func TestMain(m *testing.M) {
	// go-redis logs failed dials on its own; the outage tests cause many.
	redis.SetLogger(quietLogger{})
	os.Exit(m.Run())
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// t0 is where every virtual clock starts.
var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// newVirtualClock returns a ratelimit.Clock whose timers fire at once and move
// time forward by their duration, its own and miniredis' TIME alike, so a
// Wait returns at the virtual instant its slot opens and nothing really
// sleeps. It is for tests that call Wait from one goroutine at a time.
func newVirtualClock(m *miniredis.Miniredis) *testkit.Clock {
	m.SetTime(t0)
	c := testkit.NewJumpClock(t0)
	c.OnMove(m.SetTime)
	return c
}

// newMini starts a miniredis for the test and a client on it that does not
// retry on its own, so an outage shows up at once.
func newMini(t *testing.T) (*miniredis.Miniredis, *redis.Client) {
	t.Helper()
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	return m, rdb
}

func mustRate(t *testing.T, s string) ratelimit.Rate {
	t.Helper()
	r, err := ratelimit.ParseRate(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// offsets are the virtual times, from t0, at which successive Waits of the
// given limiters (taking turns) returned.
func offsets(t *testing.T, c *testkit.Clock, n int, lims ...*Limiter) []time.Duration {
	t.Helper()
	var out []time.Duration
	for i := range n {
		if err := lims[i%len(lims)].Wait(context.Background()); err != nil {
			t.Fatalf("wait %d: %v", i, err)
		}
		out = append(out, c.Now().Sub(t0))
	}
	return out
}

func ms(n ...int) []time.Duration {
	out := make([]time.Duration, len(n))
	for i, v := range n {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWaitPacesEveryLimiterAsOne(t *testing.T) {
	tests := []struct {
		name    string
		rate    string
		burst   int
		keys    []string
		n       int
		want    []time.Duration
		wantPer float64
	}{
		{name: "burst one short, then paced, two processes", rate: "100/s", burst: 3, keys: []string{"q", "q"}, n: 6,
			want: ms(0, 0, 10, 20, 30, 40), wantPer: 100},
		{name: "no burst is strict pacing", rate: "10/s", keys: []string{"q", "q", "q"}, n: 4,
			want: ms(0, 100, 200, 300), wantPer: 10},
		{name: "no rate is unpaced", rate: "0", keys: []string{"q", "q"}, n: 4,
			want: ms(0, 0, 0, 0)},
		{name: "separate keys are separate quotas", rate: "10/s", keys: []string{"a", "b"}, n: 4,
			want: ms(0, 0, 100, 100), wantPer: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, rdb := newMini(t)
			c := newVirtualClock(m)
			var lims []*Limiter
			for _, k := range tt.keys {
				lims = append(lims, New(rdb, k, Config{Rate: mustRate(t, tt.rate), Burst: tt.burst, Clock: c}))
			}
			if got := offsets(t, c, tt.n, lims...); !equalDurations(got, tt.want) {
				t.Errorf("waits returned at %v, want %v", got, tt.want)
			}
			if tt.wantPer > 0 {
				if got := lims[0].Stats().Rate; got != tt.wantPer {
					t.Errorf("Stats().Rate = %v, want %v", got, tt.wantPer)
				}
			}
		})
	}
}

func TestThrottlePausesEveryProcess(t *testing.T) {
	tests := []struct {
		name    string
		waits   []time.Duration // hinted throttles reported by a, all at t0
		want    []time.Duration // b's next waits, from t0
		paused  time.Duration
		started int // pauses a started
		seen    int // pauses b saw
	}{
		{name: "one pause, then paced from an empty bucket", waits: ms(1000),
			want: ms(1010, 1020, 1030), paused: time.Second, started: 1, seen: 1},
		{name: "a pause only grows", waits: ms(2000, 500),
			want: ms(2010, 2020), paused: 2 * time.Second, started: 1, seen: 1},
		{name: "a zero wait still empties the bucket", waits: ms(0),
			want: ms(10, 20, 30), started: 1, seen: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, rdb := newMini(t)
			c := newVirtualClock(m)
			cfg := Config{Rate: mustRate(t, "100/s"), Burst: 5, Clock: c}
			a, b := New(rdb, "q", cfg), New(rdb, "q", cfg)
			for _, w := range tt.waits {
				if got := a.Throttle(c.Now(), w, true); got != w {
					t.Errorf("Throttle returned %v, want %v", got, w)
				}
			}
			if until, paused := a.Paused(c.Now()); tt.paused > 0 && (!paused || until != t0.Add(tt.paused)) {
				t.Errorf("a.Paused = %v, %v; want until %v", until, paused, t0.Add(tt.paused))
			}
			if got := offsets(t, c, len(tt.want), b); !equalDurations(got, tt.want) {
				t.Errorf("b's waits returned at %v, want %v", got, tt.want)
			}
			for _, l := range []struct {
				name   string
				lim    *Limiter
				pauses int
			}{{"a", a, tt.started}, {"b", b, tt.seen}} {
				s := l.lim.Stats()
				if s.Pauses != l.pauses || s.Paused != tt.paused {
					t.Errorf("%s: %d pauses, %v paused; want %d, %v", l.name, s.Pauses, s.Paused, l.pauses, tt.paused)
				}
			}
			if s := a.Stats(); s.Throttles != len(tt.waits) {
				t.Errorf("a: %d throttles, want %d", s.Throttles, len(tt.waits))
			}
			if s := b.Stats(); s.Throttles != 0 {
				t.Errorf("b: %d throttles, want 0", s.Throttles)
			}
		})
	}
}

func TestHintlessThrottleSharesOneBackoff(t *testing.T) {
	m, rdb := newMini(t)
	c := newVirtualClock(m)
	cfg := Config{Rate: mustRate(t, "100/s"), Clock: c, Rand: func() float64 { return 0.5 },
		HintlessBase: 100 * time.Millisecond}
	a, b := New(rdb, "q", cfg), New(rdb, "q", cfg)
	steps := []struct {
		name string
		at   time.Duration
		want time.Duration
	}{
		{name: "first: half of the base", at: 0, want: 50 * time.Millisecond},
		{name: "while paused: the rest of the pause", at: 20 * time.Millisecond, want: 30 * time.Millisecond},
	}
	for _, s := range steps {
		if got := a.Throttle(t0.Add(s.at), 0, false); got != s.want {
			t.Errorf("%s: Throttle = %v, want %v", s.name, got, s.want)
		}
	}
	if got := offsets(t, c, 1, b); !equalDurations(got, ms(60)) {
		t.Errorf("b waited until %v, want the 50ms pause and one interval", got)
	}
	a.Success(c.Now(), ratelimit.Quota{}, false)
	// The success eased the backoff back to its first step.
	if got := a.Throttle(c.Now(), 0, false); got != 50*time.Millisecond {
		t.Errorf("after a success: Throttle = %v, want 50ms", got)
	}
}

func TestWaitHoldsWhileRedisIsDown(t *testing.T) {
	m, rdb := newMini(t)
	var (
		mu      sync.Mutex
		reports []string
	)
	onOutage := func(err error, _ time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			reports = append(reports, "down")
		} else {
			reports = append(reports, "up")
		}
	}
	l := New(rdb, "q", Config{Rate: mustRate(t, "1000/s"), RetryBase: time.Millisecond, RetryMax: 5 * time.Millisecond,
		OnOutage: onOutage})
	if err := l.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	m.Close()
	done := make(chan error, 1)
	go func() { done <- l.Wait(context.Background()) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if n, _ := l.Errors(); n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Wait never tried Redis again")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("Wait returned (%v) while Redis was down", err)
	default:
	}
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Wait after Redis came back: %v", err)
	}
	if _, last := l.Errors(); last == nil || !strings.Contains(last.Error(), "redis limiter") {
		t.Errorf("last error %v, want a redis limiter error", last)
	}
	// One report when Redis went away, however many calls failed, and
	// one when it came back.
	mu.Lock()
	defer mu.Unlock()
	if n, _ := l.Errors(); n < 3 || !slices.Equal(reports, []string{"down", "up"}) {
		t.Errorf("%d failed calls reported as %q, want down then up", n, reports)
	}
}

func TestWaitEndsWithItsContext(t *testing.T) {
	tests := []struct {
		name  string
		setup func(m *miniredis.Miniredis, l *Limiter)
	}{
		{name: "redis down", setup: func(m *miniredis.Miniredis, _ *Limiter) { m.Close() }},
		{name: "paused", setup: func(_ *miniredis.Miniredis, l *Limiter) { l.Throttle(time.Now(), time.Hour, true) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, rdb := newMini(t)
			l := New(rdb, "q", Config{RetryBase: time.Millisecond, RetryMax: 5 * time.Millisecond})
			tt.setup(m, l)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- l.Wait(ctx) }()
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Wait = %v, want context.Canceled", err)
			}
		})
	}
}

func TestThrottleWithRedisDownPausesThisProcess(t *testing.T) {
	m, rdb := newMini(t)
	l := New(rdb, "q", Config{OpTimeout: time.Second})
	m.Close()
	now := time.Now()
	if got := l.Throttle(now, time.Minute, true); got != time.Minute {
		t.Errorf("Throttle = %v, want 1m", got)
	}
	if until, paused := l.Paused(now); !paused || !until.Equal(now.Add(time.Minute)) {
		t.Errorf("Paused = %v, %v; want until %v", until, paused, now.Add(time.Minute))
	}
	if n, _ := l.Errors(); n != 1 {
		t.Errorf("%d errors, want 1", n)
	}
}

// TestConcurrentWaitersShareThePace checks with real time that many waiters
// in two limiters never get more than burst + rate*elapsed slots: a lower
// bound on the elapsed time, which a slow machine only makes easier.
func TestConcurrentWaitersShareThePace(t *testing.T) {
	_, rdb := newMini(t)
	const (
		perSecond = 2000
		burst     = 10
		waiters   = 4
		each      = 25
	)
	cfg := Config{Rate: mustRate(t, "2000/s"), Burst: burst}
	lims := []*Limiter{New(rdb, "q", cfg), New(rdb, "q", cfg)}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, len(lims)*waiters)
	for _, l := range lims {
		for range waiters {
			wg.Go(func() {
				for range each {
					if err := l.Wait(context.Background()); err != nil {
						errs <- err
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := len(lims) * waiters * each
	least := time.Duration(float64(total-burst) / perSecond * float64(time.Second))
	if el := time.Since(start); el < least-2*time.Millisecond {
		t.Errorf("%d slots in %v, less than the %v the shared pace allows", total, el, least)
	}
}

func TestOpen(t *testing.T) {
	m := miniredis.RunT(t)
	closed := closedPort(t)
	tests := []struct {
		name    string
		url     string
		wantErr string
	}{
		{name: "reachable", url: "redis://" + m.Addr() + "/0?key=q"},
		{name: "unreachable", url: "redis://bob:s3cr3t-pw@" + closed + "/0?key=q", wantErr: "cannot reach redis"},
		{name: "no key", url: "redis://bob:s3cr3t-pw@" + m.Addr() + "/0", wantErr: "?key=NAME"},
		{name: "wrong scheme", url: "http://bob:s3cr3t-pw@" + m.Addr() + "/0?key=q", wantErr: "want redis://"},
		{name: "bad db", url: "redis://bob:s3cr3t-pw@" + m.Addr() + "/x?key=q", wantErr: "invalid database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			l, err := Open(ctx, tt.url, Config{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if err := l.Wait(ctx); err != nil {
					t.Error(err)
				}
				if err := l.Close(); err != nil {
					t.Error(err)
				}
				return
			}
			if err == nil {
				l.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q, want it to mention %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
