// Package cmd is bulksend's command line: the only package that knows about
// cobra, flags, the environment, signals and exit codes. Each command is an
// Options struct, a NewCmdX that only parses flags into it, and an xRun that
// does the work with injected streams.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X github.com/bulksend/bulksend/cmd.Version=...".
var Version = "dev"

// Main runs bulksend with the process's arguments and streams and returns
// the exit code.
func Main() int {
	tuneGC(os.Getenv)
	ios := System()
	if stop := cpuProfile(os.Getenv("BULKSEND_CPUPROFILE"), ios.ErrOut); stop != nil {
		defer stop()
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	return run(context.Background(), ios, os.Args[1:], sig, os.Getenv)
}

// tuneGC trades a little memory for CPU unless the user tuned the GC: a
// send allocates per message and little of it lives, so collecting at 200%
// instead of 100% saves about 7% of the instructions per message, and a
// 48 MiB soft limit makes it collect harder only when the heap gets there:
// a long input on stdin, whose duplicate-id index keeps ~35 bytes an id
// (a file's does not: see dupindex), stays under 64 MB up to a million rows.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(48 << 20)
	}
}

// cpuProfile starts a CPU profile into path, for measuring a whole run as
// BENCHMARKS.md describes ("" does nothing). It returns the function that
// stops it, or nil. A profile that cannot start is reported, not fatal.
func cpuProfile(path string, errOut io.Writer) (stop func()) {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err == nil {
		if err = pprof.StartCPUProfile(f); err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(errOut, "bulksend: BULKSEND_CPUPROFILE: %v\n", err)
		return nil
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// env is how commands read the environment, so tests inject their own.
type env func(string) string

func run(ctx context.Context, ios *IOStreams, args []string, sig <-chan os.Signal, getenv env) int {
	root := NewCmdRoot(ios, sig, getenv)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		var ee *exitError
		if !errors.As(err, &ee) || ee.err != nil {
			fmt.Fprintf(ios.ErrOut, "bulksend: %v\n", err)
		}
		code := exitCode(err)
		// cobra's own flag and argument errors are usage errors.
		if !errors.As(err, &ee) {
			code = ExitUsage
		}
		return code
	}
	return ExitOK
}

// NewCmdRoot builds the command tree.
func NewCmdRoot(ios *IOStreams, sig <-chan os.Signal, getenv env) *cobra.Command {
	root := &cobra.Command{
		Use:   "bulksend",
		Short: "Send bulk messages through rate-limited HTTP APIs, exactly once, at the rate the server allows",
		Long: `bulksend reads recipients from CSV or JSONL, renders one HTTP request per row,
sends them through one paced worker pool that obeys the server's rate-limit
signals, and writes a per-message report that is also the resume journal.

Try it: bulksend demo`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError("%v\nRun '%s --help' for usage.", err, c.CommandPath())
	})
	root.AddCommand(
		NewCmdSend(ios, sig, getenv, nil),
		NewCmdSandbox(ios, sig, getenv, nil),
		NewCmdDemo(ios, sig, getenv, nil),
		NewCmdProbe(ios, sig, getenv, nil),
		NewCmdReport(ios, sig),
		NewCmdVersion(ios),
	)
	return root
}

// NewCmdVersion prints the version.
func NewCmdVersion(ios *IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print bulksend's version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintf(ios.Out, "bulksend %s\n", Version)
			return nil
		},
	}
}

// exitStatusHelp is appended to each command's help.
func exitStatusHelp(lines ...string) string {
	return "\nEXIT STATUS\n  " + strings.Join(lines, "\n  ") + "\n"
}
