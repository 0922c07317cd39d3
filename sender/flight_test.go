package sender

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bulksend/bulksend/ratelimit"
	"github.com/bulksend/bulksend/sandbox"
)

// flightCounter is a ratelimit.Limiter that counts the requests its Wait
// let go and the Done calls that ended them, and checks that no request
// is ended twice, nor its answer reported before it was ended, and that
// each refusal is read for the request Done ended refused (ThrottleFor).
type flightCounter struct {
	*ratelimit.Limiter
	t        *testing.T
	mu       sync.Mutex
	waits    int
	dones    map[ratelimit.Outcome]int
	answered int // Throttle, ThrottleFor and Success calls
	// refused counts the send times Done ended refused and no
	// ThrottleFor has read; throttleFor counts those calls, and
	// unmatched those for a send time Done did not end refused.
	refused                           map[time.Time]int
	throttles, throttleFor, unmatched int
}

func newFlightCounter(t *testing.T, l *ratelimit.Limiter) *flightCounter {
	return &flightCounter{Limiter: l, t: t, dones: map[ratelimit.Outcome]int{}, refused: map[time.Time]int{}}
}

func (f *flightCounter) Wait(ctx context.Context) error {
	err := f.Limiter.Wait(ctx)
	if err == nil {
		f.mu.Lock()
		f.waits++
		f.mu.Unlock()
	}
	return err
}

func (f *flightCounter) Done(sent time.Time, o ratelimit.Outcome) {
	f.mu.Lock()
	f.dones[o]++
	if o == ratelimit.Refused {
		f.refused[sent]++
	}
	f.mu.Unlock()
	f.Limiter.Done(sent, o)
}

func (f *flightCounter) ThrottleFor(sent, now time.Time, wait time.Duration, hinted bool) time.Duration {
	f.mu.Lock()
	f.answered++
	f.throttleFor++
	if f.refused[sent] > 0 {
		f.refused[sent]--
	} else {
		f.unmatched++
	}
	f.mu.Unlock()
	return f.Limiter.ThrottleFor(sent, now, wait, hinted)
}

func (f *flightCounter) Throttle(now time.Time, wait time.Duration, hinted bool) time.Duration {
	f.mu.Lock()
	f.answered++
	f.throttles++
	f.mu.Unlock()
	return f.Limiter.Throttle(now, wait, hinted)
}

// check fails t unless every request let go was ended once.
func (f *flightCounter) check() {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	ended := f.dones[ratelimit.Failed] + f.dones[ratelimit.Accepted] + f.dones[ratelimit.Refused]
	if ended != f.waits {
		f.t.Errorf("%d requests let go, %d ended (%v)", f.waits, ended, f.dones)
	}
	if n := f.InFlight(); n != 0 {
		f.t.Errorf("the limiter counts %d requests in flight after the run", n)
	}
	if f.dones[ratelimit.Refused] > 0 && f.throttleFor == 0 {
		f.t.Errorf("%d requests ended refused, none read with ThrottleFor", f.dones[ratelimit.Refused])
	}
	if f.throttles > 0 {
		f.t.Errorf("%d pauses asked with Throttle, which reads the latest refusal, not the request's own", f.throttles)
	}
	if f.unmatched > 0 {
		f.t.Errorf("%d refusals read for a request Done did not end refused", f.unmatched)
	}
}

