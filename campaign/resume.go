package campaign

import (
	"context"
	"fmt"
	"os"

	"github.com/bulksend/bulksend/report"
	"github.com/bulksend/bulksend/sender"
)

// resumeFilter applies an earlier run's report to this one.
type resumeFilter struct {
	state         *report.State
	input         string // the input's name, for the mismatch error
	retryFailed   bool
	resendUnknown bool
	keyed         bool
	mismatch      error
	// failed is why the state could not answer (rows asked out of line
	// order, or its temp file unreadable): the run stops rather than guess.
	failed error
}

// filter is called for rows in input order, so the lines it asks the
// state about only grow, as report.State requires.
func (f *resumeFilter) filter(m *sender.Message) (sender.Status, bool) {
	st, ok := f.state.Status(m.Line)
	if err := f.state.Err(); err != nil {
		if f.failed == nil {
			f.failed = fmt.Errorf("read report to resume: %w", err)
		}
		return "", true
	}
	if !ok {
		return "", false
	}
	// The pre-pass over a file (report.Check) has compared every row
	// already; input read once is compared here, by the same rule.
	if mm := f.state.Compare(m.Line, m.ID, m.Fingerprint, m.Invalid == nil); mm != nil {
		return f.changed(mm)
	}
	if m.Invalid != nil {
		return f.invalid(m, st)
	}
	switch st {
	case sender.StatusSent, sender.StatusDuplicate, sender.StatusSkipped:
		return st, false
	case sender.StatusFailed:
		// Every attempt was proven not taken: resending is safe, on request.
		if f.retryFailed {
			return "", false
		}
		return st, false
	case sender.StatusUnknown:
		if m.Lookup != nil && !f.keyed {
			// Asked first: sent only if the server says it is absent.
			m.Settle, m.Since = true, f.state.SentAt(m.Line)
			return "", false
		}
		if f.keyed || f.resendUnknown {
			// The server drops a copy by the key the row went with, or
			// the user accepts the risk. It may still have arrived:
			// whatever the resend meets, the row ends sent or unknown,
			// never failed or pending.
			f.recordedKey(m)
			m.MayHaveArrived = true
			return "", false
		}
		return st, false
	case sender.StatusInFlight:
		f.inFlight(m)
	case sender.StatusPending:
		// Never sent: the earlier run stopped first.
	}
	return "", false
}

// invalid decides m, a row this input cannot send (Message.Invalid), on a
// line the report has with status st. It is never recorded invalid over a
// row whose message may have arrived or that was settled as another's
// copy: a sent, unknown or duplicate row keeps its status, and a row left
// in flight becomes unknown. Else compaction would drop the earlier row,
// and once the input is fixed the next --resume would send it again. A
// report from before empty ids were invalid has such rows: their id was
// the line number. The pre-pass (report.Check) compared fingerprints.
func (f *resumeFilter) invalid(m *sender.Message, st sender.Status) (sender.Status, bool) {
	switch st {
	case sender.StatusSent, sender.StatusUnknown, sender.StatusDuplicate:
		return st, false
	case sender.StatusInFlight:
		m.Skip = sender.StatusUnknown
		m.Reason = fmt.Sprintf("was in flight when an earlier run stopped and may have been delivered; not resent: %v", m.Invalid)
	}
	return "", false
}

// inFlight decides a row an earlier run left in flight (it was killed). It
// is resent only when the server can tell the resend is a replay: it
// deduplicates, and the resend carries the key the row left with, as the
// journal recorded it (whatever key the row would get now). Otherwise it may have arrived and is unknown, never sent twice, unless
// ResendUnknown.
func (f *resumeFilter) inFlight(m *sender.Message) {
	sentKey := f.state.InFlightKey(m.Line)
	switch {
	case f.keyed && sentKey != "":
		m.IdempotencyKey = sentKey // the key the server may have seen
		m.MayHaveArrived = true
		return
	case m.Lookup != nil:
		m.Settle, m.Since = true, f.state.SentAt(m.Line) // looked up first, sent only if absent
		return
	case f.resendUnknown:
		if sentKey != "" {
			m.IdempotencyKey = sentKey
		}
		m.MayHaveArrived = true
		return
	}
	m.Skip = sender.StatusUnknown
	switch {
	case !f.keyed:
		m.Reason = "was in flight when an earlier run stopped and may have been delivered; not resent: the server is not known to deduplicate and no lookup settled it"
	default:
		m.Reason = "was in flight without an idempotency key when an earlier run stopped and may have been delivered; not resent"
	}
}

// recordedKey gives m, an unknown row about to be resent, the idempotency
// key its earlier requests carried: the key of the fingerprint the report
// recorded, so the server can recognise the resend even if the row's
// rendering changed since. A report written before fingerprints were
// recorded went with the key of the row's id and body.
func (f *resumeFilter) recordedKey(m *sender.Message) {
	if m.IdempotencyKey == "" {
		return // no key is sent in this run
	}
	if k := f.state.Key(m.Line); k != "" {
		m.IdempotencyKey = k
		return
	}
	m.IdempotencyKey = sender.IdempotencyKey(m.ID, m.Body)
}

// changed records the first difference between the input and the report;
// the source stops there.
func (f *resumeFilter) changed(mm *report.Mismatch) (sender.Status, bool) {
	if f.mismatch == nil {
		f.mismatch = changed(f.input, mm)
	}
	return "", true
}

// wrap stops the source at the first id mismatch or state failure.
func (f *resumeFilter) wrap(src sender.Source) sender.Source {
	return sourceFunc(func(ctx context.Context) (*sender.Message, error) {
		m, err := src.Next(ctx)
		if f.failed != nil {
			return nil, f.failed
		}
		if f.mismatch != nil {
			return nil, f.mismatch
		}
		return m, err
	})
}

// claimSent tells claim the message id of every row the report at state
// records as sent, so that a lookup of this run never settles a row the
// report left in flight or unknown with another row's message (a twin
// with the same recipient and text, sent by the earlier run), nor a row
// whose answer this run loses. The report is read once more only when
// claim is set and the report has sent rows.
func claimSent(ctx context.Context, state *report.State, claim func(string)) error {
	if claim == nil || state.Counts()[sender.StatusSent] == 0 {
		return nil
	}
	f, err := os.Open(state.Path())
	if err != nil {
		return fmt.Errorf("read report to resume: %w", err)
	}
	defer f.Close()
	n := 0
	err = report.Read(f, state.Path(), report.FormatFromName(state.Path()), func(r report.Row) error {
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if r.Status == sender.StatusSent && r.MessageID != "" {
			claim(r.MessageID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read report to resume: %w", err)
	}
	return nil
}
