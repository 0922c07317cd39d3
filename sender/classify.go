package sender

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/bulksend/bulksend/ratelimit"
)

// verdictKind is what one answer, or its absence, says about a message,
// whatever the message: the engine decides what to do about it (resolve).
type verdictKind int

const (
	// verdictFailed: the server refused the message for good.
	verdictFailed verdictKind = iota
	// verdictSent: the server took the message.
	verdictSent
	// verdictRetry: the message was definitely not processed (a 503
	// without a wait hint from a server taking nothing, a 425, a refused connection, a cut before the
	// request went out whole); it may be sent again after a backoff, while
	// its retries last.
	verdictRetry
	// verdictAmbiguous: the message may have been processed and nothing
	// says it was not (a cut or a timeout after the request went out, a
	// 408, any 5xx but 503). Sending it again is safe only if the server
	// drops copies, or a lookup says the message is absent.
	verdictAmbiguous
	// verdictThrottled: flow control, not an error: the whole pool pauses
	// for the wait and the message is requeued.
	verdictThrottled
	// verdictWaitTooLong: a throttle asking for a wait longer than
	// --max-wait.
	verdictWaitTooLong
	// verdictAuth: the server refused the credentials; every further
	// message would fail the same way.
	verdictAuth
	// verdictUntrusted: the server's certificate does not verify. Not
	// transient: no retry makes it verify, so every message would fail
	// the same way.
	verdictUntrusted
)

// verdict is a classified answer.
type verdict struct {
	kind verdictKind
	// reason is the row's error should the verdict end it (failed, or the
	// last retry); unsure is the row's error when an ambiguous attempt may
	// not be repeated.
	reason, unsure string
	messageID      string // verdictSent
	detail         any    // verdictSent: what Config.Detail read
	wait           time.Duration
	hinted         bool // the wait came from the server (throttles)
	// busy: a throttle that is a bare 503 from a busy server, which a row
	// meets only so many times (engine.resolve).
	busy bool
	// unreached: no connection was made (refused, no such host, no
	// route): the server was not reached at all.
	unreached bool
}

// classifyTransport judges a request that got no answer. Only a request
// that went out whole may have reached the server, unless the connection
// was refused.
func classifyTransport(err error, wrote bool) verdict {
	reason := describe(err)
	if untrusted(err) {
		return verdict{kind: verdictUntrusted, reason: reason, unreached: true}
	}
	if !wrote && unreached(err) {
		return verdict{kind: verdictRetry, reason: reason, unreached: true}
	}
	if wrote && !refused(err) {
		return verdict{kind: verdictAmbiguous, reason: reason,
			unsure: fmt.Sprintf("request may have reached the server (%s); %s", reason, notResent)}
	}
	return verdict{kind: verdictRetry, reason: reason}
}

// classifyThrottle judges a 429, a 503 or 403 with a wait hint (sig,
// hinted; the caller hints a 403 only when its headers say a rate limit
// refused it), or a bare 503 from a busy server (busy: one taking other
// requests, whose 503 is a rate limit, as nginx's limit_req answers by
// default, not an outage); ok is false for any other answer.
func classifyThrottle(status int, sig ratelimit.Signal, hinted, busy bool, maxWait time.Duration) (v verdict, ok bool) {
	switch {
	case status == http.StatusTooManyRequests:
	case status == http.StatusServiceUnavailable && (hinted || busy):
	case status == http.StatusForbidden && hinted:
	default:
		return verdict{}, false
	}
	if hinted && sig.Wait > maxWait {
		return verdict{kind: verdictWaitTooLong, wait: sig.Wait, hinted: true,
			reason: fmt.Sprintf("server asked to wait %s (%s: %s), more than --max-wait %s",
				sig.Wait.Round(time.Second), sig.Header, sig.Value, maxWait)}, true
	}
	reason := fmt.Sprintf("HTTP %d without a wait hint: backing off", status)
	if hinted {
		reason = fmt.Sprintf("HTTP %d, %s: %s", status, sig.Header, sig.Value)
	}
	return verdict{kind: verdictThrottled, wait: sig.Wait, hinted: hinted, busy: !hinted && status == http.StatusServiceUnavailable,
		reason: reason}, true
}

// classifySuccess judges a 2xx, which carries the server's message id;
// ok is false for any other status.
func classifySuccess(status int, messageID string) (v verdict, ok bool) {
	if status < 200 || status >= 300 {
		return verdict{}, false
	}
	return verdict{kind: verdictSent, messageID: messageID}, true
}

// classifyStatus judges any other answer from its status, the error text
// read from its body and its Location header.
func classifyStatus(status int, errText, location string) verdict {
	reason := fmt.Sprintf("HTTP %d", status)
	if errText != "" {
		reason += ": " + errText
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return verdict{kind: verdictAuth, reason: reason}
	case status == http.StatusServiceUnavailable || status == http.StatusTooEarly:
		// The server says it did not process the request.
		return verdict{kind: verdictRetry, reason: reason}
	case status == http.StatusRequestTimeout || status >= 500:
		// A 5xx may come from a proxy after the server took the message,
		// and a 408 after the server read the whole request.
		return verdict{kind: verdictAmbiguous, reason: reason,
			unsure: reason + "; the message may have been delivered; " + notResent}
	case status >= 300 && status < 400 && location != "":
		reason += "; redirect to " + oneLine([]byte(location), responseKeep) + " not followed"
	}
	return verdict{kind: verdictFailed, reason: reason}
}

// notResent ends the error of an ambiguous row left unknown.
const notResent = "not resent: the server is not known to deduplicate (--idempotent-server) and no lookup settled it"

// refused reports errors that prove the request never reached the server.
func refused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}

// unreached reports errors of a connection that was never made: refused,
// no route, a name that does not resolve, a dial that failed.
func unreached(err error) bool {
	var dns *net.DNSError
	var op *net.OpError
	return refused(err) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.As(err, &dns) || (errors.As(err, &op) && op.Op == "dial")
}

// untrusted reports a TLS certificate that does not verify.
func untrusted(err error) bool {
	var (
		verify    *tls.CertificateVerificationError
		authority x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		host      x509.HostnameError
	)
	return errors.As(err, &verify) || errors.As(err, &authority) || errors.As(err, &invalid) || errors.As(err, &host)
}

// describe turns a transport error into a short reason for the report.
func describe(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out waiting for the server"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by the server"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "server closed the connection without answering"
	}
	return err.Error()
}
