package preset

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

const (
	// tokenTimeout bounds one token request. The request runs detached from
	// the caller that started it (others may be waiting on it), so it needs
	// its own deadline.
	tokenTimeout = 30 * time.Second
	// maxTokenMargin caps how long before expiry a token is replaced.
	maxTokenMargin = 60 * time.Second
	// maxTokenLifetime caps the lifetime a token endpoint may claim.
	maxTokenLifetime = 365 * 24 * time.Hour
	// maxTokenBody bounds what is read from the token endpoint.
	maxTokenBody = 1 << 20
	// maxDiscard bounds what is read from a 401 before retrying, so the
	// connection can be reused without reading an endless body.
	maxDiscard = 64 << 10
)

// TokenSource fetches and caches Genesys Cloud OAuth client-credentials
// tokens for the preset's transport. At most one token request is in flight
// at a time: concurrent callers wait for it, each as long as its own request
// context allows.
type TokenSource struct {
	url, id, secret string
	client          *http.Client
	now             func() time.Time

	mu      sync.Mutex
	onToken func(string)
	token   string
	expiry  time.Time // zero: no known expiry, good until a 401 says otherwise
	flight  *tokenFlight
	fetched int
}

// tokenFlight is one token request and its outcome, shared by every caller
// that waited for it. Fields are written before done is closed.
type tokenFlight struct {
	done  chan struct{}
	token string
	// A non-2xx answer from the token endpoint, kept as data so every waiter
	// can hand the engine its own copy of the response.
	statusLine string
	status     int
	header     http.Header
	body       []byte
	err        error
}

// OnToken has fn called with each token fetched, before any request
// carries it, so the caller can mask it wherever a server echoes it.
func (t *TokenSource) OnToken(fn func(token string)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.onToken = fn
}

// Fetched reports how many tokens were fetched.
func (t *TokenSource) Fetched() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.fetched
}

// get returns a valid token for req. When the token endpoint answers with
// an error status, it returns that answer as the response to req instead:
// the engine then treats a 429 as throttling and a 401 as an auth failure,
// exactly as if the API had said so.
func (t *TokenSource) get(req *http.Request) (string, *http.Response, error) {
	t.mu.Lock()
	if t.token != "" && (t.expiry.IsZero() || t.now().Before(t.expiry)) {
		tok := t.token
		t.mu.Unlock()
		return tok, nil, nil
	}
	f := t.flight
	if f == nil {
		f = &tokenFlight{done: make(chan struct{})}
		t.flight = f
		// Nothing of req's context: not its cancellation (the callers
		// waiting on this flight must not fail because the one that
		// started it gave up), nor its values (its HTTP trace would take
		// the token request's write for the message's). The token client's
		// own timeout bounds the fetch.
		go t.fetch(context.Background(), f)
	}
	t.mu.Unlock()

	select {
	case <-f.done:
	case <-req.Context().Done():
		return "", nil, fmt.Errorf("wait for genesys token: %w", context.Cause(req.Context()))
	}
	if f.err != nil {
		return "", nil, f.err
	}
	if f.token == "" {
		return "", f.response(req), nil
	}
	return f.token, nil, nil
}

// invalidate drops tok after the API refused it. Only the token that was
// refused is dropped, so a burst of 401s on one stale token leads to a
// single new token, not one per request.
func (t *TokenSource) invalidate(tok string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token == tok {
		t.token, t.expiry = "", time.Time{}
	}
}

// fetch runs one token request and publishes its outcome.
func (t *TokenSource) fetch(ctx context.Context, f *tokenFlight) {
	ctx, cancel := context.WithTimeout(ctx, tokenTimeout)
	defer cancel()
	start := t.now()
	lifetime := t.request(ctx, f)

	t.mu.Lock()
	if f.token != "" && t.onToken != nil {
		t.onToken(f.token)
	}
	t.flight = nil
	if f.token != "" {
		t.token, t.expiry = f.token, time.Time{}
		if lifetime > 0 {
			// Renew early enough that a token never expires in flight.
			t.expiry = start.Add(lifetime - min(lifetime/10, maxTokenMargin))
		}
		t.fetched++
	}
	t.mu.Unlock()
	close(f.done)
}

