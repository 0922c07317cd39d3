package ratelimit

import (
	"math/rand/v2"
	"time"
)

// Defaults for Backoff when its base or ceiling is not set.
const (
	DefaultBackoffBase = 100 * time.Millisecond
	DefaultBackoffMax  = 30 * time.Second
)

// Backoff returns a full-jitter exponential backoff: a uniform random
// duration in [0, min(maxDelay, base*2^attempt)). Full jitter, rather than
// a fixed delay, is what stops many clients that failed together from
// retrying together. attempt counts from 0; a negative attempt is 0.
// rnd returns a float in [0,1) (inject it in tests; nil means
// math/rand/v2.Float64). It never overflows for large attempts; base <= 0
// means DefaultBackoffBase and maxDelay <= 0 means DefaultBackoffMax.
func Backoff(attempt int, base, maxDelay time.Duration, rnd func() float64) time.Duration {
	if base <= 0 {
		base = DefaultBackoffBase
	}
	if maxDelay <= 0 {
		maxDelay = DefaultBackoffMax
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	ceiling := min(base, maxDelay)
	for i := 0; i < attempt && ceiling < maxDelay; i++ {
		if ceiling > maxDelay/2 {
			ceiling = maxDelay
			break
		}
		ceiling *= 2
	}
	r := rnd()
	if !(r > 0) { // also catches NaN from a broken source
		return 0
	}
	d := time.Duration(r * float64(ceiling))
	if d >= ceiling { // r >= 1, or float rounding at the top of the range
		d = ceiling - 1
	}
	return d
}
