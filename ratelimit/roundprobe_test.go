package ratelimit

import (
	"testing"
	"time"
)

// TestBareRoundProbe: the probe that goes ahead of growth just past a
// round window's end, weighed for a counter that counts its previous
// period (R(2 - L/B), B the quota, the refusals so far and the probe).
func TestBareRoundProbe(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name           string
		quota, refused int
		prev, d        time.Duration
		want           time.Duration // 0: none
	}{
		// 100 taken, 11 refused: B = 112, R x 1.107 and 2% of R.
		{"half a second between", 100, 11, 490 * ms, 879 * ms, 563571 * time.Microsecond},
		{"a second between", 100, 11, 879 * ms, 1580 * ms, 1127143 * time.Microsecond},
		{"its end already probed", 100, 11, 563 * ms, 879 * ms, 0},
		{"growth stops short of it", 100, 11, 100 * ms, 400 * ms, 0},
		{"three between, the longest", 100, 11, 400 * ms, 2500 * ms, 2254286 * time.Microsecond},
		// 200 taken, 20 refused: B = 221, R x 1.095; 3s fits under
		// 5.04s, 5s (5.58s) does not.
		{"long windows", 200, 20, 2800 * ms, 5040 * ms, 3345068 * time.Microsecond},
		// 20 taken, 8 refused: B = 29, R x 1.31, more than a fifth late.
		{"refusals many beside the quota", 20, 8, 2800 * ms, 5040 * ms, 0},
		// 200 taken, 9 refused: B = 210, R x 1.048.
		{"few refused", 200, 9, 400 * ms, 900 * ms, 533810 * time.Microsecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &bareWindow{quota: tc.quota, refused: tc.refused}
			got, _, ok := b.roundProbe(tc.prev, tc.d)
			if ok != (tc.want > 0) {
				t.Fatalf("roundProbe(%v, %v) = %v, %v; want %v", tc.prev, tc.d, got, ok, tc.want)
			}
			if d := got - tc.want; d < -time.Microsecond || d > time.Microsecond {
				t.Errorf("roundProbe(%v, %v) = %v, want %v", tc.prev, tc.d, got, tc.want)
			}
		})
	}
}
