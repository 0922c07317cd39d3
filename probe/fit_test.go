package probe

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/bulksend/bulksend/ratelimit"
	"github.com/bulksend/bulksend/sandbox"
)

// timeline is what a server running cfg answers to requests decided at
// the given offsets (in order; sent and answered at that instant).
func timeline(cfg sandbox.Config, at []time.Duration) []Event {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 37e6, time.UTC)
	m := sandbox.NewModel(cfg)
	evs := make([]Event, len(at))
	for i, d := range at {
		t := t0.Add(d)
		ok := m.Allow(t)
		evs[i] = Event{Seq: i, Sent: t, Received: t, Status: 200, Throttled: !ok}
		if !ok {
			evs[i].Status = 429
		}
	}
	return evs
}

// cycles is a probe's schedule written out: a burst of n requests 0.1ms
// apart at each of the starts, and single probes every step between them.
func cycles(n int, starts []time.Duration, step time.Duration) []time.Duration {
	var at []time.Duration
	for i, s := range starts {
		for j := range n {
			at = append(at, s+time.Duration(j)*100*time.Microsecond)
		}
		end := s + time.Duration(n)*100*time.Microsecond + step
		if i+1 < len(starts) {
			for p := end; p < starts[i+1]; p += step {
				at = append(at, p)
			}
		}
	}
	return at
}

// TestFitModel fits synthetic timelines of every model, including the
// uneven bursts that tell a sliding window from a fixed one.
func TestFitModel(t *testing.T) {
	ms := func(v ...float64) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x * float64(time.Millisecond))
		}
		return out
	}
	uneven := ms(0, 160, 240, 330, 500, 560, 700, 810, 1000, 1090)
	tests := []struct {
		name    string
		cfg     sandbox.Config
		at      []time.Duration
		model   string
		variant string
		limit   int
		period  time.Duration
	}{
		{"token bucket 15 at 100/s", sandbox.Config{Burst: 15, Rate: 100}, cycles(20, uneven, 3*time.Millisecond),
			ratelimit.ModelBucket, "", 15, 150 * time.Millisecond},
		{"fixed window from the first request", sandbox.Config{Model: sandbox.ModelFixed, Burst: 15, Window: 150 * time.Millisecond},
			cycles(20, uneven, 7*time.Millisecond), ratelimit.ModelFixedWindow, VariantFromFirst, 15, 150 * time.Millisecond},
		{"aligned fixed window", sandbox.Config{Model: sandbox.ModelFixed, Burst: 10, Window: 200 * time.Millisecond, Aligned: true},
			cycles(14, uneven, 9*time.Millisecond), ratelimit.ModelFixedWindow, VariantAligned, 10, 200 * time.Millisecond},
		{"sliding log", sandbox.Config{Model: sandbox.ModelSliding, Burst: 15, Window: 150 * time.Millisecond},
			cycles(8, uneven, 11*time.Millisecond), ratelimit.ModelSlidingWindow, VariantLog, 15, 150 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := FitModel(timeline(tt.cfg, tt.at))
			if !ok || f.Model != tt.model || f.Variant != tt.variant {
				t.Fatalf("fit %+v (ok %v), want %s %s", f, ok, tt.model, tt.variant)
			}
			if math.Abs(float64(f.Limit-tt.limit)) > 0.1*float64(tt.limit) || math.Abs(f.Period.Seconds()-tt.period.Seconds()) > 0.2*tt.period.Seconds() {
				t.Errorf("fit %d per %v, want %d per %v", f.Limit, f.Period, tt.limit, tt.period)
			}
			// The period grid is 0.2% fine: a noiseless timeline may pin
			// the period closer than that, costing a few answers.
			if f.Explained < f.Answers*95/100 {
				t.Errorf("explained %d of %d answers of a noiseless timeline", f.Explained, f.Answers)
			}
		})
	}
}

