// Package benchcli is what the benchmark harnesses under bench/ share: the
// process's main, comma list flags, the exit codes, the verdicts, a work
// directory with a freshly built bulksend, and the shape of a run (parse
// the flags, measure, write the table, print it or the JSON, fail on a miss
// with -strict).
package benchcli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

// Exit codes of every harness.
const (
	ExitOK    = 0
	ExitError = 1 // the harness could not run, or -strict and a target missed
	ExitUsage = 2
)

// The verdict of a measurement against its target, as the tables print it.
const (
	Pass = "PASS"
	Miss = "MISS"
)

// Main is a harness's func main: it runs run with the process's arguments
// and streams and a context that the first SIGINT or SIGTERM cancels, and
// exits with the code run returns.
func Main(run func(ctx context.Context, args []string, stdout, stderr io.Writer) int) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// LastLine is the last non-blank line of s: what a failing child said last,
// short enough for a table cell.
func LastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// SplitList splits a comma list, dropping blanks.
func SplitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// PickList checks names against all and returns them in all's order, so a
// table's rows and columns never move whatever order the flag names them in.
// noun, when set, names what is picked in errors ("unknown mode \"x\"").
func PickList(flagName, noun string, all, names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: name at least one of %s", flagName, strings.Join(all, ", "))
	}
	what := "unknown"
	if noun != "" {
		what += " " + noun
	}
	for _, n := range names {
		if !slices.Contains(all, n) {
			return nil, fmt.Errorf("%s: %s %q (want %s)", flagName, what, n, strings.Join(all, ", "))
		}
	}
	var out []string
	for _, a := range all {
		if slices.Contains(names, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

// Output is how a run ends: the markdown table, where else to write it,
// whether stdout gets JSON instead, and the targets missed with -strict.
type Output struct {
	Name   string // the harness, prefixed to messages
	Table  string
	Out    string // also write Table here, if set
	JSON   any    // non-nil: stdout gets it as indented JSON instead of Table
	Strict bool
	Misses []string // the targets missed, for -strict
	Stdout io.Writer
	Stderr io.Writer
}

// Run is a harness's main without the process: parse the flags (usage
// errors exit 2, -h exits 0), measure (progress to stderr; an error exits
// 1), then Finish what measure returns, with Name and the streams filled
// in. It returns the exit code.
func Run[O any](ctx context.Context, name string, args []string, stdout, stderr io.Writer,
	parse func(args []string, stderr io.Writer) (O, error),
	measure func(ctx context.Context, o O, progress io.Writer) (Output, error)) int {
	o, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return ExitUsage
	}
	out, err := measure(ctx, o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return ExitError
	}
	out.Name, out.Stdout, out.Stderr = name, stdout, stderr
	return Finish(out)
}

// WriteJSON writes v to w as indented JSON: the raw results a harness
// prints with -json.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

// Finish writes o and returns the exit code.
func Finish(o Output) int {
	fail := func(err error) int {
		fmt.Fprintf(o.Stderr, "%s: %v\n", o.Name, err)
		return ExitError
	}
	if o.Out != "" {
		if err := os.WriteFile(o.Out, []byte(o.Table), 0o644); err != nil {
			return fail(err)
		}
	}
	var err error
	if o.JSON != nil {
		err = WriteJSON(o.Stdout, o.JSON)
	} else {
		_, err = io.WriteString(o.Stdout, o.Table)
	}
	if err != nil {
		return fail(err)
	}
	if o.Strict && len(o.Misses) > 0 {
		fmt.Fprintf(o.Stderr, "%s: missed: %s\n", o.Name, strings.Join(o.Misses, "; "))
		return ExitError
	}
	return ExitOK
}
