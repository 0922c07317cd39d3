package sender

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// dispatcher is the one goroutine that owns a run's state, so none of it
// needs a lock: the queue of jobs waiting for their time, the recipients'
// turns, the error policy and the tallies. Workers only wait for the
// limiter and send; the reader only reads.
type dispatcher struct {
	e       *engine
	in      *reader
	workers *pool

	queue   readyQueue
	spacing recipientSpacing
	policy  errorPolicy
	settler *settler
	sum     *Summary

	next      *job // the job whose turn it is, until a worker takes it
	busy      int  // jobs handed to workers whose outcome is not in yet
	inputOpen bool
	// finishing: the limiter was told the last jobs are the workers'.
	finishing bool
	// rowsLeft is what the limiter was last told of the jobs left; -1
	// nothing yet.
	rowsLeft int
	stopping bool
	err      error // why the run stops; the first reason wins
	// stoppedAt is how many rows had failed when the error policy stopped
	// the run.
	stoppedAt int
	// wake fires when the first job of the queue may go.
	wake  *time.Timer
	armed bool
	// outside counts the rows left pending because their send window
	// opens only after MaxWait; opens is the earliest of those openings.
	outside int
	opens   time.Time

	stopCh     <-chan struct{} // nil once the run is stopping
	ctxDone    <-chan struct{} // the run's context; nil once it has ended
	cancelWait context.CancelFunc
}

func newDispatcher(e *engine, in *reader, workers *pool, stop, done <-chan struct{}, cancelWait context.CancelFunc) *dispatcher {
	sum := &Summary{Counts: make(map[Status]int)}
	d := &dispatcher{e: e, in: in, workers: workers, sum: sum,
		spacing:   newRecipientSpacing(e.cfg.RecipientInterval),
		policy:    newErrorPolicy(e.cfg.MaxErrors, e.cfg.MaxErrorShare, e.budget),
		settler:   newSettler(e.journal, e.progress, sum.Counts),
		inputOpen: true, rowsLeft: -1, stopCh: stop, ctxDone: done, cancelWait: cancelWait,
		wake: time.NewTimer(math.MaxInt64)}
	d.wake.Stop()
	return d
}

// dispatch runs the life of every message until none is left or the run
// has stopped and nothing is on the wire: read it into the queue, wait for
// its turn, hand it to a worker, then settle it or requeue it by the
// worker's outcome.
func (d *dispatcher) dispatch() {
	for {
		// Outcomes first: a failure that should stop the run must be seen
		// before another job is handed out.
		select {
		case o := <-d.workers.outcomes:
			d.take(o)
			continue
		default:
		}
		if d.stopping {
			d.halt()
		}
		now := d.e.now()
		d.pick(now)
		d.arm(now)
		// Told before the end too: where the workers' last outcomes
		// came one after another, each taken at the top of the loop,
		// the run could end without the limiter ever told.
		d.tellFinishing()
		if d.drained() {
			return
		}
		d.tellRowsLeft()
		select {
		case m, ok := <-d.input():
			d.read(m, ok, now)
		case d.handOut() <- d.next:
			d.busy++
			d.next = nil
		case <-d.wakeC():
			d.armed = false
		case o := <-d.workers.outcomes:
			d.take(o)
		case <-d.stopCh:
			d.end(ErrInterrupted)
		case <-d.ctxDone:
			d.ctxDone = nil
			d.end(ErrInterrupted)
		}
	}
}

// tellFinishing tells the limiter, once, when every job left is a worker's: the
// input is read and nothing waits in the queue.
func (d *dispatcher) tellFinishing() {
	if d.finishing || d.inputOpen || d.next != nil || d.queue.len() > 0 {
		return
	}
	d.finishing = true
	if f, ok := d.e.lim.(finishingLimiter); ok {
		f.Finishing()
	}
}

