package ratelimit

import (
	"slices"
	"testing"
	"time"
)

// TestFitBare replays a schedule a bare-window run sends (an unpaced
// burst, probes until one is taken and rides twice as fast as the window
// allows, until refused) against each sliding window of the
// class and checks the fit: the server's own model and length among the
// best, never longer than the probes allow (from the first request), and no request at the fitted
// pace before the last one's time.
func TestFitBare(t *testing.T) {
	tests := []struct {
		name  string
		srv   *simSliding
		model int
	}{
		{"counter from the first request, refused counted (HAProxy)",
			&simSliding{limit: 15, window: 150 * time.Millisecond, haproxy: true, countRefused: true}, fitFirst},
		{"counter from the first request, 100 per second",
			&simSliding{limit: 100, window: time.Second, haproxy: true, countRefused: true}, fitFirst},
		{"counter from the first request, refused not counted",
			&simSliding{limit: 20, window: 250 * time.Millisecond, haproxy: true}, fitFirst},
		{"counter aligned on the clock",
			&simSliding{limit: 40, window: 500 * time.Millisecond, counter: true, countRefused: true}, fitAligned},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, l := tc.srv.window, tc.srv.limit
			var answers []bareAnswer
			send := func(at time.Time) {
				ok, _ := tc.srv.serve(at.Add(500 * time.Microsecond))
				a := bareAnswer{sent: at, recv: at.Add(time.Millisecond), ok: ok}
				if !ok {
					a.sent = time.Time{}
				}
				answers = append(answers, a)
			}
			at := simEpoch
			for range l + 8 {
				send(at)
				at = at.Add(100 * time.Microsecond)
			}
			// Probes at doubling offsets until one is taken, then rides
			// at twice the window's rate until a refusal, as bare.go
			// does; a second ride once the first ride's requests are
			// taken where the fit is still wide.
			d := w / 8
			for send(simEpoch.Add(d)); !answers[len(answers)-1].ok; send(simEpoch.Add(d)) {
				d *= 2
			}
			ride := func(from time.Time) {
				step := w / time.Duration(2*l)
				for at = from; answers[len(answers)-1].ok; at = at.Add(step) {
					send(at)
				}
			}
			ride(simEpoch.Add(d + time.Millisecond))
			fit := fitBare(answers, l, w/3, 3*w, at, tc.model == fitAligned)
			if fit.ok && float64(fit.hi) > float64(fit.lo)*(1+bareWide) {
				ride(fit.clearFrom(float64(l)/fit.hi.Seconds(), fit.hi))
				fit = fitBare(answers, l, w/3, 3*w, at, tc.model == fitAligned)
			}
			t.Logf("fit %v..%v, models %v, %d answers contradicted", fit.lo, fit.hi, fit.models, fit.misses)
			if !fit.ok {
				t.Fatal("no window explains the answers")
			}
			if !fit.models[tc.model] {
				t.Errorf("models %v, want %d among them", fit.models, tc.model)
			}
			if fit.hi < w*99/100 || fit.lo > w*101/100 {
				t.Errorf("fit %v..%v, want %v within it", fit.lo, fit.hi, w)
			}
			// An aligned counter gives part of the burst back at the next
			// period's start, which may come before a window has passed.
			if tc.model != fitAligned && fit.hi > d*105/100 {
				t.Errorf("longest window %v, over the first probe taken, at %v", fit.hi, d)
			}
			if next := fit.clearFrom(float64(l)/fit.hi.Seconds(), fit.hi); next.Before(at) {
				t.Errorf("clear from %v, before the last request at %v", next.Sub(simEpoch), at.Sub(simEpoch))
			}
		})
	}
}

