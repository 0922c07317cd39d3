package ratelimit

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
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
// 1.094s, its readings few, and those sent in a pool's burst bounded only
// by their flights), and its pinned flags (--window sliding) deliver with no 429 at 0.9 of the least time at least; --rate
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

// TestCrowdedReading sends a pool's bursts through a log of 20 per
// 100ms: 10 requests 200µs apart every 49.75ms, so the burst two before
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
		seen := crowdLogSeen(quota, w, 8, quota/2, (w-500*time.Microsecond)/2, 200*time.Microsecond, seed)
		at, recv, latest := crowdTimes(seen)
		var heap []int64
		naive := 0
		least := logNoBound
		for i := range seen {
			used := quota - 1 - seen[i].left
			in, out, ok := crowdedReading(at, recv, latest, i, used, &heap)
			if !ok || in >= w || out < w {
				t.Fatalf("seed %d, request %d (%d used): in %v, out %v, ok %v: want in < %v <= out", seed, i, used, in, out, ok, w)
			}
			if bin, bout := crowdBounds(at, recv, i, used); in != bin || out != bout {
				t.Fatalf("seed %d, request %d (%d used): in %v, out %v; by the definitions %v, %v", seed, i, used, in, out, bin, bout)
			}
			least = min(least, out)
			if j := i - used; j > 0 && (seen[i].at.Sub(seen[j].at) >= w+logJitter || seen[i].at.Sub(seen[j-1].at)+logJitter < w) {
				naive++
			}
		}
		if least > w+6*time.Millisecond {
			t.Errorf("seed %d: the readings bound the window at %v, more than two flights (3ms each at most) past %v", seed, least, w)
		}
		if seed == 1 && naive == 0 {
			t.Errorf("no reading the send order alone misreads: the test does not reorder")
		}
	}
}

// crowdLogSeen is what a log of quota per w answers bursts of n
// requests (a burst every every, its requests apart apart), each reaching
// the server at a random point of its 0.5-3ms flight (seeded by seed):
// our accepted requests in send order, each with what the log held when
// the server took it.
func crowdLogSeen(quota int, w time.Duration, bursts, n int, every, apart time.Duration, seed uint64) []seenSend {
	return crowdLogSeenFlights(quota, w, bursts, n, every, apart, 3*time.Millisecond, seed)
}

// crowdLogSeenFlights is crowdLogSeen with flights of 0.5ms to flight.
func crowdLogSeenFlights(quota int, w time.Duration, bursts, n int, every, apart, flight time.Duration, seed uint64) []seenSend {
	rnd := rand.New(rand.NewPCG(seed, 1))
	spread := max(int64(flight-500*time.Microsecond), 1)
	type req struct{ at, arr, recv time.Duration }
	var reqs []req
	for burst := range bursts {
		for k := range n {
			at := time.Duration(burst)*every + time.Duration(k)*apart
			flight := 500*time.Microsecond + time.Duration(rnd.Int64N(spread))
			reqs = append(reqs, req{at, at + time.Duration(rnd.Int64N(int64(flight))), at + flight})
		}
	}
	// In send order, as the Limiter keeps them (bursts may overlap).
	slices.SortStableFunc(reqs, func(a, b req) int { return cmp.Compare(a.at, b.at) })
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
	return seen
}

// crowdTimes is seen's send and answer times in nanoseconds since the
// first send, and the latest answer of each prefix, as logWindow reads
// them.
func crowdTimes(seen []seenSend) (at, recv, latest []int64) {
	for i, s := range seen {
		at = append(at, int64(s.at.Sub(seen[0].at)))
		recv = append(recv, int64(s.recv.Sub(seen[0].at)))
		latest = append(latest, recv[i])
		if i > 0 {
			latest[i] = max(latest[i], latest[i-1])
		}
	}
	return at, recv, latest
}

// crowdBounds is crowdedReading's bounds read straight from their
// definitions, every request looked at: out the (used+1)-th least of
// recv[i]-at[k] over those answered before the i-th left, in the i-th's
// send less the used-th latest answer among those sent before its answer
// came (0 where that is below 0).
func crowdBounds(at, recv []int64, i, used int) (in, out time.Duration) {
	in, out, _ = crowdBoundsOK(at, recv, i, used)
	return in, out
}

