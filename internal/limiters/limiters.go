// Package limiters starts real, widely deployed rate limiters on loopback
// ports for bulksend's tests and benchmarks: nginx limit_req (a leaky
// bucket), an HAProxy stick table (a sliding window counter that counts
// refused requests), express-rate-limit (a fixed window per client),
// go-chi/httprate (a sliding window counter), @fastify/rate-limit and
// rate-limiter-flexible (fixed windows per client, each from the client's
// first request), rolling-rate-limiter (a sliding log that counts refused
// attempts), and four Go libraries with other header semantics:
// ulule/limiter, throttled, sethvargo/go-limiter and tollbooth. Each one is
// configured as "L requests per W" and stands in front of a small counting
// backend, behind a counting tap:
//
//	client -> tap -> limiter -> backend
//
// The tap counts every request and every 429 the limiter answers; the
// backend counts deliveries per message id, so duplicates show. A Server's
// Stats are the ground truth of a run, in the shape of the sandbox's.
//
// # The Go libraries, as their code behaves
//
// What each Go library does was read from its source at the version
// testdata/limiters/golimiters pins, not from its README:
//
//   - ulule/limiter v3.11.2 (memory store, stdlib middleware): a fixed
//     window of L opened by a client's first request; the counter expires
//     W after it was created and the next request opens a new one.
//     Refused requests are counted too (they do not move the window's
//     end). Every answer, a 429 included, has X-RateLimit-Limit (L),
//     -Remaining (0 once reached) and -Reset, the window's end in Unix
//     seconds truncated (time.Unix()), so the end lies in [Reset,
//     Reset+1s) and for a window under a second mostly in the past. The
//     429 ("Limit exceeded") has no Retry-After.
//   - throttled v2.15.0 (GCRA on its memstore): a token bucket of
//     MaxBurst+1 = L requests that refills one every W/L; refused requests
//     do not count. X-RateLimit-Limit is L, the bucket's size;
//     -Remaining the whole requests the bucket holds now; -Reset the time
//     until the bucket is full again in seconds rounded up ("1" at 15 per
//     150ms whatever the fill); a 429 adds Retry-After, the time until one
//     request is back, rounded up to whole seconds ("1" for a 10ms wait).
//   - sethvargo/go-limiter v0.7.1 (memorystore, httplimit): despite its
//     "bucket", a request in a later tick than the last one sets the
//     tokens back to L (the refill is ticks x W/L in nanoseconds, capped at
//     L): a fixed window of L whose boundaries lie at the client's first
//     request ever plus multiples of W, kept through idle spells. Refused
//     requests do not count. X-RateLimit-Limit (L), -Remaining and -Reset,
//     the window's end as an RFC 1123 date in UTC truncated to the second
//     ("Thu, 03 Dec 2026 22:23:20 UTC", zone "UTC", not HTTP's "GMT"); a
//     429 adds Retry-After with the same date.
//   - didip/tollbooth v7.0.2 (NewLimiter(L/W per second), SetBurst(L)):
//     golang.org/x/time/rate's token bucket of L refilled at L/W per
//     second, per client IP and path; refused requests do not count. Every
//     answer has X-Rate-Limit-Limit, the rate per second ("100.00"),
//     X-Rate-Limit-Duration: 1, RateLimit-Limit, the same rate rounded (100
//     for a bucket of 15), RateLimit-Remaining, the whole tokens left, and
//     RateLimit-Reset: 1 always. The 429 has no Retry-After.
//
// Only tests and bench/ import this package; production code never does.
// Config files, logs and pid files go to Config.Dir (a test's t.TempDir()),
// nothing binds a privileged port or writes under /var, and Close (or the
// test's cleanup, with ForTest) ends every process started.
package limiters

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Kind names a real limiter.
type Kind string

