package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestWireProxy: a request through the proxy reaches the server and its
// answer comes back whole, no sooner than the round trip the proxy adds.
func TestWireProxy(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Path", r.URL.Path)
		_, _ = w.Write(append([]byte("got "), b...))
	}))
	defer srv.Close()
	const rtt = 60 * time.Millisecond
	p, base, err := startWire(srv.URL, rtt)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if base == srv.URL || !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("base %q, want the proxy's address", base)
	}
	client := &http.Client{}
	for i := range 3 {
		start := time.Now()
		resp, err := client.Post(base+"/send", "text/plain", strings.NewReader(strings.Repeat("x", 100_000)))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get("X-Path") != "/send" || string(body) != "got "+strings.Repeat("x", 100_000) {
			t.Fatalf("request %d: path %q, body of %d bytes", i, resp.Header.Get("X-Path"), len(body))
		}
		// At least the added round trip; no upper bound, which a busy
		// machine would break.
		if took < rtt {
			t.Errorf("request %d took %v, want at least %v", i, took, rtt)
		}
	}
}
