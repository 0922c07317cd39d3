// Package redislimit is the limiter for several bulksend processes that send
// on one quota (one OAuth client, one account): the pace is one GCRA
// (generic cell rate algorithm, a token bucket kept as a single timestamp)
// stored in Redis, and a throttle pause seen by any process pauses all of
// them, because the pause's end is stored in Redis too.
//
// Every decision is a Lua script, so it is atomic however many processes
// ask at once, and it reads the time with Redis' TIME, so the processes'
// own clocks may disagree without changing the pace. A process reserves its
// slot (the script moves the bucket's timestamp and says how long to wait),
// sleeps until then, and asks once more whether a pause began meanwhile:
// nothing leaves during a pause, and after one the bucket starts empty so
// sending resumes at the paced rate, not as a burst, as in package ratelimit.
//
// Why not github.com/go-redis/redis_rate: it is GCRA too, but it has no
// shared pause, and it answers "denied, retry after" rather than reserving,
// so every waiting worker of every process would poll Redis at the same
// instants and race for each slot. Reserving keeps one round trip per slot
// and serves waiters in order.
//
// The adaptive rate of package ratelimit is not offered: it measures the
// server's rate from the answers one process sees, and with n processes
// each sees about 1/n of them, so each would learn about 1/n of the rate.
// Callers give the rate (bulksend requires --rate with --limiter).
//
// When Redis is lost mid-run, Wait keeps retrying with backoff and lets
// nothing leave until Redis answers again: it never falls back to sending
// unpaced.
package redislimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/bulksend/bulksend/ratelimit"
)

// Defaults for the zero Config.
const (
	// DefaultRetryBase and DefaultRetryMax bound the full-jitter backoff
	// between attempts to reach Redis after a failed call.
	DefaultRetryBase = 100 * time.Millisecond
	DefaultRetryMax  = 5 * time.Second
	// DefaultOpTimeout bounds Throttle's write of a pause to Redis: the
	// engine's Throttle takes no context, and a hung Redis must not hang
	// the worker that reports the throttle forever.
	DefaultOpTimeout = 2 * time.Second
	// DefaultOpenTimeout bounds the first contact in Open when the caller's
	// context has no deadline.
	DefaultOpenTimeout = 10 * time.Second
)

// keyPrefix namespaces the limiter's keys; the name sits in a hash tag so
// both keys of one quota land on one Redis Cluster slot.
const keyPrefix = "bulksend:{"

// Config configures a Limiter. The zero Config shares only the throttle
// pause, with no pacing.
type Config struct {
	// Rate is the total pace of every process sharing the key. The zero
	// Rate means none (only the pause is shared). Give every process the
	// same Rate and Burst: each request is paced by its own process's.
	Rate ratelimit.Rate
	// Burst is how many requests may leave at once after an idle spell,
	// across all processes; 0 means 1 (strict pacing).
	Burst int
	// Clock and Rand are injected by tests; nil means the real ones.
	Clock ratelimit.Clock
	Rand  func() float64
	// HintlessBase and HintlessMax bound the shared backoff after a throttle
	// answer with no wait hint; 0 means ratelimit's defaults.
	HintlessBase, HintlessMax time.Duration
	// RetryBase and RetryMax bound the backoff while Redis is unreachable;
	// 0 means DefaultRetryBase and DefaultRetryMax.
	RetryBase, RetryMax time.Duration
	// OpTimeout bounds Throttle's call to Redis; 0 means DefaultOpTimeout.
	OpTimeout time.Duration
	// OnOutage, when set, is called once when Redis stops answering (with
	// the error) and once when it answers again (with nil, and how long it
	// was away): one report per outage however many calls failed during
	// it. It must not block.
	OnOutage func(err error, down time.Duration)
}

