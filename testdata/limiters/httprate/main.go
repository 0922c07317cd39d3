// Command httprate-limiter serves go-chi/httprate (a sliding window counter
// per client IP that answers X-RateLimit-Limit, -Remaining, -Reset and, on a
// 429, Retry-After) in front of a backend. bulksend's tests and bench/limits
// build and start it through internal/limiters; it is its own module so the
// main module does not depend on httprate.
//
// Usage:
//
//	httprate-limiter -listen 127.0.0.1:PORT -limit 15 -window 150ms -backend http://127.0.0.1:PORT
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

	"github.com/go-chi/httprate"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "httprate-limiter:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	limit := flag.Int("limit", 15, "requests allowed per window")
	window := flag.Duration("window", 150*time.Millisecond, "window length")
	backend := flag.String("backend", "", "base URL of the backend every allowed request is passed to")
	flag.Parse()
	target, err := url.Parse(*backend)
	if err != nil || target.Host == "" {
		return fmt.Errorf("parse -backend %q: need a base URL", *backend)
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) }}
	limited := httprate.Limit(*limit, *window, httprate.WithKeyFuncs(httprate.KeyByIP))(proxy)
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
