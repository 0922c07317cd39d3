//go:build unix && !linux

package limiters

import "syscall"

func withDeathSignal(a *syscall.SysProcAttr) *syscall.SysProcAttr { return a }
