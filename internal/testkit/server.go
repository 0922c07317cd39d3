package testkit

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
)

// Server is an httptest.Server on 127.0.0.1, port 0, that records every
// request it is sent before its handler answers, so a test can check what
// a client really put on the wire (credentials, form, path) after the
// fact, without channels or locks of its own.
type Server struct {
	*httptest.Server

	mu   sync.Mutex
	reqs []Request
}

// Request is one request as the server received it.
type Request struct {
	Method string
	URL    *url.URL // path and query, as the server saw them
	Header http.Header
	Body   []byte
}

// BasicAuth returns the username and password of the request's Basic
// Authorization header, as http.Request.BasicAuth does.
func (r Request) BasicAuth() (user, pass string, ok bool) {
	return (&http.Request{Header: r.Header}).BasicAuth()
}

// PostForm is the body's form values as http.Request.ParseForm reads them:
// empty unless the Content-Type is application/x-www-form-urlencoded.
func (r Request) PostForm() url.Values {
	hr := &http.Request{Method: r.Method, Header: r.Header, Body: io.NopCloser(bytes.NewReader(r.Body))}
	_ = hr.ParseForm() // a malformed form leaves what it could read
	return hr.PostForm
}

// NewServer starts a Server that answers with h (nil: 200 and no body)
// until the test ends. h still reads the whole body.
func NewServer(t testing.TB, h http.Handler) *Server {
	t.Helper()
	if h == nil {
		h = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	}
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			// The client went away mid-body: record what came.
			body = append(body, "<read error: "+err.Error()+">"...)
		}
		u := *r.URL
		s.mu.Lock()
		s.reqs = append(s.reqs, Request{Method: r.Method, URL: &u, Header: r.Header.Clone(), Body: body})
		s.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// Requests returns the requests received so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}
