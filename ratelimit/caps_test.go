package ratelimit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bulksend/bulksend/internal/testkit"
)

// TestCaps: a daily cap of 3 lets 3 requests go, then is spent until a
// third of a day later (one request's refill); with no longest wait it is
// slept through instead.
func TestCaps(t *testing.T) {
	t0 := time.Date(2026, 3, 7, 10, 0, 0, 0, time.UTC)
	day := Rate{Count: 3, Per: 24 * time.Hour}
	tests := []struct {
		name      string
		rates     []Rate
		maxWait   time.Duration
		takes     int
		wantSpent bool
	}{
		{name: "within the cap", rates: []Rate{day}, maxWait: time.Hour, takes: 3},
		{name: "the cap spent parks", rates: []Rate{day}, maxWait: time.Hour, takes: 4, wantSpent: true},
		{name: "a zero rate is no cap", rates: []Rate{{}}, maxWait: time.Hour, takes: 10},
		{name: "the tightest of two caps governs", rates: []Rate{{Count: 100, Per: time.Hour}, day}, maxWait: time.Hour,
			takes: 4, wantSpent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := testkit.NewClock(t0)
			c := NewCaps(tt.rates, tt.maxWait, clk)
			var err error
			for i := 0; i < tt.takes && err == nil; i++ {
				err = c.Wait(context.Background())
			}
			var spent *SpentError
			if got := errors.As(err, &spent); got != tt.wantSpent {
				t.Fatalf("after %d takes: %v, want spent %v", tt.takes, err, tt.wantSpent)
			}
			if spent != nil && (!spent.Until.Equal(t0.Add(8*time.Hour)) || spent.Rate != day) {
				t.Errorf("spent until %v by %v, want %v by %v", spent.Until, spent.Rate, t0.Add(8*time.Hour), day)
			}
		})
	}
}
