package sender

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulksend/bulksend/internal/testkit"
	"github.com/bulksend/bulksend/ratelimit"
	"github.com/bulksend/bulksend/sandbox"
)

// lineHeader carries a message's line to test servers and test clients.
const lineHeader = "X-Test-Line"

// sliceSource yields prepared messages in order.
type sliceSource struct {
	mu   sync.Mutex
	msgs []*Message
}

func (s *sliceSource) Next(ctx context.Context) (*Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.msgs) == 0 {
		return nil, io.EOF
	}
	m := s.msgs[0]
	s.msgs = s.msgs[1:]
	return m, nil
}

// newMessages renders n JSON messages to url, on lines 2..n+1 as under a
// CSV header, each with its own recipient.
func newMessages(n int, url string) []*Message {
	msgs := make([]*Message, n)
	for i := range msgs {
		line := i + 2
		id := fmt.Sprintf("row-%03d", i+1)
		body := fmt.Appendf(nil, `{"to":"+1555%07d","text":"hello %s"}`, i+1, id)
		msgs[i] = &Message{
			Line: line, ID: id, Recipient: fmt.Sprintf("+1555%07d", i+1),
			Method: http.MethodPost, URL: url, Body: body,
			Header: http.Header{
				"Content-Type": {"application/json"},
				lineHeader:     {strconv.Itoa(line)},
			},
			IdempotencyKey: IdempotencyKey(id, body),
		}
	}
	return msgs
}

func lineOf(r *http.Request) int {
	n, _ := strconv.Atoi(r.Header.Get(lineHeader))
	return n
}

// memJournal keeps what the engine journals and checks its order.
type memJournal struct {
	mu      sync.Mutex
	seq     int
	begins  map[int][]int     // line -> sequence numbers of Begin calls
	records map[int][]*Result // line -> every Record
	recSeq  map[int]int       // line -> sequence number of the first Record
	// failBegin, when set, is returned by Begin.
	failBegin error
}

func newMemJournal() *memJournal {
	return &memJournal{begins: make(map[int][]int), records: make(map[int][]*Result), recSeq: make(map[int]int)}
}

func (j *memJournal) Begin(m *Message) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.failBegin != nil {
		return j.failBegin
	}
	j.seq++
	j.begins[m.Line] = append(j.begins[m.Line], j.seq)
	return nil
}

func (j *memJournal) Record(r *Result) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seq++
	if _, ok := j.recSeq[r.Line]; !ok {
		j.recSeq[r.Line] = j.seq
	}
	cp := *r
	j.records[r.Line] = append(j.records[r.Line], &cp)
	return nil
}

func (j *memJournal) begun(line int) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.begins[line]) > 0
}

// result is the one result recorded for line, or nil.
func (j *memJournal) result(line int) *Result {
	j.mu.Lock()
	defer j.mu.Unlock()
	if rs := j.records[line]; len(rs) > 0 {
		return rs[len(rs)-1]
	}
	return nil
}

// results returns the recorded results in line order.
func (j *memJournal) results() []*Result {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*Result
	for _, rs := range j.records {
		out = append(out, rs...)
	}
	slices.SortFunc(out, func(a, b *Result) int { return a.Line - b.Line })
	return out
}

// check verifies the journal contract: at most one Record per line, and a
// line that made requests was begun exactly once, before its Record. It
// returns how many lines were begun but have no Record (in flight).
func (j *memJournal) check(t *testing.T) (inFlight int) {
	t.Helper()
	j.mu.Lock()
	defer j.mu.Unlock()
	for line, rs := range j.records {
		if len(rs) != 1 {
			t.Errorf("line %d recorded %d times: %v", line, len(rs), statuses(rs))
		}
		r := rs[0]
		begins := j.begins[line]
		if r.Attempts == 0 {
			if len(begins) != 0 {
				t.Errorf("line %d (%s, no request) was begun", line, r.Status)
			}
			continue
		}
		if len(begins) != 1 {
			t.Errorf("line %d (%s after %d attempts) begun %d times, want once", line, r.Status, r.Attempts, len(begins))
			continue
		}
		if begins[0] > j.recSeq[line] {
			t.Errorf("line %d recorded before it was begun", line)
		}
	}
	for line, b := range j.begins {
		if len(b) != 1 {
			t.Errorf("line %d begun %d times, want once", line, len(b))
		}
		if _, ok := j.records[line]; !ok {
			inFlight++
		}
	}
	return inFlight
}

func statuses(rs []*Result) []Status {
	out := make([]Status, len(rs))
	for i, r := range rs {
		out[i] = r.Status
	}
	return out
}

// beginCheckingClient fails the test when a request leaves before its line
// was journaled as in flight.
type beginCheckingClient struct {
	t       *testing.T
	next    Doer
	journal *memJournal
	early   atomic.Int64
}

func (c *beginCheckingClient) Do(r *http.Request) (*http.Response, error) {
	if line := lineOf(r); !c.journal.begun(line) {
		c.early.Add(1)
		c.t.Errorf("request for line %d left before Begin", line)
	}
	return c.next.Do(r)
}

// runResult is what a Run returned.
type runResult struct {
	sum *Summary
	err error
}

// runGuarded runs Run and fails the test if it does not return within
// guard: a hang is a bug, and the suite must not wait for it forever. The
// guard is far above the expected run time; nothing asserts on durations.
func runGuarded(t *testing.T, ctx context.Context, stop <-chan struct{}, cfg Config, src Source, guard time.Duration) (*Summary, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan runResult, 1)
	go func() {
		sum, err := Run(ctx, stop, cfg, src)
		done <- runResult{sum, err}
	}()
	select {
	case r := <-done:
		return r.sum, r.err
	case <-time.After(guard):
	}
	t.Errorf("Run did not return within %v: it hangs; cancelling its context", guard)
	cancel()
	select {
	case r := <-done:
		return r.sum, r.err
	case <-time.After(5 * time.Second):
		t.Fatalf("Run did not return even after its context was cancelled")
	}
	return nil, nil
}

// newClient is an HTTP client of its own, so tests do not share pooled
// connections.
func newClient(t *testing.T) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// throttleOnceServer refuses the first wave of requests together: it holds
// each of the first wave until all of them have arrived, then answers every
// one 429 with X-RateLimit-Reset-After: block, so which rows meet the 429
// does not depend on how fast a loaded machine gets them out. It keeps
// refusing until block has passed on its clock since its last such answer,
// then answers 200, recording when each accepted request arrived.
type throttleOnceServer struct {
	block time.Duration
	wave  int
	now   func() time.Time
	full  chan struct{} // closed when the whole wave has arrived

	mu           sync.Mutex
	arrived      int
	blockedUntil time.Time
	throttled    int
	accepted     []time.Time
	delivered    map[int]int
}

