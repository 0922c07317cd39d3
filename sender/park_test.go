package sender

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulksend/bulksend/ratelimit"
	"github.com/bulksend/bulksend/sandbox"
)

// fakeNow is a clock tests move by hand.
type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeNow) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// TestRunParksOnADailyQuota: a server that allows 20 messages a day answers
// the 21st with Retry-After: 86400. The run parks: no further request goes
// out, the rows not sent are left for --resume, and the error says until
// when, on the server's clock.
func TestRunParksOnADailyQuota(t *testing.T) {
	tests := []struct {
		name        string
		concurrency int
		// gate, when set, lets that many requests go and holds every
		// later wait, as a long pause would: parking must end those waits.
		gate int64
		// maxRequests: at most one request finds the cap per worker that
		// was already sending when it was found.
		maxRequests int
	}{
		{name: "one worker spends one request on the cap", concurrency: 1, maxRequests: 21},
		{name: "workers waiting for the limiter give up at once", concurrency: 8, gate: 21, maxRequests: 21},
		{name: "eight unpaced workers spend at most one each", concurrency: 8, maxRequests: 28},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeNow{t: time.Date(2026, 3, 7, 10, 0, 0, 0, time.UTC)}
			srv, err := sandbox.New(sandbox.Config{Burst: 20, Window: 24 * time.Hour, Skew: time.Hour, Now: clock.now})
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			j := newMemJournal()
			cfg := Config{Client: newClient(t), Journal: j, Concurrency: tt.concurrency, Limiter: ratelimit.New(ratelimit.Config{})}
			if tt.gate > 0 {
				cfg.Limiter = &gateLimiter{open: tt.gate, cancelled: make(chan struct{})}
			}
			sum, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: newMessages(100, ts.URL+"/send")}, 10*time.Second)
			var parked *ParkedError
			if !errors.As(err, &parked) || !errors.Is(err, ErrParked) {
				t.Fatalf("Run: %v, want a *ParkedError", err)
			}
			// The server's clock is an hour ahead; its window resets a day
			// after the first request, which is when sending may go on.
			reset := clock.now().Add(time.Hour + 24*time.Hour)
			if d := parked.Until.Sub(reset); d < -time.Second || d > time.Second {
				t.Errorf("parked until %v, want within 1s of the server's reset %v", parked.Until, reset)
			}
			st := srv.Stats()
			if sum.Counts[StatusSent] != 20 || st.Delivered != 20 {
				t.Errorf("%d sent, %d delivered; want 20", sum.Counts[StatusSent], st.Delivered)
			}
			if st.Requests > int64(tt.maxRequests) || sum.Requests != int(st.Requests) {
				t.Errorf("the server saw %d requests (summary %d), want at most %d", st.Requests, sum.Requests, tt.maxRequests)
			}
			// Every other row is pending: the server took none of them,
			// the one that found the cap included.
			for _, r := range j.results() {
				if r.Status != StatusSent && r.Status != StatusPending {
					t.Errorf("line %d settled %s (%s): a parked run leaves rows pending", r.Line, r.Status, r.Error)
				}
			}
			if sum.Counts[StatusPending] != 80 || sum.Unfinished != 0 {
				t.Errorf("counts %v, %d unfinished; want 80 pending, none unfinished", sum.Counts, sum.Unfinished)
			}
			j.check(t)
		})
	}
}

// TestRunWaitParked: with WaitParked the run sleeps through the server's
// long wait instead of parking, and says so in Progress.
func TestRunWaitParked(t *testing.T) {
	const wait = 300 * time.Millisecond
	srv := newThrottleOnceServer(1, wait, time.Now)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	p := new(Progress)
	cfg := Config{Client: newClient(t), Journal: newMemJournal(), Concurrency: 1, MaxWait: time.Millisecond,
		WaitParked: true, Progress: p, Limiter: ratelimit.New(ratelimit.Config{})}
	sum, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: newMessages(3, ts.URL)}, 10*time.Second)
	if err != nil {
		t.Fatalf("Run: %v, want the run to sleep through the wait", err)
	}
	if sum.Counts[StatusSent] != 3 {
		t.Errorf("counts %v, want 3 sent", sum.Counts)
	}
	if until, _ := p.ParkedUntil(time.Now()); until.IsZero() {
		t.Errorf("Progress never said the run was parked")
	}
}

// requestCounter numbers a test server's requests, reading each body.
type requestCounter struct {
	mu   sync.Mutex
	seen int
}

// next reads r's body and returns how many requests came, r included.
func (c *requestCounter) next(r *http.Request) int {
	_, _ = io.Copy(io.Discard, r.Body)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen++
	return c.seen
}

// policyServer answers 200 with two IETF RateLimit policies, a
// per-second one that never runs out and a daily one of daily messages,
// and 429 once the daily one is spent.
type policyServer struct {
	daily int
	requestCounter
}

