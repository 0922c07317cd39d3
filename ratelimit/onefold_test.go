package ratelimit

import (
	"math"
	"testing"
	"time"
)

// oneTookSlow is oneTook as it was before it folded each answer's pairs
// once: every pair kept, read again on every call. The fast path is
// checked against it.
func (a *adaptive) oneTookSlow() {
	for i := 1; i < len(a.oneAcc); i++ {
		g := a.oneAcc[i].sent.Sub(a.oneAcc[i-1].sent)
		slack := a.oneAcc[i].rtt + oneClockSlack
		if g <= 0 || float64(slack) > oneSlack*float64(g) {
			continue
		}
		floor := 1 / (g + slack).Seconds()
		if a.oneCeil > 0 && floor >= a.oneCeil {
			a.oneCeil = 0
		}
		a.oneLow = math.Max(a.oneLow, floor)
	}
}

// oneStep is one event of a bucket of one's bounds: an accepted request
// (sent at, answered rtt later), a refused one sent at, or the fit.
type oneStep struct {
	op      byte // 'a' accepted, 'r' refused, 't' oneTook
	at, rtt time.Duration
}

// runOneSteps replays steps on a fresh adaptive with the fast oneTook (or
// the slow one) and returns the floor and ceiling after each oneTook.
func runOneSteps(steps []oneStep, slow bool) [][2]float64 {
	a := &adaptive{}
	var out [][2]float64
	for _, s := range steps {
		switch s.op {
		case 'a':
			a.oneAccepted(simEpoch.Add(s.at), simEpoch.Add(s.at+s.rtt))
		case 'r':
			a.oneRefused(simEpoch.Add(s.at))
		default:
			if slow {
				a.oneTookSlow()
			} else {
				a.oneTook()
			}
			out = append(out, [2]float64{a.oneLow, a.oneCeil})
		}
	}
	return out
}

func checkOneFold(t *testing.T, steps []oneStep) {
	t.Helper()
	fast, slow := runOneSteps(steps, false), runOneSteps(steps, true)
	for i := range slow {
		if fast[i] != slow[i] {
			t.Fatalf("after oneTook %d: floor %.4f ceiling %.4f, the pass over every pair says floor %.4f ceiling %.4f (steps %v)",
				i, fast[i][0], fast[i][1], slow[i][0], slow[i][1], steps)
		}
	}
}

// TestOneTookFold: folding each accepted request's two pairs once gives
// the bounds the pass over all 16 pairs on every answer gave.
func TestOneTookFold(t *testing.T) {
	const ms = time.Millisecond
	acc := func(at time.Duration) oneStep { return oneStep{op: 'a', at: at * ms, rtt: ms / 2} }
	ref := func(at time.Duration) oneStep { return oneStep{op: 'r', at: at * ms} }
	took := oneStep{op: 't'}
	var evict []oneStep
	for i := range 20 {
		// Twenty pairs 300-490ms apart: the first ones leave oneAcc.
		evict = append(evict, acc(time.Duration(i*400+(i%3)*90)), took)
	}
	tests := []struct {
		name  string
		steps []oneStep
	}{
		{"pairs in a row", []oneStep{acc(0), took, acc(300), took, acc(650), took, acc(900), took}},
		{"two accepted between fits", []oneStep{acc(0), acc(300), took, acc(600), acc(800), took}},
		{"answered out of order", []oneStep{acc(0), took, acc(900), took, acc(400), took}},
		{"answered out of order, the closer pair after it", []oneStep{acc(0), took, acc(900), took, acc(600), took}},
		{"the refusal's ceiling kept (review 11, finding 1)", []oneStep{acc(0), acc(700), took, acc(1700), ref(2450), took, took}},
		{"a ceiling over the floor", []oneStep{acc(0), took, acc(500), took, ref(800), took, acc(1300), took}},
		{"a later pair over the ceiling wipes it", []oneStep{acc(0), took, acc(500), took, ref(800), took, acc(1000), took}},
		{"the oldest pairs leave", evict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkOneFold(t, tc.steps) })
	}
}

// FuzzOneTookFold checks the folded oneTook against the pass over every
// pair on random sequences of accepted and refused requests.
func FuzzOneTookFold(f *testing.F) {
	f.Add([]byte{0, 10, 2, 0, 40, 2, 1, 30, 2, 0, 5, 2})
	f.Add([]byte{0, 200, 0, 100, 2, 1, 50, 0, 7, 2, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		var steps []oneStep
		at := 5 * time.Second
		for i := 0; i < len(data); i++ {
			op := data[i] % 3
			var arg byte
			if op < 2 && i+1 < len(data) {
				i++
				arg = data[i]
			}
			switch op {
			case 0:
				// Sent up to 2.5s after (or, odd, 1.3s before) the
				// latest, answered within a round trip of 0-2.5ms.
				d := time.Duration(arg) * 10 * time.Millisecond
				if arg%2 == 1 {
					d = -d / 2
				}
				at += d
				steps = append(steps, oneStep{op: 'a', at: at, rtt: time.Duration(arg%6) * time.Millisecond / 2})
			case 1:
				steps = append(steps, oneStep{op: 'r', at: at + time.Duration(arg)*5*time.Millisecond})
			default:
				steps = append(steps, oneStep{op: 't'})
			}
		}
		checkOneFold(t, steps)
	})
}
