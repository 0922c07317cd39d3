package delivery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/bulksend/bulksend/report"
	"github.com/bulksend/bulksend/sender"
)

// Defaults for the zero Options.
const (
	// DefaultInterval is how long --watch waits between passes.
	DefaultInterval = 30 * time.Second
	// DefaultCheckpoint is how often, at most, a pass rewrites the report
	// with the answers it has.
	DefaultCheckpoint = time.Second
	// DefaultBatch is how many rows a pass holds lookups for at a time:
	// about 30 MB, whatever the report's length.
	DefaultBatch = 100_000
	// MaxFailures bounds Result.Failures.
	MaxFailures = 100
)

// ErrUnfinished: the report is the journal of a send that did not finish
// (rows in flight); `send --resume` must settle it first.
var ErrUnfinished = errors.New("the report has rows in flight: finish the send with --resume first")

// Options configures Run.
type Options struct {
	// Report is the report file to read and update (CSV or JSONL by its
	// name). Run holds its lock throughout.
	Report string
	// Vendor makes and reads the lookups.
	Vendor Vendor
	// Engine sends the lookups: its Client (with the vendor's
	// authentication), Limiter, Concurrency, Timeout, MaxRetries, MaxWait,
	// Now and Rand are used; Journal, Detail and idempotency are Run's.
	Engine sender.Config
	// Watch asks again, every Interval, until every row is final or
	// MaxTime has passed since the start (0: no limit).
	Watch    bool
	Interval time.Duration
	MaxTime  time.Duration
	// Checkpoint: see DefaultCheckpoint; 0 means it.
	Checkpoint time.Duration
	// Batch: see DefaultBatch; 0 means it.
	Batch int
	// Redact rewrites a delivery status and error before they are stored
	// (the caller's secret masker); nil stores them as they are.
	Redact func(string) string
	// Sleep waits d or until ctx ends; nil uses a timer. Tests inject one
	// that moves their clock.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnPass, when set, is told before each pass how many rows it asks.
	OnPass func(pass, rows int)
}

// Result is what the report says after Run.
type Result struct {
	// Rows is the report's row count; Counts splits it by delivery
	// status, with NotSent for rows that were never sent and NoStatus for
	// sent rows the vendor has not answered for.
	Rows   int
	Counts map[string]int
	// Delivered, Undelivered and Pending count the sent rows by outcome
	// (Pending includes NoStatus).
	Delivered, Undelivered, Pending int
	// Failures are the first MaxFailures undelivered rows, in report order.
	Failures []Failure
	// Passes is how many times the open rows were asked; Asked how many
	// lookups were answered with a status in this run.
	Passes, Asked int
	// Requests and Throttled are the engine's: HTTP requests made and
	// throttle answers among them.
	Requests, Throttled int
	// Unasked counts the sent rows the vendor could not be asked about
	// (no message id, a URL template that does not render); Why is the
	// reason of the first, which its delivery_error column has too.
	Unasked int
	Why     string
	// TimedOut: --watch stopped at MaxTime with rows still open.
	TimedOut bool
	Elapsed  time.Duration
}

// The keys of Result.Counts that are not a vendor's status.
const (
	NotSent  = "not-sent"
	NoStatus = "no-status"
)

// Failure is an undelivered row.
type Failure struct {
	Line   int    `json:"line"`
	ID     string `json:"id"`
	Status string `json:"status"`
	Error  string `json:"error"`
}

// AllDelivered reports whether every row of the report was delivered.
func (r *Result) AllDelivered() bool { return r.Rows > 0 && r.Delivered == r.Rows }

