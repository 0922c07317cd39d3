package sender

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/bulksend/bulksend/ratelimit"
)

// Summary is what a run did.
type Summary struct {
	// Counts has one entry per final status, rows settled by earlier runs
	// included.
	Counts map[Status]int
	// Earlier is how many of those rows an earlier run settled.
	Earlier int
	// Read is the number of rows taken from the source.
	Read int
	// Unfinished rows were sent at least once but the run stopped before
	// their outcome was final; the journal has them as in flight.
	Unfinished    int
	Requests      int // HTTP requests made
	Throttled     int // throttle answers among them
	Retries       int // transient retries
	P50, P95, P99 time.Duration
	Elapsed       time.Duration
}

// Run sends every message of src and returns what happened. It stops
// dispatching when stop is closed (requests on the wire finish; nothing is
// retried) and aborts requests on the wire when ctx ends. A non-nil error
// says why the run ended early (ErrInterrupted, ErrMaxErrors, ErrAuth,
// ErrOutage, a journal or source failure); the Summary is valid either way.
func Run(ctx context.Context, stop <-chan struct{}, cfg Config, src Source) (*Summary, error) {
	e := newEngine(cfg)
	return e.run(ctx, stop, src)
}

// job is one message on its way, through retries and throttle pauses.
type job struct {
	m         *Message
	attempts  int // requests made
	transient int // transient failures so far
	throttled int
	begun     bool
	ready     time.Time
	sentAt    time.Time
	latency   time.Duration
}

type outcomeKind int

const (
	outcomeFinal     outcomeKind = iota // res is the row's result
	outcomeRetry                        // send the job again at job.ready
	outcomeAbandoned                    // the run is stopping; not final
	outcomeFatal                        // err ends the run; res, if set, is final
)

type outcome struct {
	kind      outcomeKind
	job       *job
	res       *Result
	err       error
	transient bool
	requests  int
}

type engine struct {
	cfg     Config
	client  Doer
	lim     Limiter
	journal Journal
	now     func() time.Time
	rndMu   sync.Mutex
	rnd     func() float64
	parse   func(int, []byte) (string, string)
	header  string

	concurrency int
	timeout     time.Duration
	maxRetries  int
	maxWait     time.Duration
	budget      float64
	progress    *Progress
	requests    atomic.Int64
	throttled   atomic.Int64
	// server learns the server's clock from its Date headers, so resets in
	// Unix milliseconds are read to the millisecond whatever the skew.
	server ratelimit.ServerClock
}

