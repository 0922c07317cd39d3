//go:build unix

package testkit

import (
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name           string
		script         string
		env            []string
		code           int
		stdout, stderr string
	}{
		{"ok", "echo out; echo err >&2", nil, 0, "out\n", "err\n"},
		{"exit code", "exit 3", nil, 3, "", ""},
		{"env added", `echo "$A"`, []string{"A=from the test"}, 0, "from the test\n", ""},
		{"race child told not to linger", `echo "$GORACE"`, nil, 0, "atexit_sleep_ms=0\n", ""},
		{"killed by a signal", "kill -9 $$", nil, -1, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GORACE", "")
			code, stdout, stderr := Run(t, Cmd{Bin: "/bin/sh", Args: []string{"-c", tt.script}, Env: tt.env})
			if code != tt.code || stdout != tt.stdout || stderr != tt.stderr {
				t.Errorf("Run = %d, %q, %q; want %d, %q, %q", code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

// TestStartTimeout: a process that outlives its Timeout is killed. The
// Timeout leaves a loaded machine ample time to start the shell and let it
// print before the kill (100ms is not that on a machine at load 20), and
// is still far short of the sleep.
func TestStartTimeout(t *testing.T) {
	p := Start(t, Cmd{Bin: "/bin/sh", Args: []string{"-c", "echo started; exec sleep 60"}, Timeout: 2 * time.Second})
	if code := p.Wait(t); code != -1 {
		t.Errorf("exit %d, want -1 (killed)", code)
	}
	if !p.Exited() || p.ExitedAt.IsZero() || !strings.Contains(p.Stdout.String(), "started") {
		t.Errorf("Exited %v at %v, stdout %q", p.Exited(), p.ExitedAt, p.Stdout.String())
	}
}

func TestStartDir(t *testing.T) {
	dir := t.TempDir()
	_, stdout, _ := Run(t, Cmd{Bin: "/bin/sh", Args: []string{"-c", "pwd -P"}, Dir: dir})
	_, want, _ := Run(t, Cmd{Bin: "/bin/sh", Args: []string{"-c", "cd " + dir + " && pwd -P"}})
	if stdout != want {
		t.Errorf("ran in %q, want %q", stdout, want)
	}
}
