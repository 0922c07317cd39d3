package redislimit

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bulksend/bulksend/internal/testkit"
)

// TestRealRedis runs the scripts on a real Redis, whose Lua differs from
// miniredis' in how it turns numbers into strings: the stored timestamps
// must keep their microseconds. Only lower bounds on time are checked.
func TestRealRedis(t *testing.T) {
	addr := testkit.RedisT(t).Addr()
	ctx := context.Background()
	cfg := Config{Rate: mustRate(t, "1000/s"), Burst: 5}
	a, err := Open(ctx, "redis://"+addr+"/0?key=real", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, "redis://"+addr+"/0?key=real", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	t.Run("paced across limiters", func(t *testing.T) {
		start := time.Now()
		for i := range 45 {
			l := a
			if i%2 == 1 {
				l = b
			}
			if err := l.Wait(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if el := time.Since(start); el < 39*time.Millisecond {
			t.Errorf("45 slots at 1000/s with a burst of 5 took %v, want at least 40ms", el)
		}
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		defer rdb.Close()
		raw, err := rdb.Get(ctx, "bulksend:{real}:tat").Result()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := strconv.ParseInt(raw, 10, 64); err != nil || len(raw) < 16 {
			t.Errorf("tat stored as %q, want whole microseconds", raw)
		}
	})
	t.Run("a pause holds the other limiter", func(t *testing.T) {
		start := time.Now()
		a.Throttle(start, 300*time.Millisecond, true)
		if err := b.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el < 299*time.Millisecond {
			t.Errorf("b waited %v, want the 300ms pause", el)
		}
		if s := b.Stats(); s.Pauses != 1 {
			t.Errorf("b saw %d pauses, want 1", s.Pauses)
		}
	})
}
