package cmd

import (
	"testing"

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
		{"fixed window pinned evenly", runSummary{LearnedModel: ratelimit.ModelFixedWindow, LearnedBurst: 3, LearnedWindow: 1.6015, evenly: true}, "3 per 1.602s fixed window, seen in few windows (pinned evenly)"},
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
