// Package sandboxtest serves a bulksend sandbox on a loopback port for
// tests and benchmark harnesses, as net/http/httptest serves a handler. It
// is part of the test kit (see package testkit): production code must not
// import it.
package sandboxtest

import (
	"context"
	"fmt"
	"testing"

	"github.com/bulksend/bulksend/sandbox"
)

// Serve starts a sandbox configured by cfg on 127.0.0.1, a free port, and
// returns it with its base URL ("http://127.0.0.1:PORT"). stop shuts it
// down and returns once it has; ctx ending shuts it down too.
func Serve(ctx context.Context, cfg sandbox.Config) (srv *sandbox.Server, base string, stop func(), err error) {
	if srv, err = sandbox.New(cfg); err != nil {
		return nil, "", nil, fmt.Errorf("configure sandbox: %w", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	addr, done, err := sandbox.Start(sctx, "127.0.0.1:0", srv)
	if err != nil {
		cancel()
		return nil, "", nil, fmt.Errorf("start sandbox: %w", err)
	}
	// A shutdown error changes nothing about what a test or run measured.
	return srv, "http://" + addr, func() { cancel(); <-done }, nil
}

// Start is Serve for a test: the sandbox serves until the test ends, and
// an error fails the test.
func Start(t testing.TB, cfg sandbox.Config) (*sandbox.Server, string) {
	t.Helper()
	srv, base, stop, err := Serve(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return srv, base
}
