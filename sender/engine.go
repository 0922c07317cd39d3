package sender

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulksend/bulksend/ratelimit"
)

// Summary is what a run did.
type Summary struct {
	// Counts has one entry per final status, rows settled by earlier runs
	// included.
	Counts map[Status]int
	// Earlier is how many of those rows an earlier run settled.
	Earlier int
	// Read is the number of rows taken from the source: every row of the
	// input, unless Unread.
	Read int
	// Unread is set when the run stopped before the end of the input and
	// could not read the rest (an interrupt while a pipe had nothing to
	// read, a source error): rows after the last one read have no result.
	Unread bool
	// Unfinished rows were begun but the journal failed before their
	// result was written: the journal has them as in flight.
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

// engine is a Config with its defaults filled in, and what the workers
// share while a run lasts.
type engine struct {
	cfg     Config
	client  Doer
	lim     Limiter
	flights flightLimiter // lim, when it counts requests in flight
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
	throttled   atomic.Int64
	// answered: some request got an HTTP answer (any status), so the
	// server is reachable; until then connection failures may prove it
	// is not (ErrUnreachable).
	answered atomic.Bool
	// bare503Since is when the current spell of 503s without a wait hint
	// began (Unix ns), 0 once a request was taken since: see busy.
	bare503Since atomic.Int64
	outageGrace  time.Duration // Config.OutageGrace, defaulted
	// server learns the server's clock from its Date headers, so resets in
	// Unix milliseconds are read to the millisecond whatever the skew.
	server ratelimit.ServerClock
}

func newEngine(cfg Config) *engine {
	e := &engine{cfg: cfg, client: cfg.Client, lim: cfg.Limiter, journal: cfg.Journal,
		now: cfg.Now, rnd: cfg.Rand, parse: cfg.ParseResponse, header: cfg.IdempotencyHeader,
		concurrency: cfg.Concurrency, timeout: cfg.Timeout, maxRetries: cfg.MaxRetries,
		maxWait: cfg.MaxWait, budget: cfg.RetryBudget, progress: cfg.Progress, outageGrace: cfg.OutageGrace}
	if e.outageGrace == 0 {
		e.outageGrace = DefaultOutageGrace
	}
	if e.client == nil {
		e.client = http.DefaultClient
	}
	if e.lim == nil {
		e.lim = ratelimit.New(ratelimit.Config{})
	}
	e.flights, _ = e.lim.(flightLimiter)
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

// run is the life of the run's messages: a reader takes them from src, the
// dispatcher queues each until its turn, hands it to a worker of the pool,
// and settles or requeues it by the worker's outcome, until the input is
// done or the run stops. The package documentation follows one message.
func (e *engine) run(ctx context.Context, stop <-chan struct{}, src Source) (*Summary, error) {
	start := e.now()
	// waitCtx ends on a soft stop too: workers waiting for the limiter give
	// up their job, while requests on the wire (ctx) run to completion.
	waitCtx, cancelWait := context.WithCancel(ctx)
	defer cancelWait()

	readCtx := ctx
	if e.cfg.ReadToEnd {
		// A file always ends: the rows a stopped run never reached are read
		// to the end and reported pending, even after ctx ends.
		readCtx = context.WithoutCancel(ctx)
	}
	in := startReading(readCtx, src)
	defer in.cancel()
	workers := e.startPool(ctx, waitCtx)
	d := newDispatcher(e, in, workers, stop, ctx.Done(), cancelWait)
	defer d.wake.Stop()

	d.dispatch()
	workers.close()
	d.finish()
	d.maxErrorsReason()
	return d.summary(e.now().Sub(start)), d.err
}

// prepare freezes m's headers before it is queued: a worker's request uses
// them as they are, and a transport goroutine of an abandoned attempt may
// still read them, so nothing writes to them afterwards.
func (e *engine) prepare(m *Message) {
	if e.cfg.NoIdempotency {
		// The key is not sent, so the journal must not claim it was.
		m.IdempotencyKey = ""
		return
	}
	if m.IdempotencyKey != "" {
		if m.Header == nil {
			m.Header = make(http.Header, 1)
		}
		m.Header.Set(e.header, m.IdempotencyKey)
	}
}

type discardJournal struct{}

func (discardJournal) Begin(*Message) error { return nil }
func (discardJournal) Record(*Result) error { return nil }
