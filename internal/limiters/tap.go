package limiters

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// tap is the counting proxy in front of a limiter: it passes every request
// on unchanged (no X-Forwarded-For, so the limiter sees a plain loopback
// client) and counts the answers, refusals apart. GET /stats it answers itself.
type tap struct {
	srv     *http.Server
	addr    string
	proxy   *httputil.ReverseProxy
	tr      *http.Transport
	backend *backend
	refusal int // the status the limiter refuses with

	mu sync.Mutex
	st Stats
}

// tapIdle is how long the tap reuses an idle connection to the limiter:
// under the limiter's own keep-alive timeout (Node's http server closes an
// idle connection after 5 s, nginx after 75 s, HAProxy here after 30 s).
// Reusing one the limiter is closing cuts the request after it was
// written, the tap answers 502, and bulksend rightly leaves the row
// unknown though the backend never saw it: a row lost by the harness, as
// a pinned express run once delivered 399/400 (402 requests at the tap:
// 399 delivered, 2 refused, 1 answered otherwise).
const tapIdle = time.Second

func startTap(limiterAddr string, b *backend, refusal int) (*tap, error) {
	target := &url.URL{Scheme: "http", Host: limiterAddr}
	t := &tap{
		backend: b,
		refusal: refusal,
		// No proxy from the environment: the limiter is on loopback.
		tr: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true, IdleConnTimeout: tapIdle},
	}
	t.proxy = &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport: t.tr,
		ErrorLog:  discardLog,
		ModifyResponse: func(resp *http.Response) error {
			t.count(resp.StatusCode)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			t.count(0)
			http.Error(w, "tap: "+err.Error(), http.StatusBadGateway)
		},
	}
	srv, addr, err := serve(t)
	if err != nil {
		return nil, fmt.Errorf("start tap: %w", err)
	}
	t.srv, t.addr = srv, addr
	return t, nil
}

func (t *tap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/stats" {
		st := t.stats()
		st.Delivered, st.Distinct, st.Duplicates = t.backend.stats()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(st)
		return
	}
	t.proxy.ServeHTTP(w, r)
}

// count records one answer; status 0 is a request that got none.
func (t *tap) count(status int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st.Requests++
	switch {
	case status == http.StatusTooManyRequests || status == t.refusal:
		t.st.Throttled++
	case status < 200 || status > 299:
		t.st.Failed++
	}
}

func (t *tap) stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.st
}

func (t *tap) close() {
	shutdown(t.srv)
	t.tr.CloseIdleConnections()
}
