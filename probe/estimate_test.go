package probe

import (
	"encoding/binary"
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// ev is an event decided at ms milliseconds after t0 with no round trip.
func ev(seq int, ms float64, throttled bool) Event {
	at := t0.Add(time.Duration(ms * float64(time.Millisecond)))
	status := 200
	if throttled {
		status = 429
	}
	return Event{Seq: seq, Sent: at, Received: at, Status: status, Throttled: throttled}
}

// bucketEvents simulates probing an empty token bucket refilled at perSecond
// every stepMS milliseconds from 0 to endMS: a probe is accepted when a
// token has accrued since the last accepted one.
func bucketEvents(perSecond, stepMS, endMS float64) []Event {
	var evs []Event
	tokens := 0.0
	last := 0.0
	for ms := 0.0; ms <= endMS+1e-9; ms += stepMS {
		tokens += (ms - last) / 1000 * perSecond
		last = ms
		ok := tokens >= 1
		if ok {
			tokens--
		}
		evs = append(evs, ev(len(evs), ms, !ok))
	}
	return evs
}

// inRound moves events by shift and marks them sent in round r.
func inRound(evs []Event, r int, shift time.Duration) []Event {
	out := make([]Event, len(evs))
	for i, e := range evs {
		e.Sent, e.Received, e.Round, e.Seq = e.Sent.Add(shift), e.Received.Add(shift), r, e.Seq+1000*r
		out[i] = e
	}
	return out
}

func TestEstimateRate(t *testing.T) {
	tests := []struct {
		name       string
		events     []Event
		want       float64 // per second
		tolerance  float64 // relative
		lowerBound bool
		ok         bool
	}{
		{
			name:   "token bucket 20/s probed every 25ms",
			events: bucketEvents(20, 25, 1500),
			want:   20, tolerance: 0.05, ok: true,
		},
		{
			// Two rounds of a bucket kept empty, three seconds of idle
			// (a fit running) between them: counted over the idle time,
			// the refill a full bucket wasted would read 2/s.
			name:   "token bucket 20/s in two rounds",
			events: append(bucketEvents(20, 25, 1500), inRound(bucketEvents(20, 25, 1500), 1, 4500*time.Millisecond)...),
			want:   20, tolerance: 0.05, ok: true,
		},
		{
			name:   "token bucket 2/s probed every 200ms",
			events: bucketEvents(2, 200, 10000),
			want:   2, tolerance: 0.1, ok: true,
		},
		{
			name: "fixed window of 10 per second",
			events: func() []Event {
				var evs []Event
				for w := 0; w < 3; w++ {
					base := float64(w) * 1000
					for i := 0; i < 10; i++ {
						evs = append(evs, ev(len(evs), base+float64(i), false))
					}
					evs = append(evs, ev(len(evs), base+10, true), ev(len(evs)+1, base+500, true))
				}
				return evs
			}(),
			// The first window is left out: 10 accepted from the drain
			// at 1010ms to the one at 2010ms.
			want: 10, tolerance: 0.001, ok: true,
		},
		{
			name:   "no throttle: the pace reached is a lower bound",
			events: []Event{ev(0, 0, false), ev(1, 10, false), ev(2, 20, false), ev(3, 30, false), ev(4, 40, false)},
			want:   100, tolerance: 0.001, lowerBound: true, ok: true,
		},
		{
			name:   "one throttle then accepted: lower bound from the drain",
			events: []Event{ev(0, 0, false), ev(1, 1, true), ev(2, 101, false), ev(3, 201, false)},
			want:   10, tolerance: 0.001, lowerBound: true, ok: true,
		},
		{
			name:   "throttles with nothing between them: lower bound from the last",
			events: []Event{ev(0, 0, true), ev(1, 50, true), ev(2, 100, false), ev(3, 150, false)},
			want:   2 / 0.1, tolerance: 0.001, lowerBound: true, ok: true,
		},
		{
			name: "order by decision time, not by slice order",
			events: []Event{
				ev(3, 1000, true), ev(1, 500, false), ev(0, 0, true), ev(2, 750, false),
			},
			want: 2, tolerance: 0.001, ok: true,
		},
		{
			name: "decision time is the middle of the round trip",
			events: []Event{
				{Seq: 0, Sent: t0, Received: t0.Add(200 * time.Millisecond), Throttled: true},            // at 100ms
				{Seq: 1, Sent: t0.Add(300 * time.Millisecond), Received: t0.Add(500 * time.Millisecond)}, // at 400ms
				{Seq: 2, Sent: t0.Add(1000 * time.Millisecond), Received: t0.Add(1200 * time.Millisecond), Throttled: true},
			},
			want: 1, tolerance: 0.001, ok: true,
		},
		{name: "no events", events: nil},
		{name: "one event", events: []Event{ev(0, 0, false)}},
		{name: "only throttles", events: []Event{ev(0, 0, true), ev(1, 10, true)}},
		{name: "no time between events", events: []Event{ev(0, 5, false), ev(1, 5, false)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := EstimateRate(tt.events)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v (%+v)", ok, tt.ok, got)
			}
			if !ok {
				if got != (Rate{}) {
					t.Errorf("not ok but %+v", got)
				}
				return
			}
			if math.Abs(got.PerSecond-tt.want) > tt.want*tt.tolerance {
				t.Errorf("PerSecond = %v, want %v ±%v%%", got.PerSecond, tt.want, tt.tolerance*100)
			}
			if got.LowerBound != tt.lowerBound {
				t.Errorf("LowerBound = %v, want %v", got.LowerBound, tt.lowerBound)
			}
			if got.Accepted <= 0 || got.Span <= 0 {
				t.Errorf("Accepted %d over %v", got.Accepted, got.Span)
			}
		})
	}
}

