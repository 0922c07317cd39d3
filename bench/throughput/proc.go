package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/bulksend/bulksend/bench/internal/benchcli"
	"github.com/bulksend/bulksend/sandbox"
)

// runTimeout bounds one measured process, so a stuck client shows up as an
// error instead of stalling the whole benchmark.
const runTimeout = 10 * time.Minute

// procStats is what the harness measures of one child process.
type procStats struct {
	WallSeconds float64 `json:"wall_seconds"` // start to exit, as the harness saw it
	CPUSeconds  float64 `json:"cpu_seconds"`  // user + system, every thread
	MaxRSSKB    int64   `json:"max_rss_kb"`   // peak resident set; 0 where the OS does not say
	ExitCode    int     `json:"exit_code"`    // -1 when it was killed
}

func statsOf(ps *os.ProcessState, wall time.Duration) procStats {
	return procStats{
		WallSeconds: wall.Seconds(),
		CPUSeconds:  (ps.UserTime() + ps.SystemTime()).Seconds(),
		MaxRSSKB:    maxRSSKB(ps),
		ExitCode:    ps.ExitCode(),
	}
}

// runProc runs name with args to completion and measures it; stdout gets
// its standard output. The error is the harness's (could not start,
// interrupted); a failing child is a non-zero ExitCode with the end of its
// stderr in tail.
func runProc(ctx context.Context, stdout io.Writer, name string, args ...string) (ps procStats, tail string, err error) {
	tctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	cmd := exec.CommandContext(tctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	cmd.WaitDelay = 5 * time.Second // the pipes may outlive a killed process
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return ps, "", fmt.Errorf("start %s: %w", filepath.Base(name), err)
	}
	_ = cmd.Wait() // the exit status is in ProcessState
	wall := time.Since(start)
	if err := ctx.Err(); err != nil {
		return ps, "", fmt.Errorf("interrupted: %w", err)
	}
	ps = statsOf(cmd.ProcessState, wall)
	if tctx.Err() != nil {
		return ps, "", fmt.Errorf("%s: no exit after %s", filepath.Base(name), runTimeout)
	}
	return ps, benchcli.LastLine(stderr.String()), nil
}

// sandboxProc is `bulksend sandbox` with no limit, running as a child.
type sandboxProc struct {
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:PORT
	start  time.Time
	exited chan struct{} // closed once Wait returned
	stderr bytes.Buffer
}

// sandboxArgs is the sandbox's command line; addrFile receives its URL.
func sandboxArgs(addrFile string) []string {
	return []string{"sandbox", "--listen", "127.0.0.1:0", "--addr-file", addrFile, "--burst", "0", "--rate", "0"}
}

// startSandbox starts a fresh unlimited sandbox and waits until it listens.
func startSandbox(ctx context.Context, bin, dir string) (*sandboxProc, error) {
	f, err := os.CreateTemp(dir, "sandbox-addr-*")
	if err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	addrFile := f.Name()
	f.Close()
	defer os.Remove(addrFile)
	s := &sandboxProc{exited: make(chan struct{})}
	s.cmd = exec.Command(bin, sandboxArgs(addrFile)...)
	s.cmd.Stderr = &s.stderr
	s.start = time.Now()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		if b, err := os.ReadFile(addrFile); err == nil && strings.HasSuffix(string(b), "\n") {
			s.base = strings.TrimSpace(string(b))
			return s, nil
		}
		select {
		case <-tick.C:
		case <-s.exited:
			return nil, fmt.Errorf("sandbox exited before listening: %s", benchcli.LastLine(s.stderr.String()))
		case <-deadline.C:
			s.kill()
			return nil, errors.New("sandbox did not listen within 10 s")
		case <-ctx.Done():
			s.kill()
			return nil, fmt.Errorf("interrupted: %w", ctx.Err())
		}
	}
}

// stats fetches the sandbox's counters: the ground truth of a run.
func (s *sandboxProc) stats(ctx context.Context) (sandbox.Stats, error) {
	var st sandbox.Stats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/stats", nil)
	if err != nil {
		return st, fmt.Errorf("sandbox stats: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, fmt.Errorf("sandbox stats: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("sandbox stats: HTTP %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("sandbox stats: %w", err)
	}
	return st, nil
}

// stop interrupts the sandbox as Ctrl-C would and returns what it used.
func (s *sandboxProc) stop() procStats {
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		s.kill() // Windows cannot deliver an interrupt
	}
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-s.exited:
	case <-t.C:
		s.kill()
	}
	return statsOf(s.cmd.ProcessState, time.Since(s.start))
}

func (s *sandboxProc) kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}
