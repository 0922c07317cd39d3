// Package sandbox is bulksend's built-in messaging API: a real HTTP server
// that rate-limits like a vendor does (a token or leaky bucket, a fixed or
// sliding window, a concurrency limit; refused requests counting or not; one
// of many reset-header styles; a skewed clock), injects faults from a seeded RNG,
// refuses spam, honours Idempotency-Key and counts every delivery, so the
// demo, the tests and the benchmarks can check that bulksend delivers every
// message exactly once at the rate the server allows.
//
// It speaks a generic JSON API (POST /send), Genesys Cloud agentless
// messaging with OAuth client credentials, and Twilio's Messages API; GET
// /stats reports what was delivered.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// The rate-limit header styles a Server can speak; Config.Style takes one.
// Each mimics a family of real APIs, so a client can be tested against every
// way "when may I retry" is spelled in the wild.
const (
	StyleRetryAfter     = "retry-after"      // Retry-After: seconds
	StyleRetryAfterDate = "retry-after-date" // Retry-After: HTTP date
	// StyleRetryIn is Traefik's: Retry-After in whole seconds, rounded up,
	// beside X-Retry-In, the exact delay as a Go duration.
	StyleRetryIn      = "x-retry-in"
	StyleRateLimit    = "ratelimit"     // IETF RateLimit + RateLimit-Policy
	StyleRateLimitOld = "ratelimit-old" // RateLimit-Limit/-Remaining/-Reset (older drafts)
	// StyleRateLimitRefill is RateLimit-Limit/-Remaining/-Reset where the
	// limit is the sustained rate per second (a bucket's refill, not its
	// size) and the reset a constant 1, as some gateways send them: a
	// header whose value is a claim the client must cross-check.
	StyleRateLimitRefill = "ratelimit-refill"
	StyleResetAfter      = "x-ratelimit-reset-after"
	StyleInin            = "inin" // Genesys Cloud inin-ratelimit-*
	StyleResetUnix       = "x-ratelimit-reset"
	StyleResetUnixMS     = "x-ratelimit-reset-ms"
	StyleResetSeconds    = "x-ratelimit-reset-seconds"
	StyleResetISO        = "x-ratelimit-reset-iso"
	StyleResetDuration   = "x-ratelimit-reset-duration"
	// StyleResetJSDate is X-RateLimit-Reset as Node prints a JavaScript
	// Date ("Thu Jan 02 2025 03:04:06 GMT+0000 (Coordinated Universal
	// Time)", truncated to the second), as rate-limiter-flexible's README
	// once set it and code copied from it still does.
	StyleResetJSDate = "x-ratelimit-reset-jsdate"
	// StyleResetRFC1123 is sethvargo/go-limiter's: X-RateLimit-Reset as
	// Go's time.RFC1123 in UTC ("Thu, 02 Jan 2025 03:04:07 UTC", not
	// HTTP's "GMT"), and on a 429 Retry-After with the same date.
	StyleResetRFC1123 = "x-ratelimit-reset-rfc1123"
	StyleNone         = "none" // a bare 429: the client must back off on its own
)

var styles = []string{
	StyleRetryAfter, StyleRetryAfterDate, StyleRetryIn, StyleRateLimit, StyleRateLimitOld, StyleRateLimitRefill,
	StyleResetAfter, StyleInin, StyleResetUnix, StyleResetUnixMS,
	StyleResetSeconds, StyleResetISO, StyleResetDuration, StyleResetJSDate, StyleResetRFC1123, StyleNone,
}

// Styles lists every header style, for --help and for benchmarks that run
// against each one.
func Styles() []string { return slices.Clone(styles) }

// Defaults a zero Config gets.
const (
	DefaultClientID      = "sandbox-client"
	DefaultClientSecret  = "sandbox-secret"
	DefaultTokenLifetime = time.Hour
	DefaultAccountSID    = "ACsandbox"
	DefaultAuthToken     = "sandbox-token"
	DefaultAPIKey        = "SKsandbox"
	DefaultAPISecret     = "sandbox-key-secret"
)

// Fixed limits. The token endpoint has its own small bucket, as Genesys's
// login service does, so a client that fetches a token per message is caught;
// it is not configurable because no test needs another value.
const (
	TokenBurst = 5
	TokenRate  = 2.0 // tokens per second
	// MaxBodyBytes bounds a request body; a larger one is answered 413.
	MaxBodyBytes = 1 << 20
	// ShutdownTimeout is how long Start lets in-flight requests finish once
	// its context is done before it closes their connections.
	ShutdownTimeout = 2 * time.Second
)