// TestFitBareInFlight fits a fixed window of 20 per 200ms from the first
// request behind a backend that answers the requests it takes 30ms after
// it refuses one (express-rate-limit passing them on): the ride's refusal
// comes while the five requests sent before it and taken are still on
// their way back. Counted as the server counted them (in flight, each
// candidate answers them as it would have), the fixed window explains
// every answer; without them it counted 15 where it refused, and at 100
// per 1s only a counter that weighs its previous period explained the
// answers (fixed 100 per 1s behind 10ms: paced as a sliding window at
// 62/s, 0.37 of the ideal, pinned 0.45).
func TestFitBareInFlight(t *testing.T) {
	const ms = time.Millisecond
	srv := &simFixed{limit: 20, window: 200 * ms, countRefused: true, style: styleBare}
	t0 := simEpoch
	var answers []bareAnswer
	var open []time.Time
	now := time.Duration(0)
	send := func(at time.Duration) {
		ok, _ := srv.serve(t0.Add(at + ms/2))
		recv := at + ms
		if ok {
			recv += 30 * ms
		}
		if recv > now {
			open = append(open, t0.Add(at))
			return
		}
		answers = append(answers, bareAnswer{sent: t0.Add(at), recv: t0.Add(recv), ok: ok})
	}
	// The fit runs at the ride's refusal, sent at 400ms: what was answered
	// by then is known, the rest in flight.
	now = 401 * ms
	for i := range 20 {
		send(time.Duration(i) * ms) // the burst, taken
	}
	send(20 * ms)  // refused: the burst's end
	send(150 * ms) // the first probe, refused
	for at := 300 * ms; at <= 400*ms; at += 5 * ms {
		send(at) // the next window: the probe at 300ms, the ride, its refusal at 400ms
	}
	if len(open) != 5 {
		t.Fatalf("%d requests in flight at the refusal, want 5", len(open))
	}
	slices.SortFunc(answers, func(x, y bareAnswer) int { return x.recv.Compare(y.recv) })
	all := slices.Clone(answers)
	for _, s := range open {
		all = append(all, bareAnswer{sent: s})
	}
	fit := fitBare(all, 20, 100*ms, 400*ms, t0.Add(now), false)
	if !fit.ok || !fit.models[fitFixed] || fit.misses != 0 {
		t.Fatalf("fit %+v, want a fixed window among the best with no answer contradicted", fit)
	}
	if fit.lo > 200*ms || fit.hi < 200*ms {
		t.Errorf("fit %v to %v, want 200ms within", fit.lo, fit.hi)
	}
	if without := fitBare(answers, 20, 100*ms, 400*ms, t0.Add(now), false); without.ok && without.models[fitFixed] && without.misses == 0 {
		t.Errorf("without the requests in flight the fixed window explains every answer too: the test shows nothing")
	}
}

// TestGridPhase reads the phase of a fixed window on a grid from answers
// a server on the clock gave: the boundary chosen lies where the server's
// does (between the refusals and the first request taken after them),
// and answers no phase explains are refused.
func TestGridPhase(t *testing.T) {
	const ms = time.Millisecond
	// The server: 5 per 100ms, its boundaries phase past each 100ms of
	// the clock. Requests every 4ms for 300ms: the first five of each
	// period are taken, the rest refused.
	ev := func(phase time.Duration, from, to, step time.Duration) []fitEvent {
		srv := &simFixed{limit: 5, window: 100 * ms, aligned: true, phase: phase, style: styleBare}
		var out []fitEvent
		for at := from; at < to; at += step {
			t0 := simEpoch.Add(at)
			ok, _ := srv.serve(t0)
			out = append(out, fitEvent{at: t0, from: t0, to: t0, ok: ok})
		}
		return out
	}
	boundary := func(origin time.Time, w time.Duration, phase time.Duration) time.Duration {
		// The chosen boundary's offset from the server's (at phase past
		// each multiple of w since the zero time), in (-w/2, w/2].
		o := origin.Add(-phase)
		d := o.Sub(o.Truncate(w))
		if d > w/2 {
			d -= w
		}
		return d
	}
	for _, tc := range []struct {
		name          string
		phase         time.Duration
		ev            []fitEvent
		w             time.Duration
		wantOK        bool
		within        time.Duration // of the server's boundary
		quota, misses int
	}{
		{"on the grid, every 4ms", 30 * ms, ev(30*ms, 0, 300*ms, 4*ms), 100 * ms, true, 4 * ms, 5, 0},
		{"another phase", 85 * ms, ev(85*ms, 0, 300*ms, 4*ms), 100 * ms, true, 4 * ms, 5, 0},
		// Read as a longer window, the refusals after each reset are
		// taken by no phase.
		{"too long a window", 30 * ms, ev(30*ms, 0, 300*ms, 4*ms), 150 * ms, false, 0, 5, 0},
		// A quota of 6 where the server took 5: every refusal at the
		// sixth contradicts it.
		{"quota too large", 30 * ms, ev(30*ms, 0, 300*ms, 4*ms), 100 * ms, false, 0, 6, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var g gridScratch
			first := tc.ev[0].at
			origins := g.phases(tc.ev, tc.quota, false, tc.w, first, bareFitMaxMisses)
			if ok := len(origins) > 0; ok != tc.wantOK {
				t.Fatalf("phases %v, want some %v", origins, tc.wantOK)
			}
			if len(origins) == 0 {
				return
			}
			origin := origins[0]
			if origin.After(first) {
				t.Errorf("origin %v after the first answer %v", origin.Sub(simEpoch), first.Sub(simEpoch))
			}
			if d := boundary(origin, tc.w, tc.phase); d.Abs() > tc.within {
				t.Errorf("boundary %v off the server's", d)
			}
			c := fitCandidate{model: fitGrid, quota: tc.quota, w: tc.w, origin: origin}
			var s fitState
			misses := 0
			for _, e := range tc.ev {
				if !c.explains(&s, e) {
					misses++
				}
			}
			if misses != tc.misses {
				t.Errorf("the phase chosen contradicts %d answers, want %d", misses, tc.misses)
			}
		})
	}
}

