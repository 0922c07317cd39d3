package ratelimit

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// bareFitCase runs the simulation of a bare server for rows rows and
// returns the answers the bare model kept and the bounds its refit at a
// refusal searches within, for the benchmark of fitBare.
func bareFitCase(tb testing.TB, srv simServer, rows int) (answers []bareAnswer, quota int, lo, hi time.Duration, now time.Time) {
	clk := &simClock{now: simEpoch}
	rnd := rand.New(rand.NewPCG(1, 2))
	l := New(Config{Adaptive: true, InFlight: simWorkers, Clock: clk, Rand: rnd.Float64})
	s := &simulation{l: l, clk: clk, srv: srv, left: rows, ws: make([]simWorker, simWorkers),
		rnd: rand.New(rand.NewPCG(1, 11)), until: time.Hour}
	s.run(rows)
	b := l.adapt.bare
	if b == nil {
		b = l.adapt.bareBack
	}
	if b == nil || b.d1 <= 0 {
		tb.Fatalf("the bare model did not bound the window")
	}
	lo, hi = b.fitLo, b.d1+b.d1/20
	if b.fit.ok {
		lo, hi = min(lo, b.fit.lo), max(hi, b.fit.hi*3/2)
	}
	return l.adapt.bareLog, b.quota, lo, hi, clk.now
}

// BenchmarkFitBare times one bare fit over the answers of a run of 400
// rows and of 2048 (bareLogMax) against HAProxy's counter, a sliding
// log and a fixed window on the clock, each at 100 per 1s with bare
// 429s.
func BenchmarkFitBare(b *testing.B) {
	for _, c := range []struct {
		name string
		srv  func() simServer
	}{
		{"haproxy 100/1s", func() simServer {
			return &simSliding{limit: 100, window: time.Second, haproxy: true, countRefused: true, style: styleBare}
		}},
		{"log 100/1s", func() simServer { return &simSliding{limit: 100, window: time.Second, style: styleBare} }},
		// On the clock: only a fixed window on a grid explains it, and
		// each length's phase is read from the answers.
		{"fixed on the clock 100/1s", func() simServer {
			return &simFixed{limit: 100, window: time.Second, aligned: true, phase: time.Second / 3, style: styleBare}
		}},
	} {
		for _, rows := range []int{400, 2500} {
			answers, quota, lo, hi, now := bareFitCase(b, c.srv(), rows)
			answers = answers[:min(len(answers), bareLogMax)]
			b.Run(fmt.Sprintf("%s/%d", c.name, len(answers)), func(b *testing.B) {
				for b.Loop() {
					fitBare(answers, quota, lo, hi, now, false)
				}
			})
		}
	}
}

// TestFitBareFast: the fit with its coarse pass first and its aligned
// counters' periods found by division gives what the fit over every
// length, by Time.Truncate, gave (fitBareSlow, the fit before), on the
// answers of runs against each model of the class, at several points of
// each run.
func TestFitBareFast(t *testing.T) {
	for _, c := range []struct {
		name string
		srv  func() simServer
	}{
		{"haproxy 100/1s", func() simServer {
			return &simSliding{limit: 100, window: time.Second, haproxy: true, countRefused: true, style: styleBare}
		}},
		{"haproxy 15/150ms", func() simServer {
			return &simSliding{limit: 15, window: 150 * time.Millisecond, haproxy: true, countRefused: true, style: styleBare}
		}},
		{"log 100/1s", func() simServer { return &simSliding{limit: 100, window: time.Second, style: styleBare} }},
		{"fixed 100/1s", func() simServer {
			return &simFixed{limit: 100, window: time.Second, countRefused: true, style: styleBare}
		}},
		{"fixed 15/150ms", func() simServer {
			return &simFixed{limit: 15, window: 150 * time.Millisecond, countRefused: true, style: styleBare}
		}},
	} {
		answers, quota, lo, hi, now := bareFitCase(t, c.srv(), 400)
		for _, n := range []int{len(answers) / 8, len(answers) / 4, len(answers) / 2, len(answers)} {
			for _, aligned := range []bool{false, true} {
				fast := fitBare(answers[:n], quota, lo, hi, now, aligned)
				slow := fitBareSlow(answers[:n], quota, lo, hi, now, aligned)
				for i := range fast.cands {
					if fast.cands[i].model != fitGrid {
						fast.cands[i].origin = time.Time{}
					}
				}
				t.Logf("%s, %d answers: ok %v, misses %d, %d candidates kept", c.name, n, fast.ok, fast.misses, len(fast.cands))
				if !reflect.DeepEqual(fast, slow) {
					t.Errorf("%s, %d answers, aligned %v: fit ok %v misses %d [%v, %v] models %v, the slow fit ok %v misses %d [%v, %v] models %v",
						c.name, n, aligned, fast.ok, fast.misses, fast.lo, fast.hi, fast.models, slow.ok, slow.misses, slow.lo, slow.hi, slow.models)
				}
			}
		}
	}
}

