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

	"github.com/bulksend/bulksend/internal/buildinfo"
	"github.com/bulksend/bulksend/internal/redact"
)

// Version is set at build time with -ldflags "-X github.com/bulksend/bulksend/cmd.Version=...".
// Without it (go build, go install, go run) the version comes from the
// build information the Go toolchain records: see buildinfo.
var Version = ""

// build is this binary's version information.
func build() buildinfo.Info { return buildinfo.Read(Version) }

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
			// An error may quote a server's answer or a row: neither may
			// drive the terminal or start a line. A usage error is the
			// user's own flags, with our "Run --help" on a line of its own.
			clean := redact.Terminal
			if exitCode(err) == ExitUsage {
				clean = redact.TerminalText
			}
			fmt.Fprintf(ios.ErrOut, "bulksend: %s\n", clean(err.Error()))
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
		Version:       build().String(),
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
		NewCmdStatus(ios, sig, getenv, nil),
		NewCmdReport(ios, sig),
		NewCmdVersion(ios),
	)
	return root
}

// NewCmdVersion prints the version.
func NewCmdVersion(ios *IOStreams) *cobra.Command {
	c := &cobra.Command{
		Use:   "version",
		Short: "Print bulksend's version",
		Long: `Print bulksend's version: the release it was built from (set at link time, or
the module version of 'go install ...@version'), else "devel" with the VCS
revision and commit time of the checkout it was built in ("+dirty" when it
had uncommitted changes), and the Go version. Requests carry the same
version in their User-Agent.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintf(ios.Out, "bulksend %s\n", build())
			return nil
		},
	}
	c.SetHelpTemplate(c.HelpTemplate() + exitStatusHelp(
		"0    the version was printed",
		"2    usage error (an argument was given)"))
	return c
}

// exitStatusHelp is appended to each command's help.
func exitStatusHelp(lines ...string) string {
	return "\nEXIT STATUS\n  " + strings.Join(lines, "\n  ") + "\n"
}
