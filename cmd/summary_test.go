package cmd

import (
	"encoding/json"
	"strings"
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