// ErrInvalidConfig is wrapped by every error New returns, so a caller can
// tell a usage error from anything else.
var ErrInvalidConfig = errors.New("invalid sandbox config")

// Config shapes the server's behaviour. The zero value is an unlimited,
// fault-free server with default credentials.
type Config struct {
	// Burst and Rate make a token bucket of Burst tokens refilled at Rate per
	// second. Both zero: no limit. Rate alone: Burst 1. Burst alone needs a
	// Window.
	Burst int
	Rate  float64
	// Window > 0 switches to a fixed window of at most Burst requests per
	// Window (Rate is ignored). A window opens at the first request after the
	// previous one closed.
	Window time.Duration
	// Model picks the algorithm (the Model constants): ModelBucket and
	// ModelLeaky take Burst and Rate; ModelFixed and ModelSliding take Burst
	// requests per Window; ModelConcurrency allows Burst requests in flight
	// at once, so it wants Latency to mean anything. "" means ModelBucket,
	// or ModelFixed when Window is set.
	Model string
	// Aligned starts a fixed window at multiples of Window on the clock
	// (as most API gateways do) rather than at the first request after the
	// last window closed (as express-rate-limit does).
	Aligned bool
	// Sliding is how a sliding window counts: SlidingLog ("" too),
	// SlidingCounter or SlidingCounterFirst.
	Sliding string
	// RefusedCount makes refused requests count against the quota, as an
	// HAProxy stick table tracking before it denies does: a bucket goes
	// negative (down to -Burst), a sliding window counts them, so a client
	// that hammers stays refused. A fixed window's count is only ever reset,
	// so there it changes nothing.
	RefusedCount bool
	// Style names the rate-limit headers (the Style constants); "" means
	// StyleRetryAfter.
	Style string
	// Skew shifts the server's clock, as seen by clients, by this much: the
	// Date header and every absolute time it sends. Relative waits are not
	// affected.
	Skew time.Duration
	// Penalty makes a request made while limited still cost: the bucket goes
	// negative, down to -Burst; a window's end moves out by one window, up to
	// two windows from now. Clients that hammer stay locked out longer.
	Penalty bool

	// FailRate, CutBefore and CutAfter are shares in [0,1] (together at most
	// 1) of message requests that would otherwise be delivered. FailRate
	// answers 500, 502 or 503 without a wait hint and does not deliver;
	// CutBefore closes the connection without answering and does not
	// deliver; CutAfter delivers, then closes without answering (a lost ack).
	FailRate  float64
	CutBefore float64
	CutAfter  float64
	// FailAfter and Late are shares too (all five together at most 1) of
	// faults after the message was delivered: FailAfter answers 502, as a
	// proxy whose upstream took the message does; Late answers only after
	// LateBy (default 2s), later than a client's timeout.
	FailAfter float64
	Late      float64
	LateBy    time.Duration
	// Latency plus a uniform draw from [0, LatencyJitter) delays every answer
	// on a message endpoint (after the decision, so a client that gives up
	// meanwhile may still have had its message delivered).
	Latency       time.Duration
	LatencyJitter time.Duration

	// SpamWindow > 0 refuses (422, not delivered) a message to a recipient
	// who was delivered one less than SpamWindow ago.
	SpamWindow time.Duration

	// Quota > 0 adds a long limit on top of the model, a daily cap say: a
	// fixed window of Quota requests per QuotaWindow, counting the requests
	// the model allows. The ratelimit style reports it as a second
	// RateLimit policy, "quota", beside "default".
	Quota       int
	QuotaWindow time.Duration

	// OptOut are recipients (E.164, as sent) who unsubscribed: the Twilio
	// endpoint refuses a message to one with 400 and code 21610, as Twilio
	// does, and delivers nothing.
	OptOut []string

	// Genesys OAuth client credentials; "" means the defaults.
	ClientID, ClientSecret string
	// TokenLifetime is how long an access token works; 0 means an hour.
	TokenLifetime time.Duration

	// Twilio account credentials; "" means the defaults.
	AccountSID, AuthToken string
	// Twilio API key (an SK... sid) and its secret, accepted instead of
	// the auth token; "" means the defaults.
	APIKey, APISecret string

	// DeliveryStep is how long a message of the vendor endpoints stays in
	// each status before the next, as read back from its resource (Twilio:
	// queued, sending, sent, then delivered, undelivered or failed;
	// Genesys: queued, sent, then delivery-success or delivery-failed);
	// 0 means DefaultDeliveryStep.
	DeliveryStep time.Duration
	// Undelivered is the share in [0,1] of vendor messages that end
	// undelivered, each with an error code (Twilio 30003, 30005, 30007 or
	// 21610, Genesys's matching reason), picked per message from Seed.
	Undelivered float64

	// NoIdempotency turns off Idempotency-Key handling: by default a
	// replayed key gets the stored answer of the delivery it made, and the
	// message is not delivered again.
	NoIdempotency bool

	// Seed seeds the RNG behind faults and jitter; 0 means 1. The same seed
	// and the same request sequence give the same faults.
	Seed int64
	// Now is the server's clock; nil means time.Now. Tests inject it.
	Now func() time.Time
}

