package ratelimit

import (
	"testing"
	"time"
)

// TestWindowNamedPolicy runs the adaptive rate against express-rate-
// limit's shape (a draft-8 policy that names the window to the
// millisecond, "15-in-0.15sec", and a reset and Retry-After in whole
// seconds rounded up), the pool's size given as --concurrency gives it
// and the first requests sent alone, as the CLI runs:
//   - a window from the first request, 15 per 150ms, 16 workers: the
//     lone requests leave the first window's count at 12 and the pool
//     follows with most of its 16 in flight when the first of them is
//     answered. It went over what the counter said by what it had in
//     flight, and waited the refusals' Retry-After of 1s (0.66 of the
//     ideal, 5-6 429s): what goes at once is now held to the count less
//     every request in flight (windowModel.plan), and a refusal while
//     no reset was seen waits to the named window's end, not the
//     whole second (windowModel.throttled).
//   - a window on the clock's grid, 50 per 500ms, 8 workers: the first
//     window, begun before the run, ended 337ms after its first
//     request, taken for the length; the pool went a window early into
//     429s (0.59). A window ending well short of the named length is
//     one on a grid (namedShort).
func TestWindowNamedPolicy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		srv     func() simServer
		workers int
		minEff  float64
		max429  int
	}{
		{"15 per 150ms from the first request, 16 workers", func() simServer {
			return &simFixed{limit: 15, window: 150 * time.Millisecond, phase: 50 * time.Millisecond, style: styleExpress}
		}, 16, 0.85, 3},
		{"50 per 500ms on the clock, 8 workers", func() simServer {
			return &simFixed{limit: 50, window: 500 * time.Millisecond, aligned: true, phase: 500 * time.Millisecond / 3, style: styleExpress}
		}, 8, 0.70, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.srv().(*simFixed)
			ideal := idealFixedN(200, srv.limit, srv.window)
			for seed := uint64(1); seed <= 5; seed++ {
				res := simRunSeeded(tc.srv(), Config{Adaptive: true, InFlightPinned: true, OpeningAlone: true}, tc.workers, 200, seed, time.Hour, true)
				eff := ideal.Seconds() / res.wall.Seconds()
				t.Logf("seed %d: eff %.2f, 429s %d, learned %s %v", seed, eff, res.throttled, res.stats.LearnedModel, res.stats.LearnedWindow)
				if res.delivered != 200 {
					t.Fatalf("seed %d: %d of 200 rows delivered", seed, res.delivered)
				}
				if eff < tc.minEff || res.throttled > tc.max429 {
					t.Errorf("seed %d: efficiency %.2f with %d 429s, want at least %.2f with at most %d", seed, eff, res.throttled, tc.minEff, tc.max429)
				}
			}
		})
	}
}

// TestWindowPlanCountsInFlight checks what the window model lets go at
// once while no reset was seen: the counter's count less every request
// still in flight, not only less those sent after the answered one. The
// pacer let nine go at once, the sender stamped each a little later, and
// the first answer said 11 left with eight of them still in flight:
// three more may go (left 11 less the 3 held to time the end is 8,
// less the 8 the counter may not have seen is 3), where counting the
// sends after the answered one's stamp (none) let eight go.
func TestWindowPlanCountsInFlight(t *testing.T) {
	const ms = time.Millisecond
	w, let := burstLetGo()
	answerBurst(t, w, let, ms/10, ms, 11, 8)
	if n := letGoNow(w, let.Add(ms)); n != 3 {
		t.Errorf("%d more let go at once, want 3: 11 left, 3 held back, 8 in flight", n)
	}
}

// burstLetGo is a window model no reset was seen in: three of ours
// counted, the window still open after 100ms, and nine more let go at
// once at the time it returns.
func burstLetGo() (*windowModel, time.Time) {
	const ms = time.Millisecond
	t0 := simEpoch
	w := newWindowModel(15, 16, 3, t0, t0.Add(ms), 100*ms, nil)
	let := t0.Add(103 * ms)
	for range 9 {
		w.sent(let)
	}
	return w, let
}

// answerBurst reads an answer to one of burstLetGo's requests, stamped
// sent stamp after it was let go and answered recv after, with inFlight
// of the burst still in flight.
func answerBurst(t *testing.T, w *windowModel, let time.Time, stamp, recv time.Duration, remaining, inFlight int) {
	t.Helper()
	w.open = make([]time.Time, inFlight)
	for i := range w.open {
		w.open[i] = let
	}
	if !w.answered(let.Add(stamp), let.Add(recv), remaining, 0, time.Time{}) {
		t.Fatalf("the answer of %d left gave the window model up", remaining)
	}
	w.open = nil
}