func TestEstimateBurst(t *testing.T) {
	// n accepted requests decided gapMS apart, then a throttled one.
	burstThen429 := func(n int, gapMS float64) []Event {
		var evs []Event
		for i := 0; i < n; i++ {
			evs = append(evs, ev(i, float64(i)*gapMS, false))
		}
		return append(evs, ev(n, float64(n)*gapMS, true))
	}
	tests := []struct {
		name            string
		events          []Event
		perSecond       float64
		burst, accepted int
		ok              bool
	}{
		{"loopback: no refill to speak of", burstThen429(15, 0.2), 20, 15, 15, true},
		{"distant server: refill taken off", burstThen429(26, 20), 20, 16, 26, true}, // 26 - 20/s * 0.5s
		{"unknown rate: the raw count", burstThen429(25, 20), 0, 25, 25, true},
		{"correction never below one", burstThen429(3, 1000), 20, 1, 3, true},
		{"first request throttled", []Event{ev(0, 0, true), ev(1, 0, true)}, 20, 0, 0, true},
		{"no throttle: burst not reached", []Event{ev(0, 0, false), ev(1, 1, false)}, 20, 0, 2, false},
		{"no events", nil, 20, 0, 0, false},
		{
			// 4 in flight over a 100ms round trip: decided from 50ms to 650ms.
			name: "distant server: round trips taken into account",
			events: func() []Event {
				var evs []Event
				for i := 0; i <= 25; i++ {
					sent := t0.Add(time.Duration(i) * 25 * time.Millisecond)
					evs = append(evs, Event{Seq: i, Sent: sent, Received: sent.Add(100 * time.Millisecond), Throttled: i == 25})
				}
				return evs
			}(),
			perSecond: 20, burst: 13, accepted: 25, ok: true, // 25 - 20/s * 0.6s
		},
		{
			// The first answer was noted 60ms late by a busy client: its
			// midpoint would have made the burst look 30ms long.
			name: "a late note does not lengthen the burst",
			events: func() []Event {
				evs := []Event{{Seq: 0, Sent: t0, Received: t0.Add(60 * time.Millisecond)}}
				for i := 1; i <= 15; i++ {
					sent := t0.Add(time.Duration(i) * 200 * time.Microsecond)
					evs = append(evs, Event{Seq: i, Sent: sent, Received: sent.Add(time.Millisecond), Throttled: i == 15})
				}
				return evs
			}(),
			perSecond: 50, burst: 15, accepted: 15, ok: true,
		},
		{
			name: "answers in any order: every accepted one counts",
			events: []Event{
				ev(3, 3, false), ev(0, 0, false), ev(2, 2, true), ev(1, 1, false), ev(4, 4, true), ev(5, 2.5, false),
			},
			perSecond: 20, burst: 4, accepted: 4, ok: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			burst, accepted, ok := EstimateBurst(tt.events, tt.perSecond)
			if burst != tt.burst || accepted != tt.accepted || ok != tt.ok {
				t.Errorf("EstimateBurst = %d, %d, %v; want %d, %d, %v", burst, accepted, ok, tt.burst, tt.accepted, tt.ok)
			}
		})
	}
}

