package sender

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// scriptedDoer answers each request with the next of its answers, in
// order, without a network: the test decides exactly what the server said.
// Requests to paths starting with /lookup/ take from lookups, the others
// from sends; the last answer repeats.
type scriptedDoer struct {
	mu             sync.Mutex
	sends, lookups []scripted
	nSend, nLookup int
	// progress, when set, is read at each lookup: settling is the most
	// rows Progress.Settling counted then.
	progress *Progress
	settling int64
}

// scripted is one answer: a status with headers, or a transport error.
type scripted struct {
	status int
	header http.Header
	err    error
}

func (d *scriptedDoer) Do(r *http.Request) (*http.Response, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var a scripted
	if strings.HasPrefix(r.URL.Path, "/lookup/") {
		if d.progress != nil {
			d.settling = max(d.settling, d.progress.Settling.Load())
		}
		a = d.lookups[min(d.nLookup, len(d.lookups)-1)]
		d.nLookup++
	} else {
		a = d.sends[min(d.nSend, len(d.sends)-1)]
		d.nSend++
	}
	if a.err != nil {
		return nil, a.err
	}
	h := a.header
	if h == nil {
		h = http.Header{}
	}
	return &http.Response{StatusCode: a.status, Header: h, Body: io.NopCloser(strings.NewReader(`{"id":"m-1"}`)), Request: r}, nil
}

// refusedErr is a connection the server refused: proof it took nothing.
var refusedErr = &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}

func says(status int, kv ...string) scripted {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return scripted{status: status, header: h}
}

// TestRunRowThatMayHaveArrived: a row an earlier run may have delivered
// (Message.MayHaveArrived), resent because the server deduplicates or the
// user accepted the risk (--resend-unknown), ends sent or unknown whatever
// the resend meets: never failed or pending, which a later --retry-failed
// or --resume would send blind. The same answers to a fresh row (wantFresh)
// show what the mark changes. Only a lookup that says the message is
// absent clears it.
func TestRunRowThatMayHaveArrived(t *testing.T) {
	const maxRetries = 2
	tests := []struct {
		name             string
		sends, lookups   []scripted
		settle           bool // looked up first (Message.Settle with a Lookup)
		wantFresh, want  Status
		wantErr          error
		wantSends, wantL int
	}{
		{name: "accepted: sent", sends: []scripted{says(200)},
			wantFresh: StatusSent, want: StatusSent, wantSends: 1},
		{name: "refused for good (400): unknown, the first send may have arrived", sends: []scripted{says(400)},
			wantFresh: StatusFailed, want: StatusUnknown, wantSends: 1},
		{name: "503 until its retries run out: unknown", sends: []scripted{says(503)},
			wantFresh: StatusFailed, want: StatusUnknown, wantSends: maxRetries + 1},
		{name: "connection refused every time: unknown", sends: []scripted{{err: refusedErr}},
			wantFresh: StatusPending, want: StatusUnknown, wantErr: ErrUnreachable, wantSends: maxRetries + 1},
		{name: "429 past --max-wait parks: unknown", sends: []scripted{says(429, "Retry-After", "86400")},
			wantFresh: StatusPending, want: StatusUnknown, wantErr: ErrParked, wantSends: 1},
		{name: "credentials refused: unknown", sends: []scripted{says(401)},
			wantFresh: StatusPending, want: StatusUnknown, wantErr: ErrAuth, wantSends: 1},
		{name: "a lookup says absent, then refused for good: failed", settle: true,
			lookups: []scripted{says(404)}, sends: []scripted{says(400)},
			wantFresh: StatusFailed, want: StatusFailed, wantSends: 1, wantL: 1},
		{name: "a lookup says absent, then parked: pending", settle: true,
			lookups: []scripted{says(404)}, sends: []scripted{says(429, "Retry-After", "86400")},
			wantFresh: StatusPending, want: StatusPending, wantErr: ErrParked, wantSends: 1, wantL: 1},
	}
	for _, tt := range tests {
		for _, maybe := range []bool{false, true} {
			name := tt.name + "/fresh"
			want := tt.wantFresh
			if maybe {
				name, want = tt.name+"/may have arrived", tt.want
			}
			t.Run(name, func(t *testing.T) {
				doer := &scriptedDoer{sends: tt.sends, lookups: tt.lookups}
				clock := &fakeNow{t: time.Date(2026, 3, 7, 10, 0, 0, 0, time.UTC)}
				m := newMessages(1, "http://bulksend.test/send")[0]
				m.MayHaveArrived = maybe
				if tt.settle {
					m.Settle, m.Lookup = true, &Lookup{URL: "http://bulksend.test/lookup/row-001"}
					// Sent an hour before: absent is trusted at once (a recent
					// or unknown sent_at waits --timeout; the clock is frozen).
					m.Since = clock.t.Add(-time.Hour)
				}
				j := newMemJournal()
				progress := new(Progress)
				cfg := Config{Client: doer, Journal: j, Limiter: new(waitCountingLimiter), Concurrency: 1, Progress: progress,
					MaxRetries: maxRetries, RetryBudget: -1, Now: clock.now, Rand: func() float64 { return 0 },
					// A 503 here is a failure, not a busy server's limit (TestRunBusy503).
					OutageGrace: -1}
				_, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: []*Message{m}}, 10*time.Second)
				if (tt.wantErr == nil) != (err == nil) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
					t.Errorf("Run: %v, want %v", err, tt.wantErr)
				}
				r := j.result(2)
				if r == nil || r.Status != want {
					t.Fatalf("result %+v, want %s", r, want)
				}
				if doer.nSend != tt.wantSends || doer.nLookup != tt.wantL {
					t.Errorf("%d sends and %d lookups, want %d and %d", doer.nSend, doer.nLookup, tt.wantSends, tt.wantL)
				}
				if n := progress.Settling.Load(); n != 0 {
					t.Errorf("Progress.Settling is %d after the run, want 0", n)
				}
				j.check(t)
			})
		}
	}
}