// crowdBoundsOK is crowdBounds, and whether any window allows the
// reading: fewer of ours sent before its answer came than it counted,
// or bounds that cross, allow none.
func crowdBoundsOK(at, recv []int64, i, used int) (in, out time.Duration, ok bool) {
	var outs, answers []int64
	for k := range at {
		if k != i && recv[k] < at[i] {
			outs = append(outs, recv[i]-at[k])
		}
		if k != i && at[k] < recv[i] {
			answers = append(answers, recv[k])
		}
	}
	slices.Sort(outs)
	slices.Sort(answers)
	out = logNoBound
	if len(outs) > used {
		out = time.Duration(outs[used])
	}
	if len(answers) < used {
		return 0, 0, false
	}
	if used > 0 {
		in = max(time.Duration(at[i]-answers[len(answers)-used]), 0)
	}
	return in, out, in < out
}

// FuzzCrowdedReading checks crowdedReading, which reads no further than
// logCrowd past a count and stops where no earlier answer can matter,
// against its bounds read straight from their definitions over every
// request (crowdBoundsOK): never tighter, so never excluding a window
// the definitions allow; the same where there are too few requests for
// it to stop short; and no answer where the definitions allow none.
// Bursts of a log's readings with random flights, some counts moved by
// noise (another client's requests, a reordering no flight explains).
func FuzzCrowdedReading(f *testing.F) {
	f.Add(uint64(1), uint8(3), uint8(20), uint16(200), uint16(2500), uint16(20), uint16(100), uint8(0))
	f.Add(uint64(2), uint8(2), uint8(200), uint16(50), uint16(2500), uint16(500), uint16(100), uint8(30))
	f.Add(uint64(3), uint8(8), uint8(10), uint16(0), uint16(30000), uint16(5), uint16(10), uint8(90))
	f.Fuzz(func(t *testing.T, seed uint64, bursts, n uint8, apartUs, flightUs, quota, windowMs uint16, noise uint8) {
		if bursts == 0 || n == 0 || int(bursts)*int(n) > 600 || quota < 2 || windowMs == 0 {
			return
		}
		w := time.Duration(windowMs) * time.Millisecond
		apart := time.Duration(apartUs) * time.Microsecond
		rnd := rand.New(rand.NewPCG(seed, 2))
		seen := crowdLogSeenFlights(int(quota), w, int(bursts), int(n), w+time.Millisecond, apart, time.Duration(flightUs)*time.Microsecond, seed)
		for i := range seen {
			if rnd.IntN(100) < int(noise) {
				seen[i].left = rnd.IntN(int(quota)+2) - 1
			}
		}
		at, recv, latest := crowdTimes(seen)
		var heap []int64
		for i := range seen {
			used := int(quota) - 1 - seen[i].left
			if used < 0 {
				continue
			}
			in, out, ok := crowdedReading(at, recv, latest, i, used, &heap)
			sin, sout, sok := crowdBoundsOK(at, recv, i, used)
			if !ok {
				if sok {
					t.Fatalf("request %d of %d (%d used): no answer, the definitions allow %v < w <= %v", i, len(seen), used, sin, sout)
				}
				continue
			}
			if in < 0 || in >= out {
				t.Fatalf("request %d (%d used): in %v, out %v", i, used, in, out)
			}
			if !sok {
				// The definitions allow no window; a weakened bound
				// may: only never tighter.
				if in > sin || out < sout {
					t.Fatalf("request %d (%d used): in %v, out %v, tighter than the definitions' %v, %v", i, used, in, out, sin, sout)
				}
				continue
			}
			if in > sin || out < sout {
				t.Fatalf("request %d (%d used): in %v, out %v, tighter than the definitions' %v, %v", i, used, in, out, sin, sout)
			}
			if len(seen) <= logCrowd && (in != sin || out != sout) {
				t.Fatalf("request %d of %d (%d used): in %v, out %v; the definitions %v, %v", i, len(seen), used, in, out, sin, sout)
			}
		}
	})
}

