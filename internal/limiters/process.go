package limiters

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

var execLookPath = exec.LookPath

// process is a limiter's server process. Its output goes to a log file in
// the config's Dir, whose end is quoted when the process fails to start.
type process struct {
	name    string // for messages: "nginx"
	path    string
	args    []string
	dir     string // working directory
	logPath string
	addr    string // where it will listen: 127.0.0.1:PORT

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, once done is closed
}

// start runs the process and waits until it accepts connections on addr,
// it exits, StartTimeout passes or ctx ends. It connects only: a request
// would spend the limiter's quota.
func (p *process) start(ctx context.Context) error {
	log, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open %s log: %w", p.name, err)
	}
	defer log.Close() // the child has its own copy
	p.cmd = exec.Command(p.path, p.args...)
	p.cmd.Dir = p.dir
	p.cmd.Stdout, p.cmd.Stderr = log, log
	p.cmd.SysProcAttr = sysProcAttr()
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", p.name, err)
	}
	p.done = make(chan struct{})
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	ctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", p.addr)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before listening (%v): %s", p.name, p.err, p.logTail())
		case <-ctx.Done():
			_ = p.stop()
			return fmt.Errorf("wait for %s to listen on %s: %w: %s", p.name, p.addr, ctx.Err(), p.logTail())
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM, waits up to StopTimeout, then kills the process and
// its group (nginx's workers). An exit caused by the signal is no error.
func (p *process) stop() error {
	if p.cmd == nil || p.cmd.Process == nil {
		return nil
	}
	select {
	case <-p.done:
		return p.exitErr()
	default:
	}
	_ = terminate(p.cmd.Process)
	select {
	case <-p.done:
		return p.exitErr()
	case <-time.After(StopTimeout):
	}
	killGroup(p.cmd.Process)
	<-p.done
	return fmt.Errorf("stop %s: killed after %v: %s", p.name, StopTimeout, p.logTail())
}

func (p *process) exitErr() error {
	var ee *exec.ExitError
	if p.err == nil || errors.As(p.err, &ee) && (ee.ExitCode() == 0 || !ee.Exited()) {
		return nil // exit 0, or ended by our signal
	}
	return fmt.Errorf("stop %s: %w: %s", p.name, p.err, p.logTail())
}

// logTail is the last lines of the process's log, for error messages.
func (p *process) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return "no log"
	}
	b = bytes.TrimSpace(b)
	lines := strings.Split(string(b), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	if s := strings.Join(lines, " | "); s != "" {
		return fmt.Sprintf("log %s: %s", filepath.Base(p.logPath), s)
	}
	return "empty log"
}
