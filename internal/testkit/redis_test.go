package testkit

import (
	"context"
	"testing"
)

// TestRedis starts, stops and restarts a real redis-server on one port.
func TestRedis(t *testing.T) {
	r := RedisT(t)
	if !ping(r.Addr()) {
		t.Fatalf("no PONG from %s", r.Addr())
	}
	if got, want := r.URL("q"), "redis://"+r.Addr()+"/0?key=q"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	r.Stop()
	r.Stop() // a stopped server is left alone
	if ping(r.Addr()) {
		t.Fatal("PONG after Stop")
	}
	if err := r.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !ping(r.Addr()) {
		t.Fatal("no PONG after Restart")
	}
}