// The real limiters this package can start.
const (
	// Nginx is nginx's limit_req: a leaky bucket draining at Limit/Window
	// requests per second that holds Burst, answered nodelay; refused
	// requests get a bare 429 (limit_req_status 429) and do not count.
	Nginx Kind = "nginx"
	// HAProxy is a stick table tracking http_req_rate(Window) per source
	// address: a sliding window counter; a request over Limit is denied
	// with a bare 429, and denied requests count against the rate.
	HAProxy Kind = "haproxy"
	// Express is express-rate-limit 8 on Node.js: a fixed window of Limit
	// requests that opens at a client's first request. By default it
	// answers the draft-8 RateLimit/RateLimit-Policy headers, the legacy
	// X-RateLimit-* ones and Retry-After in whole seconds; Config.Style
	// picks another of its configurations.
	Express Kind = "express"
	// HTTPRate is go-chi/httprate: a sliding window counter on windows
	// aligned to the clock, with X-RateLimit-Limit/-Remaining/-Reset (Unix
	// seconds) and Retry-After (the window in whole seconds, so "0" for a
	// window under a second).
	HTTPRate Kind = "httprate"
	// Fastify is @fastify/rate-limit 11 on fastify 5 with its in-memory
	// store: a fixed window of Limit requests per client that opens at the
	// client's first request and lasts Window (store/LocalStore.js);
	// refused requests count without moving the window. Every answer
	// carries x-ratelimit-limit, -remaining and -reset, the reset being the
	// whole seconds to the window's end rounded up (so "1" all through a
	// window under a second); a 429 adds retry-after, the same whole
	// seconds, and fastify's JSON error "Rate limit exceeded, retry in 1
	// second". FastifyStyles picks enableDraftSpec instead.
	Fastify Kind = "fastify"
	// Flexible is rate-limiter-flexible 11's RateLimiterMemory on a plain
	// node:http server: a fixed window of Limit points per client that
	// opens at its first request (a record that expires Window later);
	// refused requests count without moving the window. The library sets
	// no headers; the server sets on every answer the ones its README's
	// example does: Retry-After as msBeforeNext/1000 (fractional seconds,
	// "0.087"), X-RateLimit-Limit, X-RateLimit-Remaining and
	// X-RateLimit-Reset in the shape FlexibleStyles names (by default Unix
	// seconds rounded up). A 429 says "Too Many Requests".
	Flexible Kind = "flexible"
	// Rolling is rolling-rate-limiter 0.4's InMemoryRateLimiter on a plain
	// node:http server: a sliding log that keeps every attempt's
	// microsecond timestamp per client for Window and refuses one when,
	// with it, more than Limit lie in the last Window. Refused requests
	// are logged too (limitWithInfo always pushes the timestamp), so they
	// count against the quota and a client that keeps knocking stays
	// refused. The library sets no headers; by default
	// (StyleRollingReadme, its README's Express example) a refused
	// request gets a bare 429 "Too many requests" and no answer has
	// rate-limit headers. StyleRollingInfo sets on every answer
	// X-RateLimit-Limit, X-RateLimit-Remaining (actionsRemaining) and
	// X-RateLimit-Reset (Unix seconds rounded up, now plus
	// millisecondsUntilAllowed), and on a 429 Retry-After in whole
	// seconds rounded up.
	Rolling Kind = "rolling"
	// ULule is github.com/ulule/limiter/v3: a fixed window from a
	// client's first request, refused requests counted, X-RateLimit-Reset
	// in truncated Unix seconds, a 429 without Retry-After (package doc).
	ULule Kind = "ulule"
	// Throttled is github.com/throttled/throttled/v2's GCRA: a token
	// bucket of Limit refilled at Limit/Window, X-RateLimit-Reset in
	// seconds to a full bucket rounded up, Retry-After in whole seconds.
	Throttled Kind = "throttled"
	// GoLimiter is github.com/sethvargo/go-limiter's memorystore: a fixed
	// window phased at a client's first request, X-RateLimit-Reset and
	// Retry-After an RFC 1123 date in UTC.
	GoLimiter Kind = "golimiter"
	// Tollbooth is github.com/didip/tollbooth/v7: an x/time/rate token
	// bucket of Limit refilled at Limit/Window, whose RateLimit-Limit is
	// the refill rate per second and RateLimit-Reset always 1.
	Tollbooth Kind = "tollbooth"
)

// Kinds lists every limiter, in the order tables show them.
func Kinds() []Kind {
	return []Kind{Nginx, HAProxy, Express, HTTPRate, Fastify, Flexible, Rolling, ULule, Throttled, GoLimiter, Tollbooth}
}