// TestLookupObeysMaxWait: a lookup meets the same park and --max-wait
// rules as a send. A throttle asking for longer than MaxWait, or an answer
// saying the quota is spent until then, parks the run; the row, not
// settled, stays unknown, so a later --resume looks it up again: it is
// never sent, never taken for sent. A shorter throttle pauses the pool and
// the lookup is asked again, not counted as a lookup that failed.
func TestLookupObeysMaxWait(t *testing.T) {
	const maxRetries = 1
	tests := []struct {
		name       string
		lookups    []scripted
		waitParked bool
		want       Status
		wantErr    error
		wantL      int
		wantSends  int
	}{
		{name: "429 past --max-wait: parked, unknown",
			lookups: []scripted{says(429, "Retry-After", "86400")},
			want:    StatusUnknown, wantErr: ErrParked, wantL: 1},
		{name: "503 with a wait past --max-wait: parked, unknown",
			lookups: []scripted{says(503, "Retry-After", "3600")},
			want:    StatusUnknown, wantErr: ErrParked, wantL: 1},
		{name: "found, but the quota is spent past --max-wait: sent, then parked",
			lookups: []scripted{says(200, "X-RateLimit-Limit", "100", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "86400")},
			want:    StatusSent, wantErr: ErrParked, wantL: 1},
		{name: "short throttles are flow control: asked again, then found",
			lookups: []scripted{says(429, "Retry-After", "1"), says(429, "Retry-After", "1"), says(429, "Retry-After", "1"), says(200)},
			want:    StatusSent, wantL: 4},
		{name: "429 past --max-wait with --wait-parked: waits, asks again",
			lookups: []scripted{says(429, "Retry-After", "86400"), says(404)}, waitParked: true,
			want: StatusSent, wantL: 2, wantSends: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			progress := new(Progress)
			doer := &scriptedDoer{sends: []scripted{says(200)}, lookups: tt.lookups, progress: progress}
			clock := &fakeNow{t: time.Date(2026, 3, 7, 10, 0, 0, 0, time.UTC)}
			m := newMessages(1, "http://bulksend.test/send")[0]
			m.Settle, m.Lookup = true, &Lookup{URL: "http://bulksend.test/lookup/row-001"}
			// Sent an hour before: the absent lookup is trusted at once (a
			// recent or unknown sent_at waits --timeout; the clock is frozen).
			m.Since = clock.t.Add(-time.Hour)
			j := newMemJournal()
			cfg := Config{Client: doer, Journal: j, Limiter: new(waitCountingLimiter), Concurrency: 1,
				MaxRetries: maxRetries, WaitParked: tt.waitParked, Progress: progress, Now: clock.now, Rand: func() float64 { return 0 }}
			_, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: []*Message{m}}, 10*time.Second)
			if (tt.wantErr == nil) != (err == nil) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Errorf("Run: %v, want %v", err, tt.wantErr)
			}
			r := j.result(2)
			if r == nil || r.Status != tt.want {
				t.Fatalf("result %+v, want %s", r, tt.want)
			}
			if doer.nLookup != tt.wantL || doer.nSend != tt.wantSends {
				t.Errorf("%d lookups and %d sends, want %d and %d", doer.nLookup, doer.nSend, tt.wantL, tt.wantSends)
			}
			// The progress display says the row waits for a lookup while
			// it does, and nothing once the run is over.
			if doer.settling != 1 || progress.Settling.Load() != 0 {
				t.Errorf("Progress.Settling was %d during the lookups and is %d after the run; want 1 and 0",
					doer.settling, progress.Settling.Load())
			}
			// A row settled by lookups alone made no send (Attempts 0),
			// which check takes for a row that was never begun.
			if n := len(j.records[2]); n != 1 || len(j.begins[2]) != 1 {
				t.Errorf("line 2 begun %d times, recorded %d times; want once each", len(j.begins[2]), n)
			}
		})
	}
}

