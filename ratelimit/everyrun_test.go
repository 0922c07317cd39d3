package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

// TestEveryRunEnds runs 12 rows through every simulated limiter the tests
// model, at small quotas and windows from a second to an hour, with 1, 2
// and 8 workers, and asks only what no run may fail: every row arrives,
// within a bounded number of 429s. The targeted tests measure how well
// each model is learned; this one guards the class. Its first version
// found two ways a run never ended on main 69a3b87: a moving window past
// its reset claim, the pool waiting for a reset its answers could not
// show (TestWindowNeverStalls), and a bare lockout that every refusal
// prolongs, knocked at every 0.2s for ever (TestDryRefusalsBackOff).
func TestEveryRunEnds(t *testing.T) {
	if testing.Short() {
		t.Skip("a scan of 700 runs")
	}
	type server struct {
		name string
		mk   func() simServer
	}
	var servers []server
	add := func(name string, mk func() simServer) { servers = append(servers, server{name, mk}) }
	for _, lim := range []int{1, 2, 5} {
		for _, win := range []time.Duration{time.Second, time.Minute, time.Hour} {
			if win == time.Hour && lim > 1 {
				// The bare fit's CPU over an hour's answers: 0.2-0.8s a
				// run, ten times that under the race detector.
				continue
			}
			rate := float64(lim) / win.Seconds()
			for _, st := range []string{styleBare, styleRetryAfter, styleCounters} {
				add(fmt.Sprintf("bucket %d at %.3g/s %s", lim, rate, st), func() simServer { return &simBucket{burst: float64(lim), rate: rate, style: st} })
			}
			for _, st := range []string{styleBare, styleRetryAfter, styleExpress, styleLegacy, styleFastify, styleFlexible, styleUlule, styleGoLimiter, styleStructured} {
				for _, aligned := range []bool{false, true} {
					add(fmt.Sprintf("fixed %d/%v %s aligned=%v", lim, win, st, aligned), func() simServer {
						return &simFixed{limit: lim, window: win, aligned: aligned, phase: win / 3, countRefused: st == styleExpress, style: st}
					})
				}
			}
			for _, st := range []string{styleBare, styleHTTPRate} {
				for _, kind := range []string{"log", "counter", "haproxy"} {
					for _, refused := range []bool{false, true} {
						add(fmt.Sprintf("sliding %s %d/%v %s refused-count=%v", kind, lim, win, st, refused), func() simServer {
							return &simSliding{limit: lim, window: win, counter: kind == "counter", haproxy: kind == "haproxy", countRefused: refused, style: st}
						})
					}
				}
			}
			add(fmt.Sprintf("go-limiter %d/%v", lim, win), func() simServer { return &simGoLimiter{limit: lim, window: win} })
			add(fmt.Sprintf("flask moving %d/%v", lim, win), func() simServer { return &simFlaskMoving{limit: lim, window: win} })
		}
	}
	const rows = 12
	worst, runs := 0, 0
	for _, sv := range servers {
		for _, conc := range []int{1, 2, 8} {
			res := simRunSeeded(sv.mk(), Config{Adaptive: true}, conc, rows, 1, 400*time.Hour, false)
			runs++
			worst = max(worst, res.throttled)
			switch {
			case res.delivered < rows:
				t.Errorf("%s, %d workers: %d of %d rows in 400 hours, %d 429s", sv.name, conc, res.delivered, rows, res.throttled)
			case res.throttled > everyRunMaxRefused*rows:
				t.Errorf("%s, %d workers: %d 429s for %d rows, want at most %d a row", sv.name, conc, res.throttled, rows, everyRunMaxRefused)
			}
		}
	}
	t.Logf("%d runs, at most %d 429s in one", runs, worst)
}

// everyRunMaxRefused bounds TestEveryRunEnds's 429s per row.
const everyRunMaxRefused = 40