// Stats counts what the server saw. It is served as JSON at GET /stats.
// Times are on the server's true clock (Config.Now, not skewed): they are the
// test harness's view, not the vendor's.
type Stats struct {
	Requests       int64     `json:"requests"`                   // every request to a message endpoint (GET /send probes and throttled ones included)
	Delivered      int64     `json:"delivered"`                  // deliveries, duplicates included
	Distinct       int64     `json:"distinct"`                   // distinct messages delivered
	Duplicates     int64     `json:"duplicates"`                 // deliveries of a message already delivered: what bulksend must never cause
	Throttled      int64     `json:"throttled"`                  // 429 answers, the token endpoint's included
	Replays        int64     `json:"replays"`                    // Idempotency-Key replays answered from the store
	Failed         int64     `json:"failed"`                     // injected 5xx answers
	FailedAfter    int64     `json:"failed_after"`               // 502 answers after delivering
	Late           int64     `json:"late"`                       // answers held LateBy after delivering
	MessageLookups int64     `json:"message_lookups"`            // GET /messages/{id}
	CutBefore      int64     `json:"cut_before"`                 // connections cut before delivering
	CutAfter       int64     `json:"cut_after"`                  // connections cut after delivering
	SpamRejected   int64     `json:"spam_rejected"`              // 422 answers for the spam window
	Rejected       int64     `json:"rejected"`                   // other 4xx answers (validation, 405, 413, a reused Idempotency-Key)
	Unauthorized   int64     `json:"unauthorized"`               // 401 answers, the token endpoint's included
	TokensIssued   int64     `json:"tokens_issued"`              // OAuth access tokens handed out
	Lookups        int64     `json:"lookups"`                    // GETs of a vendor message's resource (its status)
	ListReads      int64     `json:"list_reads"`                 // GETs of Twilio's Message list (pages), to settle a lost answer
	FirstAt        time.Time `json:"first_delivery_at,omitzero"` // first delivery
	LastAt         time.Time `json:"last_delivery_at,omitzero"`  // last delivery
}

// Server is the sandbox API. It is an http.Handler; Start serves it on a
// socket. All state sits behind one mutex held only for bookkeeping, never
// while reading a body or waiting.
type Server struct {
	cfg Config // validated, defaults filled in
	now func() time.Time

	mu         sync.Mutex
	limit      *limiter // nil: no limit
	quota      *limiter // Config.Quota; nil: none
	tokenLimit *limiter
	rng        *rand.Rand
	stats      Stats
	seq        int64                  // deliveries ever; numbers message ids, never reset
	seen       map[[16]byte]struct{}  // identities delivered, for Distinct/Duplicates
	idem       map[string]storedReply // Idempotency-Key -> first answer
	byRef      map[string][]byte      // the "id" of a /send body -> its first answer, for GET /messages/{id}
	spam       map[string]time.Time   // recipient -> last delivery
	tokens     map[string]time.Time   // access token -> expiry
	// msgs are the vendor messages taken, by the id their status is read
	// by (Twilio's sid, Genesys's conversationId/id); kept across
	// ResetStats, as the vendor keeps them.
	msgs map[string]*sentMessage
	// twilioOrder holds the Twilio messages in the order they were taken,
	// and twilioByTo the same by recipient, for the Message list.
	twilioOrder []*sentMessage
	twilioByTo  map[string][]*sentMessage
}

// storedReply is the answer of a delivery, kept to replay it for its key.
type storedReply struct {
	identity [16]byte
	status   int
	body     []byte
}