func newEngine(cfg Config) *engine {
	e := &engine{cfg: cfg, client: cfg.Client, lim: cfg.Limiter, journal: cfg.Journal,
		now: cfg.Now, rnd: cfg.Rand, parse: cfg.ParseResponse, header: cfg.IdempotencyHeader,
		concurrency: cfg.Concurrency, timeout: cfg.Timeout, maxRetries: cfg.MaxRetries,
		maxWait: cfg.MaxWait, budget: cfg.RetryBudget, progress: cfg.Progress}
	if e.client == nil {
		e.client = http.DefaultClient
	}
	if e.lim == nil {
		e.lim = ratelimit.New(ratelimit.Config{})
	}
	if e.journal == nil {
		e.journal = discardJournal{}
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.rnd == nil {
		e.rnd = rand.Float64
	}
	if e.parse == nil {
		e.parse = func(_ int, body []byte) (string, string) { return "", oneLine(body, 200) }
	}
	if e.header == "" {
		e.header = DefaultIdempotencyHeader
	}
	if e.concurrency <= 0 {
		e.concurrency = DefaultConcurrency
	}
	if e.timeout <= 0 {
		e.timeout = DefaultTimeout
	}
	switch {
	case e.maxRetries == 0:
		e.maxRetries = DefaultMaxRetries
	case e.maxRetries < 0:
		e.maxRetries = 0
	}
	if e.maxWait <= 0 {
		e.maxWait = DefaultMaxWait
	}
	if e.budget == 0 {
		e.budget = DefaultRetryBudget
	}
	if e.progress == nil {
		e.progress = new(Progress)
	}
	return e
}

func (e *engine) random() float64 {
	e.rndMu.Lock()
	defer e.rndMu.Unlock()
	return e.rnd()
}

// run is the dispatcher and the collector: one goroutine owns the queue of
// jobs waiting for their time, the per-recipient clock and the counts, so
// none of them needs a lock. Workers only wait for the limiter and send.
func (e *engine) run(ctx context.Context, stop <-chan struct{}, src Source) (*Summary, error) {
	start := e.now()
	sum := &Summary{Counts: make(map[Status]int)}
	var lat latencies

	// waitCtx ends on a soft stop too: workers waiting for the limiter give
	// up their job, while requests on the wire (ctx) run to completion.
	waitCtx, cancelWait := context.WithCancel(ctx)
	defer cancelWait()
	readCtx, cancelRead := context.WithCancel(ctx)
	defer cancelRead()

	in := make(chan *Message, 64)
	var readErr error
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer close(in)
		for {
			m, err := src.Next(readCtx)
			if err != nil {
				if !errors.Is(err, io.EOF) && readCtx.Err() == nil {
					readErr = err
				}
				return
			}
			select {
			case in <- m:
			case <-readCtx.Done():
				return
			}
		}
	}()

	work := make(chan *job)
	// Unbuffered: a worker takes its next job only after its outcome is in,
	// so a result that stops the run is seen before more go out.
	outcomes := make(chan outcome)
	var wg sync.WaitGroup
	for range e.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newWorker(ctx, e.timeout)
			defer w.close()
			for j := range work {
				outcomes <- e.attempt(waitCtx, w, j)
			}
		}()
	}

	var (
		queue       jobQueue
		busy        int // jobs handed to workers
		inputOpen   = true
		stopping    bool
		runErr      error
		failures    int
		window      errorWindow
		budget      = e.budget
		recipients  = make(map[string]time.Time)
		dispatched  int
		timer       *time.Timer
		timerC      <-chan time.Time
		unfinished  = make(map[int]struct{})
		stopCh      = stop
		ctxDone     = ctx.Done()
		pendingNext *job
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	// settle writes a final result and counts it.
	settle := func(r *Result, write bool) {
		if write {
			if err := e.journal.Record(r); err != nil && runErr == nil {
				runErr = fmt.Errorf("record result: %w", err)
				stopping = true
			}
		}
		delete(unfinished, r.Line)
		sum.Counts[r.Status]++
		e.progress.count(r.Status)
		if r.Status == StatusSent && write {
			lat.add(r.Latency)
		}
		// Rows an earlier run settled say nothing about this run's errors.
		switch {
		case !write:
		case r.Status == StatusFailed || r.Status == StatusUnknown:
			failures++
			window.add(true)
		case r.Status == StatusSent:
			window.add(false)
		}
		if runErr == nil && ((e.cfg.MaxErrors > 0 && failures >= e.cfg.MaxErrors) ||
			(e.cfg.MaxErrorShare > 0 && window.n >= minErrorSample && window.share() >= e.cfg.MaxErrorShare)) {
			runErr = ErrMaxErrors
			stopping = true
		}
	}
	// ready reports whether a job may go now; if its recipient is still
	// inside the interval it is put back with the time it may.
	recipientReady := func(j *job, now time.Time) bool {
		iv := e.cfg.RecipientInterval
		if iv <= 0 || j.m.Recipient == "" {
			return true
		}
		if next, ok := recipients[j.m.Recipient]; ok && now.Before(next) {
			// While a message to this recipient is on the wire, next is
			// far away; look again an interval later, by when it has
			// been sent or its time is known.
			j.ready = next
			if later := now.Add(iv); later.Before(next) {
				j.ready = later
			}
			heap.Push(&queue, j)
			return false
		}
		// Busy until the worker reports when it really sent.
		recipients[j.m.Recipient] = now.Add(100 * 365 * 24 * time.Hour)
		dispatched++
		if dispatched%4096 == 0 {
			for k, t := range recipients {
				if t.Before(now) {
					delete(recipients, k)
				}
			}
		}
		return true
	}
	release := func(j *job) {
		if e.cfg.RecipientInterval > 0 && j.m.Recipient != "" {
			at := j.sentAt
			if at.IsZero() {
				at = e.now()
			}
			recipients[j.m.Recipient] = at.Add(e.cfg.RecipientInterval)
		}
	}

	// handle takes one worker's outcome.
	handle := func(o outcome) {
		busy--
		j := o.job
		sum.Requests += o.requests
		release(j)
		switch o.kind {
		case outcomeFinal:
			settle(o.res, true)
		case outcomeFatal:
			if o.res != nil {
				settle(o.res, true)
			} else if j.begun {
				unfinished[j.m.Line] = struct{}{}
			}
			if runErr == nil {
				runErr = o.err
			}
			stopping = true
		case outcomeRetry:
			if o.transient {
				sum.Retries++
				e.progress.Retries.Add(1)
				if e.budget > 0 {
					budget--
					if budget < 0 {
						if runErr == nil {
							runErr = fmt.Errorf("%w: retry budget spent (%d retries); last error on line %d: %s",
								ErrOutage, sum.Retries, j.m.Line, o.res.Error)
						}
						stopping = true
						unfinished[j.m.Line] = struct{}{}
						return
					}
				}
			}
			if stopping {
				unfinished[j.m.Line] = struct{}{}
				return
			}
			heap.Push(&queue, j)
		case outcomeAbandoned:
			if j.begun {
				unfinished[j.m.Line] = struct{}{}
			}
		}
		if o.kind == outcomeFinal && o.res.Status == StatusSent && e.budget > 0 {
			budget = min(budget+RetryBudgetRefill, e.budget*5)
		}
	}

	for {
		// Outcomes first: a failure that should stop the run must be seen
		// before another job is handed out.
		select {
		case o := <-outcomes:
			handle(o)
			continue
		default:
		}
		if stopping {
			cancelWait()
			cancelRead()
			stopCh = nil
			if pendingNext != nil {
				heap.Push(&queue, pendingNext)
				pendingNext = nil
			}
		}
		// Pick the next job that may go now, if any.
		now := e.now()
		for pendingNext == nil && !stopping && queue.Len() > 0 && !queue[0].ready.After(now) {
			j := heap.Pop(&queue).(*job)
			if recipientReady(j, now) {
				pendingNext = j
			}
		}
		var sendCh chan *job
		if pendingNext != nil {
			sendCh = work
		}
		if timer != nil {
			timer.Stop()
			timer, timerC = nil, nil
		}
		if pendingNext == nil && !stopping && queue.Len() > 0 {
			timer = time.NewTimer(queue[0].ready.Sub(now))
			timerC = timer.C
		}
		var inCh <-chan *Message
		// Read more only while the queue is short, so memory stays flat
		// however long the file; held-back recipients count against it.
		if inputOpen && !stopping && pendingNext == nil && queue.Len() < 4*e.concurrency+1024 {
			inCh = in
		}
		if !inputOpen || stopping {
			if busy == 0 && pendingNext == nil && (queue.Len() == 0 || stopping) {
				break
			}
		}

		select {
		case m, ok := <-inCh:
			if !ok {
				inputOpen = false
				continue
			}
			sum.Read++
			e.progress.Read.Add(1)
			switch {
			case m.Earlier != "":
				sum.Earlier++
				settle(&Result{Line: m.Line, ID: m.ID, Status: m.Earlier}, false)
			case m.Invalid != nil:
				settle(&Result{Line: m.Line, ID: m.ID, Status: StatusInvalid, Error: m.Invalid.Error()}, true)
			case m.Skip != "":
				settle(&Result{Line: m.Line, ID: m.ID, Status: m.Skip, Error: m.Reason}, true)
			default:
				if e.cfg.NoIdempotency {
					// The key is not sent, so the journal must not claim it was.
					m.IdempotencyKey = ""
				} else if m.IdempotencyKey != "" {
					if m.Header == nil {
						m.Header = make(http.Header, 1)
					}
					m.Header.Set(e.header, m.IdempotencyKey)
				}
				heap.Push(&queue, &job{m: m, ready: now})
			}
		case sendCh <- pendingNext:
			busy++
			pendingNext = nil
		case <-timerC:
			timer, timerC = nil, nil
		case o := <-outcomes:
			handle(o)
		case <-stopCh:
			stopping = true
			if runErr == nil {
				runErr = ErrInterrupted
			}
		case <-ctxDone:
			ctxDone = nil
			stopping = true
			if runErr == nil {
				runErr = ErrInterrupted
			}
		}
	}
	close(work)
	wg.Wait()
	cancelRead()
	if !stopping {
		<-readDone
	}
	// On a stop the reader may be blocked on input that never comes (a
	// stalled pipe); it is left behind rather than holding up the exit.
	select {
	case <-readDone:
		if readErr != nil && runErr == nil {
			runErr = readErr
		}
	default:
	}
	for _, j := range queue {
		if j.begun {
			unfinished[j.m.Line] = struct{}{}
		}
	}
	sum.Unfinished = len(unfinished)
	sum.Throttled = int(e.throttled.Load())
	sum.P50, sum.P95, sum.P99 = lat.percentile(0.50), lat.percentile(0.95), lat.percentile(0.99)
	sum.Elapsed = e.now().Sub(start)
	return sum, runErr
}

