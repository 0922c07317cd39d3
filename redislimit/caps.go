package redislimit

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bulksend/bulksend/ratelimit"
)

// capScript takes one request from every cap or from none. KEYS: each
// cap's theoretical arrival time (a GCRA, as the pace's, but starting
// full). ARGV: the longest wait allowed (µs, 0 for any), then each cap's
// interval (µs) and size. Reply {0, delay, now}: taken, the request may
// leave after delay µs; {1, until, now, i}: cap i (from 1) allows nothing
// before until, and nothing was taken.
var capScript = redis.NewScript(nowLua + `
local maxWait = tonumber(ARGV[1])
local tats, delay = {}, 0
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i])
  local size = tonumber(ARGV[2 * i + 1])
  local tat = num(key)
  if tat < now then
    tat = now
  end
  tat = tat + interval
  local d = tat - size * interval - now
  if maxWait > 0 and d > maxWait then
    return {1, now + d, now, i}
  end
  tats[i] = tat
  if d > delay then
    delay = d
  end
end
for i, key in ipairs(KEYS) do
  put(key, tats[i], now)
end
return {0, delay, now}
`)

// Caps are the long limits of a repeated --rate (--rate 50/s --rate
// 10000/24h) shared through Redis, as ratelimit.Caps are within one
// process: each is a bucket of Count requests refilled over Per, full at
// first, and a request goes only when every cap allows it. The buckets
// live under the Limiter's key, one per rate, so every process given the
// same caps draws on the same ones; a key expires once its bucket is full
// again. A cap that allows nothing before the longest wait is spent: Wait
// takes nothing and says until when, and the run parks.
//
// Unlike ratelimit.Caps, a request whose wait is cut short (Ctrl-C) keeps
// its place in the caps: giving it back would race with other processes,
// and the only cost is one request fewer in that period.
type Caps struct {
	l     *Limiter
	keys  []string
	args  []any
	rates []ratelimit.Rate
}

// Caps returns the caps of rates on l's key. A wait longer than maxWait
// is a *ratelimit.SpentError; maxWait <= 0 sleeps through any wait.
func (l *Limiter) Caps(rates []ratelimit.Rate, maxWait time.Duration) *Caps {
	c := &Caps{l: l, args: []any{max(maxWait.Microseconds(), 0)}}
	base := strings.TrimSuffix(l.keys[0], ":tat") + ":cap:"
	for _, r := range rates {
		if r.IsZero() {
			continue
		}
		interval := max(int64(math.Round(1e6/r.PerSecond())), 1)
		c.keys = append(c.keys, base+r.String())
		c.args = append(c.args, interval, max(int64(r.Count), 1))
		c.rates = append(c.rates, r)
	}
	return c
}

// Wait takes one request from every cap, sleeping while one refills. When
// one is spent past the longest wait it takes nothing and returns a
// *ratelimit.SpentError whose Until is on the local clock. While Redis
// cannot be reached it retries with backoff, as Limiter.Wait does.
func (c *Caps) Wait(ctx context.Context) error {
	if len(c.keys) == 0 {
		return nil
	}
	failures := 0
	for {
		r, err := c.l.runKeys(ctx, capScript, c.keys, c.args...)
		if err == nil && r[0] == 1 && (len(r) < 4 || r[3] < 1 || int(r[3]) > len(c.rates)) {
			err = fmt.Errorf("redis limiter: bad cap reply %v", r)
		}
		if err != nil {
			if err := c.l.backoff(ctx, err, &failures); err != nil {
				return err
			}
			continue
		}
		c.l.noteUp()
		if r[0] == 1 {
			return &ratelimit.SpentError{Until: c.l.clock.Now().Add(micros(r[1] - r[2])), Rate: c.rates[r[3]-1]}
		}
		if r[1] <= 0 {
			return nil
		}
		_, err = ratelimit.Sleep(ctx, c.l.clock, micros(r[1]), nil)
		return err
	}
}