// TestRunEndsEveryFlight: whatever becomes of a request (answered,
// refused, cut, failed, never sent because the journal failed), the
// engine ends it with exactly one Done, so no slot in flight is left
// taken.
func TestRunEndsEveryFlight(t *testing.T) {
	// The fault mix: the sandbox's seeded failures and cut connections,
	// and refusals chosen by row, not by arrival times, so the run is the
	// same on a busy machine (with a rate model in the sandbox, each 429
	// cost a whole-second Retry-After and the run took 1.7-17 s).
	faultMix := func(t *testing.T, lim *flightCounter, every int) {
		sb, err := sandbox.New(sandbox.Config{FailRate: 0.1, CutBefore: 0.05, CutAfter: 0.05, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		ref := &rowRefuser{next: sb, every: every, seen: map[string]int{}}
		ts := httptest.NewServer(ref)
		defer ts.Close()
		cfg := Config{Client: newClient(t), Limiter: lim, Journal: newMemJournal(), Concurrency: 6, IdempotentServer: true,
			MaxRetries: 10, RetryBudget: -1, BackoffBase: time.Millisecond, BackoffMax: 4 * time.Millisecond}
		sum, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: newMessages(150, ts.URL+"/send")}, time.Minute)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if sum.Counts[StatusSent] != 150 {
			t.Errorf("counts %v, want 150 sent", sum.Counts)
		}
		if st := sb.Stats(); st.CutAfter == 0 || st.Failed == 0 || every > 0 && ref.refused() == 0 {
			t.Fatalf("too few faults to test anything: %+v, %d refused", st, ref.refused())
		}
		lim.check()
	}
	t.Run("a fault mix through a plain limiter", func(t *testing.T) {
		// Unpaced, it still pauses for every refusal; a bare 503 of the
		// fault mix pauses it for the hintless backoff, kept small here.
		faultMix(t, newFlightCounter(t, ratelimit.New(ratelimit.Config{InFlight: 6, HintlessBase: time.Millisecond, HintlessMax: 4 * time.Millisecond})), 7)
	})
	t.Run("a fault mix through the adaptive rate", func(t *testing.T) {
		// One row in 7 refused whatever the pace no longer drags the
		// pace down (rowref.go): before 6a38162 this run took 8-27 s,
		// learning a bucket of 2-7/s.
		faultMix(t, newFlightCounter(t, ratelimit.New(ratelimit.Config{Adaptive: true, InFlight: 6, HintlessBase: time.Millisecond, HintlessMax: 4 * time.Millisecond})), 7)
	})
	t.Run("a journal that fails", func(t *testing.T) {
		ts := httptest.NewServer(&statusServer{status: 200})
		defer ts.Close()
		j := newMemJournal()
		j.failBegin = errors.New("no space left on device")
		lim := newFlightCounter(t, ratelimit.New(ratelimit.Config{Adaptive: true, InFlight: 4}))
		_, err := runGuarded(t, context.Background(), nil, Config{Client: newClient(t), Limiter: lim, Journal: j, Concurrency: 4},
			&sliceSource{msgs: newMessages(20, ts.URL)}, 10*time.Second)
		if err == nil {
			t.Fatal("Run succeeded with a failing journal")
		}
		lim.check()
	})
}

// TestRunLearnsConcurrency sends through the adaptive rate, 8 at a time,
// to the sandbox's concurrency limit of 4: every row is delivered once,
// few requests are refused, every request is ended once, and a limit
// learned is never over the server's.
func TestRunLearnsConcurrency(t *testing.T) {
	sb, err := sandbox.New(sandbox.Config{Model: sandbox.ModelConcurrency, Burst: 4, Latency: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sb)
	defer ts.Close()
	l := ratelimit.New(ratelimit.Config{Adaptive: true, InFlight: 8})
	lim := newFlightCounter(t, l)
	cfg := Config{Client: newClient(t), Limiter: lim, Journal: newMemJournal(), Concurrency: 8, IdempotentServer: true}
	// A hang guard: a run that searches a rate instead takes 4 to 17 s on
	// a loaded machine (bare refusals pause the pool, the rate found is
	// far under the server's), which 20 s cut off as a hang.
	sum, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: newMessages(200, ts.URL+"/send")}, time.Minute)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	st := sb.Stats()
	if sum.Counts[StatusSent] != 200 || st.Distinct != 200 || st.Duplicates != 0 {
		t.Errorf("sent %d, the sandbox delivered %d distinct, %d duplicates; want 200, 200, 0", sum.Counts[StatusSent], st.Distinct, st.Duplicates)
	}
	// Whether the model is proven within 200 rows depends on the
	// machine's timing (ratelimit's simulation holds that it is); what it
	// learned is never more than the server takes.
	if ls := l.Stats(); ls.LearnedModel == ratelimit.ModelConcurrency && (ls.LearnedInFlight < 2 || ls.LearnedInFlight > 4) {
		t.Errorf("learned %d in flight, want 2 to 4", ls.LearnedInFlight)
	}
	// The first burst's 4 are refused; a run that does not prove the
	// model in time searches a rate and draws a few more (5-9 on a loaded
	// machine, 12 seen on a CI machine under -race). A sender that does not
	// hold back refuses most of what it sends.
	if st.Throttled > 20 {
		t.Errorf("%d requests refused, want the first burst's and a few more (at most 20 of 200)", st.Throttled)
	}
	lim.check()
}

// rowRefuser answers 429 "Retry-After: 0" to the first attempt of every
// row whose line is a multiple of every (none when every is 0), and
// passes the rest to next.
type rowRefuser struct {
	next  http.Handler
	every int
	mu    sync.Mutex
	seen  map[string]int
	n     int
}

func (r *rowRefuser) ServeHTTP(w http.ResponseWriter, q *http.Request) {
	line := q.Header.Get(lineHeader)
	r.mu.Lock()
	r.seen[line]++
	first := r.seen[line] == 1
	n, _ := strconv.Atoi(line)
	refuse := first && r.every > 0 && n%r.every == 0
	if refuse {
		r.n++
	}
	r.mu.Unlock()
	if refuse {
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	r.next.ServeHTTP(w, q)
}

func (r *rowRefuser) refused() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}