// tellRowsLeft tells the limiter, once the input is read, how many jobs
// are left to finish: queued, waiting for a worker, or a worker's.
func (d *dispatcher) tellRowsLeft() {
	if d.inputOpen || d.stopping {
		return
	}
	n := d.queue.len() + d.busy
	if d.next != nil {
		n++
	}
	if n == d.rowsLeft {
		return
	}
	d.rowsLeft = n
	if r, ok := d.e.lim.(rowsLeftLimiter); ok {
		r.RowsLeft(n)
	}
}

// read takes one message from the input: a row with nothing to send is
// settled at once, the others are queued, ready now.
func (d *dispatcher) read(m *Message, ok bool, now time.Time) {
	if !ok {
		d.inputOpen = false
		return
	}
	if d.settleUnsent(m) {
		return
	}
	d.e.prepare(m)
	j := newJob(m, now)
	d.e.resumeSettle(j, now)
	d.track(j, true)
	d.queue.push(j)
}

// track keeps Progress.Settling in step with j: j is counted while it
// goes on (alive) and waits for a lookup. Called whenever j is queued
// again or ends.
func (d *dispatcher) track(j *job, alive bool) {
	if want := alive && j.looking; want != j.settling {
		j.settling = want
		if want {
			d.e.progress.Settling.Add(1)
		} else {
			d.e.progress.Settling.Add(-1)
		}
	}
}

// newJob is m's job, ready at now. A row an earlier run may have delivered
// starts as one that may have arrived (maybe), so unless a lookup says it
// is absent it ends sent or unknown, never failed or pending; when it has
// a Lookup and Settle asks for it, it is looked up before it is sent.
func newJob(m *Message, now time.Time) *job {
	j := &job{m: m, ready: now, looking: m.Settle && m.Lookup != nil, maybe: m.Settle || m.MayHaveArrived}
	if j.looking {
		j.firstAt = m.Since // the earlier run's request is the oldest that may have arrived
	}
	return j
}

// settleUnsent counts m as read and settles it if it has nothing to send
// (invalid, duplicate, skipped, or settled by an earlier run), reporting
// whether it did.
func (d *dispatcher) settleUnsent(m *Message) bool {
	d.sum.Read++
	d.e.progress.Read.Add(1)
	switch {
	case m.Earlier != "":
		d.sum.Earlier++
		d.settler.earlier(&Result{Line: m.Line, ID: m.ID, Status: m.Earlier})
	case m.Skip != "":
		// Before Invalid: an invalid row an earlier run left in flight is
		// unknown (it may have arrived), never invalid.
		d.settle(&Result{Line: m.Line, ID: m.ID, Fingerprint: m.Fingerprint, Status: m.Skip, Error: m.Reason})
	case m.Invalid != nil:
		d.settle(&Result{Line: m.Line, ID: m.ID, Fingerprint: m.Fingerprint, Status: StatusInvalid, Error: m.Invalid.Error()})
	default:
		return false
	}
	return true
}

// pick finds the next job whose turn it is, unless one is already waiting
// for a worker or the run is stopping.
func (d *dispatcher) pick(now time.Time) {
	for d.next == nil && !d.stopping {
		j := d.queue.popReady(now)
		if j == nil {
			return
		}
		if d.turn(j, now) {
			d.next = j
		}
	}
}

// turn reports whether j, whose time has come, may go now. A job that must
// wait longer, for its send window to open or its recipient's interval,
// goes back to the queue with the time to look again, and the jobs behind
// it go on. A job whose window opens further off than MaxWait is left
// pending (closed), and the run parks once the others are done.
func (d *dispatcher) turn(j *job, now time.Time) bool {
	if w := j.m.Window; w != nil {
		at, ok := w.Next(now)
		switch {
		case !ok:
			r := &Result{Line: j.m.Line, ID: j.m.ID, Fingerprint: j.m.Fingerprint, Status: StatusSkipped, Attempts: j.attempts,
				Throttled: j.throttled, Error: "its send window never opens"}
			if j.maybe {
				r.Status, r.Error = StatusUnknown, r.Error+"; an earlier attempt may have reached the server"
			}
			d.track(j, false)
			d.settle(r)
			return false
		case at.After(now) && at.Sub(now) > d.e.maxWait && !d.e.cfg.WaitParked:
			d.closed(j, at)
			return false
		case at.After(now):
			if at.Sub(now) > d.e.maxWait {
				d.e.progress.park(at)
			}
			j.ready = at
			d.queue.push(j)
			return false
		}
	}
	again, ok := d.spacing.claim(j.m.Recipient, now)
	if !ok {
		j.ready = again
		d.queue.push(j)
	}
	return ok
}

