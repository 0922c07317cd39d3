package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/bulksend/bulksend/report"
	"github.com/bulksend/bulksend/sender"
)

// MergeOptions is what `bulksend report merge` was asked to do.
type MergeOptions struct {
	IO     *IOStreams
	Signal <-chan os.Signal

	Out     string
	Inputs  []string
	Force   bool
	Partial bool
}

// NewCmdReport builds `bulksend report`, the commands that work on reports.
func NewCmdReport(ios *IOStreams, sig <-chan os.Signal) *cobra.Command {
	c := &cobra.Command{
		Use:   "report",
		Short: "Work with send reports",
		Args:  cobra.NoArgs,
	}
	c.AddCommand(NewCmdReportMerge(ios, sig, nil))
	return c
}

// NewCmdReportMerge builds `bulksend report merge`. runF replaces mergeRun
// in tests that only check flag parsing.
func NewCmdReportMerge(ios *IOStreams, sig <-chan os.Signal, runF func(*MergeOptions) error) *cobra.Command {
	opts := &MergeOptions{IO: ios, Signal: sig}
	c := &cobra.Command{
		Use:   "merge OUT IN...",
		Short: "Combine the reports of the shards of one file into one report",
		Long: `Combine the reports of processes that each sent one shard of the same
file (send --shard i/n) into OUT: one row per input line, sorted by line.
Each report is CSV or JSONL by its extension, and so is OUT.

A report whose run did not finish is refused: a journal that run never
rewrote at its end (it was killed) or one with rows still in flight (their
answers never came). Run its send again with --resume to finish it, or
merge what there is with --partial, which takes each line's last row, as
--resume reads it, and says how many rows have no result. Two reports with
different rows for the same line are refused: they are not shards of one
run. Reports in use by a running send are refused too. An interrupted
merge writes nothing.`,
		Example: `  bulksend report merge all.report.csv shard1.report.csv shard2.report.csv shard3.report.csv`,
		Args:    cobra.MinimumNArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Out, opts.Inputs = args[0], args[1:]
			if runF != nil {
				return runF(opts)
			}
			return mergeRun(c.Context(), opts)
		},
	}
	c.SetHelpTemplate(c.HelpTemplate() + exitStatusHelp(
		"0    merged",
		"1    a report could not be read, is in use, is unfinished (without --partial), or conflicts with another",
		"2    usage error, or OUT exists (use --force)",
		"130  interrupted; OUT was not written"))
	c.Flags().BoolVar(&opts.Force, "force", false, "overwrite OUT if it exists")
	c.Flags().BoolVar(&opts.Partial, "partial", false, "merge reports whose run did not finish, each line by its last row")
	return c
}

// mergeRun merges the reports, maps what went wrong to an exit code and
// prints a one-line summary.
func mergeRun(ctx context.Context, opts *MergeOptions) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	interrupted := cancelOnSignal(ctx, cancel, opts.Signal)
	res, err := report.Merge(ctx, report.MergeOptions{Out: opts.Out, Inputs: opts.Inputs, Overwrite: opts.Force, Partial: opts.Partial})
	var unfinished *report.UnfinishedError
	switch {
	case err != nil && isClosed(interrupted):
		return &exitError{code: ExitInterrupted, err: fmt.Errorf("interrupted: %s was not written", opts.Out)}
	case errors.Is(err, report.ErrExists):
		return usageError("%s exists: --force overwrites it", opts.Out)
	case errors.As(err, &unfinished):
		return runError(fmt.Errorf("%w: run its send again with --resume (the same file, --shard and --report) to finish it, or merge what there is with --partial", err))
	case err != nil:
		return runError(err)
	}
	fmt.Fprintf(opts.IO.ErrOut, "bulksend: merged %d reports into %s: %d rows (%s)\n",
		len(opts.Inputs), opts.Out, res.Rows, statusCounts(res.Counts))
	if len(res.Unfinished) > 0 {
		printPartial(opts.IO.ErrOut, res.Unfinished)
	}
	return nil
}

// printPartial says what a --partial merge lacks: the rows in flight in
// the unfinished reports have no result, and the rows their runs never
// reached are not in them at all (how many only the input file can tell).
func printPartial(w io.Writer, unfinished []report.Unfinished) {
	missing := 0
	for _, u := range unfinished {
		missing += u.InFlight
		fmt.Fprintf(w, "bulksend: --partial: %s\n", u)
	}
	rows := fmt.Sprintf("%d rows", missing)
	if missing == 1 {
		rows = "1 row"
	}
	fmt.Fprintf(w, "bulksend: --partial: %s without a result (in flight: may have arrived), and the rows their runs never reached are missing; "+
		"run their sends again with --resume to finish them\n", rows)
}

// statusCounts lists the non-zero counts in the order of a report's life.
func statusCounts(counts map[sender.Status]int) string {
	s := ""
	for _, st := range []sender.Status{sender.StatusSent, sender.StatusFailed, sender.StatusInvalid,
		sender.StatusDuplicate, sender.StatusUnknown, sender.StatusSkipped, sender.StatusPending, sender.StatusInFlight} {
		if counts[st] == 0 {
			continue
		}
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("%s %d", st, counts[st])
	}
	if s == "" {
		return "none"
	}
	return s
}