// fitBareSlow is fitBare before its coarse pass and its aligned periods
// by division: every length replayed until bareFitMaxMisses+1 misses.
func fitBareSlow(answers []bareAnswer, quota int, lo, hi time.Duration, now time.Time, aligned bool) bareFitResult {
	ev := fitEvents(answers)
	// A counter aligned on the clock has a phase as well as a length,
	// and over a fine grid of lengths some phase explains answers by
	// chance: unless aligned (a pace by another model was refused), it
	// counts a contradicted answer more than the others do.
	penalty := [fitModels]int{}
	if !aligned {
		penalty[fitAligned] = 1
	}
	penalty[fitGrid] = 1
	first := eventsFrom(ev)
	score := bareFitMaxMisses + 1
	var best []fitCandidate
	var states []fitState
	var gs gridScratch
	for model := range fitModels {
		if model == fitGrid && score <= penalty[fitGrid] {
			break
		}
		for _, counted := range []bool{true, false} {
			for w := fitFirstW(model, lo); w <= hi; w = fitNextW(model, w) {
				c := fitCandidate{model: model, quota: quota, counted: counted, w: w}
				replay := func(c fitCandidate, s *fitState) int {
					return c.replay(ev, s, penalty[model], score)
				}
				var s fitState
				var misses int
				if model == fitGrid {
					var ok bool
					if c, s, misses, ok = gs.judge(c, ev, first, bareFitMaxMisses-penalty[fitGrid], penalty[fitGrid], replay); !ok {
						continue
					}
				} else {
					misses = replay(c, &s)
				}
				if misses < score {
					score, best, states = misses, best[:0], states[:0]
				}
				if misses == score && misses <= bareFitMaxMisses {
					best = append(best, c)
					states = append(states, s)
				}
			}
		}
	}
	if len(best) == 0 {
		return bareFitResult{misses: bareFitMaxMisses + 1}
	}
	best, states = gridLast(best, states)
	res := bareFitResult{misses: score}
	res.ok, res.lo, res.hi, res.quota, res.nextAt = true, best[0].w, best[0].w, best[0].quota, now
	for i, c := range best {
		res.lo, res.hi = min(res.lo, c.w), max(res.hi, c.w)
		res.quota = min(res.quota, c.quota)
		res.models[c.model] = true
		res.exactly = res.exactly || c.model == fitAligned
		res.nextAt = latest(res.nextAt, c.nextAt(&states[i], now))
	}
	const keep = 8
	for m := range fitModels {
		var idx []int
		for i, c := range best {
			if c.model == m {
				idx = append(idx, i)
			}
		}
		for k := range min(keep, len(idx)) {
			i := idx[0]
			if k > 0 {
				i = idx[k*(len(idx)-1)/(min(keep, len(idx))-1)]
			}
			res.cands = append(res.cands, best[i])
			res.states = append(res.states, states[i])
		}
	}
	return res
}

// FuzzFitBareFast checks the fit against fitBareSlow on random answers:
// each answer three bytes (the gap since the last request, its round
// trip, taken, refused with or without its send time, or in flight), a
// quota and a window's bounds.
func FuzzFitBareFast(f *testing.F) {
	f.Add(uint8(5), uint16(100), uint8(40), []byte{0, 5, 1, 0, 5, 1, 0, 5, 1, 0, 5, 1, 0, 5, 1, 1, 5, 0, 90, 5, 1, 10, 5, 1, 10, 5, 0})
	f.Add(uint8(3), uint16(997), uint8(200), []byte{0, 9, 1, 1, 9, 1, 1, 9, 1, 1, 9, 0, 200, 9, 0, 250, 9, 1, 50, 9, 1, 60, 9, 1, 70, 9, 0})
	f.Fuzz(func(t *testing.T, quota uint8, loMs uint16, spanMs uint8, data []byte) {
		if quota == 0 || loMs == 0 || len(data) > 3*96 {
			return
		}
		const ms = time.Millisecond
		lo := time.Duration(loMs%2000+1) * ms
		hi := lo + time.Duration(spanMs)*ms
		var answers []bareAnswer
		at := simEpoch
		for i := 0; i+2 < len(data); i += 3 {
			at = at.Add(time.Duration(data[i]) * ms)
			recv := at.Add(time.Duration(data[i+1]%50)*ms/2 + ms)
			a := bareAnswer{sent: at, recv: recv, ok: data[i+2]%2 == 1}
			switch data[i+2] % 8 {
			case 0:
				// A refusal the Limiter heard of without its send time.
				a.sent = time.Time{}
			case 6:
				// A request still in flight.
				a.recv, a.ok = time.Time{}, false
			}
			answers = append(answers, a)
		}
		for _, aligned := range []bool{false, true} {
			fast := fitBare(answers, int(quota%30)+1, lo, hi, at, aligned)
			slow := fitBareSlow(answers, int(quota%30)+1, lo, hi, at, aligned)
			for i := range fast.cands {
				if fast.cands[i].model != fitGrid {
					fast.cands[i].origin = time.Time{}
				}
			}
			if !reflect.DeepEqual(fast, slow) {
				t.Fatalf("aligned %v: fit ok %v misses %d [%v, %v] models %v, the slow fit ok %v misses %d [%v, %v] models %v",
					aligned, fast.ok, fast.misses, fast.lo, fast.hi, fast.models, slow.ok, slow.misses, slow.lo, slow.hi, slow.models)
			}
		}
	})
}
