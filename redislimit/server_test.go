package redislimit

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startRedisServer runs a real redis-server on a free loopback port, with
// nothing saved to disk, until the test ends. Without redis-server the test
// is skipped, except in CI (CI=true), whose .ci/run installs it.
func startRedisServer(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed (apt-get install -y redis-server)")
		}
		t.Skip("redis-server is not installed; apt-get install -y redis-server to run this test")
	}
	var last []byte
	for range 5 { // the free port may be taken between finding and binding it
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", t.TempDir())
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		if waitReady(addr, exited) {
			t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
			return addr
		}
		_ = cmd.Process.Kill()
		<-exited
		last = out.Bytes()
	}
	t.Fatalf("redis-server did not start:\n%s", last)
	return ""
}

// waitReady pings addr until it answers, or the server exits, or 10 s pass.
func waitReady(addr string, exited <-chan struct{}) bool {
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// TestRealRedis runs the scripts on a real Redis, whose Lua differs from
// miniredis' in how it turns numbers into strings: the stored timestamps
// must keep their microseconds. Only lower bounds on time are checked.
func TestRealRedis(t *testing.T) {
	addr := startRedisServer(t)
	ctx := context.Background()
	cfg := Config{Rate: mustRate(t, "1000/s"), Burst: 5}
	a, err := Open(ctx, "redis://"+addr+"/0?key=real", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, "redis://"+addr+"/0?key=real", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	t.Run("paced across limiters", func(t *testing.T) {
		start := time.Now()
		for i := range 45 {
			l := a
			if i%2 == 1 {
				l = b
			}
			if err := l.Wait(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if el := time.Since(start); el < 39*time.Millisecond {
			t.Errorf("45 slots at 1000/s with a burst of 5 took %v, want at least 40ms", el)
		}
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		defer rdb.Close()
		raw, err := rdb.Get(ctx, "bulksend:{real}:tat").Result()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := strconv.ParseInt(raw, 10, 64); err != nil || len(raw) < 16 {
			t.Errorf("tat stored as %q, want whole microseconds", raw)
		}
	})
	t.Run("a pause holds the other limiter", func(t *testing.T) {
		start := time.Now()
		a.Throttle(start, 300*time.Millisecond, true)
		if err := b.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el < 299*time.Millisecond {
			t.Errorf("b waited %v, want the 300ms pause", el)
		}
		if s := b.Stats(); s.Pauses != 1 {
			t.Errorf("b saw %d pauses, want 1", s.Pauses)
		}
	})
}
