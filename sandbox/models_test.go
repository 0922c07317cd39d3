package sandbox

import (
	"slices"
	"testing"
	"time"
)

// TestModels walks each limiter model through requests on an injected
// clock (t0 is on a whole second, so aligned windows start there).
func TestModels(t *testing.T) {
	ok := func(remaining, reset string) step { return step{status: 200, remaining: remaining, reset: reset} }
	refused := func(reset string) step { return step{status: 429, reset: reset} }
	at := func(d time.Duration, s step) step { s.advance = d; return s }
	tests := []struct {
		name  string
		cfg   Config
		steps []step
	}{{
		name: "leaky bucket: burst+1 at once, then one per 1/rate",
		cfg:  Config{Model: ModelLeaky, Burst: 2, Rate: 1},
		steps: []step{
			ok("2", "1s"), ok("1", "2s"), ok("0", "3s"), refused("1s"), refused("1s"),
			at(time.Second, ok("0", "3s")), refused("1s"),
		},
	}, {
		name: "leaky bucket, refused requests count: hammering digs deeper",
		cfg:  Config{Model: ModelLeaky, Burst: 1, Rate: 1, RefusedCount: true},
		steps: []step{
			// Without counting, each would say 1s.
			ok("1", "1s"), ok("0", "2s"), refused("2s"), refused("3s"),
			at(3*time.Second, ok("0", "2s")),
		},
	}, {
		name: "fixed window from the first request",
		cfg:  Config{Model: ModelFixed, Burst: 2, Window: time.Second},
		steps: []step{
			at(400*time.Millisecond, ok("1", "1s")), ok("0", "1s"), refused("1s"),
			at(999*time.Millisecond, refused("1ms")),
			at(time.Millisecond, ok("1", "1s")),
		},
	}, {
		name: "fixed window aligned to the clock",
		cfg:  Config{Model: ModelFixed, Aligned: true, Burst: 2, Window: time.Second},
		steps: []step{
			at(400*time.Millisecond, ok("1", "600ms")), ok("0", "600ms"), refused("600ms"),
			at(600*time.Millisecond, ok("1", "1s")),
		},
	}, {
		name: "fixed window: refused requests counting change nothing",
		cfg:  Config{Model: ModelFixed, Aligned: true, Burst: 1, Window: time.Second, RefusedCount: true},
		steps: []step{
			ok("0", "1s"), refused("1s"), refused("1s"),
			at(time.Second, ok("0", "1s")),
		},
	}, {
		name: "sliding log: exactly burst in any window",
		cfg:  Config{Model: ModelSliding, Burst: 2, Window: time.Second},
		steps: []step{
			ok("1", "1s"), at(400*time.Millisecond, ok("0", "1s")),
			at(100*time.Millisecond, refused("500ms")),
			at(500*time.Millisecond, ok("0", "1s")), // the first left at 1s
			refused("400ms"),
		},
	}, {
		name: "sliding log without refused counting: both fit when the window has passed",
		cfg:  Config{Model: ModelSliding, Burst: 2, Window: time.Second},
		steps: []step{
			ok("1", "1s"), ok("0", "1s"),
			at(900*time.Millisecond, refused("100ms")),
			at(100*time.Millisecond, ok("1", "1s")), ok("0", "1s"),
		},
	}, {
		name: "sliding log, refused requests count: the refused one still fills the window",
		cfg:  Config{Model: ModelSliding, Sliding: SlidingLog, Burst: 2, Window: time.Second, RefusedCount: true},
		steps: []step{
			ok("1", "1s"), ok("0", "1s"),
			at(900*time.Millisecond, refused("100ms")),
			at(100*time.Millisecond, ok("0", "1s")), refused("900ms"),
		},
	}, {
		name: "sliding counter: the previous window weighs by its overlap",
		cfg:  Config{Model: ModelSliding, Sliding: SlidingCounter, Burst: 10, Window: time.Second},
		// httprate rounds the weighed count: one more fits while it is
		// under 9.5, from 1.05s (shown rounded up to the millisecond).
		steps: append(burstOf(10), refused("1.051s"),
			// At 1.1s the previous window's 10 weigh 9: one fits; the next
			// once 10(1-d) + 1 < 9.5, at 1.15s.
			at(1100*time.Millisecond, ok("0", "900ms")), refused("51ms"),
			at(100*time.Millisecond, ok("0", "800ms"))),
	}, {
		name: "sliding counter, refused requests count",
		cfg:  Config{Model: ModelSliding, Sliding: SlidingCounter, Burst: 10, Window: time.Second, RefusedCount: true},
		// Each refused request counts before its wait is worked out: 11 in
		// this window fit in the next after 1s + (1 - 9.5/11) of one.
		steps: append(burstOf(10), refused("1.137s"), refused("1.209s"), refused("1.27s"), refused("1.322s"),
			// 14 counted: at 1.1s they weigh 12.6, so nothing fits yet
			// (without counting, one would); with the refused one at 1.1s
			// counted too, once 14(1-d) + 1 < 9.5, at 1.393s.
			at(1100*time.Millisecond, refused("293ms"))),
	}, {
		name: "sliding counter from the first request, as HAProxy's",
		cfg:  Config{Model: ModelSliding, Sliding: SlidingCounterFirst, Burst: 10, Window: time.Second},
		steps: append(append([]step{at(400*time.Millisecond, ok("9", "1s"))}, burstOf(9)...), refused("1.1s"),
			// At 1.5s the window that opened at 0.4s is 100ms behind: its
			// 10 weigh 9 (aligned on the clock they would weigh 5).
			at(1100*time.Millisecond, ok("0", "900ms")), refused("100ms"),
			// Two windows without a request: the next opens a new one.
			at(3*time.Second, ok("9", "1s"))),
	}, {
		name: "sliding counter from the first request weighs in whole requests",
		cfg:  Config{Model: ModelSliding, Sliding: SlidingCounterFirst, Burst: 3, Window: time.Second, RefusedCount: true},
		// 4 counted (one refused); at 1.3s they weigh 2.8, counted as 2.
		steps: append(burstOf(3), refused("1.5s"),
			at(1300*time.Millisecond, ok("0", "700ms")), refused("700ms")),
	}, {
		name:  "concurrency: a slot is free again once answered",
		cfg:   Config{Model: ModelConcurrency, Burst: 1},
		steps: []step{{status: 200, remaining: "0"}, {status: 200, remaining: "0"}, {status: 200, remaining: "0"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runSteps(t, tt.cfg, tt.steps) })
	}
}

// burstOf is n accepted requests at one instant.
func burstOf(n int) []step {
	s := make([]step, n)
	for i := range s {
		s[i] = step{status: 200}
	}
	return s
}

// TestConcurrencyLimit: while burst requests are in flight the next is
// refused; a released slot lets one more in.
func TestConcurrencyLimit(t *testing.T) {
	l := newLimiter(Config{Model: ModelConcurrency, Burst: 2}.limiterConfig())
	steps := []struct {
		name    string
		release bool
		allowed bool
	}{
		{"first", false, true},
		{"second", false, true},
		{"third while two are in flight", false, false},
		{"after one answered", true, true},
		{"full again", false, false},
	}
	for _, st := range steps {
		if st.release {
			l.release()
		}
		if d := l.take(t0); d.allowed != st.allowed || d.held != st.allowed {
			t.Fatalf("%s: allowed %v held %v, want %v", st.name, d.allowed, d.held, st.allowed)
		}
	}
}

// FuzzModels drives each time-based model with requests at fuzzed gaps and
// checks what it promises: never more than its quota over any stretch of
// time (a sliding log exactly Burst per Window), and a refused request's
// wait is honest: after exactly that wait, with nothing in between, the
// next request is allowed.
func FuzzModels(f *testing.F) {
	f.Add(uint8(0), []byte{0, 0, 0, 0, 0, 10, 0, 0, 200})
	f.Add(uint8(1), []byte{0, 0, 0, 5, 5, 5, 5, 5, 5, 5})
	f.Add(uint8(2), []byte{1, 1, 1, 1, 90, 0, 0, 0, 0, 0})
	f.Add(uint8(3), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 33, 0})
	f.Add(uint8(4), []byte{7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7})
	configs := []struct {
		cfg Config
		// slack is how many more than Burst any Window may hold (a
		// bucket's Window is the time it takes to refill).
		slack int
	}{
		{Config{Model: ModelBucket, Burst: 4, Rate: 40}, 4},                                                 // its size, and 100ms of refill
		{Config{Model: ModelLeaky, Burst: 4, Rate: 40}, 5},                                                  // the same, and nginx's extra one
		{Config{Model: ModelFixed, Burst: 4, Window: 100 * time.Millisecond}, 4},                            // two windows' worth across a boundary
		{Config{Model: ModelSliding, Burst: 4, Window: 100 * time.Millisecond}, 0},                          // exact
		{Config{Model: ModelSliding, Sliding: SlidingCounter, Burst: 4, Window: 100 * time.Millisecond}, 4}, // an estimate
	}
	f.Fuzz(func(t *testing.T, pick uint8, gaps []byte) {
		c := configs[int(pick)%len(configs)]
		cfg := c.cfg
		window := cfg.Window
		if window == 0 {
			window = time.Duration(float64(cfg.Burst) / cfg.Rate * float64(time.Second))
		}
		l := newLimiter(cfg.limiterConfig())
		now := t0.Add(37 * time.Millisecond) // off the aligned grid
		var allowed []time.Time
		for i, g := range gaps {
			now = now.Add(time.Duration(g) * window / 50)
			d := l.take(now)
			if d.allowed {
				allowed = append(allowed, now)
				n := 0
				for _, a := range allowed {
					if now.Sub(a) < window {
						n++
					}
				}
				if n > cfg.Burst+c.slack {
					t.Fatalf("request %d: %d allowed within %v, quota %d (+%d)", i, n, window, cfg.Burst, c.slack)
				}
				continue
			}
			if d.reset <= 0 {
				t.Fatalf("request %d refused with a wait of %v", i, d.reset)
			}
			// A copy of the limiter answers the honest-wait question, so
			// the fuzzed sequence goes on as it was.
			probe := *l
			probe.log = slices.Clone(l.log)
			if again := probe.take(now.Add(d.reset)); !again.allowed {
				t.Fatalf("request %d refused with a wait of %v, and refused again after it (wait %v)", i, d.reset, again.reset)
			}
		}
	})
}

