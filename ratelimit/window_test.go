package ratelimit

import (
	"testing"
	"time"
)

// TestWindowModelTellsSlidingFromFixed feeds the fixed-window model the
// answers of a counter that came back: whole at once (a fixed window's
// next one, its burst sent at one instant and answered in any order, or
// started late under load) or part of the way (a sliding counter's
// previous window weighing less), with the requests whose answers showed
// them counted in the old window not taken for the new one's.
func TestWindowModelTellsSlidingFromFixed(t *testing.T) {
	const ms = time.Millisecond
	type answer struct {
		sent, recv time.Duration // from the window's first request's send
		remaining  int
		want       bool // consistent with a fixed window
	}
	// The end of a window of 15: three requests counted low, after eight
	// before the model began.
	tail := []answer{
		{100 * ms, 101 * ms, 6, true}, {102 * ms, 103 * ms, 5, true}, {102 * ms, 103 * ms, 4, true}, {102*ms + ms/2, 104 * ms, 3, true},
	}
	tests := []struct {
		name    string
		sends   []time.Duration // let go after the tail, by the limiter's clock
		answers []answer        // after the tail's
	}{
		{
			// go-chi/httprate at 15 per 150ms, as seen on the real
			// server: a probe a window later finds 9 left of 15.
			name:    "sliding counter comes back part of the way",
			sends:   []time.Duration{203 * ms},
			answers: []answer{{203 * ms, 205 * ms, 9, false}},
		},
		{
			// The next fixed window's burst, all sent at one instant; an
			// answer that counts three of them first comes before the
			// opener's.
			name:    "fixed window's burst answered out of order",
			sends:   []time.Duration{203 * ms, 203 * ms, 203 * ms, 203 * ms, 203 * ms},
			answers: []answer{{203 * ms, 204 * ms, 11, true}, {203 * ms, 204 * ms, 14, true}},
		},
		{
			// The same burst on a busy machine: the request answered
			// first started after the limiter let it go, so the requests
			// counted before it left later by the limiter's clock; the
			// opener's answer, from the same burst, settles it.
			name:    "fixed window's burst started late",
			sends:   []time.Duration{203 * ms, 203*ms + ms/5, 203*ms + 2*ms/5, 203*ms + 3*ms/5, 203*ms + 4*ms/5},
			answers: []answer{{203*ms + ms/10, 205 * ms, 10, true}, {203 * ms, 206 * ms, 14, true}},
		},
		{
			// A suspect the rest of its burst does not clear: a later
			// request is answered and no opener came with it.
			name:    "partial rise not cleared by its burst",
			sends:   []time.Duration{203 * ms, 203*ms + ms/5, 203*ms + 2*ms/5, 203*ms + 3*ms/5, 203*ms + 4*ms/5, 260 * ms},
			answers: []answer{{203*ms + ms/10, 205 * ms, 10, true}, {260 * ms, 261 * ms, 9, false}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t0 := simEpoch
			w := newWindowModel(15, 8, 8, t0, t0.Add(ms), 0, nil)
			for _, a := range tail {
				w.sent(t0.Add(a.sent))
			}
			for _, d := range tc.sends {
				w.sent(t0.Add(d))
			}
			for _, a := range append(append([]answer(nil), tail...), tc.answers...) {
				if got := w.answered(t0.Add(a.sent), t0.Add(a.recv), a.remaining, 0, time.Time{}); got != a.want {
					t.Fatalf("answered(%+v) = %v, want %v", a, got, a.want)
				}
			}
		})
	}
}

// TestWindowModelCountsLastRequest checks that a window's last request,
// whose send time the sender takes a little after the limiter let it go
// (a journal write lies between), still counts in the window: it is the
// one that measures how long the window lasts at least.
func TestWindowModelCountsLastRequest(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name string
		lag  time.Duration // from the limiter's letting go to the send time
	}{
		{"send time as let go", 0},
		{"send time a little later", 3 * ms / 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t0 := simEpoch
			// The window's first request is sent at t0 and answered 1ms
			// later, before the model began; 13 more go at once and the
			// last, its 15th, 120ms later.
			w := newWindowModel(15, 8, 1, t0, t0.Add(ms), 0, nil)
			offsets := []time.Duration{}
			for i := range 13 {
				offsets = append(offsets, 2*ms+time.Duration(i)*ms/10)
			}
			offsets = append(offsets, 120*ms)
			for _, d := range offsets {
				w.sent(t0.Add(d))
			}
			for i, d := range offsets {
				sent := t0.Add(d + tc.lag)
				if !w.answered(sent, sent.Add(ms), 13-i, 0, time.Time{}) {
					t.Fatalf("answer %d taken for a sliding window's", i)
				}
			}
			if w.lo < 119*ms {
				t.Errorf("lower bound %v, want at least 119ms: the 15th request, sent at 120ms, still counted", w.lo)
			}
		})
	}
}

// TestWindowPacerLastRequests: a window's pacer holds a few of its quota
// back to time the window's end; once the requests waiting are the run's
// last (Finishing), those within the quota go at once, and those beyond
// it, which would be refused before the window ends, still wait.
func TestWindowPacerLastRequests(t *testing.T) {
	const ms = time.Millisecond
	open := simEpoch
	tests := []struct {
		name  string
		extra int  // probes beyond the quota
		last  bool // the run's last requests
		want  []time.Duration
	}{
		{"probes wait for their offsets", 0, false, []time.Duration{0, 0, 0, 0, 0, 0, 0, 500 * ms, 700 * ms, 900 * ms}},
		{"the last requests go at once", 0, true, []time.Duration{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"but not beyond the quota", 2, true, []time.Duration{0, 0, 0, 0, 0, 0, 0, 0, 700 * ms, 900 * ms}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := windowPacer{allowance: 10, length: time.Second, probes: []time.Duration{500 * ms, 700 * ms, 900 * ms}, extra: tt.extra,
				open: open, anchored: true, last: tt.last}
			for i, want := range tt.want {
				if got := p.reserve(open); got != want {
					t.Fatalf("request %d waits %v, want %v", i+1, got, want)
				}
				if want > 0 {
					// It goes when its time comes.
					if got := p.reserve(open.Add(want)); got != 0 {
						t.Fatalf("request %d at its time waits %v more", i+1, got)
					}
				}
			}
		})
	}
}

// TestWindowModelGivesUpBlind holds that refusals in a row with nothing
// accepted between, before any reset was seen, hand the server back
// instead of reopening the window on each: with a wait of 0 (httprate's
// Retry-After below a second) the pool sent 9758 requests into them.
func TestWindowModelGivesUpBlind(t *testing.T) {
	start := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		refusals int
		accepted bool // an answer accepted after the first refusal
		want     bool
	}{
		{"a window's last few refused", windowBlind - 1, false, true},
		{"refused again and again", windowBlind, false, false},
		{"an answer accepted between", windowBlind, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWindowModel(15, 8, 15, start, start.Add(time.Millisecond), 100*time.Millisecond, nil)
			got := true
			at := start.Add(110 * time.Millisecond)
			for i := range tc.refusals {
				if i == 1 && tc.accepted {
					w.answered(at, at.Add(time.Millisecond), 3, 0, time.Time{})
				}
				at = at.Add(time.Millisecond)
				got = w.throttled(at, time.Time{})
			}
			if got != tc.want {
				t.Errorf("throttled = %v after %d refusals, want %v", got, tc.refusals, tc.want)
			}
		})
	}
}