// IsGoLimiter reports whether kind is served by the golimiters module
// (BuildGoLimiters, Config.GoLimitersBin).
func IsGoLimiter(k Kind) bool {
	return slices.Contains([]Kind{ULule, Throttled, GoLimiter, Tollbooth}, k)
}

// ParseKind reads a Kind by name.
func ParseKind(s string) (Kind, error) {
	k := Kind(strings.ToLower(strings.TrimSpace(s)))
	if !slices.Contains(Kinds(), k) {
		names := make([]string, 0, len(Kinds()))
		for _, k := range Kinds() {
			names = append(names, string(k))
		}
		return "", fmt.Errorf("unknown limiter %q (want one of %s)", s, strings.Join(names, ", "))
	}
	return k, nil
}

// ErrUnavailable is wrapped by the errors Available and Start return when
// the limiter's software is not installed here.
var ErrUnavailable = errors.New("limiter unavailable")

// Config is one limiter: Limit requests per Window.
type Config struct {
	Kind   Kind
	Limit  int
	Window time.Duration
	// Burst is nginx's burst (requests held beyond the drain rate); 0
	// means Limit, NoBurst none (nginx's own default: any two requests
	// closer than the drain rate's interval are refused). The other
	// limiters ignore it.
	Burst   int
	NoBurst bool
	// Queue makes nginx delay the requests past its rate instead of
	// answering them at once (limit_req without nodelay, the first
	// example of nginx's documentation): an excess request is held until
	// the rate lets it through, and refused only past the burst. Delay,
	// when > 0, is the two-stage form (delay=Delay): that many requests
	// past the rate go at once, the rest of the burst waits. Both need a
	// burst; the other limiters ignore them.
	Queue bool
	Delay int
	// Style is how the limiter speaks: one of ExpressStyles ("" means
	// StyleDraft8), FastifyStyles ("" means StyleFastifyLegacy),
	// FlexibleStyles ("" means StyleFlexibleReadme) or RollingStyles (""
	// means StyleRollingReadme). The other limiters take none.
	Style string
	// Conn, when > 0, makes nginx a concurrency limit instead: limit_conn
	// of Conn requests in flight per client (limit_conn_status, as
	// Status), no limit_req. The other limiters ignore it.
	Conn int
	// Latency is how long the backend takes to answer each message, so
	// that requests stay in flight (a concurrency limit counts them).
	Latency time.Duration
	// Status is the answer nginx and HAProxy give a refused request
	// (limit_req_status, deny_status); 0 means 429. nginx's own default is
	// 503. The other limiters answer 429.
	Status int
	// Dir receives config files, logs and pid files; it must exist.
	Dir string
	// Root is the repository root, where testdata/limiters lives; ""
	// searches upwards from the working directory.
	Root string
	// HTTPRateBin is a prebuilt httprate-limiter (see BuildHTTPRate); ""
	// builds one into Dir.
	HTTPRateBin string
	// GoLimitersBin is a prebuilt golimiters-limiter (see
	// BuildGoLimiters), which serves ULule, Throttled, GoLimiter and
	// Tollbooth; "" builds one into Dir.
	GoLimitersBin string
}

// The header styles of express-rate-limit (Config.Style), each a
// configuration of it met in the field. Every one but StyleNone answers a
// 429 with Retry-After in whole seconds to the window's end, rounded up.
const (
	// StyleDraft8 is standardHeaders 'draft-8' (RateLimit: "15-in-0.15sec";
	// r=14; t=1, RateLimit-Policy) and legacyHeaders (X-RateLimit-*).
	StyleDraft8 = "draft-8"
	// StyleDraft7 is standardHeaders 'draft-7' (RateLimit: limit=15,
	// remaining=14, reset=1, RateLimit-Policy: 15;w=1) alone.
	StyleDraft7 = "draft-7"
	// StyleDraft6 is standardHeaders 'draft-6' (RateLimit-Limit,
	// -Remaining, -Reset, RateLimit-Policy: 15;w=1) alone.
	StyleDraft6 = "draft-6"
	// StyleRetryAfter has no counter headers (standardHeaders and
	// legacyHeaders false) and a handler that sets Retry-After on a 429
	// as express-rate-limit does with headers on: a window whose only
	// signal is Retry-After, as many gateways and hand-rolled limiters
	// answer.
	StyleRetryAfter = "retry-after"
	// StyleNone is standardHeaders and legacyHeaders false and nothing
	// else: a bare 429, since express-rate-limit then sets no
	// Retry-After either.
	StyleNone = "none"
)