// TestCrowdedReadingLarge: a crowd whose count reads past logCrowd (a
// quota of 500, 300 in a burst 50µs apart with 0.5-3ms flights, then a
// second burst a window on) still gets bounds that allow the window,
// read no further back than logCrowd past the count.
func TestCrowdedReadingLarge(t *testing.T) {
	const quota, w = 500, 100 * time.Millisecond
	seen := crowdLogSeen(quota, w, 2, 300, w+time.Millisecond, 50*time.Microsecond, 7)
	at, recv, latest := crowdTimes(seen)
	var heap []int64
	bounded := 0
	for i := range seen {
		used := quota - 1 - seen[i].left
		in, out, ok := crowdedReading(at, recv, latest, i, used, &heap)
		if !ok || in >= w || out < w {
			t.Fatalf("request %d (%d used): in %v, out %v, ok %v: want in < %v <= out", i, used, in, out, ok, w)
		}
		if bin, bout := crowdBounds(at, recv, i, used); in > bin || out < bout {
			t.Fatalf("request %d (%d used): in %v, out %v, tighter than the definitions' %v, %v", i, used, in, out, bin, bout)
		}
		if out < logNoBound {
			bounded++
		}
	}
	if bounded == 0 {
		t.Errorf("no reading bounded the window from above")
	}
}

// TestHeapKeep: the heap keeps the n latest of what went in, its least
// at the top.
func TestHeapKeep(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for n := 1; n <= 9; n++ {
		var h, all []int64
		for range 50 {
			v := rnd.Int64N(40)
			h = heapKeep(h, n, v)
			all = append(all, v)
			sorted := slices.Sorted(slices.Values(all))
			want := sorted[max(len(sorted)-n, 0):]
			got := slices.Sorted(slices.Values(h))
			if !slices.Equal(got, want) || h[0] != want[0] {
				t.Fatalf("n %d: heap %v, want the latest %v with %d on top", n, h, want, want[0])
			}
		}
	}
}

