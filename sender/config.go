package sender

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bulksend/bulksend/ratelimit"
)

// Defaults for the zero Config.
const (
	DefaultConcurrency       = 8
	DefaultTimeout           = 30 * time.Second
	DefaultMaxRetries        = 5
	DefaultMaxWait           = 15 * time.Minute
	DefaultIdempotencyHeader = "Idempotency-Key"
	DefaultBackoffBase       = 200 * time.Millisecond
	DefaultBackoffMax        = 30 * time.Second
	DefaultOutageGrace       = 30 * time.Second
	// MinLookupDelay is the least time an absent lookup answer waits to be
	// trusted when Config.LookupDelay is left to the Timeout.
	MinLookupDelay = 2 * time.Second
	// DefaultRetryBudget is how many transient retries the run may spend
	// before it has seen a single success; every success earns
	// RetryBudgetRefill more. An outage empties it and ends the run
	// (resumably) instead of hammering a server that is down.
	DefaultRetryBudget = 20
	RetryBudgetRefill  = 0.5
	// maxErrorWindow is how many recent results a --max-errors share is
	// taken over, and minErrorSample the fewest it needs to judge.
	maxErrorWindow = 100
	minErrorSample = 20
	// responseLimit is how much of a response body is read; responseKeep
	// how much of it the report keeps.
	responseLimit = 64 << 10
	responseKeep  = 300
)

// Errors that end a run early. Every one of them leaves a journal that
// --resume can continue.
var (
	// ErrMaxErrors: permanent failures passed --max-errors.
	ErrMaxErrors = errors.New("too many failed messages")
	// ErrAuth: the server refused our credentials; every further row would
	// fail the same way.
	ErrAuth = errors.New("authentication failed")
	// ErrOutage: transient failures used up the retry budget.
	ErrOutage = errors.New("server keeps failing")
	// ErrUnreachable: no request has reached the server (refused, no such
	// host, no route, a certificate that does not verify), and the first
	// rows have proved it will not: every row would fail the same way.
	ErrUnreachable = errors.New("server unreachable")
	// ErrInterrupted: the caller asked the run to stop.
	ErrInterrupted = errors.New("interrupted")
	// ErrParked: nothing may be sent before a time further off than
	// Config.MaxWait (a quota spent, a send window closed). The run ends
	// with a *ParkedError, which says until when.
	ErrParked = errors.New("parked")
)

// ParkedError ends a parked run: nothing could be sent before Until, and
// the rows not sent are left for --resume. errors.Is(err, ErrParked) holds.
type ParkedError struct {
	// Until is the earliest time sending may go on, on the server's clock
	// when the server set it (a quota's reset), else on the local clock (a
	// send window's opening, a local limit).
	Until time.Time
	// Reason says what parked the run.
	Reason string
}

func (e *ParkedError) Error() string {
	return fmt.Sprintf("parked until %s: %s", e.Until.Format(time.RFC3339), e.Reason)
}

// Is makes errors.Is(err, ErrParked) hold.
func (e *ParkedError) Is(target error) bool { return target == ErrParked }

// Doer sends one HTTP request; *http.Client implements it.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// RoundTripDoer is the Doer for message requests: each request goes to the
// RoundTripper once, exactly as built. Unlike *http.Client it follows no
// redirect, because a followed 301, 302 or 303 turns the POST into a GET,
// which delivers nothing yet may answer 200; the 3xx is the row's answer,
// and the report says where it pointed. It also skips http.Client's copy
// of every request's headers (about 0.8 KB a message).
type RoundTripDoer struct{ http.RoundTripper }

// Do sends req once. Credentials in the URL (https://user:pass@host/)
// become Basic auth unless the request has an Authorization header, as
// http.Client does.
func (d RoundTripDoer) Do(req *http.Request) (*http.Response, error) {
	if u := req.URL.User; u != nil && req.Header.Get("Authorization") == "" {
		pass, _ := u.Password()
		req = req.Clone(req.Context())
		req.SetBasicAuth(u.Username(), pass)
	}
	return d.RoundTrip(req)
}

// Limiter paces the whole process and pauses it on throttle answers;
// *ratelimit.Limiter implements it. Where it also has ThrottleFor
// (throttleForLimiter) and Done, the engine pauses through ThrottleFor: a
// wrapper that embeds *ratelimit.Limiter and overrides Throttle must
// override ThrottleFor too.
type Limiter interface {
	Wait(ctx context.Context) error
	Throttle(now time.Time, wait time.Duration, hinted bool) time.Duration
	Success(sent time.Time, q ratelimit.Quota, ok bool)
}

// flightLimiter is a Limiter that counts the requests in flight and may
// cap them (*ratelimit.Limiter: a concurrency limit it learned). The
// engine ends every request its Wait let go with exactly one Done, before
// the answer's Throttle or Success, and with ratelimit.Failed when there
// was no answer (a transport error, a run that stops, a journal that
// fails), so no slot is ever left taken.
type flightLimiter interface {
	Done(sent time.Time, o ratelimit.Outcome)
}

