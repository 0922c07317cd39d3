package sender

import (
	"math"
	"slices"
	"testing"
	"time"
)

// quantiles returns n samples of a distribution, drawn deterministically at
// evenly spaced probabilities through its inverse CDF.
func quantiles(n int, inv func(p float64) time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = inv((float64(i) + 0.5) / float64(n))
	}
	return out
}

// truePercentile is the nearest-rank percentile: the smallest sample with
// at least p of the samples at or below it.
func truePercentile(sorted []time.Duration, p float64) time.Duration {
	k := max(int(math.Ceil(p*float64(len(sorted)))), 1)
	return sorted[k-1]
}

func TestLatencyPercentiles(t *testing.T) {
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	tests := []struct {
		name    string
		samples []time.Duration
	}{
		{"constant 42ms", quantiles(1000, func(float64) time.Duration { return 42 * time.Millisecond })},
		{"uniform 1ms..1s", quantiles(20000, func(p float64) time.Duration { return ms(1 + p*999) })},
		{"exponential, mean 80ms", quantiles(20000, func(p float64) time.Duration { return ms(-80 * math.Log(1-p)) })},
		{"log-normal around 250ms", quantiles(20000, func(p float64) time.Duration {
			return ms(250 * math.Exp(0.8*math.Sqrt2*math.Erfinv(2*p-1)))
		})},
		{"bimodal: 94% fast, 6% at the timeout", quantiles(10000, func(p float64) time.Duration {
			if p < 0.94 {
				return ms(20 + 10*p)
			}
			return 30 * time.Second
		})},
		{"slow tail: seconds", quantiles(5000, func(p float64) time.Duration { return ms(1000 + 9000*p*p) })},
		// Loopback to the sandbox answers in tens of microseconds.
		{"loopback: 30µs..90µs", quantiles(10000, func(p float64) time.Duration {
			return time.Duration(30000 + p*60000)
		})},
		{"a single sample", []time.Duration{137 * time.Millisecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h latencies
			for _, d := range tc.samples {
				h.add(d)
			}
			sorted := slices.Clone(tc.samples)
			slices.Sort(sorted)
			for _, p := range []float64{0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1} {
				want := truePercentile(sorted, p)
				got := h.percentile(p)
				if rel := math.Abs(float64(got-want)) / float64(want); rel > 0.02 {
					t.Errorf("p%g = %v, want %v within 2%% (off by %.1f%%)", p*100, got, want, rel*100)
				}
			}
		})
	}
}

func TestLatencyEmptyAndExtremes(t *testing.T) {
	var h latencies
	if got := h.percentile(0.5); got != 0 {
		t.Errorf("empty histogram p50 = %v, want 0", got)
	}
	h.add(-time.Second) // a clock step must not panic
	h.add(0)
	h.add(1000 * time.Hour) // beyond the last bucket: kept in it
	if h.n != 3 {
		t.Errorf("counted %d samples, want 3", h.n)
	}
	if got := h.percentile(1); got < time.Hour {
		t.Errorf("p100 = %v, want the huge sample's bucket", got)
	}
}