// request asks the token endpoint for a token, filling f, and returns the
// token's lifetime (0 when the endpoint does not say).
func (t *TokenSource) request(ctx context.Context, f *tokenFlight) time.Duration {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		f.err = fmt.Errorf("fetch genesys token: %w", err)
		return 0
	}
	req.SetBasicAuth(t.id, t.secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		f.err = fmt.Errorf("fetch genesys token: %w", err)
		return 0
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
	if err != nil {
		f.err = fmt.Errorf("fetch genesys token: read response: %w", err)
		return 0
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		f.statusLine, f.status, f.header, f.body = resp.Status, resp.StatusCode, resp.Header, body
		if resp.StatusCode == http.StatusBadRequest {
			f.refused()
		}
		return 0
	}
	var tr struct {
		AccessToken string  `json:"access_token"`
		ExpiresIn   float64 `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		f.err = fmt.Errorf("fetch genesys token: decode response: %w", err)
		return 0
	}
	if tr.AccessToken == "" {
		f.err = errors.New("fetch genesys token: response has no access_token")
		return 0
	}
	f.token = tr.AccessToken
	// Clamped so an absurd expires_in cannot overflow a Duration.
	return time.Duration(min(tr.ExpiresIn, maxTokenLifetime.Seconds()) * float64(time.Second))
}

// refused turns the token endpoint's 400 into a 401. RFC 6749 answers a
// client it will not serve (invalid_client, unauthorized_client,
// invalid_grant, ...) with 400, and that fails every message alike: as a
// 401 it stops the run (exit 1) as a wrong secret does, instead of failing
// the rows one by one. The body keeps the endpoint's reason and says what
// it answered.
func (f *tokenFlight) refused() {
	reason := "the token endpoint refused the client"
	var obj map[string]json.RawMessage
	if json.Unmarshal(f.body, &obj) == nil {
		if t := errorText(obj); t != "" {
			reason = t
		}
	}
	f.statusLine, f.status = "401 Unauthorized", http.StatusUnauthorized
	f.header = f.header.Clone()
	f.header.Del("Content-Length")
	f.body, _ = json.Marshal(map[string]string{
		"error":             reason,
		"error_description": "the token endpoint answered 400 Bad Request",
	})
}

// response is the token endpoint's error answer, as the response to req.
func (f *tokenFlight) response(req *http.Request) *http.Response {
	return &http.Response{
		Status:        f.statusLine,
		StatusCode:    f.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        f.header.Clone(),
		Body:          io.NopCloser(bytes.NewReader(f.body)),
		ContentLength: int64(len(f.body)),
		Request:       req,
	}
}

// bearerTransport adds the Genesys token to every request and, when the API
// refuses it with 401, replaces it and retries once.
type bearerTransport struct {
	ts   *TokenSource
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (b *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, answer, err := b.ts.get(req)
	if answer != nil || err != nil {
		closeBody(req)
		return answer, err
	}
	resp, err := b.base.RoundTrip(withHeader(req, "Authorization", "Bearer "+tok))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	b.ts.invalidate(tok)
	hasBody := req.Body != nil && req.Body != http.NoBody
	if hasBody && req.GetBody == nil {
		return resp, nil // cannot replay the body: the 401 stands
	}
	tok, answer, err = b.ts.get(req)
	if answer != nil || err != nil {
		discard(resp)
		return answer, err
	}
	retry := withHeader(req, "Authorization", "Bearer "+tok)
	if hasBody {
		body, err := req.GetBody()
		if err != nil {
			return resp, nil
		}
		retry.Body = body
	}
	discard(resp)
	return b.base.RoundTrip(retry)
}

// withHeader returns a copy of req with one header set: a RoundTripper must
// not modify the request it was given.
func withHeader(req *http.Request, name, value string) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Set(name, value)
	return r
}

// closeBody honours the RoundTripper contract of closing the request body
// even when the request is never sent.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// discard drains and closes a response that will not be returned.
func discard(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxDiscard))
	resp.Body.Close()
}