func (s *policyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	left := s.daily - s.next(r)
	w.Header().Set("RateLimit-Policy", fmt.Sprintf(`"second";q=50;w=1, "day";q=%d;w=86400`, s.daily))
	if left < 0 {
		w.Header().Set("RateLimit", `"second";r=49;t=1, "day";r=0;t=43200`)
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	w.Header().Set("RateLimit", fmt.Sprintf(`"second";r=49;t=1, "day";r=%d;t=43200`, left))
	w.WriteHeader(http.StatusOK)
}

// TestRunParksOnASpentPolicy: when the answers' daily RateLimit policy
// reaches 0 left, the run parks until its reset instead of sending into
// 429s: the server sees not one request past its quota.
func TestRunParksOnASpentPolicy(t *testing.T) {
	srv := &policyServer{daily: 5}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	j := newMemJournal()
	start := time.Now()
	cfg := Config{Client: newClient(t), Journal: j, Concurrency: 1, Limiter: ratelimit.New(ratelimit.Config{})}
	sum, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: newMessages(20, ts.URL)}, 10*time.Second)
	var parked *ParkedError
	if !errors.As(err, &parked) || !strings.Contains(parked.Reason, "quota is spent") {
		t.Fatalf("Run: %v, want parked on the spent quota", err)
	}
	if want := start.Add(12 * time.Hour); parked.Until.Before(want) || parked.Until.After(want.Add(time.Minute)) {
		t.Errorf("parked until %v, want the daily reset, 12h from now", parked.Until)
	}
	if srv.seen != 5 || sum.Counts[StatusSent] != 5 || sum.Counts[StatusPending] != 15 || sum.Throttled != 0 {
		t.Errorf("%d requests, counts %v, %d throttled; want 5 sent, 15 pending, no 429", srv.seen, sum.Counts, sum.Throttled)
	}
	j.check(t)
}

// dryLimiter lets every request go and answers each hintless Throttle
// with the next of its pauses (the last one again once they run out), as
// ratelimit's Limiter does once refusals in a row, nothing accepted,
// have grown its pause floor.
type dryLimiter struct {
	mu     sync.Mutex
	pauses []time.Duration
	calls  int
}

func (d *dryLimiter) Wait(context.Context) error { return nil }
func (d *dryLimiter) Throttle(_ time.Time, wait time.Duration, _ bool) time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := d.pauses[min(d.calls, len(d.pauses)-1)]
	d.calls++
	return max(p, wait)
}
func (d *dryLimiter) Success(time.Time, ratelimit.Quota, bool) {}

// lockoutServer accepts the first ok requests, then answers a 429 to the
// next refuse, then accepts again. Its 429 is bare, or states
// Retry-After: retryAfter when set.
type lockoutServer struct {
	ok, refuse int
	retryAfter string
	requestCounter
}

func (s *lockoutServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if n := s.next(r); n > s.ok && n <= s.ok+s.refuse {
		if s.retryAfter != "" {
			w.Header().Set("Retry-After", s.retryAfter)
		}
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// TestRunParksOnALongBarePause: a server that answers nothing but 429 for
// long grows the limiter's pause (ratelimit's dryFloor) past any wait it
// states; once that is longer than MaxWait the run parks as for a stated
// wait that long,
// the rows not sent left pending for --resume, rather than sleeping
// through it. With WaitParked it sleeps through it and says so.
func TestRunParksOnALongBarePause(t *testing.T) {
	pauses := []time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond, time.Hour}
	for _, ra := range []string{"", "1"} {
		t.Run("parks, Retry-After "+ra, func(t *testing.T) {
			ts := httptest.NewServer(&lockoutServer{ok: 3, refuse: 1 << 30, retryAfter: ra})
			defer ts.Close()
			j := newMemJournal()
			cfg := Config{Client: newClient(t), Journal: j, Concurrency: 1, Limiter: &dryLimiter{pauses: pauses}}
			start := time.Now()
			sum, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: newMessages(10, ts.URL+"/send")}, 10*time.Second)
			var parked *ParkedError
			if !errors.As(err, &parked) || !errors.Is(err, ErrParked) {
				t.Fatalf("Run: %v, want a *ParkedError", err)
			}
			if d := parked.Until.Sub(start); d < time.Hour || d > time.Hour+10*time.Second {
				t.Errorf("parked until %v after the start, want an hour", d)
			}
			if !strings.Contains(parked.Reason, "more than --max-wait 15m0s") {
				t.Errorf("reason %q does not name --max-wait", parked.Reason)
			}
			if sum.Counts[StatusSent] != 3 || sum.Counts[StatusPending] != 7 || sum.Requests != 7 {
				t.Errorf("counts %v in %d requests, want 3 sent and 7 pending in 7", sum.Counts, sum.Requests)
			}
			j.check(t)
		})
	}
	t.Run("wait-parked", func(t *testing.T) {
		ts := httptest.NewServer(&lockoutServer{ok: 3, refuse: 4})
		defer ts.Close()
		p := new(Progress)
		cfg := Config{Client: newClient(t), Journal: newMemJournal(), Concurrency: 1, WaitParked: true, Progress: p,
			Limiter: &dryLimiter{pauses: pauses}}
		sum, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: newMessages(10, ts.URL+"/send")}, 10*time.Second)
		if err != nil {
			t.Fatalf("Run: %v, want the run to sleep through the pause", err)
		}
		if sum.Counts[StatusSent] != 10 {
			t.Errorf("counts %v, want 10 sent", sum.Counts)
		}
		if until, _ := p.ParkedUntil(time.Now()); until.IsZero() {
			t.Errorf("Progress never said the run was parked")
		}
	})
}
