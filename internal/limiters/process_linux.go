package limiters

import "syscall"

// withDeathSignal makes the kernel kill the limiter if the test process
// dies first, so a crashed test leaves nothing listening.
func withDeathSignal(a *syscall.SysProcAttr) *syscall.SysProcAttr {
	a.Pdeathsig = syscall.SIGKILL
	return a
}