// ExpressStyles lists the header styles of express-rate-limit.
func ExpressStyles() []string {
	return []string{StyleDraft8, StyleDraft7, StyleDraft6, StyleRetryAfter, StyleNone}
}

// The configurations of @fastify/rate-limit (Config.Style).
const (
	// StyleFastifyLegacy is the plugin's default: x-ratelimit-limit,
	// -remaining, -reset (whole seconds to the window's end, rounded up)
	// and retry-after on a 429.
	StyleFastifyLegacy = "legacy"
	// StyleFastifyDraft is enableDraftSpec: true: the same values as
	// ratelimit-limit, -remaining and -reset, and retry-after on a 429.
	StyleFastifyDraft = "draft"
)

// FastifyStyles lists the header styles of @fastify/rate-limit.
func FastifyStyles() []string { return []string{StyleFastifyLegacy, StyleFastifyDraft} }

// The shapes of X-RateLimit-Reset the rate-limiter-flexible server sends
// (Config.Style), each from its README's examples or met in the field.
// Retry-After is msBeforeNext/1000 in every one.
const (
	// StyleFlexibleReadme is the README's current example: Unix seconds
	// rounded up, Math.ceil((Date.now() + msBeforeNext) / 1000).
	StyleFlexibleReadme = "readme"
	// StyleFlexibleISO is new Date(...).toISOString():
	// "2026-12-03T22:30:00.123Z".
	StyleFlexibleISO = "iso"
	// StyleFlexibleDate is new Date(...) set as it is, which JavaScript
	// prints as "Thu Dec 03 2026 22:30:00 GMT+0000 (Coordinated Universal
	// Time)": whole seconds, truncated (the README's older example).
	StyleFlexibleDate = "date"
	// StyleFlexibleBursty is StyleFlexibleReadme from a BurstyRateLimiter:
	// Limit per Window, and once those are spent a burst limiter of Limit
	// more per 10 x Window; a request is refused only when both are spent.
	StyleFlexibleBursty = "bursty"
)

// FlexibleStyles lists the configurations of the rate-limiter-flexible
// server.
func FlexibleStyles() []string {
	return []string{StyleFlexibleReadme, StyleFlexibleISO, StyleFlexibleDate, StyleFlexibleBursty}
}

// The configurations of the rolling-rate-limiter server (Config.Style).
const (
	// StyleRollingReadme is the README's Express example: a bare 429
	// "Too many requests", no rate-limit headers on any answer.
	StyleRollingReadme = "readme"
	// StyleRollingInfo sets limitWithInfo's answer on every answer:
	// X-RateLimit-Limit, X-RateLimit-Remaining (actionsRemaining) and
	// X-RateLimit-Reset, Math.ceil((Date.now() + millisecondsUntilAllowed)
	// / 1000) in Unix seconds; a 429 adds Retry-After,
	// Math.ceil(millisecondsUntilAllowed / 1000) in whole seconds.
	StyleRollingInfo = "info"
)

// RollingStyles lists the configurations of the rolling-rate-limiter
// server.
func RollingStyles() []string { return []string{StyleRollingReadme, StyleRollingInfo} }

// StylesOf lists kind's styles (Config.Style); none for a limiter that
// has no styles.
func StylesOf(kind Kind) []string {
	switch kind {
	case Express:
		return ExpressStyles()
	case Fastify:
		return FastifyStyles()
	case Flexible:
		return FlexibleStyles()
	case Rolling:
		return RollingStyles()
	}
	return nil
}

// StartTimeout bounds how long Start waits for a limiter to listen.
const StartTimeout = 20 * time.Second

// StopTimeout is how long Close lets a limiter exit on SIGTERM before it
// is killed.
const StopTimeout = 3 * time.Second

