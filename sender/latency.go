package sender

import (
	"math"
	"time"
)

// latencies is a log-bucketed histogram: a few kilobytes whatever the number
// of messages, with percentiles within 2% of the truth.
type latencies struct {
	buckets [latencyBuckets]int64
	n       int64
}

const (
	latencyGrowth  = 1.02
	latencyBuckets = 1400 // 1µs * 1.02^1400 is far beyond any timeout
)

func (h *latencies) add(d time.Duration) {
	us := float64(d) / float64(time.Microsecond)
	i := 0
	if us > 1 {
		i = int(math.Log(us) / math.Log(latencyGrowth))
	}
	if i >= latencyBuckets {
		i = latencyBuckets - 1
	}
	h.buckets[i]++
	h.n++
}

// percentile returns the latency under which p (0-1) of the samples fall.
func (h *latencies) percentile(p float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	want := int64(math.Ceil(p * float64(h.n)))
	var seen int64
	for i, c := range h.buckets {
		seen += c
		if seen >= want && c > 0 {
			return time.Duration(math.Pow(latencyGrowth, float64(i)+0.5) * float64(time.Microsecond))
		}
	}
	return 0
}
