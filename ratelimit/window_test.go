package ratelimit

import (
	"testing"
	"time"
)

// TestWindowModelTellsSlidingFromFixed feeds the fixed-window model the
// answers of a counter that came back: whole at once (a fixed window's
// next one, its burst sent at one instant and answered in any order) or
// part of the way (a sliding counter's previous window weighing less),
// with the requests whose answers showed them counted in the old window
// not taken for the new one's.
func TestWindowModelTellsSlidingFromFixed(t *testing.T) {
	const ms = time.Millisecond
	type answer struct {
		sent, recv time.Duration // from the window's first request's send
		remaining  int
	}
	tests := []struct {
		name    string
		answers []answer
		fixed   bool // the last answer is consistent with a fixed window
	}{
		{
			// go-chi/httprate at 15 per 150ms, as seen on the real
			// server: three requests counted low, then a probe a
			// window later finds 9 left of 15.
			name: "sliding counter comes back part of the way",
			answers: []answer{
				{100 * ms, 101 * ms, 6}, {102 * ms, 103 * ms, 5}, {102 * ms, 103 * ms, 4}, {102*ms + ms/2, 104 * ms, 3},
				{203 * ms, 205 * ms, 9},
			},
		},
		{
			// The next fixed window's burst, all sent at one instant; an
			// answer that counts three of them first comes before the
			// opener's.
			name: "fixed window's burst answered out of order",
			answers: []answer{
				{100 * ms, 101 * ms, 6}, {102 * ms, 103 * ms, 5}, {102 * ms, 103 * ms, 4}, {102*ms + ms/2, 104 * ms, 3},
				{203 * ms, 204 * ms, 11},
			},
			fixed: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t0 := simEpoch
			w := newWindowModel(15, 8, 8, t0, t0.Add(ms), 0)
			last := tc.answers[len(tc.answers)-1]
			for _, a := range tc.answers[:len(tc.answers)-1] {
				w.sent(t0.Add(a.sent))
			}
			if tc.fixed {
				// The burst: the rest of the quota at one instant.
				for range 4 {
					w.sent(t0.Add(last.sent))
				}
			} else {
				w.sent(t0.Add(last.sent))
			}
			for _, a := range tc.answers[:len(tc.answers)-1] {
				if !w.answered(t0.Add(a.sent), t0.Add(a.recv), a.remaining, 0) {
					t.Fatalf("answer %+v taken for a sliding counter's", a)
				}
			}
			if got := w.answered(t0.Add(last.sent), t0.Add(last.recv), last.remaining, 0); got != tc.fixed {
				t.Errorf("answered(%+v) = %v, want %v", last, got, tc.fixed)
			}
		})
	}
}
