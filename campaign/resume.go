package campaign

import (
	"context"
	"fmt"

	"github.com/bulksend/bulksend/report"
	"github.com/bulksend/bulksend/sender"
)

// resumeFilter applies an earlier run's report to this one.
type resumeFilter struct {
	state         *report.State
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
	if !f.state.SameID(m.Line, m.ID) {
		if f.mismatch == nil {
			f.mismatch = fmt.Errorf("line %d: id %q is not the id the report has for that line: %w", m.Line, m.ID, ErrInputChanged)
		}
		return "", true
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
			// The server drops a copy by the same key (the row's content,
			// hence its key, is unchanged), or the user accepts the risk.
			// It may still have arrived: whatever the resend meets, the
			// row ends sent or unknown, never failed or pending.
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

// inFlight decides a row an earlier run left in flight (it was killed). It
// is resent only when the server can tell the resend is a replay: it
// deduplicates, and the key the row left with equals the key it gets now.
// Otherwise it may have arrived and is unknown, never sent twice, unless
// ResendUnknown.
func (f *resumeFilter) inFlight(m *sender.Message) {
	sentKey := f.state.InFlightKey(m.Line)
	switch {
	case f.keyed && sentKey != "" && sentKey == m.IdempotencyKey:
		m.MayHaveArrived = true
		return
	case m.Lookup != nil:
		m.Settle, m.Since = true, f.state.SentAt(m.Line) // looked up first, sent only if absent
		return
	case f.resendUnknown:
		m.MayHaveArrived = true
		return
	}
	m.Skip = sender.StatusUnknown
	switch {
	case !f.keyed:
		m.Reason = "was in flight when an earlier run stopped and may have been delivered; not resent: the server is not known to deduplicate and no lookup settled it"
	case sentKey == "":
		m.Reason = "was in flight without an idempotency key when an earlier run stopped and may have been delivered; not resent"
	default:
		m.Reason = "was in flight when an earlier run stopped and may have been delivered; its idempotency key differs now (the row or template changed), so a resend could deliver twice"
	}
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
