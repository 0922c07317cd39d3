package cmd

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bulksend/bulksend/ratelimit"
)

// TestLearnedLimits: what the summary says was learned, in each model's
// terms; a fixed window pinned evenly (formed late in the run) says so,
// since its flags then lack --window fixed.
func TestLearnedLimits(t *testing.T) {
	tests := []struct {
		name string
		s    runSummary
		want string
	}{
		{"fixed window", runSummary{LearnedModel: ratelimit.ModelFixedWindow, LearnedBurst: 15, LearnedWindow: 0.151}, "15 per 151ms fixed window"},
		{"fixed window pinned evenly", runSummary{LearnedModel: ratelimit.ModelFixedWindow, LearnedBurst: 3, LearnedWindow: 1.6015, Evenly: true}, "3 per 1.602s fixed window, seen in few windows (pinned evenly)"},
		{"sliding log", runSummary{LearnedModel: ratelimit.ModelSlidingWindow, LearnedBurst: 100, LearnedWindow: 1.001}, "100 per 1.001s sliding log"},
		{"sliding window", runSummary{LearnedModel: ratelimit.ModelSlidingWindow, LearnedRate: 88}, "sliding window, 88.0 requests/s"},
		{"concurrency", runSummary{LearnedModel: ratelimit.ModelConcurrency, LearnedInFlight: 4}, "concurrency limit, 4 in flight"},
		{"bucket", runSummary{LearnedModel: ratelimit.ModelBucket, LearnedBurst: 15, LearnedRate: 98.24}, "burst 15, 98.2 requests/s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := learnedLimits(&tc.s); got != tc.want {
				t.Errorf("learnedLimits() = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSummaryJSONPinnedEvenly: --json says when the suggested flags pace a
// late fixed window's quota evenly (no --window fixed in them), and says
// nothing of it otherwise.
func TestSummaryJSONPinnedEvenly(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    runSummary
		want bool
	}{
		{"pinned evenly", runSummary{LearnedModel: ratelimit.ModelFixedWindow, LearnedBurst: 3, LearnedWindow: 1.6015, Evenly: true, SuggestedFlags: "--rate 3/1.602s"}, true},
		{"pinned as a window", runSummary{LearnedModel: ratelimit.ModelFixedWindow, LearnedBurst: 15, LearnedWindow: 0.151, SuggestedFlags: "--rate 15/151ms --window fixed"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := writeJSON(&b, &tc.s); err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(b.String()), &m); err != nil {
				t.Fatal(err)
			}
			v, has := m["learned_window_pinned_evenly"]
			if has != tc.want || has && v != true {
				t.Errorf("learned_window_pinned_evenly: %v (present %v), want present %v and true", v, has, tc.want)
			}
		})
	}
}

// TestSmallerPool: a server whose learned quota the pool could spend at
// once gets a smaller pool suggested to learn it again with, a request
// under the quota (one for a quota of one), and the summary says so; not
// a concurrency limit, not where the pool is under the quota or nothing
// was learned, and not where so few in flight would not carry four times
// the learned rate at the run's p95 latency, or no latency was measured.
func TestSmallerPool(t *testing.T) {
	const ms2 = 2 * time.Millisecond
	bucket := func(burst int, rate float64) ratelimit.Stats {
		return ratelimit.Stats{LearnedModel: ratelimit.ModelBucket, LearnedBurst: burst, LearnedRate: rate}
	}
	tests := []struct {
		name string
		st   ratelimit.Stats
		pool int
		p95  time.Duration
		want int
	}{
		{"sliding counter taken for a bucket of 5, pool 8", bucket(5, 2.6), 8, ms2, 4},
		{"sliding window of 8, pool 8", ratelimit.Stats{LearnedModel: ratelimit.ModelSlidingWindow, LearnedBurst: 8, LearnedRate: 7.5}, 8, ms2, 7},
		{"sliding counter of 5 behind 300ms", bucket(5, 2.6), 8, 300 * time.Millisecond, 4},
		{"bucket of one, pool 8", bucket(1, 5), 8, ms2, 1},
		{"bucket of one, pool 1", bucket(1, 5), 1, ms2, 0},
		{"bucket of 2, pool 2", bucket(2, 2), 2, ms2, 1},
		{"bucket of one at 100/s behind 100ms", bucket(1, 100), 8, 100 * time.Millisecond, 0},
		{"bucket of 6 at 100/s, 12.5ms: 5 in flight carry it", bucket(6, 100), 8, 12500 * time.Microsecond, 5},
		{"bucket of 6 at 100/s, 13ms: 5 do not", bucket(6, 100), 8, 13 * time.Millisecond, 0},
		{"no latency measured", bucket(5, 2.6), 8, 0, 0},
		{"quota over the pool", bucket(15, 100), 8, ms2, 0},
		{"fixed window of 3, pool 8", ratelimit.Stats{LearnedModel: ratelimit.ModelFixedWindow, LearnedBurst: 3, LearnedWindow: time.Second, LearnedRate: 3}, 8, ms2, 2},
		{"nothing learned", ratelimit.Stats{}, 8, ms2, 0},
		{"concurrency limit", ratelimit.Stats{LearnedModel: ratelimit.ModelConcurrency, LearnedInFlight: 4}, 8, ms2, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := smallerPool(tc.st, tc.pool, tc.p95); got != tc.want {
				t.Errorf("smallerPool(%s burst %d at %.3g/s, pool %d, p95 %v) = %d, want %d", tc.st.LearnedModel, tc.st.LearnedBurst, tc.st.LearnedRate, tc.pool, tc.p95, got, tc.want)
			}
		})
	}
	s := &runSummary{Rows: 20, Sent: 20, LearnedModel: ratelimit.ModelBucket, LearnedBurst: 5, LearnedRate: 2.6,
		SuggestedFlags: "--rate 2.55/s --burst 4", SuggestedConcurrency: 4}
	var b strings.Builder
	printSummary(&b, s)
	if want := "  the pool could spend the server's quota of 5 at once: learned so, the limits above may be low and cost 429s; learn them again with --concurrency 4\n"; !strings.Contains(b.String(), want) {
		t.Errorf("summary:\n%s\nwant the line %q", b.String(), want)
	}
	b.Reset()
	if err := writeJSON(&b, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"suggested_concurrency": 4`) {
		t.Errorf("--json: %s\nwant suggested_concurrency 4", b.String())
	}
	s.SuggestedConcurrency = 0
	b.Reset()
	printSummary(&b, s)
	if strings.Contains(b.String(), "learn them again") {
		t.Errorf("summary without a pool to suggest:\n%s", b.String())
	}
	b.Reset()
	if err := writeJSON(&b, s); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "suggested_concurrency") {
		t.Errorf("--json without a pool to suggest: %s", b.String())
	}
}
