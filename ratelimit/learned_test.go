package ratelimit

import (
	"testing"
	"time"
)

// TestLearnedBurstLessRefill checks the burst a bucket is learned with:
// the answers counted in it less what the bucket refilled while the burst
// was sent, since a pinned --burst counted from answers in flight would be
// refused.
func TestLearnedBurstLessRefill(t *testing.T) {
	t0 := simEpoch
	tests := []struct {
		name      string
		seen      int
		last      time.Duration // the burst's last counted send, after its first
		measured  float64
		limitSaid int
		sliding   bool
		want      int
	}{
		{name: "quick burst: nothing refilled", seen: 16, last: 2 * time.Millisecond, measured: 100, want: 16},
		{name: "slow burst: three refilled", seen: 19, last: 30 * time.Millisecond, measured: 100, want: 16},
		{name: "never below one", seen: 3, last: time.Second, measured: 100, want: 1},
		{name: "a stated limit is kept", seen: 19, last: 30 * time.Millisecond, measured: 100, limitSaid: 15, want: 15},
		{name: "a sliding window is not a bucket", seen: 19, last: 30 * time.Millisecond, measured: 100, sliding: true, want: 19},
		{name: "nothing measured", seen: 19, last: 30 * time.Millisecond, want: 19},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAdaptive(1e9, 0, 8)
			a.burstSeen, a.firstSent, a.burstLast = tt.seen, t0, t0.Add(tt.last)
			a.measured, a.limitSaid, a.sliding = tt.measured, tt.limitSaid, tt.sliding
			if got, _ := a.learned(); got != tt.want {
				t.Errorf("learned burst = %d, want %d", got, tt.want)
			}
		})
	}
}