// closed leaves j, whose send window opens only at at, further off than
// MaxWait, as pending (unknown if an earlier attempt may have arrived), and
// remembers the earliest such opening: once no other job is left, the run
// parks until then.
func (d *dispatcher) closed(j *job, at time.Time) {
	if d.opens.IsZero() || at.Before(d.opens) {
		d.opens = at
	}
	d.outside++
	if j.maybe {
		d.leave(j)
		return
	}
	d.track(j, false)
	d.settle(&Result{Line: j.m.Line, ID: j.m.ID, Fingerprint: j.m.Fingerprint, Status: StatusPending, Attempts: j.attempts,
		Throttled: j.throttled, Latency: j.latency, SentAt: j.sentAt,
		Error: "not sent: outside its send window, which opens " + at.Format(time.RFC3339)})
}

// parkForWindows ends a run that left rows outside their send windows:
// it parks until the earliest of them opens.
func (d *dispatcher) parkForWindows() {
	if d.outside > 0 && d.err == nil {
		d.err = &ParkedError{Until: d.opens, Reason: plural(d.outside, "row") + " outside the send window"}
	}
}

// arm sets the wake timer for the first queued job when nothing can go now.
func (d *dispatcher) arm(now time.Time) {
	if d.next == nil && !d.stopping {
		if at, ok := d.queue.next(); ok {
			d.wake.Reset(at.Sub(now))
			d.armed = true
			return
		}
	}
	if d.armed {
		d.wake.Stop()
		d.armed = false
	}
}

// wakeC is the wake timer's channel while it is armed. A stopped timer
// never fires, but a select that includes its channel costs the runtime
// more for every message.
func (d *dispatcher) wakeC() <-chan time.Time {
	if !d.armed {
		return nil
	}
	return d.wake.C
}

// input is the reader's channel while more input is wanted: while the run
// goes on, no job waits for a worker and the queue is short, so memory
// stays flat however long the file; held-back recipients count against it.
func (d *dispatcher) input() <-chan *Message {
	if d.inputOpen && !d.stopping && d.next == nil && d.queue.len() < 4*d.e.concurrency+1024 {
		return d.in.msgs
	}
	return nil
}

// handOut is the workers' channel when a job's turn has come.
func (d *dispatcher) handOut() chan<- *job {
	if d.next == nil {
		return nil
	}
	return d.workers.work
}

// drained reports whether dispatching is over: no outcome is owed, and
// either the input is done and nothing waits, or the run is stopping.
func (d *dispatcher) drained() bool {
	if d.inputOpen && !d.stopping {
		return false
	}
	return d.busy == 0 && d.next == nil && (d.queue.len() == 0 || d.stopping)
}

// take handles a worker's outcome for one job: the job is settled,
// requeued for its retry, or left unfinished.
func (d *dispatcher) take(o outcome) {
	d.busy--
	j := o.job
	d.sum.Requests += o.requests
	d.spacing.release(j.m.Recipient, j.sentAt, d.e.now)
	if o.park != nil {
		// Before the outcome is taken: a job requeued now is left pending.
		d.end(o.park)
	}
	switch o.kind {
	case outcomeFinal:
		d.track(j, false)
		d.settle(o.res)
	case outcomeFatal:
		d.end(o.err)
		if o.res != nil {
			d.track(j, false)
			d.settle(o.res)
		} else {
			d.leave(j)
		}
	case outcomeRetry:
		d.requeue(j, o)
	case outcomeAbandoned:
		d.leave(j)
	}
}

