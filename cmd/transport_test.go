package cmd

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulksend/bulksend/internal/buildinfo"
)

// TestSendTransport checks what every request carries and whom it trusts:
// bulksend's User-Agent unless a --header sets one, and a private CA given
// with --cacert (without it the server's certificate is refused).
func TestSendTransport(t *testing.T) {
	var (
		mu     sync.Mutex
		agents []string
	)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		agents = append(agents, r.UserAgent())
		mu.Unlock()
		w.Write([]byte(`{"id":"m1"}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		code  int
		agent string
	}{
		{"private CA", []string{"--cacert", ca}, ExitOK, "bulksend/"},
		{"user agent from --header", []string{"--cacert", ca, "--header", "User-Agent: acme-notify/2"}, ExitOK, "acme-notify/2"},
		{"untrusted certificate", nil, ExitError, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			agents = nil
			mu.Unlock()
			ios, in, _, errOut := TestStreams()
			in.WriteString("id,to\n1,+15550001\n")
			args := append([]string{"send", "-", "--quiet", "--url", srv.URL + "/send", "--body", `{"to":{{json .to}}}`,
				"--report", filepath.Join(dir, tt.name+".csv"), "--max-retries", "0"}, tt.args...)
			if code := run(context.Background(), ios, args, nil, func(string) string { return "" }); code != tt.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.code, errOut)
			}
			mu.Lock()
			defer mu.Unlock()
			if tt.agent == "" {
				if len(agents) != 0 {
					t.Errorf("server got %d requests over an untrusted connection", len(agents))
				}
				return
			}
			if len(agents) != 1 || !strings.HasPrefix(agents[0], tt.agent) {
				t.Errorf("User-Agent %q, want %q...", agents, tt.agent)
			}
		})
	}
}

// TestSendTransportIdle checks that a kept-alive connection is not reused
// after idling as long as a server's own keep-alive timeout: a POST written
// on a connection the server is closing is cut after it went out and its
// row must stay unknown (idleConnTimeout). Before the fix Go's 90 s applied.
func TestSendTransportIdle(t *testing.T) {
	rt, err := newTransport(&SendOptions{Concurrency: 8})
	if err != nil {
		t.Fatal(err)
	}
	bi, ok := rt.(*buildinfo.Transport)
	if !ok {
		t.Fatalf("transport is %T, want *buildinfo.Transport", rt)
	}
	tr, ok := bi.Base.(*http.Transport)
	if !ok {
		t.Fatalf("base transport is %T, want *http.Transport", bi.Base)
	}
	// gunicorn closes an idle connection after 2 s, Node's http server and
	// Apache after 5 s: ours must close first, with room for the answer's
	// way back (the server's clock starts when it wrote the answer).
	if tr.IdleConnTimeout <= 0 || tr.IdleConnTimeout > 1500*time.Millisecond {
		t.Errorf("IdleConnTimeout %v, want within (0, 1.5s]: under the servers' keep-alive timeouts", tr.IdleConnTimeout)
	}
}