// attempt makes one request for j, after the limiter lets it go.
func (e *engine) attempt(waitCtx context.Context, w *worker, j *job) outcome {
	if err := e.lim.Wait(waitCtx); err != nil {
		return outcome{kind: outcomeAbandoned, job: j}
	}
	m := j.m
	if !j.begun {
		if err := e.journal.Begin(m); err != nil {
			return outcome{kind: outcomeFatal, job: j, err: fmt.Errorf("record in-flight row: %w", err),
				res: &Result{Line: m.Line, ID: m.ID, Status: StatusFailed, Error: "journal: " + err.Error()}}
		}
		j.begun = true
	}
	j.attempts++
	e.progress.InFlight.Add(1)
	start := e.now()
	status, header, body, wrote, err := e.do(w, m)
	end := e.now()
	e.progress.InFlight.Add(-1)
	e.requests.Add(1)
	j.sentAt, j.latency = start, end.Sub(start)
	res := func(st Status, errText string) *Result {
		return &Result{Line: m.Line, ID: m.ID, Status: st, HTTPStatus: status, Attempts: j.attempts,
			Throttled: j.throttled, Error: errText, Latency: j.latency, SentAt: j.sentAt,
			Response: oneLine(body, responseKeep)}
	}
	final := func(st Status, errText string) outcome {
		return outcome{kind: outcomeFinal, job: j, res: res(st, errText), requests: 1}
	}
	keyed := m.IdempotencyKey != "" && !e.cfg.NoIdempotency

	if err != nil {
		if w.run.Err() != nil {
			return outcome{kind: outcomeAbandoned, job: j, requests: 1}
		}
		if wrote && !refused(err) && !keyed {
			return final(StatusUnknown, fmt.Sprintf("request may have reached the server (%s); not resent without an idempotency key", describe(err)))
		}
		return e.retry(j, res(StatusFailed, describe(err)), end)
	}

	e.server.Observe(header, start, end)
	var sig ratelimit.Signal
	var hinted bool
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		sig, hinted = e.server.ParseWaitAt(header, end)
	}
	switch {
	case status == http.StatusTooManyRequests || (status == http.StatusServiceUnavailable && hinted):
		j.throttled++
		e.throttled.Add(1)
		e.progress.Throttled.Add(1)
		if hinted && sig.Wait > e.maxWait {
			return final(StatusFailed, fmt.Sprintf("server asked to wait %s (%s: %s), more than --max-wait %s",
				sig.Wait.Round(time.Second), sig.Header, sig.Value, e.maxWait))
		}
		e.lim.Throttle(end, sig.Wait, hinted)
		j.ready = end
		return outcome{kind: outcomeRetry, job: j, requests: 1}
	case status >= 200 && status < 300:
		q, ok := ratelimit.ParseQuota(header, end)
		e.lim.Success(start, q, ok)
		id, _ := e.parse(status, body)
		r := res(StatusSent, "")
		r.MessageID = id
		return outcome{kind: outcomeFinal, job: j, res: r, requests: 1}
	}
	q, ok := ratelimit.ParseQuota(header, end)
	e.lim.Success(start, q, ok)
	_, errText := e.parse(status, body)
	reason := fmt.Sprintf("HTTP %d", status)
	if errText != "" {
		reason += ": " + errText
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		// Not a final row: the server proved it did not take the message,
		// so the journal keeps it in flight and --resume sends it again
		// once the credentials are fixed.
		return outcome{kind: outcomeFatal, job: j, requests: 1, err: fmt.Errorf("%w: %s", ErrAuth, reason)}
	case status == http.StatusGatewayTimeout && !keyed:
		return final(StatusUnknown, reason+"; the message may have been delivered, not resent without an idempotency key")
	case status == http.StatusRequestTimeout || status == http.StatusTooEarly || status >= 500:
		return e.retry(j, res(StatusFailed, reason), end)
	case status >= 300 && status < 400:
		if loc := header.Get("Location"); loc != "" {
			reason += "; redirect to " + oneLine([]byte(loc), responseKeep) + " not followed"
		}
	}
	return final(StatusFailed, reason)
}