// TestModelReplay: a Model decides as the server's limiter does, on the
// times it is given.
func TestModelReplay(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name string
		cfg  Config
		at   []time.Duration
		want []bool
	}{
		{"bucket of 2 at 10/s", Config{Burst: 2, Rate: 10}, []time.Duration{0, 0, 0, 100 * time.Millisecond, 100 * time.Millisecond},
			[]bool{true, true, false, true, false}},
		{"fixed window of 2 per 100ms", Config{Model: ModelFixed, Burst: 2, Window: 100 * time.Millisecond},
			[]time.Duration{0, 10 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond},
			[]bool{true, true, false, true, true}},
		{"sliding log of 2 per 100ms", Config{Model: ModelSliding, Burst: 2, Window: 100 * time.Millisecond},
			[]time.Duration{0, 50 * time.Millisecond, 99 * time.Millisecond, 100 * time.Millisecond, 120 * time.Millisecond},
			[]bool{true, true, false, true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewModel(tt.cfg)
			for i, d := range tt.at {
				if got := m.Allow(t0.Add(d)); got != tt.want[i] {
					t.Errorf("request %d at %v: allowed %v, want %v", i, d, got, tt.want[i])
				}
			}
		})
	}
	// Follow counts what the server decided: a bucket that thinks it is
	// empty but was told the request went through is one further down.
	m := NewModel(Config{Burst: 1, Rate: 10})
	if !m.Follow(t0, true) || m.Follow(t0.Add(50*time.Millisecond), true) || m.Follow(t0.Add(150*time.Millisecond), false) ||
		!m.Follow(t0.Add(250*time.Millisecond), true) {
		t.Error("Follow: the bucket did not follow the answers given")
	}
	if NewModel(Config{}) != nil || NewModel(Config{Model: ModelFixed, Burst: 3}) != nil {
		t.Error("a model that limits nothing is not nil")
	}
}
