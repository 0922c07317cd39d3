package ratelimit

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// simCeilLog is a sliding log as mholt/caddy-ratelimit keeps it: a ring of
// limit send times, a refused request not recorded, and a 429 that says
// only Retry-After, the wait until the oldest request ages out rounded up
// to whole seconds ("1" for any wait under a second), as Caddy writes it
// (FormatFloat(wait+0.5, 'f', 0)) and as hand-written Redis sorted-set
// logs do with math.Ceil. counters adds X-RateLimit-Limit and -Remaining,
// as a hand-written log does.
type simCeilLog struct {
	limit    int
	window   time.Duration
	counters bool
	ring     []time.Time
	cursor   int
}

func (c *simCeilLog) serve(at time.Time) (bool, http.Header) {
	if c.ring == nil {
		c.ring = make([]time.Time, c.limit)
	}
	h := http.Header{}
	held := 0
	for _, t := range c.ring {
		if !t.IsZero() && at.Sub(t) <= c.window {
			held++
		}
	}
	if c.counters {
		h.Set("X-RateLimit-Limit", strconv.Itoa(c.limit))
	}
	if oldest := c.ring[c.cursor]; oldest.IsZero() || at.Sub(oldest) > c.window {
		c.ring[c.cursor] = at
		c.cursor = (c.cursor + 1) % c.limit
		if c.counters {
			h.Set("X-RateLimit-Remaining", strconv.Itoa(max(c.limit-held-1, 0)))
		}
		return true, h
	}
	if c.counters {
		h.Set("X-RateLimit-Remaining", "0")
	}
	wait := c.ring[c.cursor].Add(c.window).Sub(at)
	h.Set("Retry-After", strconv.FormatFloat(wait.Seconds()+0.5, 'f', 0, 64))
	return false, h
}

// TestWaitCapRoundedUp: a sliding window's learned and pinned rate is held
// to its quota less one per the window a refusal's wait proves. A server
// that rounds its wait up to the second states more than the window, so
// taking the wait whole pinned a log of 15 per 150ms at 13.5/s and one of
// 30 per 300ms at 28.1/s (review 16). Whatever is pinned is no faster than
// the server and draws no more 429s than the adaptive run.
func TestWaitCapRoundedUp(t *testing.T) {
	for _, c := range []struct {
		limit  int
		window time.Duration
	}{{15, 150 * time.Millisecond}, {30, 300 * time.Millisecond}, {50, 500 * time.Millisecond}, {100, time.Second}, {10, 1500 * time.Millisecond}} {
		for _, conc := range []int{2, 8} {
			for _, counters := range []bool{false, true} {
				t.Run(fmt.Sprintf("%d per %v counters=%v c%d", c.limit, c.window, counters, conc), func(t *testing.T) {
					server := float64(c.limit) / c.window.Seconds()
					ad, pin, cfg := learnThenPin(t, func(cfg Config) simResult {
						clk := &simClock{now: simEpoch}
						cfg.InFlight, cfg.Clock, cfg.Rand = conc, clk, rand.New(rand.NewPCG(1, 2)).Float64
						s := &simulation{l: New(cfg), clk: clk, srv: &simCeilLog{limit: c.limit, window: c.window, counters: counters},
							left: 400, ws: make([]simWorker, conc), rnd: rand.New(rand.NewPCG(1, 11)), until: time.Hour,
							lateWake: 2 * time.Millisecond, stall: 0.05, stallMax: 10 * time.Millisecond}
						return s.run(400)
					})
					t.Logf("adaptive %v, %d 429s, learned %s; pinned %+v: %v, %d 429s", ad.wall.Round(time.Millisecond), ad.throttled,
						ad.stats.LearnedModel, cfg.Rate, pin.wall.Round(time.Millisecond), pin.throttled)
					if pin.throttled > ad.throttled {
						t.Errorf("pinned drew %d 429s, adaptive %d", pin.throttled, ad.throttled)
					}
					if ad.stats.LearnedModel != ModelSlidingWindow {
						return
					}
					if r := cfg.Rate.PerSecond(); r > server || r < 0.6*server {
						t.Errorf("pinned %.1f/s for a server of %.1f/s", r, server)
					}
				})
			}
		}
	}
}