// TestLogWindowRealCounter reads what a real go-chi/httprate at 15 per
// 150ms (8 workers, X-RateLimit headers) answered an adaptive run: 370
// accepted requests, steadily paced for 2.5s after the first bursts. A
// log of 148.5ms explains them better than the counter replayed at that
// period, which drifts a phase over 17 periods; replayed at 150ms it
// explains them best. Told as a log (before logNotCounter replayed the
// counters at periods either side), the run's pin sent by place and drew
// 113 429s of 513 requests.
func TestLogWindowRealCounter(t *testing.T) {
	f, err := os.Open("testdata/httprate-15-per-150ms-seen.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var seen []seenSend
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		var at, recv int64
		var left int
		var said bool
		if _, err := fmt.Sscanf(sc.Text(), "%d %d %d %t", &at, &recv, &left, &said); err != nil {
			t.Fatalf("%q: %v", sc.Text(), err)
		}
		seen = append(seen, seenSend{at: simEpoch.Add(time.Duration(at) * time.Microsecond), recv: simEpoch.Add(time.Duration(recv) * time.Microsecond), left: left, said: said})
	}
	if len(seen) != 371 {
		t.Fatalf("read %d answers, want 371", len(seen))
	}
	for n := 100; n <= len(seen); n += 15 {
		if w, ok := logWindow(seen[:n], 15, time.Time{}); ok {
			t.Fatalf("the first %d answers told a log of %v", n, w)
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
	// A request still on its way, sent before every crowded reading's
	// answer came, may have reached the server before any of them: none
	// is read.
	if w, ok := logWindow(seen, 100, seen[0].recv); ok {
		t.Fatalf("told a log of %v from readings a request in flight may have come before", w)
	}
}

// TestLogPacer: the quota goes at once; a place comes free a window after
// its request's answer, refused too (some logs count refusals), and a
// window after a failed one's end (it may have been taken).
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
	p.done(ms(0), ms(10), Accepted)
	if d := p.reserve(ms(20)); d != 990*time.Millisecond {
		t.Fatalf("first place free a window after its answer: wait %v, want 990ms", d)
	}
	p.done(ms(1), ms(30), Refused)
	p.done(ms(2), ms(40), Failed)
	if d := p.reserve(ms(41)); d != 969*time.Millisecond {
		t.Fatalf("wait %v, want the first place's 969ms", d)
	}
	if p.done(ms(2), ms(50), Accepted) {
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

// TestLogPacerTrials: a log whose window is only bounded (1s < W <= 2s)
// sends one trial alone at the geometric middle after the earliest answer
// among its places, nothing else before its answer. Refused, the bound
// below rises to where it went (and the refusal is the trial's); taken,
// the bound above falls to its answer less the earliest place's send. A
// trial that would go past halfway from the middle to the bound above
// does not (it could narrow nothing), nor while a place is on its way or
// fewer than the quota are sure (refused and failed ones may not count),
// nor once the bounds are close. More places than the quota time the
// trial from the quota-th latest answer.
func TestLogPacerTrials(t *testing.T) {
	t0 := simEpoch
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	full := func() *logPacer {
		p := newLogPacer(3, 2*time.Second)
		p.lo = time.Second
		for i := range 3 {
			if d := p.reserve(ms(i)); d != 0 {
				t.Fatalf("request %d of the quota waits %v", i+1, d)
			}
		}
		return p
	}
	p := full()
	if d := p.reserve(ms(5)); d != capWait {
		t.Fatalf("places on their way: wait %v, want capWait (no trial)", d)
	}
	for i := range 3 {
		p.done(ms(i), ms(10+i), Accepted)
	}
	// The middle: sqrt(1s*2s) = 1.414213562s after the earliest answer.
	mid := time.Duration(math.Sqrt(float64(time.Second) * float64(2*time.Second)))
	at := ms(10).Add(mid)
	if d := p.reserve(ms(20)); d != at.Sub(ms(20)) {
		t.Fatalf("wait %v, want %v until the trial", d, at.Sub(ms(20)))
	}
	if d := p.reserve(at); d != 0 {
		t.Fatalf("the trial waits %v", d)
	}
	if d := p.reserve(at.Add(time.Millisecond)); d != capWait {
		t.Fatalf("trial on its way: wait %v, want capWait", d)
	}
	p.done(at, at.Add(2*time.Millisecond), Refused)
	if !p.trialRefused(at) || p.trialRefused(ms(0)) {
		t.Fatalf("trialRefused: the trial's refusal not told from another's")
	}
	if p.lo != mid || p.per != 2*time.Second {
		t.Fatalf("refused: bounds %v-%v, want %v-2s", p.lo, p.per, mid)
	}
	// The refused trial holds a place (a log may count it), one of four:
	// the next trial goes at the new middle after the third latest
	// answer, 11ms.
	mid2 := time.Duration(math.Sqrt(float64(mid) * float64(2*time.Second)))
	if d := p.reserve(at.Add(3 * time.Millisecond)); d != ms(11).Add(mid2).Sub(at.Add(3*time.Millisecond)) {
		t.Fatalf("after a refused trial: wait %v, want until the next middle", d)
	}

	p = full()
	for i := range 3 {
		p.done(ms(i), ms(10+i), Accepted)
	}
	if d := p.reserve(at); d != 0 {
		t.Fatalf("the trial waits %v", d)
	}
	p.done(at, at.Add(2*time.Millisecond), Accepted)
	if want := at.Add(2 * time.Millisecond).Sub(ms(0)); p.per != want || p.lo != time.Second {
		t.Fatalf("taken: bounds %v-%v, want 1s-%v", p.lo, p.per, want)
	}
	// The earliest place, answered at 10ms, is free at 10ms + per (too
	// late for another trial: the middle of 1s and per is 1.19s).
	if d := p.reserve(at.Add(3 * time.Millisecond)); d != ms(10).Add(p.per).Sub(at.Add(3*time.Millisecond)) || p.trials != 1 {
		t.Fatalf("after a taken trial: wait %v, %d trials, want until the earliest place's free time", d, p.trials)
	}

	// Too late for a trial: past halfway from the middle to 2s.
	p = full()
	for i := range 3 {
		p.done(ms(i), ms(10+i), Accepted)
	}
	late := ms(10).Add((mid + 2*time.Second) / 2).Add(time.Millisecond)
	if d := p.reserve(late); d != ms(2010).Sub(late) {
		t.Fatalf("late: wait %v, want until 2.01s, no trial", d)
	}
	if p.trials != 0 {
		t.Fatalf("a late trial went")
	}

	// A place that failed (it may not have reached the server): fewer
	// sure places than the quota, and a trial taken would say nothing.
	p = full()
	p.done(ms(0), ms(10), Failed)
	p.done(ms(1), ms(11), Accepted)
	p.done(ms(2), ms(12), Accepted)
	if d := p.reserve(at); d != ms(2010).Sub(at) || p.trials != 0 {
		t.Fatalf("a failed place held: wait %v, %d trials, want until 2.01s and none", d, p.trials)
	}
	// Four places of three: the trial goes after the third latest answer
	// (11ms), and taken, at least two had aged out: the window is no
	// longer than its answer less the second earliest send (1ms).
	p = full()
	p.held = append(p.held, logPlace{sent: ms(3)})
	for i := range 4 {
		p.done(ms(i), ms(10+i), Accepted)
	}
	if d := p.reserve(at); d != time.Millisecond || p.trials != 0 {
		t.Fatalf("four places of three held: wait %v, %d trials, want 1ms and none yet", d, p.trials)
	}
	at4 := ms(11).Add(mid)
	if d := p.reserve(at4); d != 0 || p.trials != 1 {
		t.Fatalf("four places of three held: trial waits %v", d)
	}
	p.done(at4, at4.Add(2*time.Millisecond), Accepted)
	if want := at4.Add(2 * time.Millisecond).Sub(ms(1)); p.per != want {
		t.Fatalf("four places of three, taken: window %v, want %v", p.per, want)
	}

	// Close bounds: no trial.
	p = full()
	p.lo = 1980 * time.Millisecond
	for i := range 3 {
		p.done(ms(i), ms(10+i), Accepted)
	}
	if d := p.reserve(ms(2000)); d != 10*time.Millisecond || p.trials != 0 {
		t.Fatalf("close bounds: wait %v, %d trials, want 10ms and none", d, p.trials)
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

// TestBareLogPacedByPlace: a sliding log that answers nothing but 429
// (the rolling-rate-limiter with no headers), refuted as a fixed window,
// is paced by its places, its window narrowed by trials from the probes'
// bounds (a factor of two apart, a refused trial more only while they lie
// more than logTrialFar apart): learned within 10% of the window, and the
// flags pinned by place send the rest without a 429. Before, it was
// searched for evenly, by rate: 40 per 2s learned at 15-18/s, pinned at
// 0.68-0.79 of the ideal.
func TestBareLogPacedByPlace(t *testing.T) {
	const rows = 400
	w := 2 * time.Second
	mk := func() simServer { return &simSliding{limit: 40, window: w, style: styleBare} }
	ideal := idealSlidingN(rows, 40, w)
	for seed := uint64(1); seed <= 2; seed++ {
		ad := simRunSeeded(mk(), Config{Adaptive: true}, 8, rows, seed, time.Hour, true)
		st := ad.stats
		eff := ideal.Seconds() / ad.wall.Seconds()
		t.Logf("seed %d: adaptive eff %.2f, 429s %d, learned %s %d per %v", seed, eff, ad.throttled, st.LearnedModel, st.LearnedBurst, st.LearnedWindow)
		if st.LearnedModel != ModelSlidingWindow || st.LearnedBurst != 40 || st.LearnedWindow < w || st.LearnedWindow > w*110/100 {
			t.Errorf("seed %d: learned %s %d per %v, want a sliding window of 40 per 2s-2.2s", seed, st.LearnedModel, st.LearnedBurst, st.LearnedWindow)
		}
		if eff < 0.75 || ad.delivered != rows {
			t.Errorf("seed %d: adaptive eff %.2f, %d of %d rows", seed, eff, ad.delivered, rows)
		}
		pin, ok := st.Pinned()
		if !ok {
			t.Fatalf("seed %d: no flags to pin", seed)
		}
		pr := simRunSeeded(mk(), pin, 8, rows, seed, time.Hour, true)
		peff := ideal.Seconds() / pr.wall.Seconds()
		t.Logf("seed %d: pinned %v sliding %v: eff %.2f, 429s %d", seed, pin.Rate, pin.SlidingWindow, peff, pr.throttled)
		if pr.throttled > 0 || peff < 0.9 {
			t.Errorf("seed %d: pinned eff %.2f with %d 429s, want at least 0.9 and none", seed, peff, pr.throttled)
		}
	}
}

// TestToldLogNarrowedByTrials: a log told from its counter's readings
// (tryLog) is bounded loosely where a pool's bursts crowd them; the log
// pacer's trials narrow the bounds. rolling-rate-limiter's shape at 15 per
// 150ms with 8 workers was told and pinned at 169-171ms here (pinned
// 0.86-0.87 of the ideal); now within 6%, the pinned flags at 0.9 or more
// with no 429, at a 429 or two each. Within 5% until the window model
// handed back a counter that came back part of the way in the opening
// (windowModel.unexplained): the log is told at 0.44s rather than 1.0s,
// 0.81-0.82 of the ideal went to 0.89-0.93, but where it counts its
// refusals one seed's trials stopped at 158ms, where they had reached
// 156ms (its pin 0.93 -> 0.92, still without a 429).
func TestToldLogNarrowedByTrials(t *testing.T) {
	const rows = 400
	w := 150 * time.Millisecond
	for _, refused := range []bool{false, true} {
		mk := func() simServer {
			return &simSliding{limit: 15, window: w, countRefused: refused, style: styleHTTPRate}
		}
		ideal := idealSlidingN(rows, 15, w)
		for seed := uint64(1); seed <= 3; seed++ {
			ad := simRunSeeded(mk(), Config{Adaptive: true}, 8, rows, seed, time.Hour, true)
			st := ad.stats
			t.Logf("refused count %v, seed %d: adaptive eff %.2f, 429s %d, learned %s %d per %v", refused, seed, ideal.Seconds()/ad.wall.Seconds(), ad.throttled, st.LearnedModel, st.LearnedBurst, st.LearnedWindow)
			if st.LearnedModel != ModelSlidingWindow || st.LearnedWindow < w || st.LearnedWindow > w*106/100 || ad.throttled > 3 {
				t.Errorf("refused count %v, seed %d: learned %s per %v with %d 429s, want a log of 150-159ms, 3 429s at most", refused, seed, st.LearnedModel, st.LearnedWindow, ad.throttled)
			}
			pin, ok := st.Pinned()
			if !ok {
				t.Fatalf("seed %d: no flags to pin", seed)
			}
			pr := simRunSeeded(mk(), pin, 8, rows, seed, time.Hour, true)
			peff := ideal.Seconds() / pr.wall.Seconds()
			t.Logf("  pinned %v: eff %.2f, 429s %d", pin.Rate, peff, pr.throttled)
			if pr.throttled > 0 || peff < 0.9 {
				t.Errorf("refused count %v, seed %d: pinned eff %.2f with %d 429s, want 0.9 and none", refused, seed, peff, pr.throttled)
			}
		}
	}
}

// TestToldLogThatCountsRefusals: rolling-rate-limiter with its headers
// (styleRolling) logs every request it refuses, so its counter reads more
// of ours than we had sent once it refused one, and read against our
// accepted requests alone no look told a log: 20 per 2s was paced as a
// sliding window found by rate, learned at 8.9-9.3/s of its 10/s (2
// workers, 0.82-0.86, seven seeds of eight), and with 8 workers three
// seeds of eight ran at 0.60-0.64 with 9-16 429s (the real one, one run:
// 0.73 with 3.9% 429s). Read again with the refused requests among ours
// (withRefused) after logRefusedAfter looks that told nothing, it is a
// log of 20 per 2.00-2.01s: 0.87-0.94 with at most 9 429s, and its pinned
// flags send the rest without a 429.
func TestToldLogThatCountsRefusals(t *testing.T) {
	const rows = 400
	w := 2 * time.Second
	mk := func() simServer { return &simSliding{limit: 20, window: w, countRefused: true, style: styleRolling} }
	ideal := idealSlidingN(rows, 20, w)
	for _, c := range []struct {
		workers int
		seed    uint64
	}{{2, 1}, {2, 2}, {8, 3}, {8, 7}, {8, 8}} {
		ad := simRunSeeded(mk(), Config{Adaptive: true}, c.workers, rows, c.seed, time.Hour, true)
		st := ad.stats
		eff := ideal.Seconds() / ad.wall.Seconds()
		t.Logf("%d workers, seed %d: adaptive eff %.2f, 429s %d, learned %s %d per %v", c.workers, c.seed, eff, ad.throttled, st.LearnedModel, st.LearnedBurst, st.LearnedWindow)
		if st.LearnedModel != ModelSlidingWindow || st.LearnedBurst != 20 || st.LearnedWindow < w || st.LearnedWindow > w*102/100 {
			t.Errorf("%d workers, seed %d: learned %s %d per %v, want a log of 20 per 2s-2.04s", c.workers, c.seed, st.LearnedModel, st.LearnedBurst, st.LearnedWindow)
		}
		if eff < 0.85 || float64(ad.throttled) > 0.03*float64(ad.requests) || ad.delivered != rows {
			t.Errorf("%d workers, seed %d: adaptive eff %.2f with %d 429s of %d, %d of %d rows; want 0.85 and 3%% at most", c.workers, c.seed, eff, ad.throttled, ad.requests, ad.delivered, rows)
		}
		pin, ok := st.Pinned()
		if !ok {
			t.Fatalf("%d workers, seed %d: no flags to pin", c.workers, c.seed)
		}
		pr := simRunSeeded(mk(), pin, c.workers, rows, c.seed, time.Hour, true)
		peff := ideal.Seconds() / pr.wall.Seconds()
		t.Logf("  pinned %v sliding %v: eff %.2f, 429s %d", pin.Rate, pin.SlidingWindow, peff, pr.throttled)
		if pr.throttled > 0 || peff < 0.95 {
			t.Errorf("%d workers, seed %d: pinned eff %.2f with %d 429s, want 0.95 and none", c.workers, c.seed, peff, pr.throttled)
		}
	}
}

// TestLogNotCountingRefusalsNotShortened: a log with rolling's headers
// that does not count what it refuses, the control for the retry above
// (read with its refusals among ours, each reading after one would name a
// request too late and bound the window short). Its plain readings tell
// it, so the retry does not run: the window is no shorter than the log's
// and the run draws no more 429s than 3% (3.5% with 16 workers, a pool
// almost the log's size: 12 and 14 of 414 in one seed before and after
// the first window's held probes went at round lengths, which moved the
// log's readings).
func TestLogNotCountingRefusalsNotShortened(t *testing.T) {
	const rows = 400
	w := 2 * time.Second
	mk := func() simServer { return &simSliding{limit: 20, window: w, style: styleRolling} }
	ideal := idealSlidingN(rows, 20, w)
	for _, workers := range []int{2, 8, 16} {
		for seed := uint64(1); seed <= 3; seed++ {
			ad := simRunSeeded(mk(), Config{Adaptive: true}, workers, rows, seed, time.Hour, true)
			st := ad.stats
			t.Logf("%d workers, seed %d: eff %.2f, 429s %d of %d, learned %s %d per %v", workers, seed, ideal.Seconds()/ad.wall.Seconds(), ad.throttled, ad.requests, st.LearnedModel, st.LearnedBurst, st.LearnedWindow)
			if st.LearnedWindow > 0 && st.LearnedWindow < w {
				t.Errorf("%d workers, seed %d: learned %s per %v, shorter than the log's 2s", workers, seed, st.LearnedModel, st.LearnedWindow)
			}
			most := 0.03
			if workers == 16 {
				most = 0.035
			}
			if float64(ad.throttled) > most*float64(ad.requests) || ad.delivered != rows {
				t.Errorf("%d workers, seed %d: %d 429s of %d, %d of %d rows", workers, seed, ad.throttled, ad.requests, ad.delivered, rows)
			}
		}
	}
}

// TestLogFitBetter: a fit is better than another where a larger share of
// its readings agree; one that judged is better than one that judged
// nothing, never the reverse.
func TestLogFitBetter(t *testing.T) {
	for _, c := range []struct {
		f, g logFitted
		want bool
	}{
		{logFitted{agree: 19, total: 20}, logFitted{agree: 15, total: 20}, true},
		{logFitted{agree: 15, total: 20}, logFitted{agree: 19, total: 20}, false},
		{logFitted{agree: 19, total: 20}, logFitted{agree: 38, total: 40}, false},
		{logFitted{agree: 10, total: 10}, logFitted{}, true},
		{logFitted{}, logFitted{agree: 1, total: 10}, false},
	} {
		if got := c.f.better(c.g); got != c.want {
			t.Errorf("%+v.better(%+v) = %v, want %v", c.f, c.g, got, c.want)
		}
	}
}

// TestWithRefused: the refused requests go among the accepted ones in
// send order, as requests that said nothing.
func TestWithRefused(t *testing.T) {
	ms := func(n int) time.Time { return simEpoch.Add(time.Duration(n) * time.Millisecond) }
	seen := []seenSend{{at: ms(0), recv: ms(5), left: 3, said: true}, {at: ms(10), recv: ms(15), left: 1, said: true}}
	refused := []refusal{{sent: ms(12), recv: ms(14)}, {sent: ms(5), recv: ms(7)}}
	got := withRefused(seen, refused)
	want := []seenSend{seen[0], {at: ms(5), recv: ms(7), left: -1}, seen[1], {at: ms(12), recv: ms(14), left: -1}}
	if !slices.Equal(got, want) {
		t.Errorf("withRefused = %+v, want %+v", got, want)
	}
	if len(seen) != 2 || seen[1].at != ms(10) {
		t.Errorf("withRefused changed seen: %+v", seen)
	}
}

// TestRefusedReadingsWorseWhereNotCounted: the readings of a log that
// does not count its refusals agree in a smaller share read with the
// refused requests among ours (withRefused) than without (and tell no
// log so); those of a log that counts them tell none plain and tell it
// read so, in a larger share. (logFit and better, not tryLog: there the
// plain readings of the first tell it and the retry never runs.)
func TestRefusedReadingsWorseWhereNotCounted(t *testing.T) {
	const quota = 5
	w := time.Second
	for _, counts := range []bool{false, true} {
		var seen []seenSend
		var refused []refusal
		var log []time.Time
		rnd := rand.New(rand.NewPCG(1, 2))
		at := simEpoch
		for i := range 160 {
			// About 4.5 a second, under the log's 5, and a crowd of
			// four every 20 requests that it refuses some of.
			gap := 200*time.Millisecond + time.Duration(rnd.IntN(60))*time.Millisecond
			if i%20 > 16 {
				gap = 10 * time.Millisecond
			}
			at = at.Add(gap)
			arrive := at.Add(time.Millisecond)
			keep := log[:0]
			for _, t := range log {
				if arrive.Sub(t) < w {
					keep = append(keep, t)
				}
			}
			log = keep
			recv := at.Add(2 * time.Millisecond)
			if len(log) >= quota {
				refused = append(refused, refusal{sent: at, recv: recv})
				if counts {
					log = append(log, arrive)
				}
				continue
			}
			log = append(log, arrive)
			seen = append(seen, seenSend{at: at, recv: recv, left: quota - len(log), said: true})
		}
		plain := logFit(seen, quota, time.Time{})
		merged := logFit(withRefused(seen, refused), quota, time.Time{})
		t.Logf("counts %v: %d refused; plain %+v; merged %+v", counts, len(refused), plain, merged)
		if len(refused) == 0 {
			t.Fatalf("counts %v: no refusal to read", counts)
		}
		if merged.better(plain) != counts {
			t.Errorf("counts %v: merged better %v, want %v", counts, merged.better(plain), counts)
		}
	}
}

// TestRefusalsKeptWhereDoneNamesThem: two workers' refusals whose Dones
// both come before either's Throttle are both kept, each with its own
// send time (Throttle reads one refused request at a time, refusedSent).
func TestRefusalsKeptWhereDoneNamesThem(t *testing.T) {
	l, clk := newTestLimiter(Config{Adaptive: true, InFlight: 2})
	ctx := context.Background()
	if err := l.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	first := clk.Now()
	clk.Advance(3 * time.Millisecond)
	if err := l.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	second := clk.Now()
	clk.Advance(5 * time.Millisecond)
	l.Done(first, Refused)
	l.Done(second, Refused)
	l.Throttle(clk.Now(), time.Second, true)
	l.Throttle(clk.Now(), time.Second, true)
	l.mu.Lock()
	got := slices.Clone(l.adapt.refusedAt)
	l.mu.Unlock()
	if len(got) != 2 || !got[0].sent.Equal(first) || !got[1].sent.Equal(second) {
		t.Errorf("refusals kept %+v, want two sent at %v and %v", got, first.Sub(limiterT0), second.Sub(limiterT0))
	}
}