// Limiter paces every process that uses the same Redis key as one, and
// shares their throttle pauses. It implements sender.Limiter and is safe
// for concurrent use.
type Limiter struct {
	rdb      redis.UniversalClient
	owned    bool // Open made rdb, so Close closes it
	keys     []string
	interval int64 // microseconds between requests; 0 means unpaced
	burst    int64
	perSec   float64

	clock     ratelimit.Clock
	rnd       func() float64
	hintBase  time.Duration
	hintMax   time.Duration
	retryBase time.Duration
	retryMax  time.Duration
	opTimeout time.Duration

	// life ends at Close, so a Throttle still writing to Redis gives up.
	life context.Context
	stop context.CancelFunc

	mu sync.Mutex
	// pauseUntil is the end of the latest pause this process knows of, on
	// the local clock; changed is closed and replaced whenever it moves
	// later, so sleeping waiters re-read it at once.
	pauseUntil time.Time
	changed    chan struct{}
	hintless   int
	stats      ratelimit.Stats
	// seenUntil is the end of the latest pause seen, in Redis microseconds,
	// to count each pause once however many answers report it.
	seenUntil int64
	errs      int
	lastErr   error

	onOutage  func(error, time.Duration)
	down      atomic.Bool // Redis stopped answering; no call has succeeded since
	downSince time.Time   // under mu
}

// New returns a Limiter drawing on rdb under key. The caller keeps rdb:
// Close does not close it.
func New(rdb redis.UniversalClient, key string, cfg Config) *Limiter {
	l := &Limiter{
		rdb:       rdb,
		keys:      []string{keyPrefix + key + "}:tat", keyPrefix + key + "}:pause"},
		burst:     int64(max(cfg.Burst, 1)),
		perSec:    math.Inf(1),
		clock:     cfg.Clock,
		rnd:       cfg.Rand,
		hintBase:  cfg.HintlessBase,
		hintMax:   cfg.HintlessMax,
		retryBase: cfg.RetryBase,
		onOutage:  cfg.OnOutage,
		retryMax:  cfg.RetryMax,
		opTimeout: cfg.OpTimeout,
		changed:   make(chan struct{}),
	}
	if lim := cfg.Rate.Limit(); lim > 0 && lim != rate.Inf {
		// Rounded to the microsecond, the unit of the scripts: exact for
		// any rate a quota is written in, and 1e6/s is far past any API.
		l.interval = max(int64(math.Round(1e6/float64(lim))), 1)
		l.perSec = 1e6 / float64(l.interval)
	}
	if l.clock == nil {
		l.clock = ratelimit.SystemClock{}
	}
	if l.rnd == nil {
		l.rnd = rand.Float64
	}
	if l.hintBase <= 0 {
		l.hintBase = ratelimit.DefaultHintlessBase
	}
	if l.hintMax <= 0 {
		l.hintMax = ratelimit.DefaultHintlessMax
	}
	if l.retryBase <= 0 {
		l.retryBase = DefaultRetryBase
	}
	if l.retryMax <= 0 {
		l.retryMax = DefaultRetryMax
	}
	if l.opTimeout <= 0 {
		l.opTimeout = DefaultOpTimeout
	}
	l.life, l.stop = context.WithCancel(context.Background())
	return l
}

// Open connects to the Redis named by rawURL (see ParseURL) and returns a
// Limiter on its key. It fails when Redis cannot be reached or cannot run
// the limiter's scripts, so a run never starts unpaced; its errors show the
// URL without user, password or options.
func Open(ctx context.Context, rawURL string, cfg Config) (*Limiter, error) {
	opt, key, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	rdb := redis.NewClient(opt)
	l := New(rdb, key, cfg)
	l.owned = true
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultOpenTimeout)
		defer cancel()
	}
	if _, err := l.run(ctx, checkScript); err != nil {
		l.Close()
		return nil, fmt.Errorf("shared limiter %s: cannot reach redis: %w", redactURL(rawURL), err)
	}
	return l, nil
}

