package testkit

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// redisReady bounds how long a started redis-server may take to answer.
const redisReady = 10 * time.Second

// Redis is a real redis-server on a loopback port, saving nothing to disk.
type Redis struct {
	port int
	dir  string

	mu     sync.Mutex
	cmd    *exec.Cmd
	out    *bytes.Buffer // its stdout and stderr, for a failure message
	exited chan struct{} // closed once the process is gone
}

// StartRedis runs redis-server on a free loopback port with its working
// files in dir, and returns once it answers PING. The free port may be
// taken between finding and binding it, so it tries a few.
func StartRedis(ctx context.Context, dir string) (*Redis, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, errors.New("redis-server is not installed (apt-get install -y redis-server)")
	}
	var err error
	for range 5 {
		r := &Redis{dir: dir}
		if r.port, err = freePort(); err != nil {
			return nil, err
		}
		if err = r.Restart(ctx); err == nil {
			return r, nil
		}
	}
	return nil, err
}

// RedisT is StartRedis for a test: the server is stopped when the test
// ends. Without redis-server the test is skipped, except in CI (CI=true),
// whose .ci/run installs it.
func RedisT(t testing.TB) *Redis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed (apt-get install -y redis-server)")
		}
		t.Skip("redis-server is not installed; apt-get install -y redis-server to run this test")
	}
	r, err := StartRedis(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Addr is the server's host:port.
func (r *Redis) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// URL is the --limiter URL of the quota named key on database 0.
func (r *Redis) URL(key string) string { return "redis://" + r.Addr() + "/0?key=" + key }

// Restart starts the server again on the same port after Stop, and returns
// once it answers PING. Nothing stored before the stop survives it.
func (r *Redis) Restart(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.out = new(bytes.Buffer)
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir)
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	r.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { _ = cmd.Wait(); close(exited) }(r.cmd, r.exited)
	if err := waitPong(ctx, r.Addr(), r.exited); err != nil {
		r.stopLocked()
		return fmt.Errorf("redis-server on %s: %w\n%s", r.Addr(), err, r.out)
	}
	return nil
}

// Stop kills the server and waits until it is gone; a stopped server is
// left alone.
func (r *Redis) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopLocked()
}

func (r *Redis) stopLocked() {
	select {
	case <-r.exited:
	default:
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
}

// waitPong sends PING to addr until it answers PONG, the server exits, ctx
// ends or redisReady passes.
func waitPong(ctx context.Context, addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(redisReady)
	for {
		if ping(addr) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer to PING in %v", redisReady)
		}
		select {
		case <-exited:
			return errors.New("exited before answering PING")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond): // test harness polling
		}
	}
}

// ping reports whether a Redis server answers PING at addr.
func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.TrimSpace(line) == "+PONG"
}
