// Command golimiters-limiter serves one of four widely used Go rate
// limiters in front of a backend, each configured as "limit requests per
// window" and keyed by client IP, with the library's own HTTP middleware
// and its default answers:
//
//   - ulule: github.com/ulule/limiter/v3, memory store, stdlib middleware
//     (Rate{Period: window, Limit: limit}).
//   - throttled: github.com/throttled/throttled/v2, GCRA on its memstore
//     (RateQuota{MaxRate: PerDuration(limit, window), MaxBurst: limit-1},
//     so the bucket holds limit requests and refills limit per window).
//   - golimiter: github.com/sethvargo/go-limiter, memorystore with httplimit
//     (Config{Tokens: limit, Interval: window}).
//   - tollbooth: github.com/didip/tollbooth/v7 (NewLimiter(limit/window
//     per second) with SetBurst(limit)).
//
// internal/limiters documents what each one really does. bulksend's tests
// and bench/limits build and start this command through internal/limiters;
// it is its own module so the main module depends on none of them.
//
// Usage:
//
//	golimiters-limiter -kind ulule -listen 127.0.0.1:PORT -limit 100 -window 1s -backend http://127.0.0.1:PORT
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/didip/tollbooth/v7"
	"github.com/sethvargo/go-limiter/httplimit"
	"github.com/sethvargo/go-limiter/memorystore"
	"github.com/throttled/throttled/v2"
	"github.com/throttled/throttled/v2/store/memstore"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/middleware/stdlib"
	ulmemory "github.com/ulule/limiter/v3/drivers/store/memory"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "golimiters-limiter:", err)
		os.Exit(1)
	}
}

func run() error {
	kind := flag.String("kind", "", "the limiter: ulule, throttled, golimiter or tollbooth")
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	limit := flag.Int("limit", 15, "requests allowed per window")
	window := flag.Duration("window", 150*time.Millisecond, "window length")
	backend := flag.String("backend", "", "base URL of the backend every allowed request is passed to")
	flag.Parse()
	target, err := url.Parse(*backend)
	if err != nil || target.Host == "" {
		return fmt.Errorf("parse -backend %q: need a base URL", *backend)
	}
	if *limit < 1 || *window <= 0 {
		return fmt.Errorf("limit %d per %v: need at least 1 per a positive window", *limit, *window)
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) }}
	limited, err := limitBy(*kind, *limit, *window, proxy)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: *listen, Handler: limited, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}

// limitBy wraps next in kind's middleware, limit requests per window.
func limitBy(kind string, limit int, window time.Duration, next http.Handler) (http.Handler, error) {
	switch kind {
	case "ulule":
		l := limiter.New(ulmemory.NewStore(), limiter.Rate{Period: window, Limit: int64(limit)})
		return stdlib.NewMiddleware(l).Handler(next), nil
	case "throttled":
		st, err := memstore.NewCtx(65536)
		if err != nil {
			return nil, fmt.Errorf("throttled store: %w", err)
		}
		rl, err := throttled.NewGCRARateLimiterCtx(st, throttled.RateQuota{MaxRate: throttled.PerDuration(limit, window), MaxBurst: limit - 1})
		if err != nil {
			return nil, fmt.Errorf("throttled limiter: %w", err)
		}
		h := &throttled.HTTPRateLimiterCtx{RateLimiter: rl, VaryBy: &throttled.VaryBy{RemoteAddr: true}}
		return h.RateLimit(next), nil
	case "golimiter":
		st, err := memorystore.New(&memorystore.Config{Tokens: uint64(limit), Interval: window})
		if err != nil {
			return nil, fmt.Errorf("go-limiter store: %w", err)
		}
		m, err := httplimit.NewMiddleware(st, httplimit.IPKeyFunc())
		if err != nil {
			return nil, fmt.Errorf("go-limiter middleware: %w", err)
		}
		return m.Handle(next), nil
	case "tollbooth":
		l := tollbooth.NewLimiter(float64(limit)/window.Seconds(), nil).SetBurst(limit)
		return tollbooth.LimitHandler(l, next), nil
	}
	return nil, fmt.Errorf("-kind %q: want ulule, throttled, golimiter or tollbooth", kind)
}