// Stats is what a Server saw, with the sandbox's JSON names.
type Stats struct {
	Requests   int64 `json:"requests"`   // requests through the tap (GET /stats excluded)
	Throttled  int64 `json:"throttled"`  // refusals: 429 answers, or Config.Status ones
	Failed     int64 `json:"failed"`     // other answers outside 2xx, and requests the tap could not pass on
	Delivered  int64 `json:"delivered"`  // requests the backend accepted, duplicates included
	Distinct   int64 `json:"distinct"`   // distinct message ids delivered
	Duplicates int64 `json:"duplicates"` // deliveries of an id already delivered
}

// Server is a running limiter with its tap and backend.
type Server struct {
	// URL is the tap's base URL: send to URL+"/send" (any path reaches the
	// backend); GET URL+"/stats" is answered by the tap with Stats as JSON.
	URL string
	// Desc says what runs, e.g. "nginx limit_req rate=100r/s burst=15 nodelay".
	Desc string

	cfg     Config
	backend *backend
	tap     *tap
	proc    *process
	once    sync.Once
	err     error
}

// Start starts cfg's limiter, its backend and its tap on free loopback
// ports and returns once the limiter accepts connections. ctx bounds the
// start only; the Server runs until Close.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	root, err := findRoot(cfg.Root)
	if err != nil {
		return nil, err
	}
	cfg.Root = root
	if err := Available(cfg.Kind, root); err != nil {
		return nil, err
	}
	if cfg.Kind == HTTPRate && cfg.HTTPRateBin == "" {
		if cfg.HTTPRateBin, err = BuildHTTPRate(ctx, root, cfg.Dir); err != nil {
			return nil, err
		}
	}
	if IsGoLimiter(cfg.Kind) && cfg.GoLimitersBin == "" {
		if cfg.GoLimitersBin, err = BuildGoLimiters(ctx, root, cfg.Dir); err != nil {
			return nil, err
		}
	}
	s := &Server{cfg: cfg}
	if s.backend, err = startBackend(cfg.Latency); err != nil {
		return nil, err
	}
	var lastErr error
	for range 3 { // a free port can be taken between picking and binding it
		port, err := freePort()
		if err != nil {
			s.backend.close()
			return nil, err
		}
		p, desc, err := cfg.launch(port, s.backend.addr)
		if err != nil {
			s.backend.close()
			return nil, err
		}
		if err := p.start(ctx); err != nil {
			lastErr = err
			continue
		}
		s.proc, s.Desc = p, desc
		break
	}
	if s.proc == nil {
		s.backend.close()
		return nil, fmt.Errorf("start %s: %w", cfg.Kind, lastErr)
	}
	if s.tap, err = startTap(s.proc.addr, s.backend, cfg.refusal()); err != nil {
		s.Close()
		return nil, err
	}
	s.URL = "http://" + s.tap.addr
	return s, nil
}

func (c Config) check() error {
	switch {
	case !slices.Contains(Kinds(), c.Kind):
		_, err := ParseKind(string(c.Kind))
		return err
	case c.Limit < 1:
		return fmt.Errorf("limit %d: need at least 1 request per window", c.Limit)
	case c.Window < time.Millisecond:
		return fmt.Errorf("window %v: need at least 1ms", c.Window)
	case c.Burst < 0:
		return fmt.Errorf("burst %d is negative", c.Burst)
	case c.NoBurst && c.Burst > 0:
		return fmt.Errorf("burst %d with NoBurst", c.Burst)
	case c.Delay < 0:
		return fmt.Errorf("delay %d is negative", c.Delay)
	case c.NoBurst && (c.Queue || c.Delay > 0):
		return fmt.Errorf("a queue needs a burst: NoBurst with Queue or Delay")
	case c.Delay > 0 && c.Delay >= c.burst():
		return fmt.Errorf("delay %d: want it under the burst %d (at the burst nothing waits: nodelay)", c.Delay, c.burst())
	case c.Style != "" && !slices.Contains(StylesOf(c.Kind), c.Style):
		if len(StylesOf(c.Kind)) == 0 {
			return fmt.Errorf("style %q: %s has no styles", c.Style, c.Kind)
		}
		return fmt.Errorf("style %q: want one of %s for %s", c.Style, strings.Join(StylesOf(c.Kind), ", "), c.Kind)
	case c.Status != 0 && (c.Status < 400 || c.Status > 599):
		return fmt.Errorf("status %d: a refusal is a 4xx or 5xx", c.Status)
	case c.Dir == "":
		return errors.New("config: no Dir for the limiter's files")
	}
	return nil
}

