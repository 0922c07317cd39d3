package sender

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bulksend/bulksend/ratelimit"
)

// TestClassifyUnreached checks which failures say no connection was made.
func TestClassifyUnreached(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		wrote bool
		want  bool
	}{
		{"refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, false, true},
		{"no such host", &net.DNSError{Err: "no such host"}, false, true},
		{"no route", syscall.EHOSTUNREACH, false, true},
		{"untrusted certificate", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, false, true},
		{"reset", syscall.ECONNRESET, false, false},
		{"timeout after writing", context.DeadlineExceeded, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classifyTransport(tt.err, tt.wrote).unreached; got != tt.want {
				t.Errorf("unreached = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestClassifyTransport(t *testing.T) {
	timeout := fmt.Errorf("%w after 30s: %w", context.DeadlineExceeded, &url.Error{Op: "Post", Err: context.Canceled})
	tests := []struct {
		name       string
		err        error
		wrote      bool
		want       verdictKind
		wantReason string
		wantUnsure string // substring; "" when not ambiguous
	}{
		{"timeout after the request went out", timeout, true, verdictAmbiguous,
			"timed out waiting for the server", "request may have reached the server (timed out waiting for the server)"},
		{"timeout before it went out", timeout, false, verdictRetry, "timed out waiting for the server", ""},
		{"cut after it went out", io.ErrUnexpectedEOF, true, verdictAmbiguous,
			"server closed the connection without answering", "not resent: the server is not known to deduplicate"},
		{"reset before it went out", syscall.ECONNRESET, false, verdictRetry, "connection reset by the server", ""},
		{"reset after it went out", &url.Error{Op: "Post", Err: syscall.ECONNRESET}, true, verdictAmbiguous,
			"connection reset by the server", "connection reset"},
		{"refused never reached the server", syscall.ECONNREFUSED, true, verdictRetry, "connection refused", ""},
		{"anything else is said as it is", errors.New("tls: bad certificate"), false, verdictRetry, "tls: bad certificate", ""},
		{"an untrusted certificate is not transient", &url.Error{Op: "Post", Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}},
			false, verdictUntrusted, `Post "": tls: failed to verify certificate: x509: certificate signed by unknown authority`, ""},
		{"a name that does not resolve", &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "api.invalid"}},
			false, verdictRetry, "dial: lookup api.invalid: no such host", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := classifyTransport(tt.err, tt.wrote)
			if v.kind != tt.want || v.reason != tt.wantReason {
				t.Errorf("verdict %d %q, want %d %q", v.kind, v.reason, tt.want, tt.wantReason)
			}
			if (tt.wantUnsure == "") != (v.unsure == "") || !strings.Contains(v.unsure, tt.wantUnsure) {
				t.Errorf("unsure %q, want it to contain %q", v.unsure, tt.wantUnsure)
			}
		})
	}
}

