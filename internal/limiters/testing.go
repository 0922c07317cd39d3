package limiters

import (
	"context"
	"errors"
	"os"
	"testing"
)

// MustRun reports whether a missing limiter fails a test instead of
// skipping it: under CI (CI=true) every real limiter must really run.
func MustRun() bool { return os.Getenv("CI") == "true" }

// ForTest starts cfg's limiter for t, in t.TempDir() unless cfg.Dir is
// set, and closes it in t's cleanup. A limiter that is not installed skips
// t, or fails it under CI (see MustRun).
func ForTest(t testing.TB, cfg Config) *Server {
	t.Helper()
	if err := Available(cfg.Kind, cfg.Root); err != nil {
		Unavailable(t, err)
		return nil // not reached: Unavailable ends t
	}
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start %s: %v", cfg.Kind, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close %s: %v", cfg.Kind, err)
		}
	})
	return s
}

// Unavailable skips t for err, an Available error, or fails it under CI.
func Unavailable(t testing.TB, err error) {
	t.Helper()
	if MustRun() || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("%v", err)
		return
	}
	t.Skipf("%v (skipped here; CI=true fails instead)", err)
}