// retry schedules a transient failure again after a full-jitter backoff, or
// gives up when its retries are spent.
func (e *engine) retry(j *job, r *Result, now time.Time) outcome {
	if j.transient >= e.maxRetries {
		r.Error = fmt.Sprintf("gave up after %d attempts: %s", j.attempts, r.Error)
		return outcome{kind: outcomeFinal, job: j, res: r, requests: 1}
	}
	d := ratelimit.Backoff(j.transient, e.backoffBase(), e.backoffMax(), e.random)
	j.transient++
	j.ready = now.Add(d)
	return outcome{kind: outcomeRetry, job: j, res: r, transient: true, requests: 1}
}

func (e *engine) backoffBase() time.Duration {
	if e.cfg.BackoffBase > 0 {
		return e.cfg.BackoffBase
	}
	return DefaultBackoffBase
}

func (e *engine) backoffMax() time.Duration {
	if e.cfg.BackoffMax > 0 {
		return e.cfg.BackoffMax
	}
	return DefaultBackoffMax
}

// do sends m once on w. wrote says whether the whole request went out, so a
// failure after it may have reached the server.
func (e *engine) do(w *worker, m *Message) (status int, header http.Header, body []byte, wrote bool, err error) {
	ctx, written := w.start()
	defer func() {
		if w.end() && err != nil {
			err = fmt.Errorf("%w after %s: %w", context.DeadlineExceeded, w.timeout, err)
		}
	}()
	req, err := http.NewRequestWithContext(ctx, m.Method, m.URL, bytes.NewReader(m.Body))
	if err != nil {
		return 0, nil, nil, false, fmt.Errorf("build request: %w", err)
	}
	if m.Header != nil {
		// The message's own, never written to once it is queued (the key
		// was set then), so a transport goroutine of an abandoned attempt
		// that still reads it races with nothing.
		req.Header = m.Header
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, nil, nil, written.Load(), err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, responseLimit))
	if err != nil {
		// The server answered, so the request reached it.
		return 0, nil, nil, true, fmt.Errorf("read response: %w", err)
	}
	// Drain a little more so the connection can be reused.
	_, _ = io.CopyN(io.Discard, resp.Body, responseLimit)
	return resp.StatusCode, resp.Header, body, true, nil
}

