//go:build !unix

package limiters

import (
	"os"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

func terminate(p *os.Process) error { return p.Kill() }

func killGroup(p *os.Process) { _ = p.Kill() }
