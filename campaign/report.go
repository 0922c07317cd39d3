package campaign

import (
	"context"
	"fmt"
	"os"

	"github.com/bulksend/bulksend/report"
)

// openReport opens the run's journal by policy. A report file is locked
// first, so two runs (overlapping cron jobs) never send the same file at
// once; then an existing, non-empty report is continued (Resume, with its
// state), overwritten (Force) or refused (ErrReportExists). state is nil
// unless resuming; call release after closing the journal.
func openReport(ctx context.Context, opts Report, input Input) (journal *report.Writer, state *report.State, release func() error, err error) {
	noop := func() error { return nil }
	if opts.Writer != nil {
		return report.NewWriter(opts.Writer, report.Options{Redact: opts.Redact, Segments: opts.Segments}), nil, noop, nil
	}
	path := opts.Path
	if path == "" {
		path = DefaultReportPath(input.Path)
	}
	format := report.FormatFromName(path)
	unlock, err := report.Lock(path)
	if err != nil {
		return nil, nil, nil, err
	}
	defer func() {
		if err != nil {
			_ = unlock()
		}
	}()
	exists := false
	if st, err := os.Stat(path); err == nil && st.Size() > 0 {
		exists = true
	}
	switch {
	case exists && opts.Resume:
		if state, err = report.LoadContext(ctx, path); err != nil {
			return nil, nil, nil, fmt.Errorf("read report to resume: %w", err)
		}
		if journal, err = report.Append(path, report.Options{Format: format, Redact: opts.Redact}); err != nil {
			state.Close()
			return nil, nil, nil, err
		}
		return journal, state, unlock, nil
	case exists && !opts.Force:
		return nil, nil, nil, fmt.Errorf("open report %s: %w", path, ErrReportExists)
	}
	if journal, err = report.Create(path, report.Options{Format: format, Redact: opts.Redact, Segments: opts.Segments}); err != nil {
		return nil, nil, nil, err
	}
	return journal, nil, unlock, nil
}