// TestGridJudge: the phases a grid's candidate is replayed at include
// one that explains answers the reckoning of arcs cannot quite place (a
// reviewer's cases): a request still in flight, refusals whose earliest
// arrival lies before requests counted ahead of them, a stretch of
// phases a nanosecond wide.
func TestGridJudge(t *testing.T) {
	const ms = time.Millisecond
	at := func(d time.Duration) time.Time { return simEpoch.Add(d) }
	took := func(from, a, to time.Duration) fitEvent {
		return fitEvent{from: at(from), at: at(a), to: at(to), ok: true}
	}
	refused := func(from, a, to time.Duration) fitEvent {
		return fitEvent{from: at(from), at: at(a), to: at(to)}
	}
	for _, tc := range []struct {
		name  string
		ev    []fitEvent
		quota int
		w     time.Duration
	}{
		{"a nanosecond wide", []fitEvent{took(0, 0, 0), took(50*ms-1, 50*ms-1, 50*ms), took(80*ms, 80*ms, 80*ms)}, 1, 100 * ms},
		{"in flight", []fitEvent{{from: at(0), at: at(0), to: at(0), pending: true}, took(31*ms, 31*ms, 31*ms)}, 1, 173 * ms},
		{"refusals placed early", []fitEvent{took(0, 0, 0), refused(50*ms, 80*ms, 82*ms), refused(40*ms, 85*ms, 87*ms)}, 1, 100 * ms},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var g gridScratch
			first := eventsFrom(tc.ev)
			replay := func(c fitCandidate, s *fitState) int { return c.replay(tc.ev, s, 0, len(tc.ev)) }
			c := fitCandidate{model: fitGrid, quota: tc.quota, w: tc.w}
			c, _, misses, ok := g.judge(c, tc.ev, first, bareFitMaxMisses, 0, replay)
			if !ok || misses != 0 {
				t.Errorf("judged ok %v with %d misses at origin %v, want a phase that explains every answer", ok, misses, c.origin.Sub(simEpoch))
			}
		})
	}
}

// FuzzGridPhase: answers a fixed window on the clock gave, each known to
// have arrived when it did, are explained by the grid's candidate at
// that window's length and quota, at one of the phases it is judged at,
// and its origin lies within a window before the first answer.
func FuzzGridPhase(f *testing.F) {
	f.Add(uint8(5), uint16(100), uint16(30), []byte{4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4})
	f.Add(uint8(2), uint16(250), uint16(7), []byte{0, 0, 0, 90, 1, 1, 200, 3, 0, 0, 77, 77, 250, 1})
	f.Fuzz(func(t *testing.T, quota uint8, wMs, phaseMs uint16, gaps []byte) {
		if quota == 0 || wMs == 0 || len(gaps) > 200 {
			return
		}
		const ms = time.Millisecond
		w := time.Duration(wMs%1000+1) * ms
		srv := &simFixed{limit: int(quota%20) + 1, window: w, aligned: true, phase: time.Duration(phaseMs) * ms % w, style: styleBare}
		var ev []fitEvent
		t0 := simEpoch
		for _, g := range gaps {
			t0 = t0.Add(time.Duration(g) * ms / 2)
			ok, _ := srv.serve(t0)
			ev = append(ev, fitEvent{at: t0, from: t0, to: t0, ok: ok})
		}
		if len(ev) == 0 {
			return
		}
		first := eventsFrom(ev)
		replay := func(c fitCandidate, s *fitState) int { return c.replay(ev, s, 0, len(ev)) }
		var g gridScratch
		c := fitCandidate{model: fitGrid, quota: srv.limit, w: w}
		c, _, misses, ok := g.judge(c, ev, first, 0, 0, replay)
		if !ok || misses != 0 {
			t.Fatalf("%d per %v at phase %v: judged ok %v with %d misses", srv.limit, w, srv.phase, ok, misses)
		}
		if c.origin.After(first) || !c.origin.After(first.Add(-w-1)) {
			t.Fatalf("origin %v, want within a window before the first answer %v", c.origin.Sub(simEpoch), first.Sub(simEpoch))
		}
	})
}

// TestGridPhaseZero: phase 0 is scored with the arcs that wrap past it
// (a reviewer's case: the stretch before the first mark was scored with
// none, and phases offered a phase that contradicts an answer).
func TestGridPhaseZero(t *testing.T) {
	const ms = time.Millisecond
	ev := func(d time.Duration, ok bool) fitEvent {
		at := simEpoch.Add(d)
		return fitEvent{from: at, at: at, to: at, ok: ok}
	}
	events := []fitEvent{ev(0, true), ev(180*ms, true), ev(230*ms, false)}
	var g gridScratch
	first := eventsFrom(events)
	for _, o := range g.phases(events, 1, false, 100*ms, first, 0) {
		c := fitCandidate{model: fitGrid, quota: 1, w: 100 * ms, origin: o}
		var s fitState
		for _, e := range events {
			if !c.explains(&s, e) {
				t.Errorf("origin %v contradicts the answer at %v", o.Sub(simEpoch), e.at.Sub(simEpoch))
			}
		}
	}
}