func TestClassifyThrottle(t *testing.T) {
	const maxWait = time.Minute
	hint := func(d time.Duration, header, value string) ratelimit.Signal {
		return ratelimit.Signal{Wait: d, Header: header, Value: value}
	}
	tests := []struct {
		name       string
		status     int
		sig        ratelimit.Signal
		hinted     bool
		busy       bool // a bare 503 from a server taking other requests
		wantOK     bool
		want       verdictKind
		wantWait   time.Duration
		wantReason string
	}{
		{name: "429 without a hint", status: 429, wantOK: true, want: verdictThrottled,
			wantReason: "HTTP 429 without a wait hint: backing off"},
		{name: "429 with a hint", status: 429, sig: hint(3*time.Second, "Retry-After", "3"), hinted: true,
			wantOK: true, want: verdictThrottled, wantWait: 3 * time.Second, wantReason: "HTTP 429, Retry-After: 3"},
		{name: "429 asking exactly --max-wait", status: 429, sig: hint(maxWait, "Retry-After", "60"), hinted: true,
			wantOK: true, want: verdictThrottled, wantWait: maxWait, wantReason: "HTTP 429, Retry-After: 60"},
		{name: "503 with a hint", status: 503, sig: hint(time.Second, "X-RateLimit-Reset-After", "1"), hinted: true,
			wantOK: true, want: verdictThrottled, wantWait: time.Second, wantReason: "HTTP 503, X-RateLimit-Reset-After: 1"},
		{name: "503 without a hint from a server taking nothing is not a throttle", status: 503},
		{name: "503 without a hint from a busy server", status: 503, busy: true, wantOK: true, want: verdictThrottled,
			wantReason: "HTTP 503 without a wait hint: backing off"},
		{name: "a hint wins over busy", status: 503, sig: hint(time.Second, "Retry-After", "1"), hinted: true, busy: true,
			wantOK: true, want: verdictThrottled, wantWait: time.Second, wantReason: "HTTP 503, Retry-After: 1"},
		{name: "busy says nothing of a 500", status: 500, busy: true},
		{name: "403 with a hint (GitHub's rate limits)", status: 403, sig: hint(time.Second, "Retry-After", "1"), hinted: true,
			wantOK: true, want: verdictThrottled, wantWait: time.Second, wantReason: "HTTP 403, Retry-After: 1"},
		{name: "403 without a hint is no throttle", status: 403},
		{name: "429 asking more than --max-wait", status: 429, sig: hint(time.Hour, "Retry-After", "3600"), hinted: true,
			wantOK: true, want: verdictWaitTooLong, wantWait: time.Hour,
			wantReason: "server asked to wait 1h0m0s (Retry-After: 3600), more than --max-wait 1m0s"},
		{name: "503 asking more than --max-wait", status: 503, sig: hint(120*time.Second, "X-RateLimit-Reset-After", "120"), hinted: true,
			wantOK: true, want: verdictWaitTooLong, wantWait: 120 * time.Second,
			wantReason: "server asked to wait 2m0s (X-RateLimit-Reset-After: 120), more than --max-wait 1m0s"},
		{name: "200 is not a throttle", status: 200},
		{name: "500 is not a throttle", status: 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := classifyThrottle(tt.status, tt.sig, tt.hinted, tt.busy, maxWait)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if v.kind != tt.want || v.wait != tt.wantWait || v.hinted != tt.hinted || v.reason != tt.wantReason {
				t.Errorf("verdict %+v, want kind %d, wait %v, hinted %v, reason %q", v, tt.want, tt.wantWait, tt.hinted, tt.wantReason)
			}
		})
	}
}

func TestClassifySuccess(t *testing.T) {
	tests := []struct {
		name   string
		status int
		wantOK bool
	}{
		{"200", 200, true},
		{"202", 202, true},
		{"299", 299, true},
		{"199", 199, false},
		{"300", 300, false},
		{"no status", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := classifySuccess(tt.status, "m-1")
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if ok && (v.kind != verdictSent || v.messageID != "m-1") {
				t.Errorf("verdict %+v, want sent with message id m-1", v)
			}
		})
	}
}

func TestClassifyStatus(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		errText    string
		location   string
		want       verdictKind
		wantReason string
		wantUnsure string
	}{
		{name: "400 fails with the server's text", status: 400, errText: "bad number", want: verdictFailed, wantReason: "HTTP 400: bad number"},
		{name: "404 fails", status: 404, want: verdictFailed, wantReason: "HTTP 404"},
		{name: "422 fails", status: 422, want: verdictFailed, wantReason: "HTTP 422"},
		{name: "401 is an auth failure", status: 401, errText: "invalid token", want: verdictAuth, wantReason: "HTTP 401: invalid token"},
		{name: "403 is an auth failure", status: 403, want: verdictAuth, wantReason: "HTTP 403"},
		{name: "408 may have been processed", status: 408, want: verdictAmbiguous, wantReason: "HTTP 408",
			wantUnsure: "HTTP 408; the message may have been delivered; " + notResent},
		{name: "425 is retried", status: 425, want: verdictRetry, wantReason: "HTTP 425"},
		{name: "500 may have been processed", status: 500, errText: "oops", want: verdictAmbiguous, wantReason: "HTTP 500: oops",
			wantUnsure: "HTTP 500: oops; the message may have been delivered; " + notResent},
		{name: "502 after the server took it may come from a proxy", status: 502, want: verdictAmbiguous, wantReason: "HTTP 502",
			wantUnsure: "HTTP 502; the message may have been delivered; " + notResent},
		{name: "503 without a hint is retried", status: 503, want: verdictRetry, wantReason: "HTTP 503"},
		{name: "504 may have been delivered", status: 504, want: verdictAmbiguous, wantReason: "HTTP 504",
			wantUnsure: "HTTP 504; the message may have been delivered; " + notResent},
		{name: "a redirect says where it pointed", status: 302, location: "/elsewhere", want: verdictFailed,
			wantReason: "HTTP 302; redirect to /elsewhere not followed"},
		{name: "a redirect's location is one line", status: 301, location: "/a\r\n  b", want: verdictFailed,
			wantReason: "HTTP 301; redirect to /a b not followed"},
		{name: "a redirect without a location", status: 303, want: verdictFailed, wantReason: "HTTP 303"},
		{name: "a location on a 4xx is ignored", status: 400, location: "/x", want: verdictFailed, wantReason: "HTTP 400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := classifyStatus(tt.status, tt.errText, tt.location)
			if v.kind != tt.want || v.reason != tt.wantReason || v.unsure != tt.wantUnsure {
				t.Errorf("verdict %d %q %q, want %d %q %q", v.kind, v.reason, v.unsure, tt.want, tt.wantReason, tt.wantUnsure)
			}
		})
	}
}

