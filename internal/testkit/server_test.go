package testkit

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestServerRecords(t *testing.T) {
	var handlerSaw string
	s := NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		handlerSaw = string(b)
		w.WriteHeader(http.StatusTeapot)
	}))
	req, err := http.NewRequest(http.MethodPost, s.URL+"/send?key=k1", strings.NewReader("To=%2B1&Body=a+b"))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("AC1", "tok")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot || handlerSaw != "To=%2B1&Body=a+b" {
		t.Errorf("handler answered %d having read %q; want 418 and the whole body", resp.StatusCode, handlerSaw)
	}
	reqs := s.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests recorded, want 1", len(reqs))
	}
	r := reqs[0]
	user, pass, ok := r.BasicAuth()
	if r.Method != http.MethodPost || r.URL.Path != "/send" || r.URL.Query().Get("key") != "k1" || !ok || user != "AC1" || pass != "tok" {
		t.Errorf("recorded %s %s, basic auth %q %q %v", r.Method, r.URL, user, pass, ok)
	}
	if f := r.PostForm(); f.Get("To") != "+1" || f.Get("Body") != "a b" {
		t.Errorf("form %v", f)
	}
}

func TestServerPostFormNeedsContentType(t *testing.T) {
	r := Request{Method: http.MethodPost, Header: http.Header{}, Body: []byte("To=%2B1")}
	if f := r.PostForm(); len(f) != 0 {
		t.Errorf("PostForm without a form Content-Type = %v, want none", f)
	}
}

func TestServerDefaultHandler(t *testing.T) {
	s := NewServer(t, nil)
	resp, err := http.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(s.Requests()) != 1 {
		t.Errorf("status %d, %d requests recorded", resp.StatusCode, len(s.Requests()))
	}
}