// TestLookupSchedule: after an ambiguous attempt the first lookup goes
// within a second, as a found message settles the row at once; an answer
// saying the message is absent is trusted only once the server has had
// LookupDelay (--timeout) to finish the attempt, and before that the row
// is looked up again then, without spending a lookup. A row an earlier run
// left (no settleAt) trusts absent at once. The decisions are read off the
// engine on an injected clock; nothing waits.
func TestLookupSchedule(t *testing.T) {
	t0 := time.Date(2026, 3, 7, 10, 0, 0, 0, time.UTC)
	type want struct {
		kind     outcomeKind
		status   Status // outcomeFinal
		looking  bool
		maybe    bool
		ready    time.Time
		settleAt time.Time
		lookups  int
	}
	tests := []struct {
		name        string
		lookupDelay time.Duration
		settleAt    time.Time // the job's before the answer
		lookup      int       // the lookup's answer; 0: the answer is the send's 502
		at          time.Time // when the answer came
		want        want
	}{
		{name: "a 502: first lookup in a second, absent trusted after --timeout", at: t0,
			want: want{kind: outcomeRetry, looking: true, maybe: true, ready: t0.Add(time.Second), settleAt: t0.Add(30 * time.Second)}},
		{name: "a LookupDelay under a second: both at it", lookupDelay: 200 * time.Millisecond, at: t0,
			want: want{kind: outcomeRetry, looking: true, maybe: true, ready: t0.Add(200 * time.Millisecond), settleAt: t0.Add(200 * time.Millisecond)}},
		{name: "found early: sent", settleAt: t0.Add(30 * time.Second), lookup: 200, at: t0.Add(time.Second),
			want: want{kind: outcomeFinal, status: StatusSent, looking: true, maybe: true, settleAt: t0.Add(30 * time.Second), lookups: 1}},
		{name: "absent early: asked again once trusted, not counted", settleAt: t0.Add(30 * time.Second), lookup: 404, at: t0.Add(time.Second),
			want: want{kind: outcomeRetry, looking: true, maybe: true, ready: t0.Add(30 * time.Second), settleAt: t0.Add(30 * time.Second)}},
		{name: "absent once trusted: sent again", settleAt: t0.Add(30 * time.Second), lookup: 404, at: t0.Add(30 * time.Second),
			want: want{kind: outcomeRetry, ready: t0.Add(30 * time.Second), lookups: 1}},
		{name: "absent for a row an earlier run left: sent again at once", lookup: 404, at: t0,
			want: want{kind: outcomeRetry, ready: t0, lookups: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(Config{Timeout: 30 * time.Second, LookupDelay: tt.lookupDelay,
				Now: func() time.Time { return tt.at }, Rand: func() float64 { return 0 }})
			m := newMessages(1, "http://bulksend.test/send")[0]
			m.Lookup = &Lookup{URL: "http://bulksend.test/lookup/row-001"}
			a := &answer{status: tt.lookup, header: http.Header{}, body: []byte(`{"id":"m-1"}`), start: tt.at, end: tt.at}
			var o outcome
			if tt.lookup == 0 {
				j := &job{m: m, attempts: 1}
				a.status = http.StatusBadGateway
				o = e.resolve(j, a, classifyStatus(a.status, "", ""))
			} else {
				j := &job{m: m, attempts: 1, maybe: true, looking: true, settleAt: tt.settleAt, lookups: 1}
				v, refused := e.limitVerdict(a)
				o = e.lookedUp(j, a, v, refused)
			}
			j := o.job
			got := want{kind: o.kind, looking: j.looking, maybe: j.maybe, ready: j.ready, settleAt: j.settleAt, lookups: j.lookups}
			if o.res != nil && o.kind == outcomeFinal {
				got.status = o.res.Status
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestLookupResumedSchedule: a row an earlier run left unsettled trusts a
// lookup saying its message is absent only once the server has had
// LookupDelay (--timeout) to finish that run's request, counted from its
// sent_at (Message.Since) plus LookupClockSlack, or from now when sent_at
// is not known: after a kill -9, an immediate --resume must not take a
// create the server is still finishing for absent. Before then the row is
// asked again then; a found message settles it at once. The decisions are
// read off the dispatcher and engine on an injected clock; nothing waits.
func TestLookupResumedSchedule(t *testing.T) {
	t0 := time.Date(2026, 3, 7, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		since     time.Time
		lookup    int
		wantKind  outcomeKind
		wantLook  bool // still looking: absent not trusted yet
		wantReady time.Time
	}{
		{name: "killed a second ago: absent not trusted until sent_at + --timeout + slack", since: t0.Add(-time.Second), lookup: 404,
			wantKind: outcomeRetry, wantLook: true, wantReady: t0.Add(-time.Second + 30*time.Second + LookupClockSlack)},
		{name: "sent_at unknown: absent not trusted until now + --timeout", lookup: 404,
			wantKind: outcomeRetry, wantLook: true, wantReady: t0.Add(30 * time.Second)},
		{name: "sent an hour ago: absent trusted, sent again at once", since: t0.Add(-time.Hour), lookup: 404,
			wantKind: outcomeRetry, wantReady: t0},
		{name: "killed a second ago, found: sent at once", since: t0.Add(-time.Second), lookup: 200,
			wantKind: outcomeFinal, wantLook: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(Config{Timeout: 30 * time.Second, Progress: new(Progress),
				Now: func() time.Time { return t0 }, Rand: func() float64 { return 0 }})
			d := newDispatcher(e, nil, &pool{}, nil, nil, func() {})
			m := newMessages(1, "http://bulksend.test/send")[0]
			m.Lookup = &Lookup{URL: "http://bulksend.test/lookup/row-001"}
			m.Settle, m.Since = true, tt.since
			d.read(m, true, t0)
			j := d.queue.popReady(t0)
			if j == nil || !j.looking {
				t.Fatalf("job %+v, want one looking at once", j)
			}
			a := &answer{status: tt.lookup, header: http.Header{}, body: []byte(`{"id":"m-1"}`), start: t0, end: t0}
			v, refused := e.limitVerdict(a)
			o := e.lookedUp(j, a, v, refused)
			if o.kind != tt.wantKind || j.looking != tt.wantLook || (o.kind == outcomeRetry && !j.ready.Equal(tt.wantReady)) {
				t.Errorf("outcome %v, looking %v, ready %v; want %v, %v, %v", o.kind, j.looking, j.ready, tt.wantKind, tt.wantLook, tt.wantReady)
			}
			if o.kind == outcomeFinal && (o.res == nil || o.res.Status != StatusSent) {
				t.Errorf("result %+v, want sent", o.res)
			}
		})
	}
}