// Run asks the vendor for every sent row of the report whose delivery is
// not final, writes the answers into the report, and returns what the
// report then says. Closing stop ends it softly (lookups on the wire
// finish and are saved); ctx ending aborts them. An error other than
// sender.ErrInterrupted means the run could not go on (the report, the
// credentials, a server that keeps failing); whatever was learned is
// saved either way.
func Run(ctx context.Context, stop <-chan struct{}, opts Options) (*Result, error) {
	r := newRunner(opts)
	release, err := report.Lock(opts.Report)
	if err != nil {
		return nil, fmt.Errorf("lock report: %w", err)
	}
	defer release()
	start := r.now()
	res := &Result{}
	runErr := r.passes(ctx, stop, start, res)
	if err := r.tally(res); err != nil && runErr == nil {
		runErr = err
	}
	res.Elapsed = r.now().Sub(start)
	return res, runErr
}

// runner is one Run.
type runner struct {
	opts   Options
	format report.Format
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
}

func newRunner(opts Options) *runner {
	r := &runner{opts: opts, format: report.FormatFromName(opts.Report), now: opts.Engine.Now, sleep: opts.Sleep}
	if r.now == nil {
		r.now = time.Now
	}
	if r.sleep == nil {
		r.sleep = sleepTimer
	}
	if r.opts.Interval <= 0 {
		r.opts.Interval = DefaultInterval
	}
	if r.opts.Checkpoint <= 0 {
		r.opts.Checkpoint = DefaultCheckpoint
	}
	if r.opts.Batch <= 0 {
		r.opts.Batch = DefaultBatch
	}
	return r
}

// passes asks the open rows, and with Watch asks again until none is open
// or the time is up.
func (r *runner) passes(ctx context.Context, stop <-chan struct{}, start time.Time, res *Result) error {
	for {
		left, asked, err := r.askOpen(ctx, stop, res)
		if err != nil || asked == 0 || !r.opts.Watch || left == 0 {
			return err
		}
		if r.opts.MaxTime > 0 && r.now().Add(r.opts.Interval).Sub(start) > r.opts.MaxTime {
			res.TimedOut = true
			return nil
		}
		select {
		case <-stop:
			return sender.ErrInterrupted
		default:
		}
		waitCtx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-stop:
				cancel()
			case <-waitCtx.Done():
			}
		}()
		err = r.sleep(waitCtx, r.opts.Interval)
		cancel()
		if err != nil {
			return sender.ErrInterrupted
		}
	}
}

// askOpen is one pass: it asks every open row once, Batch rows at a time
// so that memory stays flat however long the report (each batch reads the
// report again, skipping the rows this pass has asked). left is how many
// of the asked rows are still not final.
func (r *runner) askOpen(ctx context.Context, stop <-chan struct{}, res *Result) (left, asked int, err error) {
	var done lineSet
	for {
		open, total, err := r.openRows(res, &done)
		if err != nil || len(open) == 0 {
			return left, asked, err
		}
		if asked == 0 {
			res.Passes++
			if r.opts.OnPass != nil {
				r.opts.OnPass(res.Passes, total)
			}
		}
		for _, m := range open {
			done.add(m.Line)
		}
		asked += len(open)
		n, err := r.pass(ctx, stop, open, res)
		left += n
		if err != nil {
			return left, asked, err
		}
	}
}

// lineSet is a set of report lines, a bit each.
type lineSet []uint64

func (s *lineSet) add(line int) {
	for line/64 >= len(*s) {
		*s = append(*s, 0)
	}
	(*s)[line/64] |= 1 << (line % 64)
}

func (s lineSet) has(line int) bool { return line/64 < len(s) && s[line/64]&(1<<(line%64)) != 0 }

