package campaign

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/bulksend/bulksend/report"
	"github.com/bulksend/bulksend/sender"
)

// changed is the error of a resumed run whose input is not the one the
// report was written for: what differs, where, and ErrInputChanged.
func changed(input string, err error) error {
	var mm *report.Mismatch
	if !errors.As(err, &mm) {
		return fmt.Errorf("check %s against the report: %w", input, err)
	}
	return fmt.Errorf("%s %w: %w", input, mm, ErrInputChanged)
}

// checkedSource compares each message of src with the report as the run
// reads it, for input read once (stdin), which has no pre-pass: the resume
// filter finds a row that differs, this finds lines the report has that
// the input lacks, in the middle or at the end. The run stops there, with
// the rows before it, which matched, sent.
func checkedSource(src sender.Source, check *report.Check, input string) sender.Source {
	var failed error
	return sourceFunc(func(ctx context.Context) (*sender.Message, error) {
		if failed != nil {
			return nil, failed
		}
		m, err := src.Next(ctx)
		switch {
		case errors.Is(err, io.EOF):
			if cerr := check.End(); cerr != nil {
				failed = changed(input, cerr)
				return nil, failed
			}
		case err == nil && m != nil:
			if cerr := check.Row(m.Line, m.ID, m.Fingerprint, m.Invalid == nil); cerr != nil {
				failed = changed(input, cerr)
				return nil, failed
			}
		}
		return m, err
	})
}

// checkedRows compares each row it reads with the report before a resumed
// run sends anything (report.Check): the duplicate pre-pass reads the file
// through it, so the check costs a render and a hash per row, not another
// read of the file. The first difference ends the pass with err.
type checkedRows struct {
	sender.RowReader
	check *report.Check
	build sender.Builder
	input string
	err   error // the difference found, or why the check could not go on
}

func (c *checkedRows) Next() (sender.Row, error) {
	if c.err != nil {
		return sender.Row{}, c.err
	}
	row, err := c.RowReader.Next()
	switch {
	case errors.Is(err, io.EOF):
		if cerr := c.check.End(); cerr != nil {
			c.err = changed(c.input, cerr)
			return sender.Row{}, c.err
		}
		return row, err
	case err != nil:
		return row, err
	}
	m := c.build.Build(row)
	fp := m.Fingerprint
	if fp == "" && m.Invalid != nil {
		fp = sender.RowFingerprint(row) // as the run's source sets it
	}
	if cerr := c.check.Row(row.Line, m.ID, fp, m.Invalid == nil); cerr != nil {
		c.err = changed(c.input, cerr)
		return sender.Row{}, c.err
	}
	return row, nil
}
