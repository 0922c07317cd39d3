package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bulksend/bulksend/internal/testkit"
)

// TestOpeningAlone: with OpeningAlone (bulksend sets it) the adaptive
// rate lets the run's first request go alone and the pool follows,
// together, once its answer is read (not at its Done, which comes first),
// a refusal's too, once the request ended without one, or aloneMax after
// it left, and a waiter asleep meanwhile wakes; never without the option.
// With the pool's size given (InFlightPinned) too, and where the first
// answer's counter is held as free slots under the pool's size, a second
// request goes alone, once: a count fallen by it proves a quota, one back
// where it was holds the pool to what it said remained (TestPinnedAlone).
func TestOpeningAlone(t *testing.T) {
	ctx := context.Background()
	newLimiter := func(cfg Config) (*Limiter, *testkit.Clock) {
		clk := testkit.NewClock(limiterT0)
		cfg.Adaptive, cfg.InFlight, cfg.Clock, cfg.Rand = true, 8, clk, func() float64 { return 0.5 }
		return New(cfg), clk
	}
	held := waitHeld
	first := func(t *testing.T, l *Limiter, clk *testkit.Clock) time.Time {
		t.Helper()
		sent := clk.Now()
		if err := l.Wait(ctx); err != nil {
			t.Fatalf("Wait: %v", err)
		}
		if !held(t, l, clk) {
			t.Fatal("a second request left before the first one's answer was read")
		}
		return sent
	}
	// ended sends the first request alone and ends it as o 2ms later.
	ended := func(t *testing.T, o Outcome) (*Limiter, *testkit.Clock, time.Time) {
		t.Helper()
		l, clk := newLimiter(Config{OpeningAlone: true})
		sent := first(t, l, clk)
		clk.Advance(2 * time.Millisecond)
		l.Done(sent, o)
		return l, clk, sent
	}

	t.Run("until its answer is read", func(t *testing.T) {
		l, _, sent := ended(t, Accepted)
		l.Success(sent, Quota{Remaining: 99, Limit: 100}, true)
		poolGoes(t, l, 8, "after the first answer was read")
	})
	t.Run("through its Done until its answer is read", func(t *testing.T) {
		l, clk, sent := ended(t, Accepted)
		if !held(t, l, clk) {
			t.Fatal("a request left between the first one's Done and its answer's reading")
		}
		l.Success(sent, Quota{Remaining: -1}, false)
		if held(t, l, clk) {
			t.Fatal("held after the first answer was read")
		}
	})
	t.Run("a waiter asleep wakes when the answer is read", func(t *testing.T) {
		l, clk := newLimiter(Config{OpeningAlone: true})
		sent := first(t, l, clk)
		woke := make(chan error, 1)
		go func() { woke <- l.Wait(ctx) }()
		for deadline := time.Now().Add(5 * time.Second); clk.Pending() == 0; {
			if time.Now().After(deadline) {
				t.Fatal("the second request neither left nor slept")
			}
			time.Sleep(time.Millisecond)
		}
		l.Done(sent, Accepted)
		l.Success(sent, Quota{Remaining: -1}, false)
		select {
		case err := <-woke:
			if err != nil {
				t.Fatalf("Wait: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the waiter slept on after the first answer was read")
		}
	})
	t.Run("until a refusal is read", func(t *testing.T) {
		l, clk, sent := ended(t, Refused)
		l.ThrottleFor(sent, clk.Now(), time.Second, true)
		l.mu.Lock()
		opened := l.opened
		l.mu.Unlock()
		if !opened {
			t.Fatal("a refusal read did not count as the first answer")
		}
	})
	t.Run("until it ends without an answer", func(t *testing.T) {
		l, _, _ := ended(t, Failed)
		// No later request goes alone.
		poolGoes(t, l, 3, "after the first request failed")
	})
	t.Run("at most aloneMax", func(t *testing.T) {
		l, clk := newLimiter(Config{OpeningAlone: true})
		first(t, l, clk)
		clk.Advance(aloneMax - time.Millisecond)
		if !held(t, l, clk) {
			t.Fatal("the pool left before aloneMax with the first request unanswered")
		}
		clk.Advance(time.Millisecond)
		poolGoes(t, l, 3, "aloneMax after the first request left")
	})
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"not without the option", Config{}},
		{"not without the option, the pool's size given", Config{InFlightPinned: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, clk := newLimiter(tc.cfg)
			if err := l.Wait(ctx); err != nil {
				t.Fatalf("Wait: %v", err)
			}
			if held(t, l, clk) {
				t.Fatal("a second request held before the first one's answer")
			}
		})
	}
}

// waitHeld says whether l's Wait holds a request back now: a Wait whose
// context has ended returns at once if it may leave (the request then
// ends as failed at clk's time), and one held gives up holding no slot.
func waitHeld(t *testing.T, l *Limiter, clk *testkit.Clock) bool {
	t.Helper()
	before := l.InFlight()
	c, cancel := context.WithCancel(context.Background())
	cancel()
	err := l.Wait(c)
	if err == nil {
		l.Done(clk.Now(), Failed)
		return false
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait: %v", err)
	}
	if got := l.InFlight(); got != before {
		t.Fatalf("a cancelled waiter left %d in flight, want %d", got, before)
	}
	return true
}