// worker is what one worker goroutine reuses from request to request: one
// timer for the --timeout of the request on the wire (a timer per request,
// context.WithTimeout, cost about 1µs and 4 allocations a message).
type worker struct {
	run     context.Context // the run's context; ends only when the run is aborted
	timeout time.Duration
	timer   *time.Timer

	mu       sync.Mutex
	cancel   context.CancelFunc // the current request's; nil between requests
	deadline time.Time          // when the current request times out
	timedOut bool
}

func newWorker(run context.Context, timeout time.Duration) *worker {
	w := &worker{run: run, timeout: timeout}
	w.timer = time.AfterFunc(time.Hour, w.expire)
	w.timer.Stop()
	return w
}

// start begins a request and returns its context, which ends at the
// timeout or with the run, and the flag its trace sets once the request
// has gone out whole. The trace is the request's own: a write reported for
// another request (a token fetch, an earlier attempt) must not count.
func (w *worker) start() (context.Context, *atomic.Bool) {
	written := new(atomic.Bool)
	ctx, cancel := context.WithCancel(httptrace.WithClientTrace(w.run, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				written.Store(true)
			}
		},
	}))
	w.mu.Lock()
	w.cancel, w.deadline, w.timedOut = cancel, time.Now().Add(w.timeout), false
	w.mu.Unlock()
	w.timer.Reset(w.timeout)
	return ctx, written
}