// New checks cfg and builds a Server. Every error wraps ErrInvalidConfig.
func New(cfg Config) (*Server, error) {
	if err := validate(&cfg); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	s := &Server{
		cfg:        cfg,
		now:        cfg.Now,
		limit:      newLimiter(cfg.limiterConfig()),
		tokenLimit: newLimiter(limiterConfig{model: ModelBucket, burst: TokenBurst, rate: TokenRate}),
		rng:        rand.New(rand.NewPCG(uint64(cfg.Seed), 0)),
		tokens:     make(map[string]time.Time),
		msgs:       make(map[string]*sentMessage),
		twilioByTo: make(map[string][]*sentMessage),
	}
	if cfg.Quota > 0 {
		s.quota = newLimiter(limiterConfig{model: ModelFixed, burst: cfg.Quota, window: cfg.QuotaWindow})
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.resetLocked()
	return s, nil
}

// validate rejects what cannot be served and fills in the defaults.
func validate(c *Config) error {
	if c.Quota < 0 || (c.Quota > 0) != (c.QuotaWindow > 0) {
		return fmt.Errorf("quota %d per %s: give both, positive", c.Quota, c.QuotaWindow)
	}
	if c.Quota == 0 {
		c.QuotaWindow = 0
	}
	if c.Style == "" {
		c.Style = StyleRetryAfter
	}
	if !slices.Contains(styles, c.Style) {
		return fmt.Errorf("unknown header style %q (want one of %s)", c.Style, strings.Join(styles, ", "))
	}
	if c.Burst < 0 {
		return fmt.Errorf("burst %d is negative", c.Burst)
	}
	if c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) {
		return fmt.Errorf("rate %v is not a finite number >= 0", c.Rate)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"window", c.Window}, {"latency", c.Latency}, {"latency jitter", c.LatencyJitter},
		{"spam window", c.SpamWindow}, {"token lifetime", c.TokenLifetime}, {"delivery step", c.DeliveryStep},
	} {
		if d.v < 0 {
			return fmt.Errorf("%s %v is negative", d.name, d.v)
		}
	}
	if err := c.validateModel(); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"fail rate", c.FailRate}, {"cut-before share", c.CutBefore}, {"cut-after share", c.CutAfter},
		{"fail-after share", c.FailAfter}, {"late share", c.Late}, {"undelivered share", c.Undelivered}} {
		if !(f.v >= 0 && f.v <= 1) { // also catches NaN
			return fmt.Errorf("%s %v is outside [0,1]", f.name, f.v)
		}
	}
	if sum := c.FailRate + c.CutBefore + c.CutAfter + c.FailAfter + c.Late; sum > 1 {
		return fmt.Errorf("fault shares add up to %v, more than 1", sum)
	}
	if c.DeliveryStep == 0 {
		c.DeliveryStep = DefaultDeliveryStep
	}
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	if c.ClientSecret == "" {
		c.ClientSecret = DefaultClientSecret
	}
	if c.TokenLifetime == 0 {
		c.TokenLifetime = DefaultTokenLifetime
	}
	if c.AccountSID == "" {
		c.AccountSID = DefaultAccountSID
	}
	if c.AuthToken == "" {
		c.AuthToken = DefaultAuthToken
	}
	if c.APIKey == "" {
		c.APIKey = DefaultAPIKey
	}
	if c.APISecret == "" {
		c.APISecret = DefaultAPISecret
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	return nil
}

// model is the limiter model c runs, "" for no limit.
func (c *Config) model() string {
	switch {
	case c.Model != "":
		return c.Model
	case c.Window > 0:
		return ModelFixed
	case c.Rate > 0:
		return ModelBucket
	}
	return ""
}

