package cmd

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/bulksend/bulksend/sandbox"
)

func TestNewCmdSandboxFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want sandbox.Config
		rate string
	}{
		{"defaults: today's token bucket", nil,
			sandbox.Config{Burst: 15, Style: sandbox.StyleRetryAfter, TokenLifetime: time.Hour, Seed: 1}, "100/s"},
		{"aligned fixed window", []string{"--model", "fixed", "--window", "150ms", "--aligned", "--style", "ratelimit"},
			sandbox.Config{Model: "fixed", Burst: 15, Window: 150 * time.Millisecond, Aligned: true, Style: "ratelimit", TokenLifetime: time.Hour, Seed: 1}, "100/s"},
		{"sliding counter counting refusals", []string{"--model", "sliding", "--sliding", "counter", "--burst", "100", "--window", "1s", "--refused-count"},
			sandbox.Config{Model: "sliding", Sliding: "counter", Burst: 100, Window: time.Second, RefusedCount: true, Style: sandbox.StyleRetryAfter, TokenLifetime: time.Hour, Seed: 1}, "100/s"},
		{"leaky bucket", []string{"--model", "leaky", "--rate", "50/s"},
			sandbox.Config{Model: "leaky", Burst: 15, Style: sandbox.StyleRetryAfter, TokenLifetime: time.Hour, Seed: 1}, "50/s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := TestStreams()
			var got *SandboxOptions
			c := NewCmdSandbox(ios, nil, nil, func(o *SandboxOptions) error { got = o; return nil })
			c.SetArgs(tt.args)
			if err := c.ExecuteContext(context.Background()); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Config, tt.want) || got.Rate != tt.rate {
				t.Errorf("options: %+v rate %q\nwant %+v rate %q", got.Config, got.Rate, tt.want, tt.rate)
			}
		})
	}
}

func TestLimitText(t *testing.T) {
	tests := []struct {
		name string
		cfg  sandbox.Config
		want string
	}{
		{"bucket", sandbox.Config{Burst: 15}, "burst 15, refill 100/s"},
		{"window alone", sandbox.Config{Burst: 15, Window: 150 * time.Millisecond}, "15 requests per 150ms fixed window"},
		{"aligned", sandbox.Config{Model: "fixed", Burst: 15, Window: time.Second, Aligned: true}, "15 requests per 1s fixed window on the clock"},
		{"sliding", sandbox.Config{Model: "sliding", Burst: 100, Window: time.Second, RefusedCount: true},
			"100 requests per 1s sliding window (log), refused requests count"},
		{"counter", sandbox.Config{Model: "sliding", Sliding: "counter", Burst: 5, Window: time.Second}, "5 requests per 1s sliding window (counter)"},
		{"leaky", sandbox.Config{Model: "leaky", Burst: 15}, "leaky bucket, burst 15, drain 100/s"},
		{"concurrency", sandbox.Config{Model: "concurrency", Burst: 3}, "3 requests in flight"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := limitText(tt.cfg, "100/s"); got != tt.want {
				t.Errorf("limitText = %q, want %q", got, tt.want)
			}
		})
	}
}
