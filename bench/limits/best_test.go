package main

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/bulksend/bulksend/bench/internal/benchcli"
)

const ms = time.Millisecond

// TestHAProxyCounter: freq_ctr.c's decisions on a hand-worked timeline,
// 2 per 100ms: refused requests count, the previous period weighs
// floor(prev x remain/period), two idle periods restart the period at the
// next request (its tick made even).
func TestHAProxyCounter(t *testing.T) {
	steps := []struct {
		at   time.Duration
		want bool
		why  string
	}{
		{0, true, "the first request opens the period: rate 1"},
		{0, true, "rate 2"},
		{50 * ms, false, "rate 3 > 2, and counted"},
		{100 * ms, false, "rotated: prev 3, curr 1, remain 100: 1 + 3 = 4"},
		{170 * ms, true, "curr 2 + floor(3 x 30/100) = 2"},
		{200 * ms, false, "rotated: prev 2, curr 1, remain 100: 3"},
		{451 * ms, true, "two periods idle: restarted, rate 1"},
	}
	h := newHAProxyCounter(2, 100*ms)
	for _, s := range steps {
		if got := h.take(s.at); got != s.want {
			t.Errorf("at %v: allowed %v, want %v (%s)", s.at, got, s.want, s.why)
		}
	}
	if h.tick != 450 {
		t.Errorf("restarted tick %d ms, want 450 (HAProxy clears its lowest bit)", h.tick)
	}
}

