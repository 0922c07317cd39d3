package ratelimit_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/bulksend/bulksend/ratelimit"
)

// BenchmarkWait is the limiter's cost per message when it lets every
// request go at once: what the engine pays on the hot path before each
// send, alone and with 32 workers asking together, as in issue 6's run.
func BenchmarkWait(b *testing.B) {
	tests := []struct {
		name string
		cfg  ratelimit.Config
	}{
		{"unpaced", ratelimit.Config{}},
		{"fixed, never waits", ratelimit.Config{Rate: ratelimit.RateFromPerSecond(1e9), Burst: 1 << 30}},
		{"adaptive, nothing learned", ratelimit.Config{Adaptive: true, InFlight: 32}},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			l := ratelimit.New(tt.cfg)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := l.Wait(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tt.name+"/32 workers", func(b *testing.B) {
			l := ratelimit.New(tt.cfg)
			ctx := context.Background()
			b.SetParallelism(16) // 2 CPUs x 16 = 32 goroutines
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := l.Wait(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkSuccess is what the engine tells the limiter after every 2xx.
func BenchmarkSuccess(b *testing.B) {
	for _, adaptive := range []bool{false, true} {
		b.Run("adaptive="+strconv.FormatBool(adaptive), func(b *testing.B) {
			l := ratelimit.New(ratelimit.Config{Adaptive: adaptive})
			now := time.Now()
			b.ReportAllocs()
			for b.Loop() {
				l.Success(now, ratelimit.Quota{Remaining: -1}, false)
			}
		})
	}
}

// answerHeaders are the headers of typical answers; every response the
// engine gets is read for a quota, and throttle answers for a wait.
func answerHeaders(now time.Time) []struct {
	name string
	h    http.Header
} {
	date := now.UTC().Format(http.TimeFormat)
	return []struct {
		name string
		h    http.Header
	}{
		{"no rate-limit headers", http.Header{"Date": {date}, "Content-Type": {"application/json"}, "Content-Length": {"34"}}},
		{"retry-after", http.Header{"Date": {date}, "Retry-After": {"2"}}},
		{"ietf", http.Header{"Date": {date}, "Ratelimit": {`"default";r=0;t=2`}, "Ratelimit-Policy": {`"default";q=100;w=60`}}},
		{"x-ratelimit unix", http.Header{"Date": {date}, "X-Ratelimit-Limit": {"100"}, "X-Ratelimit-Remaining": {"0"},
			"X-Ratelimit-Reset": {strconv.FormatInt(now.Add(2*time.Second).Unix(), 10)}}},
	}
}

// BenchmarkParseQuota is the quota read of every answer.
func BenchmarkParseQuota(b *testing.B) {
	now := time.Now()
	for _, tt := range answerHeaders(now) {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ratelimit.ParseQuota(tt.h, now)
			}
		})
	}
}

// BenchmarkParseWaitAt is the wait read of an answer against a server
// clock that has been learned.
func BenchmarkParseWaitAt(b *testing.B) {
	now := time.Now()
	for _, tt := range answerHeaders(now) {
		b.Run(tt.name, func(b *testing.B) {
			var c ratelimit.ServerClock
			for i := range 5 {
				c.Observe(tt.h, now.Add(time.Duration(i)*time.Millisecond), now.Add(time.Duration(i+1)*time.Millisecond))
			}
			b.ReportAllocs()
			for b.Loop() {
				c.ParseWaitAt(tt.h, now)
			}
		})
	}
}
