package sandboxtest

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/bulksend/bulksend/sandbox"
)

func TestStart(t *testing.T) {
	srv, base := Start(t, sandbox.Config{})
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Errorf("base %q, want a loopback URL", base)
	}
	resp, err := http.Post(base+"/send", "application/json", strings.NewReader(`{"to":"+15550001"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || srv.Stats().Delivered != 1 {
		t.Errorf("status %d, stats %+v; want 200 and one delivery", resp.StatusCode, srv.Stats())
	}
}

func TestServeStop(t *testing.T) {
	_, base, stop, err := Serve(context.Background(), sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if resp, err := http.Get(base + "/stats"); err == nil {
		resp.Body.Close()
		t.Fatal("the sandbox still answers after stop")
	}
}

func TestServeBadConfig(t *testing.T) {
	if _, _, _, err := Serve(context.Background(), sandbox.Config{Burst: -1, Rate: 1}); err == nil ||
		!strings.HasPrefix(err.Error(), "configure sandbox: ") {
		t.Errorf("err = %v, want a configure sandbox error", err)
	}
}