// TestHTTPRateCounter: httprate's decisions, 2 per 100ms: windows follow
// the limiter's start (phase before the first request), refused when
// round(prev x (W - d)/W + curr) + 1 > 2, refused requests not counted.
func TestHTTPRateCounter(t *testing.T) {
	const ns = time.Nanosecond
	tests := []struct {
		name  string
		phase time.Duration
		want  []time.Duration // the greedy schedule
	}{
		// Window 0: 2 at once. Window 1 (prev 2): the first when
		// 2(100-d)/100 < 1.5, d > 25 ms; the second when +1 < 1.5,
		// d > 75 ms. Window 2 (prev 2): d > 25 ms again.
		{"aligned", 0, []time.Duration{0, 0, 125*ms + ns, 175*ms + ns, 225*ms + ns}},
		// The first request 60 ms into window 0: window 1 starts 40 ms
		// after it.
		{"60 ms in", 60 * ms, []time.Duration{0, 0, 65*ms + ns, 115*ms + ns, 165*ms + ns}},
		{"a phase is taken modulo the window", 160 * ms, []time.Duration{0, 0, 65*ms + ns, 115*ms + ns, 165*ms + ns}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := greedySchedule(newHTTPRateCounter(2, 100*ms, tt.phase), len(tt.want), 100*ms)
			if !slices.Equal(got, tt.want) {
				t.Errorf("schedule %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("refused requests do not count", func(t *testing.T) {
		h := newHTTPRateCounter(2, 100*ms, 0)
		h.accept(0)
		h.accept(0)
		for at := 10 * ms; at < 100*ms; at += 10 * ms {
			if h.admits(at) {
				t.Fatalf("admits at %v with 2 counted", at)
			}
		}
		if !h.admits(125*ms+ns) || h.admits(125*ms) {
			t.Error("the refusals moved the next admission")
		}
	})
	t.Run("two idle windows forget", func(t *testing.T) {
		h := newHTTPRateCounter(2, 100*ms, 0)
		h.accept(0)
		h.accept(0)
		h.accept(250 * ms) // window 2: the window before it (1) was empty
		if !h.admits(250 * ms) {
			t.Error("window 2 refused its second request: window 0 still counted")
		}
	})
}

// TestServerBest: the server's best for issue 11's 400 rows, worked by
// hand from each model.
func TestServerBest(t *testing.T) {
	tests := []struct {
		name  string
		phase time.Duration
		want  float64
		why   string
	}{
		{"nginx", 0, 3.84, "16 at once (burst 15 + the one served), 384 at 100/s"},
		{"nginx-noburst", 0, 3.99, "the one served, 399 at 100/s"},
		// Windows from the first request: 15 at 0, then prev 15 lets the
		// c-th request of a window in at floor(15(150-e)/150) <= 14-c,
		// e = 10c+1 ms; 26 full windows hold 390, the 10th of the 27th
		// goes at 3900 + 91 ms.
		{"haproxy-150ms", 0, 3.991, "26 x 150 ms + 91 ms"},
		{"haproxy-1s", 0, 3.991, "3 s + the 100th of window 4 at e > 990 ms"},
		{"express-150ms", 0, 3.9, "the 27th window opens at 26 x 150 ms"},
		{"express-1s", 0, 3, "the 4th window opens at 3 s"},
		// The first window's 15 at once, 25 windows of 15, then the 10th
		// at 15(150-d)/150 + 9 < 14.5, d > 95 ms: 150 - phase + 3750 + 95.
		{"httprate-150ms", 0, 3.995, "3995 ms - phase"},
		{"httprate-150ms", 60 * ms, 3.935, "3995 ms - phase"},
		{"httprate-150ms", 140 * ms, 3.855, "3995 ms - phase"},
		// 100 per window; the 100th of window 4 at d > 995 ms.
		{"httprate-1s", 0, 3.995, "3.995 s - phase"},
		{"httprate-1s", 500 * ms, 3.495, "3.995 s - phase"},
		{"sandbox-refill", 0, 3.85, "its bucket holds 15: issue 11's ideal"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.phase.String(), func(t *testing.T) {
			sc, ok := scenarioNamed(tt.name)
			if !ok {
				t.Fatalf("no scenario %s", tt.name)
			}
			if got := round(sc.bestSeconds(400, tt.phase), 6); got != tt.want {
				t.Errorf("best %v s, want %v (%s)", got, tt.want, tt.why)
			}
		})
	}
}

func scenarioNamed(name string) (realScenario, bool) {
	for _, sc := range allRealScenarios() {
		if sc.Name == name {
			return sc, true
		}
	}
	return realScenario{}, false
}

// TestGreedyBeatsDelayedSchedules searches for a schedule faster than the
// greedy one: random schedules that wait past the first admitted moment
// (sometimes long enough to restart HAProxy's windows) and, against
// HAProxy, send refused requests too. None may get its k-th request
// accepted before greedy's k-th.
func TestGreedyBeatsDelayedSchedules(t *testing.T) {
	const n, window = 40, 20 * ms
	models := []struct {
		name string
		make func() admitter
	}{
		{"haproxy 3 per 20ms", func() admitter { return newHAProxyCounter(3, window) }},
		{"httprate 3 per 20ms", func() admitter { return newHTTPRateCounter(3, window, 0) }},
		{"httprate 3 per 20ms, 13 ms in", func() admitter { return newHTTPRateCounter(3, window, 13*ms) }},
		{"httprate 5 per 20ms, 7 ms in", func() admitter { return newHTTPRateCounter(5, window, 7*ms) }},
	}
	rng := rand.New(rand.NewPCG(11, 17))
	for _, md := range models {
		t.Run(md.name, func(t *testing.T) {
			greedy := greedySchedule(md.make(), n, window)
			for try := range 300 {
				m := md.make()
				var at time.Duration
				for k := range n {
					if rng.IntN(3) == 0 {
						at += time.Duration(rng.Int64N(int64(3 * window)))
					}
					if h, ok := m.(*haproxyCounter); ok && rng.IntN(5) == 0 && !h.admits(at) {
						h.take(at) // refused, and counted
					}
					at = firstAdmitted(m, at, window)
					m.accept(at)
					if at < greedy[k] {
						t.Fatalf("try %d: request %d accepted at %v, greedy's at %v", try, k, at, greedy[k])
					}
				}
			}
		})
	}
}

// TestMeasureBest: a trial's phase is its first request's time since the
// limiter started, modulo the window, for httprate only; without a first
// request an httprate trial has no best.
func TestMeasureBest(t *testing.T) {
	began := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		scenario  string
		first     time.Time
		wantPhase float64 // -1: none
		wantBest  float64
		wantEff   float64
	}{
		{"httprate 150ms, 1060 ms after start", "httprate-150ms", began.Add(1060 * ms), 0.01, 3.985, 0.996},
		{"httprate 1s, 80 ms after start", "httprate-1s", began.Add(80 * ms), 0.08, 3.915, 0.979},
		{"httprate, no first request", "httprate-1s", time.Time{}, -1, 0, 0},
		{"haproxy needs no phase", "haproxy-1s", time.Time{}, -1, 3.991, 0.998},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, _ := scenarioNamed(tt.scenario)
			tr := trial{WallSeconds: 4, firstSent: tt.first}
			sc.measureBest(&tr, 400, began)
			phase := -1.0
			if tr.PhaseSeconds != nil {
				phase = *tr.PhaseSeconds
			}
			if phase != tt.wantPhase || tr.BestSeconds != tt.wantBest || tr.EfficiencyVsBest != tt.wantEff {
				t.Errorf("phase %v best %v eff %v, want %v %v %v", phase, tr.BestSeconds, tr.EfficiencyVsBest, tt.wantPhase, tt.wantBest, tt.wantEff)
			}
		})
	}
}