// poolGoes fails t unless n requests leave l at once, each staying in
// flight with those before it: the pool goes together (when says after
// what).
func poolGoes(t *testing.T, l *Limiter, n int, when string) {
	t.Helper()
	for i := range n {
		c, cancel := context.WithCancel(context.Background())
		cancel()
		if err := l.Wait(c); err != nil {
			t.Fatalf("request %d of the pool held %s (%d in flight): %v", i+2, when, l.InFlight(), err)
		}
	}
}

// TestPinnedAlone: with the pool's size given (InFlightPinned, 8) the
// first request goes alone as without it. Its answer's counter over the
// pool lets the pool follow together; one under it, which one request in
// flight explains as slots or a quota alike, sends a second alone (once):
// its count fallen by one with nothing else in flight is a quota's, and
// one back where it was holds the pool to what it said remained, a
// counter at 0 one request at a time.
func TestPinnedAlone(t *testing.T) {
	newLimiter := func() (*Limiter, *testkit.Clock) {
		clk := testkit.NewClock(limiterT0)
		return New(Config{Adaptive: true, InFlight: 8, InFlightPinned: true, OpeningAlone: true, Clock: clk, Rand: func() float64 { return 0.5 }}), clk
	}
	// alone sends a request, which may leave at once, holding the next
	// back until its answer, q, is read.
	alone := func(t *testing.T, l *Limiter, clk *testkit.Clock, q Quota) {
		t.Helper()
		sent := clk.Now()
		c, cancel := context.WithCancel(context.Background())
		cancel()
		if err := l.Wait(c); err != nil {
			t.Fatalf("a request that should go alone was held (%d in flight): %v", l.InFlight(), err)
		}
		if !waitHeld(t, l, clk) {
			t.Fatalf("a request left beside one that went alone (%d in flight)", l.InFlight())
		}
		clk.Advance(2 * time.Millisecond)
		l.Done(sent, Accepted)
		l.Success(sent, q, true)
	}
	t.Run("a counter over the pool lets the pool follow", func(t *testing.T) {
		l, clk := newLimiter()
		alone(t, l, clk, Quota{Remaining: 99, Limit: 100})
		poolGoes(t, l, 8, "after the first answer, its counter over the pool")
	})
	t.Run("a count fallen by the second proves a quota", func(t *testing.T) {
		l, clk := newLimiter()
		alone(t, l, clk, Quota{Remaining: 4, Limit: 5})
		alone(t, l, clk, Quota{Remaining: 3, Limit: 5})
		l.mu.Lock()
		quota, opened := l.fl.quota, l.opened
		l.mu.Unlock()
		if !quota || !opened {
			t.Fatalf("after a count fallen by one with nothing else in flight: quota %v, opened %v; want both", quota, opened)
		}
		l.mu.Lock()
		held := l.burstHeld()
		l.mu.Unlock()
		if held {
			t.Fatal("the pool held to the lone answers' count once it was proved a quota's")
		}
	})
	t.Run("a refused second request ends the hold", func(t *testing.T) {
		l, clk := newLimiter()
		alone(t, l, clk, Quota{Remaining: 4, Limit: 5})
		sent := clk.Now()
		poolGoes(t, l, 1, "the second request, alone")
		clk.Advance(2 * time.Millisecond)
		l.Done(sent, Refused)
		l.ThrottleFor(sent, clk.Now(), 0, true)
		// The refusal's own pause may hold the pool; the lone answer's
		// count no longer does.
		l.mu.Lock()
		held, opened := l.burstHeld(), l.opened
		l.mu.Unlock()
		if held || !opened {
			t.Fatalf("after the second request alone was refused: held to the count %v, opened %v", held, opened)
		}
	})
	t.Run("the hold lasts the burst's round trip, its answers counted or not", func(t *testing.T) {
		l, clk := newLimiter()
		alone(t, l, clk, Quota{Remaining: 4, Limit: 5})
		alone(t, l, clk, Quota{Remaining: 4, Limit: 5})
		burst := clk.Now()
		poolGoes(t, l, 4, "after two answers said 4 remained")
		clk.Advance(2 * time.Millisecond)
		for range 4 {
			l.Done(burst, Accepted)
			l.Success(burst, Quota{Remaining: -1}, false)
		}
		poolGoes(t, l, 8, "once the burst's answers, without a counter, came")
	})
	// A count back where it was (slots, or a bucket refilled as fast):
	// once, then the pool goes no further than it said, a counter at 0
	// one request at a time.
	for _, tc := range []struct {
		name string
		q    Quota
		goes int
	}{
		{"a count back where it was holds the pool to it", Quota{Remaining: 4, Limit: 5}, 4},
		{"a counter at 0 lets one go at a time", Quota{Remaining: 0, Limit: 1}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, clk := newLimiter()
			alone(t, l, clk, tc.q)
			alone(t, l, clk, tc.q)
			poolGoes(t, l, tc.goes, fmt.Sprintf("after two answers said %d remained", tc.q.Remaining))
			if !waitHeld(t, l, clk) {
				t.Fatalf("request %d left where the lone answers said %d remained", tc.goes+1, tc.q.Remaining)
			}
		})
	}
}
