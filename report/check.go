package report

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/bulksend/bulksend/sender"
)

// Why a Check finds that the input is not the one the report was written
// for.
const (
	// IDDiffers: the input's row on a line has another id than the
	// report's row for that line.
	IDDiffers = "id differs"
	// RequestDiffers: same line and id, but the request the row renders
	// to now (row content or template) is not the one recorded.
	RequestDiffers = "request differs"
	// RowRemoved: the report has a row for a line the input no longer has.
	RowRemoved = "row removed"
)

// Mismatch is a Check's finding: the first line where the input and the
// report part.
type Mismatch struct {
	Line int
	// ID is the input's id for the line, or the report's for RowRemoved.
	ID string
	// Reason is IDDiffers, RequestDiffers or RowRemoved.
	Reason string
	// Report is the report's path.
	Report string
}

func (e *Mismatch) Error() string {
	id := ""
	if e.ID != "" {
		id = " (id " + strconv.Quote(e.ID) + ")"
	}
	switch e.Reason {
	case IDDiffers:
		return fmt.Sprintf("line %d: id %q is not the id %s has for that line", e.Line, e.ID, e.Report)
	case RequestDiffers:
		return fmt.Sprintf("line %d%s: the request differs from the one %s recorded for it (the row or a template changed)", e.Line, id, e.Report)
	}
	return fmt.Sprintf("line %d%s: %s has a row for it, the input no longer does", e.Line, id, e.Report)
}

// Check compares an input with the report row by row, before a resumed
// run sends anything: each input row, in input order, against the row the
// report has for its line. It has its own cursor over the State's sorted
// rows, so it holds no more than the State does, and the State still
// answers the run's queries from the first line afterwards.
//
// What differs: an input row whose line the report has with another id,
// or (when the report recorded a fingerprint and the server may have
// taken the row's request: not invalid, pending or failed) another
// fingerprint; and a line the report has that the input lacks. A line
// the report does not have is a new row, to send: rows appended to the
// input, or another shard's.
type Check struct {
	s     *State
	rows  *latest // nil once read to the end
	cur   mark
	curOK bool
	last  int
}

// errCheckOrder answers a Check asked about lines out of order.
var errCheckOrder = errors.New("check: lines asked out of order")

// Check starts a comparison of an input with the report.
func (s *State) Check() (*Check, error) {
	if s.err != nil {
		return nil, s.err
	}
	rows, err := latestOf(s.sorted)
	if err != nil {
		return nil, fmt.Errorf("check input against report: %w", err)
	}
	c := &Check{s: s, rows: rows}
	if err := c.advance(); err != nil {
		return nil, err
	}
	return c, nil
}

// advance reads the next line's row into cur.
func (c *Check) advance() error {
	if c.rows == nil {
		c.curOK = false
		return nil
	}
	m, ok, err := c.rows.Next()
	if err != nil {
		return fmt.Errorf("check input against report: %w", err)
	}
	if c.cur, c.curOK = m, ok; !ok {
		c.rows = nil
	}
	return nil
}

// Row checks the input row on line, whose id is id and whose fingerprint
// is fp; valid is false for a row that cannot be sent (its id is a best
// effort, and only its fingerprint is compared). It returns a *Mismatch
// at the first difference, or an error reading the State.
func (c *Check) Row(line int, id, fp string, valid bool) error {
	if line <= c.last {
		return errCheckOrder
	}
	c.last = line
	if c.curOK && c.cur.line < uint64(line) {
		return c.removed() // the report has a line the input skipped
	}
	if !c.curOK || c.cur.line != uint64(line) {
		return nil // a new row
	}
	m := c.cur
	if err := c.advance(); err != nil {
		return err
	}
	if mm := c.s.compare(&m, line, id, fp, valid); mm != nil {
		return mm
	}
	return nil
}

// Compare is Check.Row's rule for one line of input read once (a pipe,
// checked as it is read): a *Mismatch when the row recorded for line is
// not the input row whose id is id and fingerprint fp (valid false for a
// row that cannot be sent), nil when it is or the report has no row there.
func (s *State) Compare(line int, id, fp string, valid bool) *Mismatch {
	m, ok := s.seek(line)
	if !ok {
		return nil
	}
	return s.compare(&m, line, id, fp, valid)
}

// compare is the one rule for whether m, the row recorded for line, is
// the input row (id, fp, valid): the id must match unless either side was
// invalid (an invalid row's id is a best effort), and the fingerprint
// wherever the report has one and the server may have taken the request
// (not for invalid, pending or failed rows, which may be changed).
func (s *State) compare(m *mark, line int, id, fp string, valid bool) *Mismatch {
	if valid && statusByCode[m.code] != sender.StatusInvalid && !s.sameID(m, id) {
		return &Mismatch{Line: line, ID: id, Reason: IDDiffers, Report: s.path}
	}
	if m.fpOK && m.compared() && !m.sameFingerprint(fp) {
		return &Mismatch{Line: line, ID: id, Reason: RequestDiffers, Report: s.path}
	}
	return nil
}

// End is called after the input's last row: a line the report has past it
// was removed from the input.
func (c *Check) End() error {
	if c.curOK {
		return c.removed()
	}
	return nil
}

// removed is the Mismatch for the report's line cur, which the input
// lacks, naming the id the report has for it. The State keeps only a hash
// of ids, so the report is read once more for it: this happens once, on
// the way to refusing the run.
func (c *Check) removed() error {
	line := int(c.cur.line)
	e := &Mismatch{Line: line, Reason: RowRemoved, Report: c.s.path}
	_ = readFile(c.s.path, FormatFromName(c.s.path), func(r Row) error {
		if r.Line == line {
			e.ID = r.ID // the last row of the line wins, as in Load
		}
		return nil
	})
	return e
}
