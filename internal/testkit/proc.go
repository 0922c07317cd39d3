package testkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"
)

// Module is the module path of bulksend's main package.
const Module = "github.com/bulksend/bulksend"

// Build compiles the main package pkg into dir/name (name gets .exe on
// Windows), the go tool's output going to log, and returns the binary's
// path. With race the binary is race-instrumented. The working directory
// must be inside the module, as it is for `go test` and `go run ./bench/...`.
func Build(ctx context.Context, pkg, dir, name string, race bool, log io.Writer) (string, error) {
	bin := filepath.Join(dir, ExeName(name))
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.CommandContext(ctx, "go", append(args, pkg)...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	return bin, nil
}

// ExeName is name as an executable's file name on this system.
func ExeName(name string) string {
	if runtime.GOOS == "windows" {
		return name + ".exe"
	}
	return name
}

// RaceEnabled reports whether the running binary was built with -race.
func RaceEnabled() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" && s.Value == "true" {
			return true
		}
	}
	return false
}

var bulksend struct {
	once sync.Once
	path string
	err  error
}

// Bulksend builds the real bulksend binary once per test process and
// returns its path; with -race it is race-instrumented too, so the signal
// and kill paths are checked for races in the real process. It goes into
// the directory that testscript.Main put bulksend in on $PATH, which is
// removed when the tests end, and else into a fresh temporary directory.
func Bulksend(t testing.TB) string {
	t.Helper()
	bulksend.once.Do(func() {
		dir := ""
		if p, err := exec.LookPath("bulksend"); err == nil {
			dir = filepath.Dir(p)
		} else if dir, err = os.MkdirTemp("", "bulksend-test-"); err != nil {
			bulksend.err = err
			return
		}
		var log bytes.Buffer
		bulksend.path, bulksend.err = Build(context.Background(), Module, dir, "bulksend-built", RaceEnabled(), &log)
		if bulksend.err != nil {
			bulksend.err = fmt.Errorf("%w\n%s", bulksend.err, log.String())
		}
	})
	if bulksend.err != nil {
		t.Fatal(bulksend.err)
	}
	return bulksend.path
}

// Cmd is a process for Start: the program, its arguments, where it runs
// and with what added to the environment.
type Cmd struct {
	Bin  string
	Args []string
	Dir  string   // "" for the test's working directory
	Env  []string // KEY=value, added to the test's environment
	// Timeout kills the process if it outlives it (0: only the end of
	// the test kills it).
	Timeout time.Duration
	// Stdout receives the standard output; nil keeps it in Proc.Stdout.
	Stdout io.Writer
}

// Proc is a running process, started by Start.
type Proc struct {
	Cmd    *exec.Cmd
	Stdout *Buffer // nil when Cmd.Stdout was given
	Stderr *Buffer
	// ExitedAt is when Wait returned; read it after Done is closed.
	ExitedAt time.Time

	done chan struct{}
	err  error // Wait's result, once done is closed
}

// Start runs c and returns at once. The process is killed, and waited for,
// if it outlives c.Timeout or the test. A race-enabled child is told not
// to sleep a second before exiting.
func Start(t testing.TB, c Cmd) *Proc {
	t.Helper()
	var (
		ctx    context.Context
		cancel context.CancelFunc
	)
	if c.Timeout > 0 {
		ctx, cancel = context.WithTimeout(context.Background(), c.Timeout)
	} else {
		ctx, cancel = context.WithCancel(context.Background())
	}
	p := &Proc{Stderr: new(Buffer), done: make(chan struct{})}
	p.Cmd = exec.CommandContext(ctx, c.Bin, c.Args...)
	p.Cmd.Dir = c.Dir
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	p.Cmd.Env = append(append(os.Environ(), "GORACE="+gorace), c.Env...)
	if p.Cmd.Stdout = c.Stdout; c.Stdout == nil {
		p.Stdout = new(Buffer)
		p.Cmd.Stdout = p.Stdout
	}
	p.Cmd.Stderr = p.Stderr
	if err := p.Cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		p.err = p.Cmd.Wait()
		p.ExitedAt = time.Now()
		cancel()
		close(p.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.done
	})
	return p
}

// Done is closed when the process has ended.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits for the process and returns its exit code (-1: killed by a
// signal). It fails the test if the process could not be waited for.
func (p *Proc) Wait(t testing.TB) int {
	t.Helper()
	<-p.done
	if p.err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(p.err, &ee) {
		t.Fatalf("%s: %v", filepath.Base(p.Cmd.Path), p.err)
	}
	return ee.ExitCode()
}

// Run runs c to the end and returns its exit code, stdout and stderr.
func Run(t testing.TB, c Cmd) (code int, stdout, stderr string) {
	t.Helper()
	p := Start(t, c)
	code = p.Wait(t)
	if p.Stdout != nil {
		stdout = p.Stdout.String()
	}
	return code, stdout, p.Stderr.String()
}

// Buffer is a bytes.Buffer that a process writes while the test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Bytes returns a copy of what was written so far.
func (b *Buffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.b.Bytes())
}