// settle writes r, a final result of this run, and asks the error policy
// whether the run may go on.
func (d *dispatcher) settle(r *Result) {
	if err := d.settler.record(r); err != nil {
		d.end(fmt.Errorf("record result: %w", err))
	}
	if d.policy.settled(r.Status) && d.err == nil {
		d.stoppedAt = d.policy.failures
		d.end(ErrMaxErrors)
	}
}

// maxErrorsReason says, once the requests on the wire are in, how many rows
// had failed when --max-errors stopped the run and how many more failed
// among the requests already in flight then.
func (d *dispatcher) maxErrorsReason() {
	if d.err != ErrMaxErrors {
		return
	}
	d.err = fmt.Errorf("%w: stopped after %s; %d more failed among the requests already in flight",
		ErrMaxErrors, plural(d.stoppedAt, "failed row"), d.policy.failures-d.stoppedAt)
}

// requeue puts j back in the queue for another attempt at j.ready. A
// transient retry spends the retry budget; when the budget is spent, or
// the run is stopping, j is settled as the run leaves it instead.
func (d *dispatcher) requeue(j *job, o outcome) {
	if o.transient {
		d.sum.Retries++
		d.e.progress.Retries.Add(1)
		if !d.policy.retry() {
			err := ErrOutage
			if !d.e.answered.Load() {
				err = ErrUnreachable // the same outage, told apart by no answer at all
			}
			d.end(fmt.Errorf("%w: retry budget spent (%d retries); last error on line %d: %s",
				err, d.sum.Retries, j.m.Line, o.res.Error))
			d.leave(j)
			return
		}
	}
	if d.stopping {
		d.leave(j)
		return
	}
	d.track(j, true)
	d.queue.push(j)
}

// leave settles j as the stopping run leaves it (settler.leave), and ends
// the run if the journal fails.
func (d *dispatcher) leave(j *job) {
	d.track(j, false)
	if err := d.settler.leave(j); err != nil {
		d.end(fmt.Errorf("record result: %w", err))
	}
}

// halt stops whatever still waits as the run stops: workers waiting for
// the limiter give up their job, the stop channel is no longer watched,
// and the job whose turn it was goes back to the queue. The reader goes on:
// finish settles the rows it has not handed over yet.
func (d *dispatcher) halt() {
	d.cancelWait()
	d.stopCh = nil
	if d.next != nil {
		d.queue.push(d.next)
		d.next = nil
	}
}

// finish closes the books once the workers are done: jobs still queued
// are settled as the run leaves them, then the rows never read, so that
// every row has a result; a source error ends the run if nothing else did.
// After an interrupt, input that is not a file is not waited for.
func (d *dispatcher) finish() {
	for _, j := range d.queue.jobs() {
		d.leave(j)
	}
	atEnd := !d.inputOpen
	if d.inputOpen {
		wait := d.e.cfg.ReadToEnd || !errors.Is(d.err, ErrInterrupted)
		atEnd = d.in.rest(wait, func(m *Message) {
			if !d.settleUnsent(m) {
				d.leave(newJob(m, time.Time{}))
			}
		})
	}
	err := d.in.end(atEnd)
	if err != nil && d.err == nil {
		d.err = err
	}
	d.sum.Unread = !atEnd || err != nil
	d.parkForWindows()
}

// summary is what the run did, elapsed long.
func (d *dispatcher) summary(elapsed time.Duration) *Summary {
	sum, lat := d.sum, &d.settler.lat
	sum.Unfinished = d.settler.unfinished
	sum.Throttled = int(d.e.throttled.Load())
	sum.P50, sum.P95, sum.P99 = lat.percentile(0.50), lat.percentile(0.95), lat.percentile(0.99)
	sum.Elapsed = elapsed
	return sum
}