// validateModel checks that the limiter's parameters fit its model.
func (c *Config) validateModel() error {
	if c.Model != "" && !slices.Contains(models, c.Model) {
		return fmt.Errorf("unknown limiter model %q (want one of %s)", c.Model, strings.Join(models, ", "))
	}
	if c.Sliding != "" && c.Sliding != SlidingLog && c.Sliding != SlidingCounter && c.Sliding != SlidingCounterFirst {
		return fmt.Errorf("unknown sliding window kind %q (want %s, %s or %s)", c.Sliding, SlidingLog, SlidingCounter, SlidingCounterFirst)
	}
	m := c.model()
	switch {
	case c.Aligned && m != ModelFixed:
		return errors.New("an aligned window needs the fixed model")
	case c.Sliding != "" && m != ModelSliding:
		return errors.New("a sliding window kind needs the sliding model")
	}
	switch m {
	case ModelFixed, ModelSliding:
		if c.Window == 0 || c.Burst == 0 {
			return fmt.Errorf("a %s window needs a window and a burst > 0 (requests per window)", m)
		}
	case ModelConcurrency:
		if c.Burst == 0 {
			return errors.New("a concurrency limit needs a burst > 0 (requests in flight)")
		}
	case ModelBucket, ModelLeaky:
		if c.Rate == 0 {
			return fmt.Errorf("a %s bucket needs a rate > 0", m)
		}
	default: // no limit
		if c.Burst > 0 {
			return errors.New("a burst needs a rate > 0 or a window")
		}
	}
	return nil
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// ResetStats starts a fresh experiment on the same server: it zeroes the
// counters and forgets what a run leaves behind (delivered identities, the
// Idempotency-Key store, spam-window records) and refills the rate limiter,
// so a second run is measured exactly like the first. Issued access tokens
// stay valid and message ids keep counting up, so they stay unique.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

func (s *Server) resetLocked() {
	s.stats = Stats{}
	s.seen = make(map[[16]byte]struct{})
	s.idem = make(map[string]storedReply)
	s.byRef = make(map[string][]byte)
	s.spam = make(map[string]time.Time)
	if s.limit != nil {
		s.limit.reset()
	}
	if s.quota != nil {
		s.quota.reset()
	}
	s.tokenLimit.reset()
}

// Paths the server answers.
const (
	pathSend       = "/send"
	pathToken      = "/oauth/token"
	pathAgentless  = "/api/v2/conversations/messages/agentless"
	pathTwilio     = "/2010-04-01/Accounts/"
	pathTwilioTail = "/Messages.json"
	pathStats      = "/stats"
	pathStatsReset = "/stats/reset"
	pathMessages   = "/messages/"
)

// ServeHTTP routes a request. Every answer carries a Date header from the
// server's skewed clock, read once per request so that it and every time
// derived from it agree.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	w.Header().Set("Date", now.Add(s.cfg.Skew).UTC().Format(http.TimeFormat))
	switch p := r.URL.Path; p {
	case pathSend:
		s.serveMessage(w, r, now, kindSend, "")
	case pathAgentless:
		s.serveMessage(w, r, now, kindGenesys, "")
	case pathToken:
		s.serveToken(w, r, now)
	case pathStats:
		if !allow(w, r, http.MethodGet) {
			return
		}
		writeJSON(w, http.StatusOK, mustJSON(s.Stats()))
	case pathStatsReset:
		if !allow(w, r, http.MethodPost) {
			return
		}
		s.ResetStats()
		w.WriteHeader(http.StatusNoContent)
	default:
		if ref, ok := strings.CutPrefix(p, pathMessages); ok && ref != "" {
			s.serveMessageRef(w, r, ref)
			return
		}
		if sid, ok := twilioSID(p); ok {
			if r.Method == http.MethodGet {
				s.serveTwilioList(w, r, now, sid)
				return
			}
			s.serveMessage(w, r, now, kindTwilio, sid)
			return
		}
		if l, ok := lookupOf(p); ok {
			s.serveLookup(w, r, now, l)
			return
		}
		writeJSON(w, http.StatusNotFound, notFoundBody)
	}
}

// twilioSID extracts {sid} from /2010-04-01/Accounts/{sid}/Messages.json.
func twilioSID(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, pathTwilio)
	if !ok {
		return "", false
	}
	sid, ok := strings.CutSuffix(rest, pathTwilioTail)
	if !ok || sid == "" || strings.Contains(sid, "/") {
		return "", false
	}
	return sid, true
}

// allow answers 405 and reports false unless r uses method.
func allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	writeJSON(w, http.StatusMethodNotAllowed, methodNotAllowedBody)
	return false
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client may be gone; nothing to do about it
}

// Start listens on addr ("127.0.0.1:0" picks a free port), serves s until
// ctx is done and returns the bound address at once. When ctx is done it
// shuts down gracefully, closing whatever is still open after
// ShutdownTimeout; done then receives nil or the error that stopped serving,
// and is closed.
func Start(ctx context.Context, addr string, s *Server) (bound string, done <-chan error, err error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0), // library code never prints
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	out := make(chan error, 1)
	go func() {
		defer close(out)
		select {
		case err := <-served: // Serve failed on its own
			out <- fmt.Errorf("serve sandbox: %w", err)
			return
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
		defer cancel()
		err := srv.Shutdown(sctx)
		if err != nil {
			err = errors.Join(fmt.Errorf("shut down sandbox: %w", err), srv.Close())
		}
		if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, fmt.Errorf("serve sandbox: %w", serr))
		}
		out <- err
	}()
	return ln.Addr().String(), out, nil
}
