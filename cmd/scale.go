package cmd

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bulksend/bulksend/internal/redact"
	"github.com/bulksend/bulksend/ratelimit"
	"github.com/bulksend/bulksend/redislimit"
	"github.com/bulksend/bulksend/sender"
)

// Several senders on one quota (SPEC.md "Scale"): --limiter shares one pace
// and one throttle pause through Redis, --shard splits one input file
// between processes.

// runLimiter is what send needs of its limiter: pacing for the engine, and
// the pause and the counts for the progress line and the summary. Both
// *ratelimit.Limiter and *redislimit.Limiter are one.
type runLimiter interface {
	sender.Limiter
	Paused(now time.Time) (until time.Time, paused bool)
	Stats() ratelimit.Stats
}

// checkScale validates --limiter (limiterURL) and --shard without touching
// the network, so a typo is a usage error, --dry-run included.
func checkScale(limiterURL, shard string, adaptive bool) error {
	if limiterURL != "" {
		if adaptive {
			// The adaptive rate is measured from the answers one process
			// sees; with n processes each sees about 1/n of them.
			return usageError("--limiter needs --rate (and usually --burst): the adaptive rate cannot be shared between processes")
		}
		if _, _, err := redislimit.ParseURL(limiterURL); err != nil {
			return usageError("--limiter: %v", err)
		}
	}
	if shard != "" {
		if _, _, err := sender.ParseShard(shard); err != nil {
			return usageError("--shard: %v", err)
		}
	}
	return nil
}

// buildLimiter returns the limiter of the run: the process's own, or with a
// --limiter URL the one shared through Redis, which must answer now (exit 1
// otherwise). go-redis' messages go to errOut unless quiet. Call the
// returned close when the run is over.
func buildLimiter(ctx context.Context, limiterURL string, cfg ratelimit.Config, errOut io.Writer, quiet bool) (runLimiter, func() error, error) {
	if limiterURL == "" {
		return ratelimit.New(cfg), func() error { return nil }, nil
	}
	// go-redis logs every failed dial of every connection, dozens of lines
	// a second during an outage; the limiter's own report says it once.
	redis.SetLogger(discardLogger{})
	lim, err := redislimit.Open(ctx, limiterURL, redislimit.Config{Rate: cfg.Rate, Burst: cfg.Burst,
		OnOutage: outageReporter(errOut, quiet, time.Now)})
	if err != nil {
		return nil, nil, runError(err)
	}
	return lim, lim.Close, nil
}

// discardLogger drops go-redis' own messages.
type discardLogger struct{}

func (discardLogger) Printf(context.Context, string, ...any) {}

// outageReporter says on stderr, once each, that the shared limiter lost
// Redis (nothing is sent meanwhile) and that it is back; the lines are
// dated for logs. Nothing with --quiet.
func outageReporter(w io.Writer, quiet bool, now func() time.Time) func(error, time.Duration) {
	var mu sync.Mutex
	return func(err error, down time.Duration) {
		if quiet {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		at := now().Format(time.RFC3339)
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), "redis: ")
			fmt.Fprintf(w, "%s bulksend: shared limiter: Redis unreachable (%s); nothing is sent until it is back\n", at, redact.Terminal(msg))
			return
		}
		fmt.Fprintf(w, "%s bulksend: shared limiter: Redis is back after %s; sending again\n", at, down.Round(100*time.Millisecond))
	}
}
