package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

// TestSpellAgainWeighedCounter: go-chi/httprate's counter, its periods
// aligned to its own start, with the run's first request 70ms into a
// 150ms period. The idle spell after the first burst spans the period's
// end, and the burst's count, weighed less as the new period goes on,
// comes back a request or so: read as a bucket of 15 refilling at 10/s,
// the run was paced as one at 39-79/s in this simulation (0.38-0.56 of
// the ideal). A second spell regains more than the first did at its
// rate: a sliding window.
func TestSpellAgainWeighedCounter(t *testing.T) {
	startSimAt(t, 370*time.Millisecond)
	const rows = 200
	ideal := idealSlidingN(rows, 15, 150*time.Millisecond)
	for _, conc := range []int{2, 8} {
		for _, seed := range []uint64{1, 2, 3} {
			t.Run(fmt.Sprintf("%d workers, seed %d", conc, seed), func(t *testing.T) {
				srv := &simSliding{limit: 15, window: 150 * time.Millisecond, counter: true, style: styleHTTPRate}
				res := simRunSeeded(srv, Config{Adaptive: true, InFlightPinned: true, OpeningAlone: true}, conc, rows, seed, 100*time.Hour, true)
				eff := ideal.Seconds() / res.wall.Seconds()
				t.Logf("learned %s %.1f/s, eff %.3f, 429s %d", res.stats.LearnedModel, res.stats.LearnedRate, eff, res.throttled)
				if res.stats.LearnedModel != ModelSlidingWindow || eff < 0.6 {
					t.Errorf("learned %s, eff %.3f: want a sliding window and at least 0.6", res.stats.LearnedModel, eff)
				}
				// It takes (15 - 1/2) per 150ms: 96.7/s.
				if res.stats.LearnedRate > 97 || res.throttled > rows*3/100 {
					t.Errorf("learned %.1f/s with %d 429s: want no more than 97/s and 3%%", res.stats.LearnedRate, res.throttled)
				}
			})
		}
	}
}

// TestSpellAgainBucket: a bucket of 15 refilling at 20/s regains two
// requests over the idle spell, few enough to measure again; the second
// spell regains as many at that rate, and it stays a bucket, learned at
// its rate. Behind a long path too, where the second spell, which waits
// for its request's answer, is twice the first or more.
func TestSpellAgainBucket(t *testing.T) {
	const rows = 120
	for _, c := range []struct {
		seed uint64
		conc int
		wire time.Duration
	}{{1, 2, 0}, {2, 2, 0}, {3, 2, 0}, {1, 8, 150 * time.Millisecond}, {2, 8, 150 * time.Millisecond}, {3, 8, 150 * time.Millisecond}} {
		seed := c.seed
		t.Run(fmt.Sprintf("seed %d, %d workers, wire %v", seed, c.conc, c.wire), func(t *testing.T) {
			simRunWire = c.wire
			t.Cleanup(func() { simRunWire = 0 })
			res := simRunSeeded(&simBucket{burst: 15, rate: 20, style: styleCounters}, Config{Adaptive: true, InFlightPinned: true, OpeningAlone: true}, c.conc, rows, seed, 100*time.Hour, true)
			eff := idealBucketN(rows, 15, 20).Seconds() / res.wall.Seconds()
			t.Logf("learned %s %.1f/s, eff %.3f, 429s %d", res.stats.LearnedModel, res.stats.LearnedRate, eff, res.throttled)
			if res.stats.LearnedModel != ModelBucket || res.stats.LearnedRate < 18 || res.stats.LearnedRate > 21 {
				t.Errorf("learned %s at %.1f/s: want a bucket at 18-21/s", res.stats.LearnedModel, res.stats.LearnedRate)
			}
		})
	}
}

// TestSpellAgainLog: a sliding log of 15 per 150ms gives nothing back
// over the idle spell (its burst ages out a window after it went), so no
// second spell; whatever the first burst and its spells read, it is not
// paced over its quota per window.
func TestSpellAgainLog(t *testing.T) {
	const rows = 200
	for _, conc := range []int{2, 8} {
		for _, seed := range []uint64{1, 2, 3} {
			t.Run(fmt.Sprintf("%d workers, seed %d", conc, seed), func(t *testing.T) {
				srv := &simSliding{limit: 15, window: 150 * time.Millisecond, style: styleHTTPRate}
				res := simRunSeeded(srv, Config{Adaptive: true, InFlightPinned: true, OpeningAlone: true}, conc, rows, seed, 100*time.Hour, true)
				t.Logf("learned %s %.1f/s, 429s %d", res.stats.LearnedModel, res.stats.LearnedRate, res.throttled)
				if res.stats.LearnedRate > 100 || res.throttled > rows*3/100 {
					t.Errorf("learned %.1f/s with %d 429s: want no more than 100/s and 3%%", res.stats.LearnedRate, res.throttled)
				}
			})
		}
	}
}
