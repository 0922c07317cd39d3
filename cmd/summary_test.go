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

// TestSmallerPool: a pool that could spend the server's learned quota at
// once gets a smaller one suggested, a request under the quota (one for a
// quota of one), and the summary says so; not where the pool is under
// the quota, nothing was learned, or the server limits requests in
// flight (--concurrency is then among the flags to pin), nor where so
// few in flight would not carry the learned rate at the run's latency.
func TestSmallerPool(t *testing.T) {
	tests := []struct {
		name string
		st   ratelimit.Stats
		pool int
		p95  time.Duration
		want int
	}{
		{"sliding counter of 5, pool 8", ratelimit.Stats{LearnedModel: ratelimit.ModelBucket, LearnedBurst: 5, LearnedRate: 2.6}, 8, 2 * time.Millisecond, 4},
		{"sliding counter of 5 behind 300ms", ratelimit.Stats{LearnedModel: ratelimit.ModelBucket, LearnedBurst: 5, LearnedRate: 4.6}, 8, 300 * time.Millisecond, 4},
		{"fixed window of 8, pool 8", ratelimit.Stats{LearnedModel: ratelimit.ModelFixedWindow, LearnedBurst: 8, LearnedWindow: time.Second, LearnedRate: 8}, 8, 2 * time.Millisecond, 7},
		{"bucket of one, pool 8", ratelimit.Stats{LearnedModel: ratelimit.ModelBucket, LearnedBurst: 1, LearnedRate: 5}, 8, 2 * time.Millisecond, 1},
		{"bucket of one at 100/s behind 100ms", ratelimit.Stats{LearnedModel: ratelimit.ModelBucket, LearnedBurst: 1, LearnedRate: 100}, 8, 100 * time.Millisecond, 0},
		{"bucket of 6 at 100/s behind 20ms", ratelimit.Stats{LearnedModel: ratelimit.ModelBucket, LearnedBurst: 6, LearnedRate: 100}, 8, 20 * time.Millisecond, 5},
		{"bucket of 6 at 100/s behind 40ms", ratelimit.Stats{LearnedModel: ratelimit.ModelBucket, LearnedBurst: 6, LearnedRate: 100}, 8, 40 * time.Millisecond, 0},
		{"bucket of one, pool 1", ratelimit.Stats{LearnedModel: ratelimit.ModelBucket, LearnedBurst: 1, LearnedRate: 5}, 1, 2 * time.Millisecond, 0},
		{"quota of 2, pool 2", ratelimit.Stats{LearnedModel: ratelimit.ModelFixedWindow, LearnedBurst: 2, LearnedWindow: time.Second, LearnedRate: 2}, 2, 2 * time.Millisecond, 1},
		{"quota over the pool", ratelimit.Stats{LearnedModel: ratelimit.ModelFixedWindow, LearnedBurst: 15, LearnedWindow: 150 * time.Millisecond, LearnedRate: 100}, 8, 2 * time.Millisecond, 0},
		{"nothing learned", ratelimit.Stats{}, 8, 2 * time.Millisecond, 0},
		{"concurrency limit", ratelimit.Stats{LearnedModel: ratelimit.ModelConcurrency, LearnedBurst: 4, LearnedInFlight: 4}, 8, 2 * time.Millisecond, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := smallerPool(tc.st, tc.pool, tc.p95); got != tc.want {
				t.Errorf("smallerPool(burst %d, pool %d, p95 %v) = %d, want %d", tc.st.LearnedBurst, tc.pool, tc.p95, got, tc.want)
			}
		})
	}
	s := &runSummary{Rows: 20, Sent: 20, LearnedModel: ratelimit.ModelBucket, LearnedBurst: 5, LearnedRate: 2.6,
		SuggestedFlags: "--rate 2.55/s --burst 4", SmallerPool: 4}
	var b strings.Builder
	printSummary(&b, s)
	if want := "  the pool could spend the server's quota of 5 at once: a smaller one learns it better; next time try --concurrency 4\n"; !strings.Contains(b.String(), want) {
		t.Errorf("summary:\n%s\nwant the line %q", b.String(), want)
	}
	b.Reset()
	if err := writeJSON(&b, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"suggested_concurrency": 4`) {
		t.Errorf("--json: %s\nwant suggested_concurrency 4", b.String())
	}
	s.SmallerPool = 0
	b.Reset()
	printSummary(&b, s)
	if strings.Contains(b.String(), "smaller one") {
		t.Errorf("summary without a smaller pool to suggest:\n%s", b.String())
	}
}