func newThrottleOnceServer(wave int, block time.Duration, now func() time.Time) *throttleOnceServer {
	return &throttleOnceServer{block: block, wave: wave, now: now, full: make(chan struct{}), delivered: make(map[int]int)}
}

func (s *throttleOnceServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	s.mu.Lock()
	inWave := s.arrived < s.wave
	if inWave {
		s.arrived++
		if s.arrived == s.wave {
			close(s.full)
		}
	}
	s.mu.Unlock()
	if inWave {
		select {
		case <-s.full:
		case <-r.Context().Done():
			return
		}
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if inWave || now.Before(s.blockedUntil) {
		s.throttled++
		// The client waits block from when it reads this answer, which
		// is not before now: it never comes back before blockedUntil.
		if until := now.Add(s.block); until.After(s.blockedUntil) {
			s.blockedUntil = until
		}
		w.Header().Set("X-RateLimit-Reset-After", strconv.FormatFloat(s.block.Seconds(), 'f', 3, 64))
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	s.accepted = append(s.accepted, now)
	s.delivered[lineOf(r)]++
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, `{"id":"ok"}`)
}

// remaining is how many of n messages the server has not accepted yet, and
// held how many requests of the first wave it is holding.
func (s *throttleOnceServer) remaining(n int) (left, held int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.arrived < s.wave {
		held = s.arrived
	}
	return n - len(s.accepted), held
}

// TestRunEightWorkersOneThrottle: the whole pool meets one 429 together. It
// must pause once, deliver every message once, and come back at the paced
// rate rather than as a burst. The limiter, the engine and the server share
// a fake clock that moves only when every worker with a message is asleep
// on it, so the pause and the pace are checked exactly, whatever the load.
func TestRunEightWorkersOneThrottle(t *testing.T) {
	const (
		n           = 16
		concurrency = 8
		perSecond   = 20
	)
	interval := time.Second / perSecond
	clock := testkit.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	// The pool's first requests (lines 2..9) all meet the 429, however
	// late a loaded machine gets them out.
	srv := newThrottleOnceServer(concurrency, 300*time.Millisecond, clock.Now)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	// Burst 8: the pool's first requests leave together and all meet the
	// 429; after the pause the bucket would be full again if not drained.
	lim := ratelimit.New(ratelimit.Config{Rate: ratelimit.Rate{Count: perSecond, Per: time.Second}, Burst: concurrency, Clock: clock})
	j := newMemJournal()
	cfg := Config{Client: newClient(t), Limiter: lim, Journal: j, Concurrency: concurrency, Now: clock.Now}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan runResult, 1)
	go func() {
		sum, err := Run(ctx, nil, cfg, &sliceSource{msgs: newMessages(n, ts.URL)})
		done <- runResult{sum, err}
	}()
	// Move the clock only when it is all that holds the run up: every
	// message not yet accepted is with a worker asleep in the limiter or
	// held in the first wave by the server (or, beyond the pool's size,
	// queued behind them). The limiter starts one token short, so the
	// eighth request of the wave leaves one pace after the others. The
	// limit guards against a hang; nothing is timed.
	var r runResult
	deadline := time.Now().Add(testkit.EventuallyLimit)
wait:
	for {
		select {
		case r = <-done:
			break wait
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			left, held := srv.remaining(n)
			t.Fatalf("Run did not finish: %d messages not accepted, %d held by the server, %d waiters on the clock at %v",
				left, held, clock.Pending(), clock.Now())
		}
		if left, held := srv.remaining(n); left > 0 && held+clock.Pending() == min(concurrency, left) {
			clock.AdvanceToNext()
			continue
		}
		time.Sleep(50 * time.Microsecond) // test harness polling
	}
	sum, err := r.sum, r.err
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if sum.Counts[StatusSent] != n {
		t.Errorf("sent %d of %d: %v", sum.Counts[StatusSent], n, sum.Counts)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for i := range n {
		if got := srv.delivered[i+2]; got != 1 {
			t.Errorf("line %d delivered %d times, want once", i+2, got)
		}
	}
	st := lim.Stats()
	if st.Pauses != 1 {
		t.Errorf("limiter paused %d times, want 1 for one throttle event", st.Pauses)
	}
	if srv.throttled != concurrency || st.Throttles != srv.throttled || sum.Throttled != srv.throttled {
		t.Errorf("server answered %d 429s, want %d; limiter saw %d, summary %d", srv.throttled, concurrency, st.Throttles, sum.Throttled)
	}
	for line := 2; line < 2+concurrency; line++ {
		if r := j.result(line); r == nil || r.Throttled != 1 {
			t.Errorf("line %d's result does not count its one throttle answer: %+v", line, r)
		}
	}
	j.check(t)
	if len(srv.accepted) != n {
		t.Fatalf("%d accepted, want %d", len(srv.accepted), n)
	}
	if resumed := srv.accepted[0]; resumed.Before(srv.blockedUntil) {
		t.Errorf("a request was accepted %v before the server's reset", srv.blockedUntil.Sub(resumed))
	}
	// Paced: one request per interval from the end of the pause on; a
	// burst of the refilled bucket would put up to 8 at once.
	for i := 1; i < n; i++ {
		if gap := srv.accepted[i].Sub(srv.accepted[i-1]); gap < interval-time.Microsecond {
			t.Errorf("requests %d and %d after the pause arrived %v apart, want >= %v: a burst, not paced (arrivals %v after the reset)",
				i, i+1, gap, interval, sinceEach(srv.blockedUntil, srv.accepted))
			break
		}
	}
}

// sinceEach is how long after t0 each of ts is.
func sinceEach(t0 time.Time, ts []time.Time) []time.Duration {
	d := make([]time.Duration, len(ts))
	for i, t := range ts {
		d[i] = t.Sub(t0)
	}
	return d
}

// statusServer answers every request with one status, header and body.
type statusServer struct {
	status   int
	header   http.Header
	body     string
	requests atomic.Int64
}

func (s *statusServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	s.requests.Add(1)
	for k, v := range s.header {
		w.Header()[k] = v
	}
	w.WriteHeader(s.status)
	_, _ = io.WriteString(w, s.body)
}

func TestRunStatuses(t *testing.T) {
	const maxRetries = 2
	tests := []struct {
		name         string
		status       int
		header       http.Header
		body         string
		noKey        bool
		idempotent   bool // Config.IdempotentServer
		maxWait      time.Duration
		want         Status
		wantAttempts int
		wantErrText  []string // substrings of Result.Error
		wantRunErr   error
		wantPauses   int
		wantRunText  string // in the run's error; "" means "HTTP <status>"
	}{
		{name: "2xx is sent", status: 202, body: `{"id":"m-1"}`, want: StatusSent, wantAttempts: 1},
		{name: "500 may have been processed: unknown, not resent", status: 500, want: StatusUnknown, wantAttempts: 1,
			wantErrText: []string{"HTTP 500", "not known to deduplicate"}},
		{name: "500 retried against a server that deduplicates, then unknown", status: 500, idempotent: true, want: StatusUnknown,
			wantAttempts: maxRetries + 1, wantErrText: []string{"gave up after 3 attempts", "may have reached the server", "HTTP 500"}},
		{name: "503 without a hint is transient", status: 503, want: StatusFailed, wantAttempts: maxRetries + 1,
			wantErrText: []string{"gave up after", "HTTP 503"}},
		{name: "408 may have been processed", status: 408, want: StatusUnknown, wantAttempts: 1,
			wantErrText: []string{"HTTP 408", "not resent"}},
		{name: "504 with a key the server honours is retried", status: 504, idempotent: true, want: StatusUnknown,
			wantAttempts: maxRetries + 1, wantErrText: []string{"gave up after", "HTTP 504"}},
		{name: "504 with a key the server is not known to honour is unknown", status: 504, want: StatusUnknown, wantAttempts: 1,
			wantErrText: []string{"HTTP 504", "not known to deduplicate"}},
		{name: "504 without a key is unknown, not resent", status: 504, noKey: true, idempotent: true, want: StatusUnknown,
			wantAttempts: 1, wantErrText: []string{"HTTP 504", "not resent"}},
		{name: "400 fails at once", status: 400, body: `{"message":"bad number"}`, want: StatusFailed, wantAttempts: 1,
			wantErrText: []string{"HTTP 400", "bad number"}},
		{name: "404 fails at once", status: 404, want: StatusFailed, wantAttempts: 1, wantErrText: []string{"HTTP 404"}},
		{name: "422 fails at once", status: 422, want: StatusFailed, wantAttempts: 1, wantErrText: []string{"HTTP 422"}},
		{name: "401 ends the run, row pending for resume", status: 401, want: StatusPending, wantAttempts: 1, wantRunErr: ErrAuth,
			wantErrText: []string{"not sent", "HTTP 401"}},
		{name: "403 ends the run, row pending for resume", status: 403, want: StatusPending, wantAttempts: 1, wantRunErr: ErrAuth,
			wantErrText: []string{"not sent", "HTTP 403"}},
		{name: "403 with a quota left is still the credentials", status: 403,
			header: http.Header{"X-Ratelimit-Remaining": {"4999"}, "X-Ratelimit-Reset": {"60"}}, want: StatusPending, wantAttempts: 1,
			wantRunErr: ErrAuth, wantErrText: []string{"not sent", "HTTP 403"}},
		// GitHub's rate limits answer 403 with Retry-After, or with the
		// quota spent and its reset: a throttle, which past MaxWait parks.
		{name: "403 with Retry-After is a throttle", status: 403,
			header: http.Header{"Retry-After": {"3600"}}, maxWait: time.Minute, want: StatusPending, wantAttempts: 1,
			wantRunErr: ErrParked, wantRunText: "Retry-After: 3600", wantErrText: []string{"not sent"}},
		{name: "403 with the quota spent is a throttle", status: 403,
			header: http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"3600"}}, maxWait: time.Minute, want: StatusPending, wantAttempts: 1,
			wantRunErr: ErrParked, wantRunText: "X-RateLimit-Reset: 3600", wantErrText: []string{"not sent"}},
		{name: "429 asking for more than MaxWait parks the run, row pending for resume", status: 429,
			header: http.Header{"Retry-After": {"3600"}}, maxWait: time.Minute, want: StatusPending, wantAttempts: 1,
			wantRunErr: ErrParked, wantRunText: "Retry-After: 3600", wantErrText: []string{"not sent"}},
		{name: "503 with a hint beyond MaxWait also parks", status: 503,
			header: http.Header{"X-Ratelimit-Reset-After": {"120"}}, maxWait: time.Minute, want: StatusPending, wantAttempts: 1,
			wantRunErr: ErrParked, wantRunText: "X-RateLimit-Reset-After: 120", wantErrText: []string{"not sent"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := &statusServer{status: tc.status, header: tc.header, body: tc.body}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			msgs := newMessages(1, ts.URL)
			if tc.noKey {
				msgs[0].IdempotencyKey = ""
			}
			lim := ratelimit.New(ratelimit.Config{})
			j := newMemJournal()
			cfg := Config{Client: newClient(t), Limiter: lim, Journal: j, MaxRetries: maxRetries, MaxWait: tc.maxWait,
				BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond, IdempotentServer: tc.idempotent,
				OutageGrace: -1} // a server that answers one status to everything is down, not busy
			sum, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: msgs}, 10*time.Second)
			if tc.wantRunErr == nil && err != nil {
				t.Fatalf("Run: %v", err)
			}
			if tc.wantRunErr != nil && !errors.Is(err, tc.wantRunErr) {
				t.Fatalf("Run error %v, want %v", err, tc.wantRunErr)
			}
			if got := int(srv.requests.Load()); got != tc.wantAttempts || sum.Requests != got {
				t.Errorf("server saw %d requests, summary %d; want %d", got, sum.Requests, tc.wantAttempts)
			}
			r := j.result(2)
			if want := cmp.Or(tc.wantRunText, fmt.Sprintf("HTTP %d", tc.status)); tc.wantRunErr != nil && !strings.Contains(err.Error(), want) {
				t.Errorf("run error %q does not say what the server answered", err)
			}
			if r == nil {
				t.Fatalf("no result recorded; summary %+v", sum)
			}
			if r.Status != tc.want || r.Attempts != tc.wantAttempts || r.HTTPStatus != tc.status {
				t.Errorf("result %s after %d attempts (HTTP %d), want %s after %d (HTTP %d); error %q",
					r.Status, r.Attempts, r.HTTPStatus, tc.want, tc.wantAttempts, tc.status, r.Error)
			}
			for _, s := range tc.wantErrText {
				if !strings.Contains(r.Error, s) {
					t.Errorf("error %q does not mention %q", r.Error, s)
				}
			}
			if tc.want == StatusSent && r.Error != "" {
				t.Errorf("a sent row carries an error: %q", r.Error)
			}
			if got := lim.Stats().Pauses; got != tc.wantPauses {
				t.Errorf("the limiter paused %d times, want %d", got, tc.wantPauses)
			}
			if sum.Counts[tc.want] != 1 {
				t.Errorf("summary counts %v, want one %s", sum.Counts, tc.want)
			}
			j.check(t)
		})
	}
}

