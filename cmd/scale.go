package cmd

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

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
	redis.SetLogger(redisLogger{w: errOut, quiet: quiet})
	lim, err := redislimit.Open(ctx, limiterURL, redislimit.Config{Rate: cfg.Rate, Burst: cfg.Burst})
	if err != nil {
		return nil, nil, runError(err)
	}
	return lim, lim.Close, nil
}

// redisLogger shows go-redis' own messages (a lost connection, failed
// dials) on stderr, so a run held up by a Redis outage says why; the
// limiter keeps retrying meanwhile. Nothing with --quiet.
type redisLogger struct {
	w     io.Writer
	quiet bool
}

// redisLogMu serialises the lines go-redis logs from several goroutines.
var redisLogMu sync.Mutex

func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	if l.quiet {
		return
	}
	msg := strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: ")
	redisLogMu.Lock()
	defer redisLogMu.Unlock()
	fmt.Fprintf(l.w, "bulksend: shared limiter: %s\n", msg)
}