// TestFitConcurrency: refusals that come exactly when our accepted
// requests are in flight, however long ago the last refusal was, are a
// concurrency limit.
func TestFitConcurrency(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var evs []Event
	// Rounds of 4 sent at once every 100ms, each accepted one held 50ms;
	// 2 slots: 2 accepted, 2 refused at once.
	for r := range 8 {
		start := t0.Add(time.Duration(r) * 100 * time.Millisecond)
		for i := range 4 {
			sent := start.Add(time.Duration(i) * time.Microsecond)
			e := Event{Seq: len(evs), Sent: sent, Received: sent.Add(50 * time.Millisecond), Status: 200}
			if i >= 2 {
				e.Received, e.Status, e.Throttled = sent.Add(100*time.Microsecond), 429, true
			}
			evs = append(evs, e)
		}
		// A single request while both are held, and one after.
		mid := start.Add(25 * time.Millisecond)
		evs = append(evs, Event{Seq: len(evs), Sent: mid, Received: mid.Add(100 * time.Microsecond), Status: 429, Throttled: true})
		late := start.Add(60 * time.Millisecond)
		evs = append(evs, Event{Seq: len(evs), Sent: late, Received: late.Add(time.Millisecond), Status: 200})
	}
	f, ok := FitModel(evs)
	if !ok || f.Model != ModelConcurrency || f.Limit != 2 || f.Explained != f.Answers {
		t.Fatalf("fit %+v (ok %v), want a concurrency limit of 2", f, ok)
	}
	if _, ok := f.Pinned(); ok || f.PerSecond() != 0 {
		t.Errorf("a concurrency limit pins no rate")
	}
}

// concurrencyTimeline is what a server holding at most limit requests in
// flight answers to requests sent at the given offsets, as a probe sees
// it: each request reaches the server up to 0.3ms after it was sent, so
// requests sent together arrive in another order than they were sent in;
// an accepted one is held hold, a refused one answered in 0.2ms.
func concurrencyTimeline(limit int, hold time.Duration, at []time.Duration) []Event {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	type req struct {
		i       int
		arrival time.Time
	}
	reqs := make([]req, len(at))
	for i, d := range at {
		reqs[i] = req{i, t0.Add(d + time.Duration(i*7919%13)*25*time.Microsecond)}
	}
	slices.SortStableFunc(reqs, func(a, b req) int { return a.arrival.Compare(b.arrival) })
	evs := make([]Event, len(at))
	var held []time.Time // when the requests held leave
	for _, r := range reqs {
		held = slices.DeleteFunc(held, func(t time.Time) bool { return !t.After(r.arrival) })
		e := Event{Seq: r.i, Sent: t0.Add(at[r.i]), Status: 200}
		if len(held) < limit {
			held = append(held, r.arrival.Add(hold))
			e.Received = r.arrival.Add(hold + 50*time.Microsecond)
		} else {
			e.Status, e.Throttled, e.Received = 429, true, r.arrival.Add(200*time.Microsecond)
		}
		evs[r.i] = e
	}
	return evs
}

// TestFitConcurrencyReordered: a probe's burst reaches the server in
// another order than its requests left (nginx's limit_conn refused the
// first ones sent of a burst of 8 and took the last ones): a refusal is
// explained by the requests in flight at some moment the server may have
// decided it, not only at the moment it was sent.
func TestFitConcurrencyReordered(t *testing.T) {
	hold := 50 * time.Millisecond
	var at []time.Duration
	// Bursts of 8 requests 10µs apart, each when the last burst's
	// accepted ones have been answered, and single probes between them.
	for c := range 12 {
		start := time.Duration(c) * 80 * time.Millisecond
		for i := range 8 {
			at = append(at, start+time.Duration(i)*10*time.Microsecond)
		}
		for _, p := range []time.Duration{1, 3, 7, 15, 31, 63} {
			at = append(at, start+p*time.Millisecond)
		}
	}
	f, ok := FitModel(concurrencyTimeline(4, hold, at))
	if !ok || f.Model != ModelConcurrency || f.Limit != 4 || f.Confidence < 0.9 {
		t.Fatalf("fit %+v (ok %v), want a concurrency limit of 4", f, ok)
	}
}

// TestFitNothing: without a refusal, or without anything accepted after
// one, there is nothing to fit.
func TestFitNothing(t *testing.T) {
	accepted := timeline(sandbox.Config{Burst: 100, Rate: 1}, cycles(10, []time.Duration{0}, time.Millisecond))
	if f, ok := FitModel(accepted); ok {
		t.Errorf("fit %+v from answers all accepted", f)
	}
	refused := timeline(sandbox.Config{Burst: 3, Rate: 0.001}, cycles(10, []time.Duration{0}, time.Millisecond))
	if f, ok := FitModel(refused); ok {
		t.Errorf("fit %+v from a limiter that never refilled", f)
	}
}