// ParseURL reads redis://[user:password@]host:port/db?key=NAME (rediss://
// for TLS) into go-redis options and the key NAME that every process sharing
// the quota uses. The other query options are go-redis' (dial_timeout=...).
// Its errors never contain the password.
func ParseURL(rawURL string) (opt *redis.Options, key string, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the whole URL, password and all
		}
		return nil, "", fmt.Errorf("invalid redis URL: %w", err)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, "", fmt.Errorf("invalid redis URL: scheme %q, want redis://host:port/db?key=NAME or rediss://", u.Scheme)
	}
	q := u.Query()
	key = q.Get("key")
	if key == "" {
		return nil, "", fmt.Errorf("redis URL %s: add ?key=NAME, the name every process sharing the quota uses", where(u))
	}
	q.Del("key")
	u.RawQuery = q.Encode()
	if opt, err = redis.ParseURL(u.String()); err != nil {
		return nil, "", fmt.Errorf("invalid redis URL %s: %w", where(u), err)
	}
	return opt, key, nil
}

// where names a Redis URL in messages by scheme, host and path only: no
// user, password, query or fragment, so no secret can show.
func where(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// redactURL is where for a raw URL.
func redactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(invalid URL)"
	}
	return where(u)
}

// Close releases the Redis connection if Open made it, and ends any
// Throttle still writing to Redis.
func (l *Limiter) Close() error {
	l.stop()
	if l.owned {
		return l.rdb.Close()
	}
	return nil
}

// Wait blocks until one request may leave: no process sharing the key is
// paused and the shared pace allows it. While Redis cannot be reached it
// keeps retrying with backoff and lets nothing leave. It returns ctx's
// error if ctx ends first.
func (l *Limiter) Wait(ctx context.Context) error {
	failures := 0
	for {
		l.mu.Lock()
		d, changed := l.pauseUntil.Sub(l.clock.Now()), l.changed
		l.mu.Unlock()
		if d > 0 {
			if _, err := ratelimit.Sleep(ctx, l.clock, d, changed); err != nil {
				return err
			}
			continue
		}
		r, err := l.run(ctx, takeScript, l.interval, l.burst)
		if err != nil {
			if err := l.backoff(ctx, err, &failures); err != nil {
				return err
			}
			continue
		}
		l.noteUp()
		failures = 0
		if r[0] == 1 {
			l.seePause(r[1], r[2])
			continue
		}
		if r[1] <= 0 {
			return nil
		}
		// The slot is ours at the end of the delay; a pause this process
		// starts meanwhile gives it up (the pause empties the bucket).
		interrupted, err := ratelimit.Sleep(ctx, l.clock, micros(r[1]), changed)
		if err != nil {
			return err
		}
		if interrupted {
			continue
		}
		// Another process may have been throttled meanwhile.
		if r, err = l.run(ctx, checkScript); err != nil {
			if err := l.backoff(ctx, err, &failures); err != nil {
				return err
			}
			continue
		}
		if r[0] > r[1] {
			l.seePause(r[0], r[1])
			continue
		}
		return nil
	}
}

// backoff records a failed Redis call and sleeps before the next try.
func (l *Limiter) backoff(ctx context.Context, err error, failures *int) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	l.noteError(err)
	d := ratelimit.Backoff(*failures, l.retryBase, l.retryMax, l.rnd)
	*failures++
	_, err = ratelimit.Sleep(ctx, l.clock, d, nil)
	return err
}

func (l *Limiter) noteError(err error) {
	l.mu.Lock()
	l.errs++
	l.lastErr = err
	first := !l.down.Swap(true)
	if first {
		l.downSince = l.clock.Now()
	}
	l.mu.Unlock()
	if first && l.onOutage != nil {
		l.onOutage(err, 0)
	}
}

// noteUp records a Redis call that succeeded, ending an outage if one was
// on. Outside an outage it costs one atomic load.
func (l *Limiter) noteUp() {
	if !l.down.Load() {
		return
	}
	l.mu.Lock()
	was := l.down.Swap(false)
	since := l.downSince
	l.mu.Unlock()
	if was && l.onOutage != nil {
		l.onOutage(nil, l.clock.Now().Sub(since))
	}
}

