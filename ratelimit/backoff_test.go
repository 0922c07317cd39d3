package ratelimit

import (
	"math"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	const ms = time.Millisecond
	fixed := func(f float64) func() float64 { return func() float64 { return f } }
	tests := []struct {
		name     string
		attempt  int
		base     time.Duration
		maxDelay time.Duration
		rnd      func() float64
		want     time.Duration
	}{
		{"first attempt", 0, 100 * ms, 30 * time.Second, fixed(0.5), 50 * ms},
		{"doubles", 3, 100 * ms, 30 * time.Second, fixed(0.5), 400 * ms},
		{"capped", 10, 100 * ms, 30 * time.Second, fixed(0.5), 15 * time.Second},
		{"huge attempt", math.MaxInt, 100 * ms, 30 * time.Second, fixed(0.5), 15 * time.Second},
		{"negative attempt", -3, 100 * ms, 30 * time.Second, fixed(0.5), 50 * ms},
		{"zero draw", 5, 100 * ms, 30 * time.Second, fixed(0), 0},
		{"top of the range stays below ceiling", 0, 100 * ms, 30 * time.Second, fixed(math.Nextafter(1, 0)), 100*ms - 1},
		{"broken source at 1", 0, 100 * ms, 30 * time.Second, fixed(1), 100*ms - 1},
		{"broken source above 1", 0, 100 * ms, 30 * time.Second, fixed(7), 100*ms - 1},
		{"broken source negative", 0, 100 * ms, 30 * time.Second, fixed(-1), 0},
		{"broken source NaN", 0, 100 * ms, 30 * time.Second, fixed(math.NaN()), 0},
		{"default base", 1, 0, 30 * time.Second, fixed(0.5), 100 * ms},
		{"default max", 20, 100 * ms, 0, fixed(0.5), 15 * time.Second},
		{"negative base and max", 20, -1, -1, fixed(0.5), 15 * time.Second},
		{"base above max", 0, time.Minute, time.Second, fixed(0.5), 500 * ms},
		{"near-overflow durations", 40, math.MaxInt64 / 3, math.MaxInt64, fixed(0.5), time.Duration(float64(math.MaxInt64) * 0.5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Backoff(tt.attempt, tt.base, tt.maxDelay, tt.rnd); got != tt.want {
				t.Fatalf("Backoff(%d, %v, %v) = %v, want %v", tt.attempt, tt.base, tt.maxDelay, got, tt.want)
			}
		})
	}
}

// TestBackoffDefaultSource checks the nil source stays in range; it asserts
// bounds, not values, so it is deterministic.
func TestBackoffDefaultSource(t *testing.T) {
	for attempt := range 70 {
		ceiling := min(100*time.Millisecond<<min(attempt, 20), 30*time.Second)
		if got := Backoff(attempt, 0, 0, nil); got < 0 || got >= ceiling {
			t.Fatalf("Backoff(%d) = %v, want within [0, %v)", attempt, got, ceiling)
		}
	}
}