// throttleForLimiter is a Limiter that reads each refusal as the refusal
// of the request sent at sent, the time its Done was given
// (*ratelimit.Limiter): two workers' Dones may come before either's
// Throttle, which reads the latest refused request.
type throttleForLimiter interface {
	ThrottleFor(sent, now time.Time, wait time.Duration, hinted bool) time.Duration
}

// finishingLimiter is a Limiter told when the run's last messages are
// with the workers (*ratelimit.Limiter: a fixed window's pacer then stops
// holding requests back to time the window's end, since no later window
// needs it).
type finishingLimiter interface {
	Finishing()
}

// rowsLeftLimiter is a Limiter told how many rows the run has yet to
// finish once the input is read (*ratelimit.Limiter: a fixed window's
// pacer then holds no request back to time a window's end where one
// landing past it would leave the window short and cost a whole window
// more).
type rowsLeftLimiter interface {
	RowsLeft(n int)
}

// Config configures a Run. The zero value sends with http.DefaultClient,
// unpaced, 8 at a time, and journals nothing.
type Config struct {
	Client  Doer
	Limiter Limiter
	Journal Journal

	Concurrency int           // requests in flight; 0 means DefaultConcurrency
	Timeout     time.Duration // per request; 0 means DefaultTimeout
	// MaxRetries bounds the retries of transient failures (throttle answers
	// do not count); 0 means DefaultMaxRetries, negative means none.
	MaxRetries int
	// OutageGrace is how long a server may answer nothing but 503s
	// without a wait hint before they are taken for an outage (retried
	// as failures, which spend the retry budget: ErrOutage) rather than
	// its rate limit (a throttle, as nginx's limit_req answers by
	// default); 0 means DefaultOutageGrace, negative means at once.
	OutageGrace time.Duration
	// MaxWait is the longest pause honoured; 0 means DefaultMaxWait. A
	// longer one parks the run (ErrParked), unless WaitParked.
	MaxWait time.Duration
	// WaitParked sleeps through what would park the run, however long,
	// and goes on; Progress.ParkedUntil says until when.
	WaitParked bool
	// MaxErrors stops the run when this many rows failed permanently;
	// MaxErrorShare when this share of the last 100 results failed. 0: off.
	MaxErrors     int
	MaxErrorShare float64
	// RetryBudget: see DefaultRetryBudget; 0 means it, negative unlimited.
	RetryBudget float64

	// IdempotencyHeader carries Message.IdempotencyKey; "" means
	// DefaultIdempotencyHeader. NoIdempotency sends no key.
	IdempotencyHeader string
	NoIdempotency     bool
	// IdempotentServer says the server deduplicates by the key header: it
	// drops a request whose key it has already taken. Only then is an
	// ambiguous attempt (the request may have been processed and no answer
	// says it was not) repeated. Whether a server deduplicates is a fact
	// about the server, never assumed from the header being sent.
	IdempotentServer bool
	// LookupDelay is how long after an ambiguous attempt a Lookup answer
	// saying the message is absent is trusted, so a request the server is
	// still working on is not sent again; 0 means Timeout, but never less
	// than MinLookupDelay: a server may begin on a request after the
	// client gave up on it (queued behind a balancer, a busy machine:
	// twilio_lookup.txtar delivered 2 of 400 twice under load with a
	// 150ms --timeout and nothing more). The first
	// lookup goes within a second: a found message settles the row at
	// once, an absent one is asked again once LookupDelay has passed.
	LookupDelay time.Duration

	// ReadToEnd says the source always reaches its end without waiting on
	// anyone (a file). When a run stops early, the rows it did not reach
	// are still read and settled (pending, or invalid, duplicate, skipped
	// as they are), so every row has a result. Without it (a pipe) the
	// rest is read while ctx lasts, and after an interrupt only the rows
	// already read are settled: a producer that has gone quiet must not
	// hold up the exit (Summary.Unread says so).
	ReadToEnd bool

	// RecipientInterval keeps two messages to one recipient at least this
	// far apart, without holding up other recipients.
	RecipientInterval time.Duration

	// ParseResponse pulls a message id and an error text out of a response
	// (preset.DefaultParseResponse reads the usual JSON fields); nil means
	// no message id and the start of the body as the error.
	ParseResponse func(status int, body []byte) (messageID, errText string)
	// Detail, when set, reads what the caller needs of a 2xx answer beyond
	// its message id (for `bulksend status`, the message's delivery state);
	// the engine only carries it to Result.Detail.
	Detail func(status int, body []byte) any

	BackoffBase, BackoffMax time.Duration // transient retries; 0: defaults

	// Progress, when set, is updated live for a progress display.
	Progress *Progress

	Now  func() time.Time // nil: time.Now
	Rand func() float64   // nil: math/rand/v2
}
