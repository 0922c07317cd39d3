package ratelimit

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestLogWindowTellsLogs runs sliding logs (bare-counter headers, and
// Flask-Limiter's moving window) and the sliding counters that read as a
// log while the pace is steady (go-chi/httprate's on the clock,
// HAProxy's from the first request) with 1 and 2 workers. A log learned
// as one has its window within 1% under (our send times are not the
// server's; the pin frees a place from its answer, later than the server
// took it) to 15% over the real one (Flask's 3 per 1s with 2 workers:
// 1.108s, its readings few once those sent in a pool's burst are left
// out), and its pinned flags (--window
// sliding) deliver with no 429 at 0.9 of the least time at least; --rate
// alone reached 0.44-0.78 on these (the sweep's pinned runs before
// logWindow). Not every log tells: a run learned as a fixed window or a
// bucket, or whose pace never changed, keeps its pin; 21 of these 24 do,
// and at least 18 must. No counter may be pinned as a log: sent as one, a
// window's quota at once a window after a burst, it draws 429s.
func TestLogWindowTellsLogs(t *testing.T) {
	logs, told, effs := 0, 0, 0.0
	type server struct {
		name string
		log  bool
		mk   func(limit int, w time.Duration) simServer
	}
	servers := []server{
		{"log", true, func(l int, w time.Duration) simServer {
			return &simSliding{limit: l, window: w, style: styleHTTPRate}
		}},
		{"flask", true, func(l int, w time.Duration) simServer { return &simFlaskMoving{limit: l, window: w} }},
		{"httprate counter", false, func(l int, w time.Duration) simServer {
			return &simSliding{limit: l, window: w, counter: true, style: styleHTTPRate}
		}},
		{"haproxy counter", false, func(l int, w time.Duration) simServer {
			return &simSliding{limit: l, window: w, haproxy: true, style: styleHTTPRate}
		}},
	}
	for _, srv := range servers {
		for _, q := range []struct {
			limit int
			w     time.Duration
		}{{10, time.Second}, {3, time.Second}, {15, 150 * time.Millisecond}} {
			for _, conc := range []int{1, 2} {
				for seed := uint64(1); seed <= 2; seed++ {
					t.Run(fmt.Sprintf("%s %d per %v, %d workers, seed %d", srv.name, q.limit, q.w, conc, seed), func(t *testing.T) {
						rows := 20 * q.limit
						run := func(cfg Config) simResult {
							return simRunSeeded(srv.mk(q.limit, q.w), cfg, conc, rows, seed, time.Hour, true)
						}
						ad, pin, cfg := learnThenPin(t, run)
						st := ad.stats
						t.Logf("adaptive: eff %.2f, 429s %d, learned %s %d per %v; pinned %v sliding %v: 429s %d, %v",
							idealSlidingN(rows, q.limit, q.w).Seconds()/ad.wall.Seconds(), ad.throttled, st.LearnedModel, st.LearnedBurst, st.LearnedWindow, cfg.Rate, cfg.SlidingWindow, pin.throttled, pin.wall)
						if !srv.log {
							if cfg.SlidingWindow {
								t.Errorf("a counter pinned as a log")
							}
							return
						}
						logs++
						if !cfg.SlidingWindow {
							return
						}
						told++
						effs += idealSlidingN(rows, q.limit, q.w).Seconds() / ad.wall.Seconds()
						if st.LearnedModel != ModelSlidingWindow {
							t.Errorf("pinned as a log, learned %q", st.LearnedModel)
						}
						if st.LearnedWindow < q.w-q.w/100 || st.LearnedWindow > q.w+q.w*15/100 {
							t.Errorf("learned a window of %v, want %v, 1%% under to 15%% over", st.LearnedWindow, q.w)
						}
						if pin.throttled > 0 {
							t.Errorf("pinned: %d 429s", pin.throttled)
						}
						if eff := idealSlidingN(rows, q.limit, q.w).Seconds() / pin.wall.Seconds(); eff < 0.9 {
							t.Errorf("pinned efficiency %.2f, want at least 0.9", eff)
						}
					})
				}
			}
		}
	}
	t.Logf("%d of %d runs against a log learned it as one; their adaptive efficiency %.3f on average", told, logs, effs/float64(told))
	if told < logs*3/4 {
		t.Errorf("%d of %d runs against a log learned it as one, want at least %d", told, logs, logs*3/4)
	}
	if mean := effs / float64(max(told, 1)); mean < logAdaptiveMean {
		t.Errorf("adaptive efficiency %.3f on average where a log was told, want at least %.2f", mean, logAdaptiveMean)
	}
}

// logAdaptiveMean is the least mean efficiency of TestLogWindowTellsLogs's
// adaptive runs that told a log: paced by its places once told (tryLog),
// 0.835; by the sliding window's pace (before tryLog), 0.734.
const logAdaptiveMean = 0.8

// TestLogPacer: the quota goes at once; a place comes free a window after
// its request's answer, refused too (some logs count refusals), and a
// window after a failed one's end (it may have been taken).
// TestCrowdedReading sends a pool's bursts through a log of 20 per
// 100ms: 5 requests 200µs apart every 49.75ms, so the burst two before
// lies about a window back, each request reaching the server at a random
// point of its 0.5-3ms flight: the server takes a burst in another order
// than ours, and counts a request a window back or not by when it and
// the one it reads arrived. Every reading's bounds must allow the real
// window (in < w <= out), and together they must bound it from above
// within two flights. A reading whose bounds the send times alone gave
// (as logWindow reads one not crowded) would exclude the window in some.
func TestCrowdedReading(t *testing.T) {
	const quota, w = 20, 100 * time.Millisecond
	for seed := uint64(1); seed <= 20; seed++ {
		rnd := rand.New(rand.NewPCG(seed, 1))
		type req struct{ at, arr, recv time.Duration }
		var reqs []req
		for burst := range 8 {
			for k := range quota / 2 {
				at := time.Duration(burst)*(w-500*time.Microsecond)/2 + time.Duration(k)*200*time.Microsecond
				flight := 500*time.Microsecond + time.Duration(rnd.Int64N(int64(2500*time.Microsecond)))
				arr := at + time.Duration(rnd.Int64N(int64(flight)))
				reqs = append(reqs, req{at, arr, at + flight})
			}
		}
		// The log's count as the server took them.
		seen := make([]seenSend, len(reqs))
		for i, r := range reqs {
			held := 0
			for _, o := range reqs {
				if o.arr < r.arr && r.arr-o.arr < w {
					held++
				}
			}
			seen[i] = seenSend{at: simEpoch.Add(r.at), recv: simEpoch.Add(r.recv), left: quota - 1 - held, said: true}
		}
		at, recv := make([]int64, len(seen)), make([]int64, len(seen))
		var lat int64
		for i, r := range reqs {
			at[i], recv[i] = int64(r.at), int64(r.recv)
			lat = max(lat, recv[i]-at[i])
		}
		var heap []int64
		naive := 0
		least := logNoBound
		for i := range seen {
			used := quota - 1 - seen[i].left
			in, out, ok := crowdedReading(at, recv, i, used, lat, &heap)
			if !ok || in >= w || out < w {
				t.Fatalf("seed %d, request %d (%d used): in %v, out %v, ok %v: want in < %v <= out", seed, i, used, in, out, ok, w)
			}
			least = min(least, out)
			if j := i - used; j > 0 && (seen[i].at.Sub(seen[j].at) >= w+logJitter || seen[i].at.Sub(seen[j-1].at)+logJitter < w) {
				naive++
			}
		}
		if least > w+2*time.Duration(lat) {
			t.Errorf("seed %d: the readings bound the window at %v, more than two flights past %v", seed, least, w)
		}
		if seed == 1 && naive == 0 {
			t.Errorf("no reading the send order alone misreads: the test does not reorder")
		}
	}
}

// TestLogWindowTellsCrowds: a log sent in a pool's bursts (every reading
// crowded) is told from its first window's readings, and its window
// learned no more than a flight and twice logJitter over; the same sends through HAProxy's
// counter (periods from the first request, its count what a steady
// burst leaves) are not.
func TestLogWindowTellsCrowds(t *testing.T) {
	seen := logBenchSeen(300, "crowd")
	w, ok := logWindow(seen, 100, time.Time{})
	if !ok || w < time.Second || w > time.Second+2*time.Millisecond+2*logJitter {
		t.Fatalf("a crowded log: told %v, window %v; want told, 1s to 1.006s", ok, w)
	}
	// Two bursts and the first readings of a third, counted by a
	// counter of 100 per 1s weighing its previous period.
	hap := slices.Clone(seen)
	for i := range hap {
		el := hap[i].at.Sub(seen[0].at)
		period := el / time.Second
		prev := 0
		cur := 0
		for _, o := range hap[:i] {
			switch o.at.Sub(seen[0].at) / time.Second {
			case period - 1:
				prev++
			case period:
				cur++
			}
		}
		remain := time.Second - (el - period*time.Second)
		hap[i].left = max(100-1-cur-int(int64(prev)*int64(remain)/int64(time.Second)), 0)
	}
	if w, ok := logWindow(hap, 100, time.Time{}); ok {
		t.Fatalf("HAProxy's counter told as a log of %v", w)
	}
}

func TestLogPacer(t *testing.T) {
	t0 := simEpoch
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	p := newLogPacer(3, time.Second)
	for i := range 3 {
		if d := p.reserve(ms(i)); d != 0 {
			t.Fatalf("request %d of the quota waits %v", i+1, d)
		}
	}
	if d := p.reserve(ms(3)); d != capWait {
		t.Fatalf("every place awaiting its answer: wait %v, want capWait", d)
	}
	p.done(ms(0), ms(10))
	if d := p.reserve(ms(20)); d != 990*time.Millisecond {
		t.Fatalf("first place free a window after its answer: wait %v, want 990ms", d)
	}
	p.done(ms(1), ms(30)) // refused
	p.done(ms(2), ms(40)) // no answer
	if d := p.reserve(ms(41)); d != 969*time.Millisecond {
		t.Fatalf("wait %v, want the first place's 969ms", d)
	}
	if p.done(ms(2), ms(50)) {
		t.Fatalf("a place ended twice")
	}
	if d := p.reserve(ms(1010)); d != 0 {
		t.Fatalf("at the first place's time: wait %v", d)
	}
	if d := p.reserve(ms(1011)); d != 19*time.Millisecond {
		t.Fatalf("the refused request's place: wait %v, want 19ms (free at 1030ms)", d)
	}
	if d := p.reserve(ms(1030)); d != 0 {
		t.Fatalf("at the refused request's place's time: wait %v", d)
	}
	if d := p.reserve(ms(1031)); d != 9*time.Millisecond {
		t.Fatalf("the failed request's place: wait %v, want 9ms (free at 1040ms)", d)
	}
}

// logBenchSeen is n accepted sends through a log of 100 per 1s, sent by
// place as logPacer sends them (the quota 3ms apart, each place again a
// window and a millisecond after the request that held it), each answered
// a millisecond later with what the log held. paced makes them one every
// 10.5ms instead: a steady pace, where HAProxy's and httprate's counters
// read as the log does and their replays run to the end. crowd sends each
// window's quota 100µs apart, each answered 2ms later: a pool's burst,
// every reading crowded (crowdedReading).
func logBenchSeen(n int, how string) []seenSend {
	const quota, w = 100, time.Second
	seen := make([]seenSend, n)
	for i := range seen {
		at := simEpoch.Add(time.Duration(i/quota)*(w+time.Millisecond) + time.Duration(i%quota)*3*time.Millisecond)
		lat := time.Millisecond
		switch how {
		case "paced":
			at = simEpoch.Add(time.Duration(i) * 10500 * time.Microsecond)
		case "crowd":
			at = simEpoch.Add(time.Duration(i/quota)*(w+3*time.Millisecond) + time.Duration(i%quota)*100*time.Microsecond)
			lat = 2 * time.Millisecond
		}
		seen[i] = seenSend{at: at, recv: at.Add(lat), said: true}
	}
	for i := range seen {
		held := 0
		for j := i - 1; j >= 0 && seen[i].at.Sub(seen[j].at) < w; j-- {
			held++
		}
		seen[i].left = quota - 1 - held
	}
	return seen
}

// BenchmarkLogWindow is what tryLog costs under the Limiter's lock each
// time it looks, at pinSeenMax answers kept: a log sent by place (told),
// one paced steadily (not told: the counters' replays explain it as
// well), and one sent in a pool's bursts (told, every reading crowded).
func BenchmarkLogWindow(b *testing.B) {
	for _, how := range []string{"place", "paced", "crowd"} {
		seen := logBenchSeen(pinSeenMax, how)
		if _, ok := logWindow(seen, 100, time.Time{}); ok != (how != "paced") {
			b.Fatalf("%s: logWindow told %v", how, ok)
		}
		b.Run(how, func(b *testing.B) {
			for b.Loop() {
				logWindow(seen, 100, time.Time{})
			}
		})
	}
}
