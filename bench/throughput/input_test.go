package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulksend/bulksend/bench/internal/benchcli"
	"github.com/bulksend/bulksend/internal/testkit"

	"github.com/bulksend/bulksend/sender"
)

func TestRenderTargets(t *testing.T) {
	dir := t.TempDir()
	rows := filepath.Join(dir, "rows.csv")
	if err := writeRows(rows, 3); err != nil {
		t.Fatal(err)
	}
	ts, err := renderTargets(rows)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 3 {
		t.Fatalf("%d targets, want 3", len(ts))
	}
	wantBody := `{"id": "r00000002", "to": "+15550000002", "text": "Hello friend, your code is 2"}`
	if got := string(ts[2].Body); got != wantBody {
		t.Errorf("body = %s, want %s", got, wantBody)
	}
	if got, want := ts[2].Header.Get(sender.DefaultIdempotencyHeader), sender.KeyOf(sender.Fingerprint(&sender.Message{ID: "r00000002", Method: http.MethodPost,
		URL: "http://127.0.0.1/send", Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(wantBody)}, nil)); got != want {
		t.Errorf("idempotency key = %q, want %q", got, want)
	}
	if ts[2].Method != http.MethodPost || ts[2].Header.Get("Content-Type") != "application/json" {
		t.Errorf("target = %+v", ts[2])
	}

	// Written as vegeta targets and read back, they are the same requests.
	path := filepath.Join(dir, "targets.jsonl")
	if err := writeTargets(path, "http://127.0.0.1:1/send", ts); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	back, err := readTargets(f)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ts {
		if back[i].URL != "http://127.0.0.1:1/send" || !bytes.Equal(back[i].Body, ts[i].Body) ||
			back[i].Header.Get(sender.DefaultIdempotencyHeader) != ts[i].Header.Get(sender.DefaultIdempotencyHeader) {
			t.Errorf("target %d read back as %+v", i, back[i])
		}
	}
}

func TestReadTargets(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int
		wantErr string
	}{
		{"two", `{"method":"POST","url":"http://127.0.0.1/send","body":"e30="}` + "\n" + `{"method":"GET","url":"https://x/"}`, 2, ""},
		{"blank lines", "\n  \n" + `{"method":"POST","url":"http://h/"}` + "\n\n", 1, ""},
		{"empty", "", 0, ""},
		{"not json", "POST http://h/\n", 0, "line 1"},
		{"bad base64 body", `{"method":"POST","url":"http://h/","body":"!!"}`, 0, "line 1"},
		{"no method", `{"url":"http://h/"}`, 0, "no method"},
		{"relative url", `{"method":"GET","url":"/send"}`, 0, "not an absolute http(s) URL"},
		{"other scheme", `{"method":"GET","url":"ftp://h/x"}`, 0, "not an absolute http(s) URL"},
		{"bad method", `{"method":"GE T","url":"http://h/"}`, 0, "line 1"},
		{"second line bad", `{"method":"GET","url":"http://h/"}` + "\n{", 0, "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readTargets(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("readTargets = %v, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || len(got) != tt.want {
				t.Fatalf("readTargets = %d targets, %v; want %d", len(got), err, tt.want)
			}
		})
	}
}

// FuzzReadTargets checks that what reads back is valid, and that writing
// it and reading it again gives the same targets.
func FuzzReadTargets(f *testing.F) {
	f.Add(`{"method":"POST","url":"http://127.0.0.1/send","body":"e30=","header":{"A":["b"]}}`)
	f.Add("\n\n")
	f.Add(`{"method":"GET","url":"https://x/"}` + "\n" + `{"method":"GET","url":"https://y/"}`)
	f.Add(`{"method":"GET","url":"http://[::1]:80/"}`)
	f.Add("{")
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := readTargets(strings.NewReader(s))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		for _, tg := range ts {
			if tg.Method == "" {
				t.Fatalf("target without method from %q", s)
			}
			if err := enc.Encode(tg); err != nil {
				t.Fatal(err)
			}
		}
		again, err := readTargets(&buf)
		if err != nil || len(again) != len(ts) {
			t.Fatalf("re-read of %d targets: %d, %v", len(ts), len(again), err)
		}
		for i := range ts {
			if again[i].Method != ts[i].Method || again[i].URL != ts[i].URL || !bytes.Equal(again[i].Body, ts[i].Body) {
				t.Fatalf("target %d changed: %+v -> %+v", i, ts[i], again[i])
			}
		}
	})
}

func TestSendAll(t *testing.T) {
	srv := testkit.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, _ := io.ReadAll(r.Body); strings.Contains(string(b), "fail") {
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	var ts []target
	for _, body := range []string{"a", "b", "c", "fail", "d"} {
		ts = append(ts, target{Method: http.MethodPost, URL: srv.URL, Body: []byte(body), Header: http.Header{"Idempotency-Key": {"k-" + body}}})
	}
	got := sendAll(context.Background(), ts, 3)
	if got.OK != 4 || got.Failed != 1 {
		t.Errorf("sendAll = %+v, want 4 ok, 1 failed", got)
	}
	seen := map[string]int{}
	for _, r := range srv.Requests() {
		seen[string(r.Body)+"|"+r.Header.Get("Idempotency-Key")]++
	}
	if len(seen) != 5 {
		t.Errorf("server saw %d distinct requests, want 5: %v", len(seen), seen)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s sent %d times", k, n)
		}
	}
}

func TestMinimalClientMainUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"no targets", []string{"-concurrency", "2"}, benchcli.ExitUsage},
		{"bad flag", []string{"-x"}, benchcli.ExitUsage},
		{"missing file", []string{"-targets", filepath.Join(t.TempDir(), "none")}, benchcli.ExitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if got := minimalClientMain(tt.args, &stdout, &stderr); got != tt.want {
				t.Errorf("minimalClientMain(%q) = %d, want %d (stderr %q)", tt.args, got, tt.want, stderr.String())
			}
		})
	}
}
