package ratelimit

import (
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
