package ratelimit

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// TestSweepThrottleLag is the measurement behind ThrottleFor: wide pools
// (8-32 workers) against buckets, fixed windows, sliding logs and
// counters and nginx, each refusal's Throttle read up to 300µs after its
// Done (simulation.throttleLag), by Throttle (the latest refused request)
// and by ThrottleFor (its own). It prints the mean efficiency and 429s of
// each (go test -v); set BULKSEND_LAGSWEEP to run it (about 10s).
func TestSweepThrottleLag(t *testing.T) {
	if os.Getenv("BULKSEND_LAGSWEEP") == "" {
		t.Skip("set BULKSEND_LAGSWEEP to run the sweep")
	}
	for _, latest := range []bool{true, false} {
		eff, throttled, runs := lagSweep(300*time.Microsecond, latest)
		t.Logf("Throttle reads the latest refusal %v: mean efficiency %.4f, %d 429s in %d runs", latest, eff, throttled, runs)
	}
}

// lagSweep runs TestSweepThrottleLag's cells with throttleLag lag.
func lagSweep(lag time.Duration, latest bool) (meanEff float64, throttled, runs int) {
	type cell struct {
		name  string
		ideal time.Duration
		mk    func() simServer
	}
	const rows = 200
	var cells []cell
	add := func(name string, ideal time.Duration, mk func() simServer) {
		cells = append(cells, cell{name, ideal, mk})
	}
	for _, q := range []struct {
		limit  int
		window time.Duration
	}{{15, 150 * time.Millisecond}, {100, time.Second}, {10, time.Second}, {50, 500 * time.Millisecond}} {
		lim, win := q.limit, q.window
		rate := float64(lim) / win.Seconds()
		for _, st := range []string{styleBare, styleRetryAfter, styleCounters} {
			add(fmt.Sprintf("bucket %d/%v %s", lim, win, st), idealBucketN(rows, float64(lim), rate), func() simServer { return &simBucket{burst: float64(lim), rate: rate, style: st} })
		}
		for _, st := range []string{styleBare, styleRetryAfter, styleExpress} {
			add(fmt.Sprintf("fixed %d/%v %s", lim, win, st), idealFixedN(rows, lim, win), func() simServer {
				return &simFixed{limit: lim, window: win, countRefused: true, style: st}
			})
		}
		for _, st := range []string{styleBare, styleHTTPRate} {
			for _, kind := range []string{"log", "counter", "haproxy"} {
				add(fmt.Sprintf("sliding %d/%v %s %s", lim, win, kind, st), idealSlidingN(rows, lim, win), func() simServer {
					return &simSliding{limit: lim, window: win, counter: kind == "counter", haproxy: kind == "haproxy", countRefused: true, style: st}
				})
			}
		}
		add(fmt.Sprintf("nginx %v/s burst %d", rate, lim), idealBucketN(rows, float64(lim), rate), func() simServer { return &simNginx{rate: int64(rate), burst: int64(lim)} })
	}
	add("nginx 3r/s", 66*time.Second, func() simServer { return &simNginx{rate: 3} })
	add("bucket 6 40/s counters", idealBucketN(rows, 6, 40), func() simServer { return &simBucket{burst: 6, rate: 40, style: styleCounters} })
	for _, c := range cells {
		for _, conc := range []int{8, 16, 32} {
			for seed := uint64(1); seed <= 2; seed++ {
				clk := &simClock{now: simEpoch}
				cfg := Config{Adaptive: true}
				cfg.Clock, cfg.Rand, cfg.InFlight = clk, rand.New(rand.NewPCG(seed, 2)).Float64, conc
				s := &simulation{l: New(cfg), clk: clk, srv: c.mk(), left: rows, ws: make([]simWorker, conc),
					rnd: rand.New(rand.NewPCG(seed, 11)), until: time.Hour, lateWake: 2 * time.Millisecond,
					throttleLag: lag, throttleLatest: latest}
				s.stall, s.stallMax = 0.05, 10*time.Millisecond
				res := s.run(rows)
				eff := 0.0
				if res.delivered == rows {
					eff = c.ideal.Seconds() / res.wall.Seconds()
				}
				meanEff += eff
				runs++
				throttled += res.throttled
			}
		}
	}
	return meanEff / float64(runs), throttled, runs
}
