package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/bulksend/bulksend/report"
	"github.com/bulksend/bulksend/sender"
)

// MergeOptions is what `bulksend report merge` was asked to do.
type MergeOptions struct {
	IO     *IOStreams
	Out    string
	Inputs []string
	Force  bool
}

// NewCmdReport builds `bulksend report`, the commands that work on reports.
func NewCmdReport(ios *IOStreams) *cobra.Command {
	c := &cobra.Command{
		Use:   "report",
		Short: "Work with send reports",
		Args:  cobra.NoArgs,
	}
	c.AddCommand(NewCmdReportMerge(ios, nil))
	return c
}

// NewCmdReportMerge builds `bulksend report merge`. runF replaces mergeRun
// in tests that only check flag parsing.
func NewCmdReportMerge(ios *IOStreams, runF func(*MergeOptions) error) *cobra.Command {
	opts := &MergeOptions{IO: ios}
	c := &cobra.Command{
		Use:   "merge OUT IN...",
		Short: "Combine the reports of the shards of one file into one report",
		Long: `Combine the reports of processes that each sent one shard of the same
file (send --shard i/n) into OUT: one row per input line, sorted by line.
Each report is CSV or JSONL by its extension, and so is OUT.

A report that is still a journal (a run that crashed or was stopped) counts
by its last row per line, as --resume reads it. Two reports with different
rows for the same line are refused: they are not shards of one run.
Reports in use by a running send are refused too.`,
		Example: `  bulksend report merge all.report.csv shard1.report.csv shard2.report.csv shard3.report.csv`,
		Args:    cobra.MinimumNArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Out, opts.Inputs = args[0], args[1:]
			if runF != nil {
				return runF(opts)
			}
			return mergeRun(opts)
		},
	}
	c.SetHelpTemplate(c.HelpTemplate() + exitStatusHelp(
		"0    merged",
		"1    a report could not be read, is in use, or conflicts with another",
		"2    usage error, or OUT exists (use --force)"))
	c.Flags().BoolVar(&opts.Force, "force", false, "overwrite OUT if it exists")
	return c
}

// mergedRow is a report row and the report it came from.
type mergedRow struct {
	row  report.Row
	from string
}

func mergeRun(opts *MergeOptions) error {
	outIsInput := slices.Contains(opts.Inputs, opts.Out)
	if !outIsInput && !opts.Force {
		if _, err := os.Stat(opts.Out); err == nil {
			return usageError("%s exists: --force overwrites it", opts.Out)
		}
	}
	locked := slices.Clone(opts.Inputs)
	if !outIsInput {
		locked = append(locked, opts.Out)
	}
	slices.Sort(locked)
	for _, name := range slices.Compact(locked) {
		release, err := report.Lock(name)
		if err != nil {
			return runError(err)
		}
		defer func() { _ = release() }()
	}

	rows := make(map[int]mergedRow)
	for _, in := range opts.Inputs {
		last, err := lastRows(in)
		if err != nil {
			return runError(err)
		}
		for line, r := range last {
			old, seen := rows[line]
			switch {
			case !seen:
				rows[line] = mergedRow{row: r, from: in}
			case old.row != r:
				return runError(fmt.Errorf("line %d: %s has %s for id %q, %s has %s for id %q: these are not reports of shards of one run",
					line, old.from, old.row.Status, old.row.ID, in, r.Status, r.ID))
			}
		}
	}
	if err := writeMerged(opts.Out, rows); err != nil {
		return runError(err)
	}
	counts := make(map[sender.Status]int)
	for _, r := range rows {
		counts[r.row.Status]++
	}
	fmt.Fprintf(opts.IO.ErrOut, "bulksend: merged %d reports into %s: %d rows (%s)\n",
		len(opts.Inputs), opts.Out, len(rows), statusCounts(counts))
	return nil
}

// lastRows reads a report and keeps each line's last row, the one --resume
// goes by.
func lastRows(path string) (map[int]report.Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	defer f.Close()
	last := make(map[int]report.Row)
	err = report.Read(f, path, report.FormatFromName(path), func(r report.Row) error {
		last[r.Line] = r
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	return last, nil
}

// writeMerged writes rows sorted by line to path, through a temp file in the
// same folder renamed into place, so a failed merge leaves no half report.
func writeMerged(path string, rows map[int]mergedRow) (err error) {
	format := report.FormatFromName(path)
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".merge-*")
	if err != nil {
		return fmt.Errorf("write merged report: %w", err)
	}
	name := tmp.Name()
	tmp.Close()
	defer func() {
		if err != nil {
			os.Remove(name)
		}
	}()
	w, err := report.Create(name, report.Options{Format: format, SyncInterval: time.Hour})
	if err != nil {
		return fmt.Errorf("write merged report: %w", err)
	}
	lines := make([]int, 0, len(rows))
	for line := range rows {
		lines = append(lines, line)
	}
	slices.Sort(lines)
	for _, line := range lines {
		res, err := rowResult(rows[line].row)
		if err == nil {
			err = w.Record(res)
		}
		if err != nil {
			w.Close()
			return fmt.Errorf("write merged report: line %d: %w", line, err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("write merged report: %w", err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("write merged report: %w", err)
	}
	return nil
}

// rowResult turns a report row back into the result it was written from,
// so the merged report is written by the same Writer as any other.
func rowResult(r report.Row) (*sender.Result, error) {
	res := &sender.Result{
		Line: r.Line, ID: r.ID, Status: r.Status, HTTPStatus: r.HTTPStatus,
		Attempts: r.Attempts, Throttled: r.Throttled, Error: r.Error,
		MessageID: r.MessageID, Latency: time.Duration(r.LatencyMS) * time.Millisecond,
		Response: r.Response,
	}
	if r.SentAt != "" {
		t, err := time.Parse(time.RFC3339Nano, r.SentAt)
		if err != nil {
			return nil, fmt.Errorf("sent_at %q: %w", r.SentAt, err)
		}
		res.SentAt = t
	}
	return res, nil
}

// statusCounts lists the non-zero counts in the order of a report's life.
func statusCounts(counts map[sender.Status]int) string {
	s := ""
	for _, st := range []sender.Status{sender.StatusSent, sender.StatusFailed, sender.StatusInvalid,
		sender.StatusDuplicate, sender.StatusUnknown, sender.StatusSkipped, sender.StatusInFlight} {
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
