package ratelimit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bulksend/bulksend/internal/testkit"
)

// TestOpeningAlone: with OpeningAlone (bulksend without --concurrency)
// the adaptive rate lets the run's first request go alone and the pool
// follows, together, once its answer is read (not at its Done, which comes
// first), a refusal's too, once the request ended without one, or aloneMax
// after it left, and a waiter asleep meanwhile wakes; never with the
// pool's size given (InFlightPinned), nor without the option.
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

	t.Run("until its answer is read", func(t *testing.T) {
		l, clk := newLimiter(Config{OpeningAlone: true})
		sent := first(t, l, clk)
		clk.Advance(2 * time.Millisecond)
		l.Done(sent, Accepted)
		l.Success(sent, Quota{Remaining: 99, Limit: 100}, true)
		poolGoes(t, l, 8, "after the first answer was read")
	})
	t.Run("through its Done until its answer is read", func(t *testing.T) {
		l, clk := newLimiter(Config{OpeningAlone: true})
		sent := first(t, l, clk)
		clk.Advance(2 * time.Millisecond)
		l.Done(sent, Accepted)
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
		l, clk := newLimiter(Config{OpeningAlone: true})
		sent := first(t, l, clk)
		clk.Advance(2 * time.Millisecond)
		l.Done(sent, Refused)
		l.ThrottleFor(sent, clk.Now(), time.Second, true)
		l.mu.Lock()
		opened := l.opened
		l.mu.Unlock()
		if !opened {
			t.Fatal("a refusal read did not count as the first answer")
		}
	})
	t.Run("until it ends without an answer", func(t *testing.T) {
		l, clk := newLimiter(Config{OpeningAlone: true})
		sent := first(t, l, clk)
		clk.Advance(2 * time.Millisecond)
		l.Done(sent, Failed)
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
		{"not with the pool's size given", Config{OpeningAlone: true, InFlightPinned: true}},
		{"not without the option", Config{}},
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