// countingLimiter counts what the engine tells the limiter.
type countingLimiter struct{ throttles, successes int }

func (l *countingLimiter) Wait(context.Context) error { return nil }
func (l *countingLimiter) Throttle(time.Time, time.Duration, bool) time.Duration {
	l.throttles++
	return 0
}
func (l *countingLimiter) Success(time.Time, ratelimit.Quota, bool) { l.successes++ }

// TestResolve: what the engine does about a verdict depends on the message
// (its key) and on its retries left, never on HTTP.
func TestResolve(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name          string
		v             verdict
		keyed         bool
		transient     int // the job's transient failures so far (MaxRetries is 2)
		busy          int // the job's bare 503s from a busy server so far (busyLimit(2) is 9)
		want          outcomeKind
		wantStatus    Status
		wantErr       string // substring of the result's error, or of err
		wantTransient bool
		// wantThrottled: the answer counts as a throttle for the job (and
		// its row); wantPaused: the limiter was told to pause.
		wantThrottled, wantPaused bool
		waitParked                bool
		maybe                     bool  // an earlier attempt may have arrived
		wantRunErr                error // what err, if set, must be
	}{
		{name: "sent", v: verdict{kind: verdictSent, messageID: "m-1"}, want: outcomeFinal, wantStatus: StatusSent},
		{name: "failed", v: verdict{kind: verdictFailed, reason: "HTTP 400"}, want: outcomeFinal, wantStatus: StatusFailed, wantErr: "HTTP 400"},
		{name: "failed after an attempt that may have arrived is unknown", v: verdict{kind: verdictFailed, reason: "HTTP 409"}, maybe: true,
			want: outcomeFinal, wantStatus: StatusUnknown, wantErr: "HTTP 409; an earlier attempt may have reached the server"},
		{name: "retry", v: verdict{kind: verdictRetry, reason: "HTTP 500"}, want: outcomeRetry, wantStatus: StatusFailed,
			wantErr: "HTTP 500", wantTransient: true},
		{name: "retry with none left", v: verdict{kind: verdictRetry, reason: "HTTP 500"}, transient: 2,
			want: outcomeFinal, wantStatus: StatusFailed, wantErr: "gave up after 1 attempts: HTTP 500"},
		{name: "ambiguous with a key the server honours is retried", v: verdict{kind: verdictAmbiguous, reason: "HTTP 504", unsure: "may"}, keyed: true,
			want: outcomeRetry, wantStatus: StatusFailed, wantErr: "HTTP 504", wantTransient: true},
		{name: "ambiguous with its retries spent is unknown", v: verdict{kind: verdictAmbiguous, reason: "HTTP 504", unsure: "may"}, keyed: true,
			transient: 2, want: outcomeFinal, wantStatus: StatusUnknown, wantErr: "gave up after 1 attempts, which may have reached the server: HTTP 504"},
		{name: "ambiguous without a key is unknown", v: verdict{kind: verdictAmbiguous, reason: "HTTP 504", unsure: "may have"},
			want: outcomeFinal, wantStatus: StatusUnknown, wantErr: "may have"},
		{name: "throttled is requeued, the limiter told", v: verdict{kind: verdictThrottled, wait: time.Second, hinted: true},
			want: outcomeRetry, wantThrottled: true, wantPaused: true},
		{name: "a bare 503 from a busy server is requeued, the limiter told", v: verdict{kind: verdictThrottled, busy: true, reason: "HTTP 503 without a wait hint: backing off"},
			busy: 8, want: outcomeRetry, wantThrottled: true, wantPaused: true},
		{name: "a row that keeps meeting bare 503s while others go through fails", v: verdict{kind: verdictThrottled, busy: true, reason: "HTTP 503 without a wait hint: backing off"},
			busy: 9, want: outcomeFinal, wantStatus: StatusFailed, wantErr: "gave up after 1 attempts: HTTP 503 without a wait hint, while the server took other requests"},
		{name: "such a row that may have arrived is unknown", v: verdict{kind: verdictThrottled, busy: true},
			busy: 9, maybe: true, want: outcomeFinal, wantStatus: StatusUnknown, wantErr: "gave up after 1 attempts, which may have reached the server: HTTP 503"},
		{name: "a wait too long parks the run", v: verdict{kind: verdictWaitTooLong, wait: time.Hour, hinted: true, reason: "server asked to wait 1h0m0s"},
			want: outcomeFatal, wantStatus: StatusPending, wantErr: "parked until 2026-01-02T04:04:05Z: server asked to wait", wantThrottled: true, wantRunErr: ErrParked},
		{name: "a wait too long is slept through with WaitParked", v: verdict{kind: verdictWaitTooLong, wait: time.Hour, hinted: true},
			waitParked: true, want: outcomeRetry, wantThrottled: true, wantPaused: true},
		{name: "auth ends the run", v: verdict{kind: verdictAuth, reason: "HTTP 401"}, want: outcomeFatal, wantErr: "HTTP 401", wantRunErr: ErrAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := new(countingLimiter)
			e := newEngine(Config{Limiter: lim, MaxRetries: 2, Rand: func() float64 { return 0.5 }, WaitParked: tt.waitParked,
				IdempotentServer: true})
			m := &Message{Line: 2, ID: "row-1"}
			if tt.keyed {
				m.IdempotencyKey = "k"
			}
			j := &job{m: m, attempts: 1, transient: tt.transient, busy: tt.busy, begun: true, sentAt: t0, maybe: tt.maybe}
			o := e.resolve(j, &answer{status: 200, start: t0, end: t0.Add(time.Millisecond)}, tt.v)
			if o.kind != tt.want || o.transient != tt.wantTransient || o.requests != 1 || o.job != j {
				t.Fatalf("outcome %+v, want kind %d, transient %v, one request", o, tt.want, tt.wantTransient)
			}
			var errText string
			switch {
			case o.err != nil:
				errText = o.err.Error()
				if !errors.Is(o.err, tt.wantRunErr) {
					t.Errorf("err %v, want %v", o.err, tt.wantRunErr)
				}
			case o.res != nil:
				errText = o.res.Error
				if o.res.Status != tt.wantStatus || o.res.Line != 2 || o.res.Attempts != 1 {
					t.Errorf("result %+v, want %s for line 2 after 1 attempt", o.res, tt.wantStatus)
				}
				if tt.wantStatus == StatusSent && o.res.MessageID != "m-1" {
					t.Errorf("message id %q, want m-1", o.res.MessageID)
				}
			}
			if !strings.Contains(errText, tt.wantErr) {
				t.Errorf("error %q does not contain %q", errText, tt.wantErr)
			}
			if lim.throttles != btoi(tt.wantPaused) || j.throttled != btoi(tt.wantThrottled) || e.throttled.Load() != int64(j.throttled) {
				t.Errorf("limiter told of %d throttles, job counts %d, engine %d; want pause %v, throttled %v",
					lim.throttles, j.throttled, e.throttled.Load(), tt.wantPaused, tt.wantThrottled)
			}
			if o.res != nil && o.res.Throttled != j.throttled {
				t.Errorf("the row counts %d throttles, the job %d", o.res.Throttled, j.throttled)
			}
			if o.kind == outcomeRetry && j.ready.Before(t0.Add(time.Millisecond)) {
				t.Errorf("requeued for %v, before the answer came", j.ready)
			}
		})
	}
}
