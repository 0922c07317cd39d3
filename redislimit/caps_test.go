package redislimit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bulksend/bulksend/ratelimit"
)

// TestCapsShareOneQuota: two processes with the same caps draw on one
// bucket per cap; when it is spent past the longest wait neither takes
// anything and both name the cap and when it refills, on Redis' clock.
func TestCapsShareOneQuota(t *testing.T) {
	tests := []struct {
		name    string
		rates   []string
		maxWait time.Duration
		takes   int           // Waits that pass, alternating between the two processes
		spent   string        // the cap the next Wait names; "": none is spent
		until   time.Duration // from t0: when it refills, or where the takes end
	}{
		{name: "one daily cap", rates: []string{"5/24h"}, maxWait: 15 * time.Minute,
			takes: 5, spent: "5/24h0m0s", until: 24 * time.Hour / 5},
		{name: "the tighter of two", rates: []string{"100/24h", "4/1h"}, maxWait: time.Minute,
			takes: 4, spent: "4/h", until: 15 * time.Minute},
		{name: "a wait under the longest is slept through", rates: []string{"3/1h"}, maxWait: 30 * time.Minute,
			takes: 3 + 3, until: 60 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, rdb := newMini(t)
			c := newVirtualClock(m)
			var rates []ratelimit.Rate
			for _, s := range tt.rates {
				rates = append(rates, mustRate(t, s))
			}
			procs := []*Caps{
				New(rdb, "q", Config{Clock: c}).Caps(rates, tt.maxWait),
				New(rdb, "q", Config{Clock: c}).Caps(rates, tt.maxWait),
			}
			for i := range tt.takes {
				if err := procs[i%2].Wait(context.Background()); err != nil {
					t.Fatalf("take %d: %v", i+1, err)
				}
			}
			if tt.spent == "" {
				if got := c.Now().Sub(t0); got != tt.until {
					t.Errorf("the takes ended at +%s, want +%s", got, tt.until)
				}
				return
			}
			err := procs[tt.takes%2].Wait(context.Background())
			var spent *ratelimit.SpentError
			if !errors.As(err, &spent) {
				t.Fatalf("take %d: %v, want a spent cap", tt.takes+1, err)
			}
			if spent.Rate.String() != tt.spent || spent.Until.Sub(t0) != tt.until {
				t.Errorf("spent %s until +%s, want %s until +%s", spent.Rate, spent.Until.Sub(t0), tt.spent, tt.until)
			}
			// Nothing was taken by the refusal: once the cap refills, one
			// more request goes.
			c.Advance(spent.Until.Sub(c.Now()))
			if err := procs[0].Wait(context.Background()); err != nil {
				t.Errorf("after the refill: %v", err)
			}
		})
	}
}