// Stats returns what the tap and the backend have counted so far.
func (s *Server) Stats() Stats {
	st := s.tap.stats()
	st.Delivered, st.Distinct, st.Duplicates = s.backend.stats()
	return st
}

// Close stops the limiter (SIGTERM, then SIGKILL after StopTimeout), the
// tap and the backend. It is safe to call more than once.
func (s *Server) Close() error {
	s.once.Do(func() {
		if s.tap != nil {
			s.tap.close()
		}
		if s.proc != nil {
			s.err = s.proc.stop()
		}
		s.backend.close()
	})
	return s.err
}

// Available reports whether kind's software is installed; its error wraps
// ErrUnavailable and says what to install. root is the repository root
// ("" searches from the working directory).
func Available(kind Kind, root string) error {
	missing := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrUnavailable, kind, fmt.Sprintf(format, args...))
	}
	switch kind {
	case Nginx:
		if _, err := lookPath("nginx"); err != nil {
			return missing("no nginx on PATH or in /usr/sbin (apt-get install nginx-light)")
		}
	case HAProxy:
		if _, err := lookPath("haproxy"); err != nil {
			return missing("no haproxy on PATH or in /usr/sbin (apt-get install haproxy)")
		}
	case Express, Fastify, Flexible, Rolling:
		if _, err := lookPath("node"); err != nil {
			return missing("no node on PATH (apt-get install nodejs)")
		}
		root, err := findRoot(root)
		if err != nil {
			return err
		}
		dir, pkg := filepath.Join(root, expressDir), "express-rate-limit"
		switch kind {
		case Fastify:
			dir, pkg = filepath.Join(root, nodeDir), "@fastify/rate-limit"
		case Flexible:
			dir, pkg = filepath.Join(root, nodeDir), "rate-limiter-flexible"
		case Rolling:
			dir, pkg = filepath.Join(root, nodeDir), "rolling-rate-limiter"
		}
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			return missing("%s is not installed (run npm ci in %s)", pkg, dir)
		}
	case HTTPRate:
		if _, err := lookPath("go"); err != nil {
			return missing("no go on PATH to build %s", httprateDir)
		}
	case ULule, Throttled, GoLimiter, Tollbooth:
		if _, err := lookPath("go"); err != nil {
			return missing("no go on PATH to build %s", golimitersDir)
		}
	default:
		_, err := ParseKind(string(kind))
		return err
	}
	return nil
}

// Where the limiters' sources live, relative to the repository root.
const (
	expressDir    = "testdata/limiters/express"
	httprateDir   = "testdata/limiters/httprate"
	nodeDir       = "testdata/limiters/node" // @fastify/rate-limit, rate-limiter-flexible and rolling-rate-limiter
	golimitersDir = "testdata/limiters/golimiters"
)

// findRoot returns root, or when it is "" the nearest directory upwards
// from the working directory that holds testdata/limiters.
func findRoot(root string) (string, error) {
	if root != "" {
		return root, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, expressDir, "package.json")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no testdata/limiters above the working directory")
		}
		dir = parent
	}
}

// lookPath finds a program on PATH or in the sbin directories, where
// Debian installs nginx and haproxy and where a non-root PATH may not look.
func lookPath(name string) (string, error) {
	if p, err := execLookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("look for %s: not found", name)
}

// freePort returns a loopback port nothing listens on right now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// serve runs h on a fresh loopback listener.
func serve(h http.Handler) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("listen on loopback: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: discardLog}
	go func() { _ = srv.Serve(ln) }() // ends with Close
	return srv, ln.Addr().String(), nil
}

// shutdown closes srv, letting in-flight requests finish for a moment.
func shutdown(srv *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if srv.Shutdown(ctx) != nil {
		_ = srv.Close()
	}
}
