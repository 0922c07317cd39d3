package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

// TestDryRefusalsBackOff: servers that answer nothing but 429 for long.
// A lockout that every refused request prolongs (a log, or a counter,
// that counts refusals, at one per second or per ten) is left only by
// keeping quiet a whole window; on main c52743a the bare model knocked
// every 0.2-2s and never got in (888198 429s in 50 hours for the second
// of 12 rows); a bare window of one per five minutes drew 1482 429s for
// 12 rows. Past dryFree pauses begun by refusals, nothing accepted since,
// each lasts at least twice the one before (dryFloor): every row arrives,
// for 18-34 429s in all.
func TestDryRefusalsBackOff(t *testing.T) {
	const rows = 12
	for _, tc := range []struct {
		name string
		srv  func() simServer
		per  int // most 429s per row
	}{
		{"lockout log 1/1s", func() simServer { return &simSliding{limit: 1, window: time.Second, countRefused: true} }, 30},
		{"lockout counter 1/10s", func() simServer {
			return &simSliding{limit: 1, window: 10 * time.Second, counter: true, countRefused: true}
		}, 30},
		{"lockout haproxy 1/10s", func() simServer {
			return &simSliding{limit: 1, window: 10 * time.Second, haproxy: true, countRefused: true}
		}, 30},
		{"lockout log 1/1m", func() simServer { return &simSliding{limit: 1, window: time.Minute, countRefused: true} }, 40},
		{"bare fixed 1/5m", func() simServer { return &simFixed{limit: 1, window: 5 * time.Minute, style: styleBare} }, 40},
		{"bare fixed aligned 1/5m", func() simServer {
			return &simFixed{limit: 1, window: 5 * time.Minute, aligned: true, style: styleBare}
		}, 40},
	} {
		for _, conc := range []int{1, 2, 8} {
			t.Run(fmt.Sprintf("%s c%d", tc.name, conc), func(t *testing.T) {
				res := simRunSeeded(tc.srv(), Config{Adaptive: true}, conc, rows, 1, 50*time.Hour, false)
				t.Logf("%d of %d rows in %v, %d requests, %d 429s", res.delivered, rows, res.wall.Round(time.Second), res.requests, res.throttled)
				if res.delivered < rows {
					t.Fatalf("%d of %d rows delivered in 50 hours (%d 429s)", res.delivered, rows, res.throttled)
				}
				if res.throttled > tc.per*rows {
					t.Errorf("%d 429s for %d rows, want at most %d per row", res.throttled, rows, tc.per)
				}
			})
		}
	}
}
