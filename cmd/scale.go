package cmd

import (
	"context"
	"fmt"
	"io"
	"strconv"
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

// shardSource keeps only this process's shard of src (--shard i/n; "" keeps
// everything). Rows of other shards get no report row, so each shard's
// report holds just its rows, --resume works on it as on a whole file, and
// `bulksend report merge` joins the reports. A row belongs to the shard of
// its id, or of its line number when it has none (a row too broken to
// name), so every row, invalid ones included, is reported by exactly one
// shard. It wraps the source rather than using SourceOptions.Filter
// because the filter never sees invalid rows.
func shardSource(src sender.Source, spec string) (sender.Source, error) {
	if spec == "" {
		return src, nil
	}
	i, n, err := sender.ParseShard(spec)
	if err != nil {
		return nil, usageError("--shard: %v", err)
	}
	return sourceFunc(func(ctx context.Context) (*sender.Message, error) {
		for {
			m, err := src.Next(ctx)
			if err != nil || m == nil || sender.Shard(shardKey(m), n) == i {
				return m, err
			}
		}
	}), nil
}

// shardKey is what places a message in a shard.
func shardKey(m *sender.Message) string {
	if m.ID != "" {
		return m.ID
	}
	return strconv.Itoa(m.Line)
}

// shardTotal is the progress bar's estimate of this shard's rows, from the
// whole file's; -1 (unknown) stays.
func shardTotal(total int64, spec string) int64 {
	_, n, err := sender.ParseShard(spec)
	if spec == "" || err != nil || total < 0 {
		return total
	}
	return (total + int64(n) - 1) / int64(n)
}