// openRows are the first Batch sent rows whose delivery is not final and
// that done does not hold, in report order; total counts all of them. A
// row the vendor cannot be asked about is recorded as such in the report
// and res, and not returned.
func (r *runner) openRows(res *Result, done *lineSet) (open []*sender.Message, total int, err error) {
	var (
		unasked  = map[int]string{}
		inflight bool
		stale    bool // an unasked row's delivery_error does not say why yet
	)
	err = report.LastRows(r.opts.Report, r.format, func(row report.Row) error {
		switch {
		case row.Status == sender.StatusInFlight:
			inflight = true
		case row.Status != sender.StatusSent || OutcomeOf(row.DeliveryStatus).Final() || done.has(row.Line):
		default:
			method, url, header, err := r.opts.Vendor.Request(&row)
			if err != nil {
				why := "not looked up: " + err.Error()
				if r.opts.Redact != nil { // a rendered URL may hold an {{env}} secret
					why = r.opts.Redact(why)
				}
				unasked[row.Line] = why
				stale = stale || row.DeliveryError != why
				return nil
			}
			if total++; len(open) < r.opts.Batch {
				open = append(open, &sender.Message{Line: row.Line, ID: row.ID, Method: method, URL: url, Header: header})
			}
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, 0, fmt.Errorf("read report: %w", err)
	case inflight:
		return nil, 0, ErrUnfinished
	}
	res.Unasked, res.Why = len(unasked), ""
	if len(unasked) > 0 {
		res.Why = unasked[slices.Min(slices.Collect(maps.Keys(unasked)))]
	}
	if stale { // each --watch pass finds the same rows: rewrite only once
		err := report.UpdateDelivery(r.opts.Report, r.format, func(row *report.Row) {
			if why, ok := unasked[row.Line]; ok && row.Status == sender.StatusSent {
				row.DeliveryError = why
			}
		})
		if err != nil {
			return nil, 0, err
		}
	}
	return open, total, nil
}

// pass sends one lookup per open row through the engine and saves the
// answers; left is how many rows are still not final.
func (r *runner) pass(ctx context.Context, stop <-chan struct{}, open []*sender.Message, res *Result) (left int, err error) {
	j := newJournal(r, len(open))
	defer j.close()
	cfg := r.opts.Engine
	cfg.Journal = j
	cfg.NoIdempotency = true // a GET changes nothing, and vendors want no key
	cfg.ParseResponse = nil  // the error text is the start of the body
	vendor := r.opts.Vendor
	cfg.Detail = func(_ int, body []byte) any {
		s, err := vendor.Read(body)
		if err != nil {
			return err
		}
		return s
	}
	sum, runErr := sender.Run(ctx, stop, cfg, &sliceSource{msgs: open})
	if sum != nil {
		res.Requests += sum.Requests
		res.Throttled += sum.Throttled
	}
	final, answered, saveErr := j.finish()
	res.Asked += answered
	if runErr == nil {
		runErr = saveErr
	}
	return len(open) - final, runErr
}

// tally reads the report's delivery columns into res.
func (r *runner) tally(res *Result) error {
	res.Counts = map[string]int{}
	err := report.LastRows(r.opts.Report, r.format, func(row report.Row) error {
		res.Rows++
		key := row.DeliveryStatus
		switch {
		case row.Status != sender.StatusSent:
			key = NotSent
		case key == "":
			key = NoStatus
		}
		res.Counts[key]++
		if row.Status != sender.StatusSent {
			return nil
		}
		switch OutcomeOf(row.DeliveryStatus) {
		case Delivered:
			res.Delivered++
		case Undelivered:
			res.Undelivered++
			if len(res.Failures) < MaxFailures {
				res.Failures = append(res.Failures, Failure{Line: row.Line, ID: row.ID, Status: row.DeliveryStatus, Error: row.DeliveryError})
			}
		default:
			res.Pending++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read report: %w", err)
	}
	return nil
}

// sliceSource hands the engine the open rows' lookups.
type sliceSource struct {
	mu   sync.Mutex
	msgs []*sender.Message
}

func (s *sliceSource) Next(ctx context.Context) (*sender.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.msgs) == 0 {
		return nil, io.EOF
	}
	m := s.msgs[0]
	s.msgs[0] = nil
	s.msgs = s.msgs[1:]
	return m, nil
}

// sleepTimer waits d on a real timer, or until ctx ends.
func sleepTimer(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