// letGoNow is how many requests w's pacer lets go at now, one after
// another (at most 17).
func letGoNow(w *windowModel, now time.Time) int {
	n := 0
	for n <= 16 && w.pacer.reserve(now) == 0 {
		n++
	}
	return n
}

// TestWindowNamedRefusalWait checks a refusal's wait while no reset was
// seen and the server's policy names the window to the millisecond: cut
// from a whole second's Retry-After to the named window's end from its
// first answer; a request refused past that end puts the name aside and
// the wait stands.
func TestWindowNamedRefusalWait(t *testing.T) {
	const ms = time.Millisecond
	t0 := simEpoch
	for _, tc := range []struct {
		name      string
		sent, now time.Duration
		want      time.Duration
		off       bool
	}{
		{"refused within the named window", 120 * ms, 122 * ms, 29 * ms, false},
		{"refused within a round trip of its end, answered past it", 151*ms + ms/2, 151*ms + 8*ms/10, time.Second, false},
		{"refused past it", 300 * ms, 302 * ms, time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWindowModel(15, 16, 3, t0, t0.Add(ms), 100*ms, nil)
			w.statePolicy(150*ms, true)
			now := t0.Add(tc.now)
			if !w.throttled(now, t0.Add(tc.sent)) {
				t.Fatal("the refusal gave the window model up")
			}
			if got := w.alignedWait(now, time.Second); got != tc.want {
				t.Errorf("wait %v, want %v", got, tc.want)
			}
			if w.policyOff != tc.off {
				t.Errorf("policy put aside %v, want %v", w.policyOff, tc.off)
			}
		})
	}
}

// TestWindowNamedShortIsAligned checks the first window's end against a
// length the policy names to the millisecond: ended well short of it
// (337ms of 500ms), the window began before our first request, on the
// clock's grid, and its length is left to brackets a window apart; ended
// near it (470ms, within a tenth), it is taken as measured.
func TestWindowNamedShortIsAligned(t *testing.T) {
	const ms = time.Millisecond
	t0 := simEpoch
	for _, tc := range []struct {
		end     time.Duration
		aligned bool
	}{{337 * ms, true}, {470 * ms, false}} {
		w := newWindowModel(50, 8, 50, t0, t0.Add(ms), 100*ms, nil)
		w.statePolicy(500*ms, true)
		w.answered(t0.Add(tc.end), t0.Add(tc.end+ms), 49, 0, time.Time{})
		if w.aligned != tc.aligned {
			t.Errorf("first window ended at %v of a named 500ms: aligned %v, want %v (bounds %v-%v)", tc.end, w.aligned, tc.aligned, w.lo, w.hi)
		}
	}
}

// TestWindowPlanLeastCount checks that what goes at once follows the
// least count the window's answers showed, whatever their order: a
// request sent later but taken by the server sooner reads more left
// (9 after 6), and counting from it let four more go where one fits.
func TestWindowPlanLeastCount(t *testing.T) {
	const ms = time.Millisecond
	w, let := burstLetGo()
	answerBurst(t, w, let, ms/10, 2*ms, 6, 7)
	answerBurst(t, w, let, ms/2, 2*ms+ms/10, 9, 5)
	if n := letGoNow(w, let.Add(3*ms)); n != 1 {
		t.Errorf("%d more let go at once, want 1: 6 left at least, 5 in flight", n)
	}
}

// TestWindowLeastSkipsStragglers checks that an answer to a request sent
// before the window's first answer (one the old window may have counted,
// answered late) does not hold the least count down: the counter's later
// reading, from a request sent after, says what goes at once.
func TestWindowLeastSkipsStragglers(t *testing.T) {
	const ms = time.Millisecond
	t0 := simEpoch
	w := newWindowModel(15, 16, 3, t0, t0.Add(ms), 100*ms, nil)
	// The straggler, sent with the window's first request, read 1 left;
	// one sent just after that first answer, 10.
	w.answered(t0.Add(ms/2), t0.Add(2*ms), 1, 0, time.Time{})
	if !w.answered(t0.Add(ms+ms/5), t0.Add(2*ms+ms/2), 10, 0, time.Time{}) {
		t.Fatal("the reading of 10 gave the window model up")
	}
	if w.least != 10 {
		t.Errorf("least %d, want 10: the straggler's 1 is the old window's", w.least)
	}
}