// TestRunAuthFailureStopsEarly: a 401 means every further row would fail the
// same way, so the run ends rather than burning through the file.
func TestRunAuthFailureStopsEarly(t *testing.T) {
	const n, concurrency = 50, 4
	srv := &statusServer{status: http.StatusUnauthorized, body: `{"message":"invalid token"}`}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	j := newMemJournal()
	cfg := Config{Client: newClient(t), Journal: j, Concurrency: concurrency}
	sum, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: newMessages(n, ts.URL)}, 10*time.Second)
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("Run error %v, want ErrAuth", err)
	}
	if !strings.Contains(err.Error(), "401") {
		t.Errorf("error %q does not say what the server answered", err)
	}
	if got := srv.requests.Load(); got > concurrency {
		t.Errorf("%d requests after an auth failure, want at most the %d in flight", got, concurrency)
	}
	wantEveryRowOnce(t, j, sum, n)
	if got := sum.Counts[StatusPending]; got != n {
		t.Errorf("%d rows pending, want all %d: a 401 proves the server took none", got, n)
	}
}

// wantEveryRowOnce checks what a run that exits must leave, stopped early
// or not: one result for each of the n rows (lines 2..n+1), none left in
// flight, and a summary that counts every row.
func wantEveryRowOnce(t *testing.T, j *memJournal, sum *Summary, n int) {
	t.Helper()
	if inFlight := j.check(t); inFlight != 0 || sum.Unfinished != 0 {
		t.Errorf("%d rows left in flight (summary: %d unfinished), want none", inFlight, sum.Unfinished)
	}
	for line := 2; line < n+2; line++ {
		if j.result(line) == nil {
			t.Errorf("line %d has no result", line)
		}
	}
	total := 0
	for _, c := range sum.Counts {
		total += c
	}
	if sum.Read != n || total != n || sum.Unread {
		t.Errorf("summary read %d rows (unread %v), counts %d (%v); want %d", sum.Read, sum.Unread, total, sum.Counts, n)
	}
}

