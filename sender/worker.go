package sender

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulksend/bulksend/ratelimit"
)

// pool is the workers: each takes a job from work, makes one attempt and
// hands the outcome back. Workers only wait for the limiter and send; all
// the run's state stays with the dispatcher.
type pool struct {
	work chan *job
	// outcomes is unbuffered: a worker takes its next job only after its
	// outcome is in, so a result that stops the run is seen before more go
	// out.
	outcomes chan outcome
	wg       sync.WaitGroup
}

// startPool starts the workers. A request on the wire ends with ctx; a
// wait for the limiter with waitCtx, which a soft stop ends too.
func (e *engine) startPool(ctx, waitCtx context.Context) *pool {
	p := &pool{work: make(chan *job), outcomes: make(chan outcome)}
	for range e.concurrency {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			w := newWorker(ctx, e.timeout)
			defer w.close()
			for j := range p.work {
				p.outcomes <- e.attempt(waitCtx, w, j)
			}
		}()
	}
	return p
}

// close lets the workers finish and waits for them. The dispatcher calls
// it once no outcome is owed.
func (p *pool) close() {
	close(p.work)
	p.wg.Wait()
}

// answer is what one request brought back: the server's answer, or the
// transport error and whether the request had gone out whole before it.
type answer struct {
	status     int
	header     http.Header
	body       []byte
	wrote      bool
	err        error
	start, end time.Time
	// spent is the answer's quota when it says none is left until a reset
	// further off than MaxWait (zero otherwise).
	spent ratelimit.Quota
}

// do sends m once on w. wrote says whether the whole request went out, so a
// failure after it may have reached the server.
func (e *engine) do(w *worker, m *Message) (status int, header http.Header, body []byte, wrote bool, err error) {
	ctx, written := w.start()
	defer func() {
		if w.end() && err != nil {
			err = fmt.Errorf("%w after %s: %w", context.DeadlineExceeded, w.timeout, err)
		}
	}()
	req, err := http.NewRequestWithContext(ctx, m.Method, m.URL, bytes.NewReader(m.Body))
	if err != nil {
		return 0, nil, nil, false, fmt.Errorf("build request: %w", err)
	}
	if m.Header != nil {
		// The message's own, never written to once it is queued (the key
		// was set then), so a transport goroutine of an abandoned attempt
		// that still reads it races with nothing.
		req.Header = m.Header
	}
	noReplay(req)
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, nil, nil, written.Load(), err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, cmp.Or(m.bodyLimit, responseLimit)))
	if err != nil {
		// The server answered, so the request reached it.
		return 0, nil, nil, true, fmt.Errorf("read response: %w", err)
	}
	// Drain a little more so the connection can be reused.
	_, _ = io.CopyN(io.Discard, resp.Body, responseLimit)
	return resp.StatusCode, resp.Header, body, true, nil
}

// noReplay makes sure the transport never sends req a second time on its
// own. net/http's Transport sends a request again on a new connection when
// a reused one fails before the answer, if it deems the request replayable
// ((*Request).isReplayable, then rewindBody): its body is empty or can be
// rewound (GetBody), and its method is idempotent or it carries an
// Idempotency-Key or X-Idempotency-Key header, even a POST. Whether a
// message that may have arrived is sent again is the engine's decision
// (resolve), against what is known of the server, so:
//   - GetBody goes: a request with a body is never rewound and resent;
//   - an empty body of a method that usually has none becomes an empty
//     reader the transport cannot rewind, which it sends as no body at all;
//   - an empty POST (or PUT, PATCH) keeps such a key header under a
//     lower-case name, which the transport does not look up and the
//     server reads the same (header names are case-insensitive), in a
//     copy of the header, as the message's own is shared.
func noReplay(req *http.Request) {
	req.GetBody = nil
	if req.Body != nil && req.Body != http.NoBody {
		return
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodDelete:
		req.Body = io.NopCloser(bytes.NewReader(nil))
		req.ContentLength = 0
		return
	}
	var h http.Header
	for _, k := range []string{"Idempotency-Key", "X-Idempotency-Key"} {
		if v, ok := req.Header[k]; ok {
			if h == nil {
				h = req.Header.Clone()
			}
			delete(h, k)
			h[strings.ToLower(k)] = v
		}
	}
	if h != nil {
		req.Header = h
	}
}

// worker is what one worker goroutine reuses from request to request: one
// timer for the --timeout of the request on the wire (a timer per request,
// context.WithTimeout, cost about 1µs and 4 allocations a message).
type worker struct {
	run     context.Context // the run's context; ends only when the run is aborted
	timeout time.Duration
	timer   *time.Timer

	// flight is the request the Limiter let go, until it is ended
	// (engine.land).
	flight flight

	mu       sync.Mutex
	cancel   context.CancelFunc // the current request's; nil between requests
	deadline time.Time          // when the current request times out
	timedOut bool
}

// flight is one request a worker's Wait let go: when it left, and whether
// the Limiter was told it ended.
type flight struct {
	sent  time.Time
	ended bool
}

func newWorker(run context.Context, timeout time.Duration) *worker {
	w := &worker{run: run, timeout: timeout}
	w.timer = time.AfterFunc(time.Hour, w.expire)
	w.timer.Stop()
	return w
}

// start begins a request and returns its context, which ends at the
// timeout or with the run, and the flag its trace sets once the request
// has gone out whole. The trace is the request's own: a write reported for
// another request (a token fetch, an earlier attempt) must not count.
func (w *worker) start() (context.Context, *atomic.Bool) {
	written := new(atomic.Bool)
	ctx, cancel := context.WithCancel(httptrace.WithClientTrace(w.run, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				written.Store(true)
			}
		},
	}))
	w.mu.Lock()
	w.cancel, w.deadline, w.timedOut = cancel, time.Now().Add(w.timeout), false
	w.mu.Unlock()
	w.timer.Reset(w.timeout)
	return ctx, written
}

// end finishes the request start began and reports whether the timeout
// ended it.
func (w *worker) end() (timedOut bool) {
	w.timer.Stop()
	w.mu.Lock()
	cancel := w.cancel
	w.cancel = nil
	timedOut = w.timedOut
	w.mu.Unlock()
	cancel()
	return timedOut
}

// expire cancels the request on the wire if its time is up. A timer that
// fired for an earlier request (Stop cannot recall a callback already
// started) finds a later deadline and does nothing.
func (w *worker) expire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel != nil && !time.Now().Before(w.deadline) {
		w.timedOut = true
		w.cancel()
	}
}

func (w *worker) close() { w.timer.Stop() }
