package cmd

import (
	"bytes"
	"io"
	"os"

	"golang.org/x/term"
)

// IOStreams are the streams a command reads and writes. Commands never touch
// os.Stdout and friends directly, so tests run them with buffers and a fake
// terminal.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// ErrTTY says whether ErrOut is a terminal: progress bars and colour
	// only then; plain lines for cron logs otherwise.
	ErrTTY bool
	// ErrWidth is the terminal's width when ErrTTY.
	ErrWidth int
	// InTTY says whether In is a terminal (no piped input).
	InTTY bool
}

// System returns the process's streams.
func System() *IOStreams {
	ios := &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	if fd := int(os.Stderr.Fd()); term.IsTerminal(fd) {
		ios.ErrTTY = true
		if w, _, err := term.GetSize(fd); err == nil {
			ios.ErrWidth = w
		}
	}
	ios.InTTY = term.IsTerminal(int(os.Stdin.Fd()))
	return ios
}

// TestStreams returns streams backed by buffers: in to feed standard input,
// out and errOut to read what the command printed.
func TestStreams() (ios *IOStreams, in, out, errOut *bytes.Buffer) {
	in, out, errOut = new(bytes.Buffer), new(bytes.Buffer), new(bytes.Buffer)
	return &IOStreams{In: in, Out: out, ErrOut: errOut, ErrWidth: 80}, in, out, errOut
}
