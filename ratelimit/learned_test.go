package ratelimit

import (
	"math"
	"testing"
	"time"
)

// TestLearnedBurstLessRefill checks the burst a bucket is learned with:
// the answers counted in it less what the bucket refilled while the burst
// was sent, since a pinned --burst counted from answers in flight would be
// refused.
func TestLearnedBurstLessRefill(t *testing.T) {
	t0 := simEpoch
	tests := []struct {
		name      string
		seen      int
		last      time.Duration // the burst's last counted send, after its first
		measured  float64
		limitSaid int
		// counterMax is the most the counter showed left, plus one.
		counterMax int
		sliding    bool
		want       int
	}{
		{name: "quick burst: nothing refilled", seen: 16, last: 2 * time.Millisecond, measured: 100, want: 16},
		{name: "slow burst: three refilled", seen: 19, last: 30 * time.Millisecond, measured: 100, want: 16},
		{name: "never below one", seen: 3, last: time.Second, measured: 100, want: 1},
		{name: "a stated limit is kept", seen: 19, last: 30 * time.Millisecond, measured: 100, limitSaid: 15, want: 15},
		{name: "a counter under the stated limit is the bucket", seen: 19, last: 30 * time.Millisecond, measured: 100, limitSaid: 100, counterMax: 15, want: 15},
		// tollbooth at 50 per 2s: X-Rate-Limit-Limit 25 (per second),
		// its counter at 49 after the first request.
		{name: "a counter over the stated limit is the bucket", seen: 8, last: 2 * time.Millisecond, measured: 25, limitSaid: 25, counterMax: 50, want: 50},
		{name: "a sliding window is not a bucket", seen: 19, last: 30 * time.Millisecond, measured: 100, sliding: true, want: 19},
		{name: "nothing measured", seen: 19, last: 30 * time.Millisecond, want: 19},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAdaptive(1e9, 0, 8)
			a.burstSeen, a.firstSent, a.burstLast = tt.seen, t0, t0.Add(tt.last)
			a.measured, a.limitSaid, a.counterMax, a.sliding = tt.measured, tt.limitSaid, tt.counterMax, tt.sliding
			if got, _ := a.learned(); got != tt.want {
				t.Errorf("learned burst = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestBucketReplayMeasures checks the bucket equation against a token
// bucket of 15 at 100/s (simBucket) that a schedule of requests drains:
// the burst, a pause, then a steady pace until the next refusal. The
// replay measures the rate from the requests taken between the two
// refusals, also where the pace stayed under the rate long enough for
// the bucket to overflow, and a refusal of a request sent before the
// previous sign's adds an empty segment, not a panic.
func TestBucketReplayMeasures(t *testing.T) {
	tests := []struct {
		name   string
		pause  time.Duration // after the burst's first refusal
		paces  []float64     // requests per second, each for a second or until refused
		within float64       // relative error allowed
	}{
		{name: "one short segment past the rate", pause: 34 * time.Millisecond, paces: []float64{150}, within: 0.05},
		{name: "under the rate, overflowing, then past it", pause: 30 * time.Millisecond, paces: []float64{90, 125}, within: 0.02},
		{name: "just past the rate for long", pause: 20 * time.Millisecond, paces: []float64{103}, within: 0.02},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &simBucket{burst: 15, rate: 100, style: styleBare}
			a := newAdaptive(1e9, 0, 8)
			t0 := simEpoch
			a.firstSent = t0
			var refused []time.Time
			at := t0
			for range 16 { // the burst: 15 taken, the 16th refused
				if ok, _ := srv.serve(at); ok {
					a.noteAccepted(at)
					a.burstSeen++
				} else {
					refused = append(refused, at)
				}
				at = at.Add(50 * time.Microsecond)
			}
			at = refused[0].Add(tt.pause)
			for _, pace := range tt.paces {
				end := at.Add(time.Second)
				for len(refused) == 1 && at.Before(end) {
					if ok, _ := srv.serve(at); ok {
						a.noteAccepted(at)
						a.segAccepted++
					} else {
						refused = append(refused, at)
					}
					at = at.Add(time.Duration(float64(time.Second) / pace))
				}
			}
			if len(refused) != 2 {
				t.Fatalf("the schedule drew %d refusals, want 2", len(refused))
			}
			a.successes = a.burstSeen
			a.refusal = refused[0]
			a.sign(refused[0], tt.pause, 0)
			a.segAccepted = len(a.sentLog) - a.burstSeen
			a.refusal = refused[1]
			a.sign(refused[1], 0, 0)
			if got := a.measured; math.Abs(got/100-1) > tt.within {
				t.Errorf("measured %.1f/s, want 100/s within %.0f%%", got, 100*tt.within)
			}
			// A request sent before the latest sign's, refused after
			// it: an empty segment, the measurement as it was.
			before := a.measured
			a.refusal = refused[1].Add(-time.Millisecond)
			a.sign(refused[1].Add(time.Millisecond), 0, 0)
			if math.Abs(a.measured/before-1) > 0.01 {
				t.Errorf("after an empty segment measured %.1f/s, want %.1f/s", a.measured, before)
			}
		})
	}
}

// TestOneAtATimeStepCapped: a bucket of one measured at 44/s that refused
// a request at 56/s paces up to the middle of the two at the search's
// speed, but no step goes past that middle:
// uncapped, pace*(1+6*dt) after an answer 100ms on went from 43/s to 69/s,
// past the refusal's own pace (in the nginx 50r/s simulation, 44.2/s to
// 50.3/s, 98% of the refused pace, in one step). It FAILED before.
func TestOneAtATimeStepCapped(t *testing.T) {
	t0 := simEpoch
	a := newAdaptive(1e9, 1, 8)
	a.signs, a.firstSent, a.segStart, a.probed = 2, t0, t0, t0
	a.measured, a.refusedPace, a.pace = 44, 56, 43
	if !a.oneAtATime() {
		t.Fatal("not a bucket of one")
	}
	target := a.oneBetween()
	sent := t0.Add(100 * time.Millisecond)
	a.succeeded(sent, sent.Add(time.Millisecond), -1, 0, 0, time.Time{})
	if a.pace > target+1e-9 {
		t.Errorf("one step paced at %.1f/s, past the middle %.1f/s (refused at %.0f/s)", a.pace, target, a.refusedPace)
	}
	if a.pace <= 43 {
		t.Errorf("paced at %.1f/s: no step up toward %.1f/s", a.pace, target)
	}
}
