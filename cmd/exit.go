package cmd

import (
	"errors"
	"fmt"
)

// Exit codes, the same for every command (SPEC.md, "output and exit codes").
const (
	ExitOK          = 0   // every row sent, now or in an earlier run
	ExitError       = 1   // could not run: unreadable input, auth failure, server unreachable, locked report
	ExitUsage       = 2   // bad flags or arguments, or a report that would be overwritten
	ExitIncomplete  = 3   // finished, but some rows failed, were invalid or are unknown
	ExitMaxErrors   = 4   // stopped by --max-errors
	ExitParked      = 5   // parked: a quota or send window closed; resume after the time the summary gives
	ExitInterrupted = 130 // interrupted by SIGINT/SIGTERM
)

// exitError carries an exit code up to Main, the one place that maps errors
// to codes. A nil err with a code means "already reported, just exit".
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError is a bad invocation: exit 2.
func usageError(format string, a ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, a...)}
}

// runError is a failure to run: exit 1.
func runError(err error) error {
	return &exitError{code: ExitError, err: err}
}

// silentExit ends the command with code; what needed saying was said.
func silentExit(code int) error {
	return &exitError{code: code}
}

// exitCode maps an error returned by a command to the process exit code.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return ExitError
}