// failingServer fails (400) the lines fail says, and accepts the others.
type failingServer struct {
	fail     func(line int) bool
	requests atomic.Int64
}

func (s *failingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	s.requests.Add(1)
	if s.fail(lineOf(r)) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"message":"invalid recipient"}`)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func TestRunMaxErrors(t *testing.T) {
	const n, concurrency = 60, 4
	tests := []struct {
		name        string
		fail        func(line int) bool
		maxErrors   int
		share       float64
		minFailures int // failures settled before the stop
	}{
		{"count", func(int) bool { return true }, 5, 0, 5},
		{"share of recent results", func(line int) bool { return line%4 != 0 }, 0, 0.5, minErrorSample / 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := &failingServer{fail: tc.fail}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			j := newMemJournal()
			cfg := Config{Client: newClient(t), Journal: j, Concurrency: concurrency, MaxErrors: tc.maxErrors, MaxErrorShare: tc.share}
			sum, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: newMessages(n, ts.URL)}, 10*time.Second)
			if !errors.Is(err, ErrMaxErrors) {
				t.Fatalf("Run error %v, want ErrMaxErrors", err)
			}
			if tc.maxErrors > 0 {
				// It stops dispatching at N and says how many more failed
				// among the requests already on the wire.
				want := fmt.Sprintf("stopped after %d failed rows; %d more failed among the requests already in flight",
					tc.maxErrors, sum.Counts[StatusFailed]-tc.maxErrors)
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q, want it to say %q", err, want)
				}
			}
			if sum.Counts[StatusFailed] < tc.minFailures {
				t.Errorf("stopped after %d failures, want at least %d", sum.Counts[StatusFailed], tc.minFailures)
			}
			// Rows still in flight when the limit is reached finish; no new
			// ones start.
			settled := sum.Counts[StatusFailed] + sum.Counts[StatusSent]
			if limit := max(tc.maxErrors, minErrorSample) + concurrency - 1; settled > limit {
				t.Errorf("%d rows settled, want at most %d", settled, limit)
			}
			if got := int(srv.requests.Load()); got != sum.Requests || got != settled {
				t.Errorf("server saw %d requests, summary %d, settled rows %d", got, sum.Requests, settled)
			}
			if got := sum.Counts[StatusPending]; got != n-settled || got == 0 {
				t.Errorf("%d rows pending, want the %d never attempted", got, n-settled)
			}
			wantEveryRowOnce(t, j, sum, n)
		})
	}
}

// TestRunEarlierFailuresDoNotCountTowardMaxErrors: rows an earlier run
// already failed (--resume without --retry-failed) are counted in the
// summary, but they are not failures of this run. Counting them would stop
// every resumed run of a file with --max-errors N at once, before it sends
// anything, once N rows failed earlier.
func TestRunEarlierFailuresDoNotCountTowardMaxErrors(t *testing.T) {
	srv := &failingServer{fail: func(int) bool { return false }}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	msgs := newMessages(8, ts.URL)
	for _, m := range msgs[:3] {
		m.Earlier = StatusFailed
	}
	j := newMemJournal()
	cfg := Config{Client: newClient(t), Journal: j, MaxErrors: 2}
	sum, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: msgs}, 10*time.Second)
	if err != nil {
		t.Errorf("Run: %v, want the 5 new rows sent", err)
	}
	if sum.Counts[StatusSent] != 5 || srv.requests.Load() != 5 {
		t.Errorf("sent %d (server saw %d requests), want 5; counts %v", sum.Counts[StatusSent], srv.requests.Load(), sum.Counts)
	}
	if sum.Counts[StatusFailed] != 3 || sum.Earlier != 3 {
		t.Errorf("counts %v, earlier %d; want the 3 earlier failures counted as such", sum.Counts, sum.Earlier)
	}
}

// gateLimiter lets open requests through, then holds every later Wait until
// its context ends, as a long pause would; it reports when that happened.
type gateLimiter struct {
	open      int64
	waits     atomic.Int64
	holding   atomic.Int64
	cancelled chan struct{}
	once      sync.Once
}

func (g *gateLimiter) Wait(ctx context.Context) error {
	if g.waits.Add(1) <= g.open {
		return nil
	}
	g.holding.Add(1)
	<-ctx.Done()
	g.once.Do(func() { close(g.cancelled) })
	return ctx.Err()
}

func (g *gateLimiter) Throttle(time.Time, time.Duration, bool) time.Duration { return 0 }
func (g *gateLimiter) Success(time.Time, ratelimit.Quota, bool)              {}

// blockingServer holds every request until release is closed.
type blockingServer struct {
	arrived  chan int
	release  chan struct{}
	requests atomic.Int64
}

func (s *blockingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	s.requests.Add(1)
	s.arrived <- lineOf(r)
	select {
	case <-s.release:
		w.WriteHeader(http.StatusOK)
	case <-r.Context().Done():
	}
}

func TestRunStop(t *testing.T) {
	const n, onWire = 30, 4
	tests := []struct {
		name string
		// hard cancels ctx instead of closing stop: requests on the wire
		// are aborted rather than finished.
		hard        bool
		wantSent    int
		wantUnknown int
	}{
		{"stop drains requests on the wire", false, onWire, 0},
		{"context cancel aborts them, and they may have arrived", true, 0, onWire},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := &blockingServer{arrived: make(chan int, n), release: make(chan struct{})}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			release := sync.OnceFunc(func() { close(srv.release) })
			defer release()
			// One worker more than the requests let through: it waits in the
			// limiter when the stop comes.
			lim := &gateLimiter{open: onWire, cancelled: make(chan struct{})}
			j := newMemJournal()
			cfg := Config{Client: newClient(t), Limiter: lim, Journal: j, Concurrency: onWire + 1, ReadToEnd: true}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stop := make(chan struct{})
			done := make(chan runResult, 1)
			go func() {
				sum, err := Run(ctx, stop, cfg, &sliceSource{msgs: newMessages(n, ts.URL)})
				done <- runResult{sum, err}
			}()
			for range onWire {
				select {
				case <-srv.arrived:
				case <-time.After(10 * time.Second):
					t.Fatal("requests did not arrive")
				}
			}
			deadline := time.Now().Add(10 * time.Second)
			for lim.holding.Load() == 0 && time.Now().Before(deadline) {
				time.Sleep(100 * time.Microsecond)
			}
			if tc.hard {
				cancel()
			} else {
				close(stop)
				// The engine has taken the stop once it gives up the job
				// waiting in the limiter; only then let the server answer.
				select {
				case <-lim.cancelled:
				case <-time.After(10 * time.Second):
					t.Fatal("the job waiting in the limiter was not abandoned after stop")
				}
				release()
			}
			var r runResult
			select {
			case r = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after the stop")
			}
			if !errors.Is(r.err, ErrInterrupted) {
				t.Errorf("Run error %v, want ErrInterrupted", r.err)
			}
			if got := srv.requests.Load(); got != onWire {
				t.Errorf("server saw %d requests, want the %d on the wire and none after the stop", got, onWire)
			}
			c := r.sum.Counts
			if c[StatusSent] != tc.wantSent || c[StatusUnknown] != tc.wantUnknown || c[StatusPending] != n-onWire {
				t.Errorf("counts %v; want %d sent, %d unknown, %d pending", c, tc.wantSent, tc.wantUnknown, n-onWire)
			}
			wantEveryRowOnce(t, j, r.sum, n)
		})
	}
}

// stallingRows is a RowReader whose input stops arriving after a few rows,
// as a pipe from a slow producer does; it ends only when closed.
type stallingRows struct {
	n       int
	read    int
	closed  chan struct{}
	stalled chan struct{}
	once    sync.Once
}

func (r *stallingRows) Next() (Row, error) {
	if r.read < r.n {
		r.read++
		return Row{Line: r.read + 1, Fields: map[string]string{"id": strconv.Itoa(r.read)}}, nil
	}
	r.once.Do(func() { close(r.stalled) })
	<-r.closed
	return Row{}, io.EOF
}

type urlBuilder string

func (u urlBuilder) Build(row Row) *Message {
	return &Message{Line: row.Line, ID: row.Fields["id"], Method: http.MethodPost, URL: string(u),
		Header: http.Header{lineHeader: {strconv.Itoa(row.Line)}}}
}

// TestRunStopWhileInputStalls: Ctrl-C while the input (stdin from a slow
// producer) has nothing to read must still end the run promptly.
func TestRunStopWhileInputStalls(t *testing.T) {
	srv := &failingServer{fail: func(int) bool { return false }}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	rows := &stallingRows{n: 3, closed: make(chan struct{}), stalled: make(chan struct{})}
	unstall := sync.OnceFunc(func() { close(rows.closed) })
	defer unstall()
	stop := make(chan struct{})
	done := make(chan runResult, 1)
	go func() {
		sum, err := Run(context.Background(), stop, Config{Client: newClient(t)}, NewSource(rows, urlBuilder(ts.URL), SourceOptions{}))
		done <- runResult{sum, err}
	}()
	<-rows.stalled
	testkit.Eventually(t, "the rows read to be sent", func() bool { return srv.requests.Load() == 3 })
	close(stop)
	select {
	case r := <-done:
		if !errors.Is(r.err, ErrInterrupted) {
			t.Errorf("Run error %v, want ErrInterrupted", r.err)
		}
		// The rows read have their results; the summary says the rest of
		// the input was never read, so nobody takes it for complete.
		if r.sum.Read != 3 || r.sum.Counts[StatusSent] != 3 || !r.sum.Unread {
			t.Errorf("read %d, counts %v, unread %v; want 3 read and sent, the rest unread", r.sum.Read, r.sum.Counts, r.sum.Unread)
		}
	case <-time.After(testkit.EventuallyLimit): // a hang guard, not a duration: without the fix it waits for ever
		t.Errorf("Run did not return after stop while the input had nothing to read")
		unstall()
		<-done
	}
}

// TestRunUnreachable: a server no request reaches ends the run with
// ErrUnreachable once the first rows prove it, whatever the number of
// rows, leaving the rows in flight for --resume; a server that answered
// once is an outage, not unreachable.
func TestRunUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close() // nothing listens: every connection is refused
	untrusted := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer untrusted.Close()
	tests := []struct {
		name string
		url  string
		rows int
	}{
		{"refused, two rows", closed, 2},
		{"refused, three hundred rows", closed, 300},
		{"untrusted certificate", untrusted.URL, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newMemJournal()
			cfg := Config{Client: newClient(t), Journal: j, Concurrency: 4,
				BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond}
			sum, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: newMessages(tt.rows, tt.url)}, 10*time.Second)
			if !errors.Is(err, ErrUnreachable) {
				t.Fatalf("Run error %v, want ErrUnreachable", err)
			}
			if sum.Counts[StatusFailed] != 0 {
				t.Errorf("%d rows failed; rows the server never got stay for --resume", sum.Counts[StatusFailed])
			}
			if sum.Requests > 2*(DefaultRetryBudget+DefaultMaxRetries+4) {
				t.Errorf("%d requests to a server that cannot be reached", sum.Requests)
			}
			if inFlight := j.check(t); inFlight != sum.Unfinished {
				t.Errorf("journal has %d rows in flight, summary says %d unfinished", inFlight, sum.Unfinished)
			}
		})
	}
}

// limit503Server is nginx's limit_req as configured by default: a bucket
// that answers 503, with no wait hint, to what it refuses.
type limit503Server struct {
	mu       sync.Mutex
	tokens   float64
	last     time.Time
	refused  atomic.Int64
	accepted atomic.Int64
}

func (s *limit503Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	const burst, perSecond = 5, 200
	s.mu.Lock()
	now := time.Now()
	if s.last.IsZero() {
		s.tokens = burst
	}
	s.tokens = min(burst, s.tokens+now.Sub(s.last).Seconds()*perSecond)
	s.last = now
	ok := s.tokens >= 1
	if ok {
		s.tokens--
	}
	s.mu.Unlock()
	if !ok {
		s.refused.Add(1)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "<html><head><title>503 Service Temporarily Unavailable</title></head></html>")
		return
	}
	s.accepted.Add(1)
	_, _ = io.WriteString(w, `{"id":"ok"}`)
}

// TestRunBusy503: a 503 without a wait hint from a server that takes other
// requests is its rate limit (nginx's limit_req answers so by default):
// flow control, which spends no retry budget, so the run delivers every
// row; a server that answers nothing but such 503s for longer than
// OutageGrace is down, and the run ends with ErrOutage as before.
func TestRunBusy503(t *testing.T) {
	t.Run("a rate limit", func(t *testing.T) {
		const n = 80
		srv := &limit503Server{}
		ts := httptest.NewServer(srv)
		defer ts.Close()
		j := newMemJournal()
		cfg := Config{Client: newClient(t), Limiter: ratelimit.New(ratelimit.Config{}), Journal: j, Concurrency: 4,
			BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond}
		sum, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: newMessages(n, ts.URL)}, 10*time.Second)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if srv.refused.Load() == 0 {
			t.Fatal("the server refused nothing: the test tests nothing")
		}
		if sum.Counts[StatusSent] != n || srv.accepted.Load() != n {
			t.Errorf("counts %v, server accepted %d; want all %d sent once", sum.Counts, srv.accepted.Load(), n)
		}
		if sum.Retries != 0 {
			t.Errorf("%d retries: a busy server's 503 is flow control, not a failure", sum.Retries)
		}
		throttled := 0
		for _, r := range j.results() {
			throttled += r.Throttled
		}
		if int64(throttled) != srv.refused.Load() {
			t.Errorf("rows count %d throttles, the server refused %d", throttled, srv.refused.Load())
		}
		wantEveryRowOnce(t, j, sum, n)
	})
	t.Run("an outage past the grace", func(t *testing.T) {
		const n = 20
		srv := &statusServer{status: http.StatusServiceUnavailable, body: `{"message":"down"}`}
		ts := httptest.NewServer(srv)
		defer ts.Close()
		j := newMemJournal()
		cfg := Config{Client: newClient(t), Limiter: ratelimit.New(ratelimit.Config{}), Journal: j, Concurrency: 4,
			MaxRetries: 1000, BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond, OutageGrace: 50 * time.Millisecond}
		sum, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: newMessages(n, ts.URL)}, 10*time.Second)
		if !errors.Is(err, ErrOutage) {
			t.Fatalf("Run error %v, want ErrOutage", err)
		}
		if sum.Counts[StatusPending] != n {
			t.Errorf("counts %v, want every row pending: a 503 proves the server took none", sum.Counts)
		}
		wantEveryRowOnce(t, j, sum, n)
	})
}

func TestRunOutageSpendsRetryBudget(t *testing.T) {
	const n, concurrency = 40, 4
	srv := &statusServer{status: http.StatusServiceUnavailable, body: `{"message":"down"}`}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	j := newMemJournal()
	cfg := Config{Client: newClient(t), Journal: j, Concurrency: concurrency, MaxRetries: 1000,
		BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond, OutageGrace: -1}
	sum, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: newMessages(n, ts.URL)}, 10*time.Second)
	if !errors.Is(err, ErrOutage) {
		t.Fatalf("Run error %v, want ErrOutage", err)
	}
	if !strings.Contains(err.Error(), "HTTP 503") {
		t.Errorf("error %q does not say what the server answered", err)
	}
	// The budget allows DefaultRetryBudget retries; the next one ends the
	// run, and the requests already on the wire finish.
	got := int(srv.requests.Load())
	if lo, hi := DefaultRetryBudget+1, DefaultRetryBudget+1+concurrency+concurrency; got < lo || got > hi {
		t.Errorf("server saw %d requests, want %d..%d", got, lo, hi)
	}
	if sum.Requests != got {
		t.Errorf("summary counts %d requests, server saw %d", sum.Requests, got)
	}
	if sum.Counts[StatusFailed] != 0 {
		t.Errorf("%d rows marked failed; an outage leaves them for --resume", sum.Counts[StatusFailed])
	}
	if sum.Counts[StatusPending] != n {
		t.Errorf("counts %v, want every row pending: a 503 proves the server took none", sum.Counts)
	}
	wantEveryRowOnce(t, j, sum, n)
}

func TestRunFaultMixWithSandbox(t *testing.T) {
	const n = 300
	tests := []struct {
		name          string
		noIdempotency bool
	}{
		{"with a server that deduplicates", false},
		{"with a server not known to deduplicate", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sb, err := sandbox.New(sandbox.Config{FailRate: 0.1, CutBefore: 0.05, CutAfter: 0.05, Seed: 42})
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(sb)
			defer ts.Close()
			j := newMemJournal()
			client := &beginCheckingClient{t: t, next: newClient(t), journal: j}
			cfg := Config{
				Client: client, Journal: j, Concurrency: 8, IdempotentServer: !tc.noIdempotency,
				// Enough retries that no row runs out of them (0.2^11), and
				// the budget off: with 20% of requests failing the default
				// budget (20, +0.2 a success) runs dry around row 400.
				MaxRetries: 10, RetryBudget: -1,
				BackoffBase: time.Millisecond, BackoffMax: 4 * time.Millisecond,
			}
			sum, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: newMessages(n, ts.URL+"/send")}, 15*time.Second)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			st := sb.Stats()
			if st.Failed == 0 || st.CutBefore == 0 || st.CutAfter == 0 {
				t.Fatalf("the sandbox injected too few faults to test anything: %+v", st)
			}
			if st.Duplicates != 0 {
				t.Errorf("the sandbox saw %d duplicate deliveries", st.Duplicates)
			}
			if inFlight := j.check(t); inFlight != 0 || sum.Unfinished != 0 {
				t.Errorf("%d rows left in flight (summary %d)", inFlight, sum.Unfinished)
			}
			if got := len(j.results()); got != n {
				t.Errorf("journal has %d results, want %d", got, n)
			}
			if !tc.noIdempotency {
				if sum.Counts[StatusSent] != n || st.Distinct != n {
					t.Errorf("sent %d, sandbox delivered %d distinct; want %d (counts %v)", sum.Counts[StatusSent], st.Distinct, n, sum.Counts)
				}
				return
			}
			// Against a server not known to deduplicate, a request cut
			// after it left may have been delivered (the sandbox's
			// cut-after) or not (cut-before), and so may one answered by a
			// 500 or 502: the client cannot tell, so all end unknown and
			// are never resent. A 503 says the server did not take it.
			unknown := sum.Counts[StatusUnknown]
			if lo, hi := int(st.CutBefore+st.CutAfter), int(st.CutBefore+st.CutAfter+st.Failed); unknown < lo || unknown > hi {
				t.Errorf("%d rows unknown, want one per cut connection or 5xx but 503 (%d..%d)", unknown, lo, hi)
			}
			if sum.Counts[StatusSent] != n-unknown || sum.Counts[StatusFailed] != 0 {
				t.Errorf("counts %v: want every row sent but the %d unknown", sum.Counts, unknown)
			}
			if want := int64(sum.Counts[StatusSent]) + st.CutAfter; st.Distinct != want {
				t.Errorf("sandbox delivered %d distinct, want sent + cut-after = %d", st.Distinct, want)
			}
			// Only 503s were sent again (a row may meet a 503 and then a
			// cut, so count the extra attempts of every row): as throttles,
			// since the server took other requests meanwhile (TestRunBusy503).
			retried, throttled := 0, 0
			for _, r := range j.results() {
				retried += r.Attempts - 1
				throttled += r.Throttled
				if r.Status == StatusUnknown && !strings.Contains(r.Error, "not known to deduplicate") {
					t.Errorf("line %d unknown with reason %q, want it to say why it is not resent", r.Line, r.Error)
				}
			}
			if sum.Retries+throttled != retried || int64(retried)+int64(unknown)-st.CutBefore-st.CutAfter != st.Failed {
				t.Errorf("sandbox injected %d 5xx; engine retried %d and was throttled %d times, rows made %d extra attempts, %d unknown",
					st.Failed, sum.Retries, throttled, retried, unknown)
			}
		})
	}
}

// recordingServer records the order in which lines arrive.
type recordingServer struct {
	mu    sync.Mutex
	order []int
}

func (s *recordingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	s.mu.Lock()
	s.order = append(s.order, lineOf(r))
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func TestRunRecipientInterval(t *testing.T) {
	const interval = 400 * time.Millisecond
	tests := []struct {
		name        string
		concurrency int
	}{
		{"one worker", 1},
		{"four workers", 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := &recordingServer{}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			msgs := newMessages(6, ts.URL)
			// Lines 2 and 3 go to one recipient; 4..7 to others.
			msgs[1].Recipient = msgs[0].Recipient
			j := newMemJournal()
			cfg := Config{Client: newClient(t), Journal: j, Concurrency: tc.concurrency, RecipientInterval: interval}
			sum, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: msgs}, testkit.EventuallyLimit)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if sum.Counts[StatusSent] != 6 {
				t.Fatalf("sent %d of 6: %v", sum.Counts[StatusSent], sum.Counts)
			}
			first, second := j.result(2), j.result(3)
			if gap := second.SentAt.Sub(first.SentAt); gap < interval {
				t.Errorf("two messages to one recipient sent %v apart, want >= %v", gap, interval)
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if last := srv.order[len(srv.order)-1]; last != 3 {
				t.Errorf("arrival order %v: other recipients were held up behind the second message to line 2's recipient", srv.order)
			}
		})
	}
}

func TestRunSettlesRowsWithoutRequests(t *testing.T) {
	srv := &statusServer{status: http.StatusOK}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	msgs := newMessages(7, ts.URL)
	msgs[1].Invalid = errors.New(`column "to": empty`)
	msgs[2].Skip, msgs[2].Reason = StatusDuplicate, `id "row-001" already used on line 2`
	msgs[3].Skip, msgs[3].Reason = StatusSkipped, "another shard's row"
	msgs[4].Earlier = StatusSent
	msgs[5].Earlier = StatusFailed
	j := newMemJournal()
	progress := new(Progress)
	sum, err := runGuarded(t, context.Background(), nil, Config{Client: newClient(t), Journal: j, Progress: progress},
		&sliceSource{msgs: msgs}, 10*time.Second)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := srv.requests.Load(); got != 2 || sum.Requests != 2 {
		t.Errorf("server saw %d requests (summary %d), want 2: only lines 2 and 8 are sendable", got, sum.Requests)
	}
	want := map[Status]int{StatusSent: 3, StatusInvalid: 1, StatusDuplicate: 1, StatusSkipped: 1, StatusFailed: 1}
	for st, n := range want {
		if sum.Counts[st] != n {
			t.Errorf("counts %v, want %v", sum.Counts, want)
			break
		}
	}
	if sum.Read != 7 || sum.Earlier != 2 {
		t.Errorf("read %d, earlier %d; want 7 and 2", sum.Read, sum.Earlier)
	}
	if got := progress.Done.Load(); got != 7 {
		t.Errorf("progress done %d, want 7", got)
	}
	rows := []struct {
		line      int
		status    Status
		errText   string
		journaled bool
	}{
		{2, StatusSent, "", true},
		{3, StatusInvalid, `column "to": empty`, true},
		{4, StatusDuplicate, `already used on line 2`, true},
		{5, StatusSkipped, "another shard's row", true},
		{6, "", "", false}, // settled by an earlier run: not written again
		{7, "", "", false},
		{8, StatusSent, "", true},
	}
	for _, row := range rows {
		r := j.result(row.line)
		if !row.journaled {
			if r != nil {
				t.Errorf("line %d (earlier run) written again: %+v", row.line, r)
			}
			continue
		}
		if r == nil {
			t.Errorf("line %d not recorded", row.line)
			continue
		}
		if r.Status != row.status || !strings.Contains(r.Error, row.errText) || r.ID == "" {
			t.Errorf("line %d: %s %q (id %q), want %s %q", row.line, r.Status, r.Error, r.ID, row.status, row.errText)
		}
		if row.status != StatusSent && (r.Attempts != 0 || j.begun(row.line)) {
			t.Errorf("line %d (%s) was begun or attempted", row.line, r.Status)
		}
	}
	j.check(t)
}

func TestRunJournalFailureEndsRun(t *testing.T) {
	srv := &statusServer{status: http.StatusOK}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	diskFull := errors.New("no space left on device")
	j := newMemJournal()
	j.failBegin = diskFull
	_, err := runGuarded(t, context.Background(), nil, Config{Client: newClient(t), Journal: j},
		&sliceSource{msgs: newMessages(20, ts.URL)}, 10*time.Second)
	if !errors.Is(err, diskFull) {
		t.Errorf("Run error %v, want the journal's", err)
	}
	if got := srv.requests.Load(); got != 0 {
		t.Errorf("%d requests left without being journaled as in flight", got)
	}
}

// TestTimeout: a request the server never answers is cut at Config.Timeout.
// With an idempotency key it is retried and delivered; without one it may
// have reached the server, so it ends unknown, saying it timed out. The
// worker's reused timer must not cut the next, answered, request.
//
// The timeout is a real one, so it is far above what an answered request
// takes on a loaded machine under -race (a 50ms one cut answered requests
// there): only the request that hangs may reach it.
func TestTimeout(t *testing.T) {
	const timeout = 2 * time.Second
	for _, keyed := range []bool{true, false} {
		t.Run(fmt.Sprintf("keyed=%v", keyed), func(t *testing.T) {
			t.Parallel() // each waits out one timeout
			release := make(chan struct{})
			defer close(release)
			var calls atomic.Int32
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				if calls.Add(1) == 1 {
					select { // hang until the client gives up, or the test ends
					case <-r.Context().Done():
					case <-release:
					}
					return
				}
				_, _ = io.WriteString(w, `{"id":"m"}`)
			}))
			defer ts.Close()
			msgs := newMessages(3, ts.URL)
			if !keyed {
				for _, m := range msgs {
					m.IdempotencyKey = ""
				}
			}
			j := newMemJournal()
			cfg := Config{Client: newClient(t), Journal: j, Concurrency: 1, Timeout: timeout,
				BackoffBase: time.Millisecond, BackoffMax: time.Millisecond, IdempotentServer: true}
			sum, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: msgs}, 30*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			first := j.result(2)
			switch {
			case keyed && (first.Status != StatusSent || first.Attempts != 2):
				t.Errorf("line 2 = %s after %d attempts, want sent after 2", first.Status, first.Attempts)
			case !keyed && (first.Status != StatusUnknown || !strings.Contains(first.Error, "timed out")):
				t.Errorf("line 2 = %s (%s), want unknown, timed out", first.Status, first.Error)
			}
			for _, line := range []int{3, 4} {
				if r := j.result(line); r.Status != StatusSent || r.Attempts != 1 {
					t.Errorf("line %d = %s after %d attempts, want sent at once", line, r.Status, r.Attempts)
				}
			}
			if sum.Requests != 3+btoi(keyed) {
				t.Errorf("%d requests, want %d", sum.Requests, 3+btoi(keyed))
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestRedirectNotFollowed: with RoundTripDoer a 302 is the row's answer,
// never a GET of the Location that would answer 200 and deliver nothing.
func TestRedirectNotFollowed(t *testing.T) {
	var elsewhere atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/send", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
	})
	ts := httptest.NewServer(mux)
	defer ts.Close()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	j := newMemJournal()
	cfg := Config{Client: RoundTripDoer{tr}, Journal: j, Concurrency: 1}
	if _, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: newMessages(1, ts.URL+"/send")}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	r := j.result(2)
	if r.Status != StatusFailed || r.HTTPStatus != http.StatusFound || !strings.Contains(r.Error, "redirect to /elsewhere not followed") {
		t.Errorf("result = %s, HTTP %d, %q; want failed, 302, naming the Location", r.Status, r.HTTPStatus, r.Error)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the redirect was followed %d times", n)
	}
}

// TestRoundTripDoerUserinfo: credentials in the URL still become Basic
// auth, as they did through http.Client, unless an Authorization header is
// set.
func TestRoundTripDoerUserinfo(t *testing.T) {
	ts := testkit.NewServer(t, nil)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	for _, tt := range []struct {
		name, header, want string
	}{
		{"from the URL", "", "Basic dXNlcjpwYXNz"}, // user:pass
		{"header wins", "Bearer tok", "Bearer tok"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, strings.Replace(ts.URL, "http://", "http://user:pass@", 1), nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := RoundTripDoer{tr}.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			reqs := ts.Requests()
			if a := reqs[len(reqs)-1].Header.Get("Authorization"); a != tt.want {
				t.Errorf("Authorization = %q, want %q", a, tt.want)
			}
		})
	}
}

// TestRunDetail: Config.Detail reads a 2xx answer and its value reaches
// the Result; a refused message carries none.
func TestRunDetail(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   any
	}{
		{name: "2xx read", status: 200, body: `{"status":"delivered"}`, want: `200 {"status":"delivered"}`},
		{name: "4xx not read", status: 404, body: `{"message":"no such message"}`, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(&statusServer{status: tc.status, body: tc.body})
			defer ts.Close()
			j := newMemJournal()
			cfg := Config{Client: newClient(t), Journal: j, Detail: func(status int, body []byte) any {
				return fmt.Sprintf("%d %s", status, body)
			}}
			if _, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: newMessages(1, ts.URL)}, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			if r := j.result(2); r == nil || r.Detail != tc.want {
				t.Errorf("result %+v, want detail %v", r, tc.want)
			}
		})
	}
}
