package campaign

import (
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