// TestSettleVsBest: the second verdict judges the same target against the
// server's best; the first, against issue 11's ideal, is left as it was.
func TestSettleVsBest(t *testing.T) {
	sc, _ := scenarioNamed("haproxy-1s")
	mk := func(wall float64, best bool) trial {
		tr := trial{Mode: modeAdaptive, Acked: 400, Server: serverStats{Requests: 400, Distinct: 400, Delivered: 400}}
		tr.finish(400, time.Duration(wall*float64(time.Second)), sc.idealSeconds(400))
		if best {
			sc.measureBest(&tr, 400, time.Time{})
		}
		return tr
	}
	tg, judged := sc.target(modeAdaptive)
	c := newRealCell(modeAdaptive, []trial{mk(4.3, true), mk(4.1, true), mk(4.2, true)}, 400, tg, judged)
	if c.Verdict != benchcli.Miss || c.Efficiency != 0.714 {
		t.Errorf("verdict %s eff %v, want MISS 0.714 (3 s / 4.2 s)", c.Verdict, c.Efficiency)
	}
	if c.VerdictVsBest != benchcli.Pass || c.EfficiencyVsBest != 0.95 || c.BestSeconds != 3.991 {
		t.Errorf("vs best: %s eff %v best %v, want PASS 0.95 3.991", c.VerdictVsBest, c.EfficiencyVsBest, c.BestSeconds)
	}
	c = newRealCell(modeAdaptive, []trial{mk(4.3, true), mk(4.1, false)}, 400, tg, judged)
	if c.VerdictVsBest != "" || c.bestColumns() != " - | - | - " {
		t.Errorf("a trial without a best gave a second verdict %q, %q", c.VerdictVsBest, c.bestColumns())
	}
}

// TestCounterBestClosedForm holds greedySchedule to the sliding counters'
// best in closed form, over quotas, windows and row counts issue 11's
// table does not have. A counter that has taken L in a period admits the
// j-th request of the next only once (j-1)/L of it went by (HAProxy:
// j + floor(L(1-x)) <= L; httprate: round(L(1-x) + j-1) + 1 <= L, so
// past (j-1/2)/L), and no period takes more than L. So after the first
// period's L at once the rows go paced at L/W from the second period's
// start: N rows take (N-1)W/L against HAProxy (on its millisecond clock,
// the first millisecond past it) and (N-1/2)W/L less the phase against
// httprate. A sliding log's (issue 11's ideal) is (N-L)W/L: it gives the
// first period's burst back whole a window later, where a counter gives
// it back only paced, so a counter's best is (L-1)W/L longer, nearly a
// window, and the ideal over it is (N-L)/(N-1).
func TestCounterBestClosedForm(t *testing.T) {
	for _, l := range []int{3, 5, 10, 15, 30, 50, 100} {
		for _, w := range []time.Duration{150 * ms, 500 * ms, time.Second, 1300 * ms} {
			for _, n := range []int{l + 1, 60, 100, 150, 400} {
				if n <= l {
					continue
				}
				hap := greedySchedule(newHAProxyCounter(l, w), n, w)
				want := time.Duration(n-1) * w / time.Duration(l)
				if got := hap[n-1]; got < want || got > want.Truncate(ms)+ms {
					t.Errorf("HAProxy %d per %v, %d rows: last at %v, want the first ms past %v", l, w, n, got, want)
				}
				hr := greedySchedule(newHTTPRateCounter(l, w, 0), n, w)
				want = time.Duration((float64(n) - 0.5) * float64(w) / float64(l))
				if got := hr[n-1]; got < want || got > want+ms {
					t.Errorf("httprate %d per %v, %d rows: last at %v, want just past %v", l, w, n, got, want)
				}
			}
		}
	}
}