// end finishes the request start began and reports whether the timeout
// ended it.
func (w *worker) end() (timedOut bool) {
	w.timer.Stop()
	w.mu.Lock()
	cancel := w.cancel
	w.cancel = nil
	timedOut = w.timedOut
	w.mu.Unlock()
	cancel()
	return timedOut
}

// expire cancels the request on the wire if its time is up. A timer that
// fired for an earlier request (Stop cannot recall a callback already
// started) finds a later deadline and does nothing.
func (w *worker) expire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel != nil && !time.Now().Before(w.deadline) {
		w.timedOut = true
		w.cancel()
	}
}

func (w *worker) close() { w.timer.Stop() }

// refused reports errors that prove the request never reached the server.
func refused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}

// describe turns a transport error into a short reason for the report.
func describe(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out waiting for the server"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by the server"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "server closed the connection without answering"
	}
	return err.Error()
}

// oneLine is the start of b as one line of valid UTF-8, for the report.
func oneLine(b []byte, n int) string {
	if len(b) <= n && plainLine(b) {
		return string(b)
	}
	if len(b) > n {
		b = b[:n]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	s := strings.ToValidUTF8(string(b), "?")
	return strings.Join(strings.Fields(s), " ")
}

type discardJournal struct{}

func (discardJournal) Begin(*Message) error { return nil }
func (discardJournal) Record(*Result) error { return nil }

// jobQueue orders waiting jobs by the time they may go, then by age, so a
// throttled message goes before the ones read after it.
type jobQueue []*job

func (q jobQueue) Len() int { return len(q) }
func (q jobQueue) Less(i, k int) bool {
	if !q[i].ready.Equal(q[k].ready) {
		return q[i].ready.Before(q[k].ready)
	}
	return q[i].m.Line < q[k].m.Line
}
func (q jobQueue) Swap(i, k int) { q[i], q[k] = q[k], q[i] }
func (q *jobQueue) Push(x any)   { *q = append(*q, x.(*job)) }
func (q *jobQueue) Pop() any {
	old := *q
	j := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return j
}

// errorWindow is the failure share of the last maxErrorWindow results.
type errorWindow struct {
	ring   [maxErrorWindow]bool
	next   int
	n      int
	failed int
}

func (w *errorWindow) add(failed bool) {
	if w.n == maxErrorWindow {
		if w.ring[w.next] {
			w.failed--
		}
	} else {
		w.n++
	}
	w.ring[w.next] = failed
	if failed {
		w.failed++
	}
	w.next = (w.next + 1) % maxErrorWindow
}

func (w *errorWindow) share() float64 {
	if w.n == 0 {
		return 0
	}
	return float64(w.failed) / float64(w.n)
}

// plainLine reports whether oneLine would return b unchanged: printable
// ASCII with single spaces between words.
func plainLine(b []byte) bool {
	if len(b) > 0 && (b[0] == ' ' || b[len(b)-1] == ' ') {
		return false
	}
	for i, c := range b {
		if c < 0x21 || c > 0x7e {
			if c != ' ' || b[i-1] == ' ' {
				return false
			}
		}
	}
	return true
}
