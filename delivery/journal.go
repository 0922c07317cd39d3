package delivery

import (
	"fmt"
	"sync"
	"time"

	"github.com/bulksend/bulksend/report"
	"github.com/bulksend/bulksend/sender"
)

// journal is the engine's Journal for a pass: it keeps each lookup's
// answer, and a saver goroutine writes the answers kept into the report
// at most every Checkpoint, so a killed run loses at most that much.
type journal struct {
	r *runner

	mu       sync.Mutex
	pending  map[int]answer // line -> answer not yet in the report
	final    int            // answers this pass with a final status
	answered int            // answers with a status
	lastKick time.Time

	saveErr error // the first failed rewrite; under mu

	saveMu sync.Mutex // one rewrite at a time

	kick chan struct{}
	done chan struct{}
}

// answer is what one lookup learned. keep: the lookup failed, so only the
// error column changes and the status the report had stays.
type answer struct {
	state State
	err   string
	keep  bool
}

func newJournal(r *runner, n int) *journal {
	j := &journal{r: r, pending: make(map[int]answer, min(n, 4096)), lastKick: r.now(),
		kick: make(chan struct{}, 1), done: make(chan struct{})}
	go j.saver(j.kick)
	return j
}

// Begin: a lookup changes nothing, so nothing is recorded before it.
func (*journal) Begin(*sender.Message) error { return nil }

// Record keeps r's answer and, every Checkpoint, wakes the saver.
func (j *journal) Record(r *sender.Result) error {
	a := answer{keep: true}
	switch d := r.Detail.(type) {
	case State:
		a = answer{state: d}
	case error:
		a.err = "lookup: " + d.Error()
	default:
		a.err = "lookup: " + r.Error
		if r.Status == sender.StatusUnknown || r.Status == sender.StatusFailed {
			a.err = fmt.Sprintf("lookup %s: %s", r.Status, r.Error)
		}
	}
	if j.r.opts.Redact != nil {
		a.err = j.r.opts.Redact(a.err)
		a.state.Error = j.r.opts.Redact(a.state.Error)
		a.state.Status = j.r.opts.Redact(a.state.Status) // a server's word, echoed as it likes
	}
	now := j.r.now()
	j.mu.Lock()
	j.pending[r.Line] = a
	if !a.keep {
		j.answered++
		if OutcomeOf(a.state.Status).Final() {
			j.final++
		}
	}
	var kick chan struct{}
	if now.Sub(j.lastKick) >= j.r.opts.Checkpoint {
		j.lastKick, kick = now, j.kick
	}
	err := j.saveErr // the engine stops on a failed save
	j.mu.Unlock()
	select {
	case kick <- struct{}{}: // nil: no save due
	default: // a save is under way or due anyway
	}
	return err
}

func (j *journal) saver(kick <-chan struct{}) {
	for range kick {
		_ = j.save() // kept in saveErr; Record returns it
	}
	close(j.done)
}

// save writes the pending answers into the report.
func (j *journal) save() error {
	j.saveMu.Lock()
	defer j.saveMu.Unlock()
	j.mu.Lock()
	if j.saveErr != nil {
		j.mu.Unlock()
		return j.saveErr
	}
	batch := j.pending
	j.pending = make(map[int]answer, len(batch))
	j.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	err := report.UpdateDelivery(j.r.opts.Report, j.r.format, func(row *report.Row) {
		a, ok := batch[row.Line]
		if !ok || row.Status != sender.StatusSent {
			return
		}
		if a.keep {
			row.DeliveryError = a.err
			return
		}
		row.DeliveryStatus, row.DeliveryError = a.state.Status, a.state.Error
		row.DeliveryAt = ""
		if !a.state.At.IsZero() {
			row.DeliveryAt = a.state.At.UTC().Format(atLayout)
		}
	})
	if err != nil {
		j.mu.Lock()
		j.saveErr = err
		for line, a := range batch {
			if _, newer := j.pending[line]; !newer {
				j.pending[line] = a
			}
		}
		j.mu.Unlock()
	}
	return err
}

// atLayout is delivery_at's layout, sent_at's: RFC 3339 in UTC with
// milliseconds.
const atLayout = "2006-01-02T15:04:05.000Z07:00"

// finish stops the saver, saves what is left and says how many answers
// were final and how many had a status.
func (j *journal) finish() (final, answered int, err error) {
	j.close()
	err = j.save()
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.final, j.answered, err
}

// close stops the saver once; finish and the pass's defer both call it.
func (j *journal) close() {
	select {
	case <-j.done:
		return
	default:
	}
	j.mu.Lock()
	if j.kick != nil {
		close(j.kick)
		j.kick = nil
	}
	j.mu.Unlock()
	<-j.done
}
