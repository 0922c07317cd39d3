//go:build unix

package limiters

import (
	"os"
	"syscall"
)

// sysProcAttr puts the limiter in its own process group, so killGroup
// reaches the workers nginx forks.
func sysProcAttr() *syscall.SysProcAttr {
	return withDeathSignal(&syscall.SysProcAttr{Setpgid: true})
}

func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }

// killGroup kills p's process group; p leads it (Setpgid) and has not been
// reaped yet, so the group id is still p's own.
func killGroup(p *os.Process) {
	_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
}