// Throttle reports a throttle answer received at now, as ratelimit.Limiter
// does: with a hint, every process pauses for wait; without one, for a
// shared full-jitter backoff unless a pause is already on. This process
// stops at once; the others learn of the pause from Redis before their next
// request. If Redis cannot be reached, only this process pauses, and its
// next Wait blocks until Redis is back anyway. It returns the pause asked for.
func (l *Limiter) Throttle(now time.Time, wait time.Duration, hinted bool) time.Duration {
	l.mu.Lock()
	l.stats.Throttles++
	if !hinted {
		if now.Before(l.pauseUntil) {
			d := l.pauseUntil.Sub(now)
			l.mu.Unlock()
			return d
		}
		wait = ratelimit.Backoff(l.hintless, l.hintBase, l.hintMax, l.rnd)
		l.hintless++
	}
	l.extend(now.Add(wait))
	l.mu.Unlock()

	ctx, cancel := context.WithTimeout(l.life, l.opTimeout)
	defer cancel()
	r, err := l.run(ctx, pauseScript, wait.Microseconds(), l.interval, l.burst)
	if err != nil {
		l.noteError(err)
		return wait
	}
	l.noteUp()
	l.seePause(r[0], r[1])
	return wait
}

// Success reports an answer that was not a throttle: it eases the
// hint-less backoff. The quota headers are not used, since the rate is fixed.
func (l *Limiter) Success(time.Time, ratelimit.Quota, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hintless > 0 {
		l.hintless--
	}
}

// extend moves the local pause to until if that is later; l.mu is held.
func (l *Limiter) extend(until time.Time) {
	if until.After(l.pauseUntil) {
		l.pauseUntil = until
		close(l.changed)
		l.changed = make(chan struct{})
	}
}

// seePause takes in a pause ending at until, read from Redis at now (both
// Redis microseconds): it holds this process's waiters, and is counted once
// in the stats however many answers report it.
func (l *Limiter) seePause(until, now int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until > now {
		l.extend(l.clock.Now().Add(micros(until - now)))
	}
	if until <= l.seenUntil {
		return
	}
	if now >= l.seenUntil {
		l.stats.Pauses++
		l.stats.Paused += micros(max(until-now, 0))
	} else {
		l.stats.Paused += micros(until - l.seenUntil)
	}
	l.seenUntil = until
}

// Paused reports the end of the current pause, if this process knows of
// one at now (for a progress display).
func (l *Limiter) Paused(now time.Time) (until time.Time, paused bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pauseUntil, now.Before(l.pauseUntil)
}

// Stats returns what this process has seen: its own throttle answers, and
// the pauses of all processes that held it. Nothing is learned: the rate
// is the caller's.
func (l *Limiter) Stats() ratelimit.Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats
	s.Rate = l.perSec
	return s
}

// Errors reports how many calls to Redis failed (each was retried, or, for
// a throttle, kept to this process) and the last failure.
func (l *Limiter) Errors() (n int, last error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.errs, l.lastErr
}

// run runs one of the scripts and returns its integer reply.
func (l *Limiter) run(ctx context.Context, s *redis.Script, args ...any) ([]int64, error) {
	return l.runKeys(ctx, s, l.keys, args...)
}

// runKeys runs s on keys (all under l's hash tag).
func (l *Limiter) runKeys(ctx context.Context, s *redis.Script, keys []string, args ...any) ([]int64, error) {
	r, err := s.Run(ctx, l.rdb, keys, args...).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("redis limiter: %w", err)
	}
	if len(r) < 2 {
		return nil, fmt.Errorf("redis limiter: short script reply %v", r)
	}
	return r, nil
}

// micros converts Redis microseconds to a duration.
func micros(us int64) time.Duration { return time.Duration(us) * time.Microsecond }