func TestEstimateSingle(t *testing.T) {
	tests := []struct {
		name   string
		events []Event
		want   float64
		ok     bool
	}{
		{
			// Each accepted probe restarts a 100ms clock; probes every
			// 30ms find it 0-30ms late. The bracket middles are 100ms.
			name: "one request every 100ms",
			events: []Event{
				ev(0, 0, false), ev(1, 85, true), ev(2, 115, false),
				ev(3, 200, true), ev(4, 230, false),
				ev(5, 310, true), ev(6, 350, false),
			},
			want: 10, ok: true,
		},
		{
			name: "no bracket across two rounds",
			events: []Event{
				ev(0, 0, false), ev(1, 85, true), ev(2, 115, false), ev(3, 200, true),
				inRound([]Event{ev(0, 0, false)}, 1, 5*time.Second)[0],
				inRound([]Event{ev(1, 85, true)}, 1, 5*time.Second)[0],
				inRound([]Event{ev(2, 115, false)}, 1, 5*time.Second)[0],
			},
			want: 10, ok: true,
		},
		{
			name:   "accepted twice in a row bounds nothing",
			events: []Event{ev(0, 0, false), ev(1, 500, false), ev(2, 590, true), ev(3, 610, false)},
			want:   10, ok: true,
		},
		{name: "no bracket", events: []Event{ev(0, 0, false), ev(1, 100, false)}},
		{name: "only throttled", events: []Event{ev(0, 0, true), ev(1, 100, true)}},
		{name: "none", events: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := estimateSingle(tt.events)
			if ok != tt.ok || ok && math.Abs(got.PerSecond-tt.want) > tt.want*0.001 {
				t.Errorf("estimateSingle = %+v, %v; want %v/s, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestSuggestedFlags(t *testing.T) {
	tests := []struct {
		name      string
		burst     int
		perSecond float64
		want      string
	}{
		{"measured a bit over", 15, 20.3, "--rate 20/s --burst 15"},
		{"rounded down, never up", 15, 19.8, "--rate 19/s --burst 15"},
		{"two significant digits", 40, 1234, "--rate 1200/s --burst 40"},
		{"fraction per second", 5, 2.57, "--rate 2.5/s --burst 5"},
		{"slower than one a second", 3, 0.5, "--rate 30/m --burst 3"},
		{"slower than one a minute", 2, 0.001, "--rate 3.6/h --burst 2"},
		{"unknown burst", 0, 5, "--rate 5/s"},
		{"unknown rate", 15, 0, ""},
		{"negative", 15, -1, ""},
		{"NaN", 15, math.NaN(), ""},
		{"infinite", 15, math.Inf(1), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SuggestedFlags(tt.burst, tt.perSecond); got != tt.want {
				t.Errorf("SuggestedFlags(%d, %v) = %q, want %q", tt.burst, tt.perSecond, got, tt.want)
			}
		})
	}
}

// FuzzEstimate feeds arbitrary timings to the estimators: they must never
// panic and must keep their promises (a finite non-negative rate, counts
// within what was seen).
func FuzzEstimate(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0, 0, 10, 0, 0, 0, 20, 0, 1}, 20.0)
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0}, 0.0)
	f.Add([]byte{255, 255, 1, 0, 0, 0, 0, 1, 128, 0, 5, 0}, 1e9)
	f.Fuzz(func(t *testing.T, data []byte, perSecond float64) {
		// Three bytes an event: sent offset in ms (two bytes), round trip
		// in ms (high bits) and throttled (low bit).
		var evs []Event
		for i := 0; i+3 <= len(data); i += 3 {
			sent := t0.Add(time.Duration(binary.BigEndian.Uint16(data[i:])) * time.Millisecond)
			rtt := time.Duration(data[i+2]>>1) * time.Millisecond
			evs = append(evs, Event{Seq: i / 3, Sent: sent, Received: sent.Add(rtt), Throttled: data[i+2]&1 == 1})
		}
		r, ok := EstimateRate(evs)
		if ok && (!(r.PerSecond > 0) || math.IsInf(r.PerSecond, 0) || r.Accepted > len(evs) || r.Span <= 0) {
			t.Errorf("EstimateRate = %+v", r)
		}
		if !ok && r != (Rate{}) {
			t.Errorf("not ok but %+v", r)
		}
		burst, accepted, _ := EstimateBurst(evs, perSecond)
		if burst < 0 || burst > accepted || accepted > len(evs) {
			t.Errorf("EstimateBurst = %d, %d for %d events", burst, accepted, len(evs))
		}
		if s, ok := estimateSingle(evs); ok && (!(s.PerSecond > 0) || math.IsInf(s.PerSecond, 0)) {
			t.Errorf("estimateSingle = %+v", s)
		}
		_ = SuggestedFlags(burst, perSecond)
	})
}
