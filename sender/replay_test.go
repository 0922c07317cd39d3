package sender

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// cuttingServer answers the first request on each connection and cuts the
// connection after reading the whole of the second one, request and body,
// without answering: a lost acknowledgement on a reused connection, the
// case where net/http's Transport would send a replayable request again on
// a new connection by itself. It counts the requests it read, by line.
type cuttingServer struct {
	ln   net.Listener
	mu   sync.Mutex
	seen map[int]int
	wg   sync.WaitGroup
}

func startCuttingServer(t *testing.T) *cuttingServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &cuttingServer{ln: ln, seen: make(map[int]int)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *cuttingServer) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for n := 1; ; n++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		line, _ := strconv.Atoi(req.Header.Get(lineHeader))
		s.mu.Lock()
		s.seen[line]++
		s.mu.Unlock()
		if n > 1 {
			return // read it all, answer nothing
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nContent-Type: application/json\r\n\r\n{\"id\":\"m1\"}")
	}
}

func (s *cuttingServer) count(line int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[line]
}

// TestTransportNeverReplays: a request whose acknowledgement was lost on a
// reused connection reaches the server once, whatever key header it
// carries and whatever its body, against a server not known to
// deduplicate: the transport must not decide to send it again, and the
// engine leaves it unknown.
func TestTransportNeverReplays(t *testing.T) {
	tests := []struct {
		name, method, header string
		body                 []byte
	}{
		{"POST with Idempotency-Key", http.MethodPost, "Idempotency-Key", []byte(`{"to":"+1555"}`)},
		{"POST with X-Idempotency-Key", http.MethodPost, "X-Idempotency-Key", []byte(`{"to":"+1555"}`)},
		{"empty POST with Idempotency-Key", http.MethodPost, "Idempotency-Key", nil},
		{"GET with Idempotency-Key", http.MethodGet, "Idempotency-Key", nil},
		{"PUT with a header of the user's", http.MethodPut, "X-Request-Id", []byte("x")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startCuttingServer(t)
			msgs := newMessages(2, "http://"+srv.ln.Addr().String()+"/send")
			for _, m := range msgs {
				m.Method, m.Body = tt.method, tt.body
			}
			tr := &http.Transport{MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			j := newMemJournal()
			// One worker, so the second request goes on the first one's
			// connection.
			cfg := Config{Client: RoundTripDoer{tr}, Journal: j, Concurrency: 1, IdempotencyHeader: tt.header,
				Timeout: 10 * time.Second}
			sum, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: msgs}, 20*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if got := srv.count(3); got != 1 {
				t.Errorf("the server read the second request %d times, want once", got)
			}
			if r := j.result(2); r == nil || r.Status != StatusSent {
				t.Errorf("line 2: %+v, want sent", r)
			}
			if r := j.result(3); r == nil || r.Status != StatusUnknown || r.Attempts != 1 {
				t.Errorf("line 3: %+v, want unknown after 1 attempt", r)
			}
			if sum.Requests != 2 {
				t.Errorf("%d requests, want 2", sum.Requests)
			}
		})
	}
}

// TestNoReplay checks the request noReplay leaves against net/http's own
// rules: nothing the transport would rewind, and no key header it reads.
func TestNoReplay(t *testing.T) {
	tests := []struct {
		name, method string
		body         string
		wantLower    bool // the key header moved to a lower-case name
	}{
		{"POST with a body", http.MethodPost, "x", false},
		{"empty POST", http.MethodPost, "", true},
		{"empty PATCH", http.MethodPatch, "", true},
		{"empty GET", http.MethodGet, "", false},
		{"empty DELETE", http.MethodDelete, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = stringsReader(tt.body)
			}
			req, err := http.NewRequest(tt.method, "http://127.0.0.1/", body)
			if err != nil {
				t.Fatal(err)
			}
			shared := http.Header{"Idempotency-Key": {"k"}}
			req.Header = shared
			noReplay(req)
			if req.GetBody != nil {
				t.Error("GetBody left: the transport can rewind and resend the body")
			}
			if req.Body == nil || req.Body == http.NoBody {
				if _, has := req.Header["Idempotency-Key"]; has {
					t.Error("an empty request keeps Idempotency-Key where the transport looks for it")
				}
			}
			// The key is kept under a non-canonical name on purpose: where
			// the transport does not look for it.
			//lint:ignore SA1008 the non-canonical key is what noReplay writes
			if _, lower := req.Header["idempotency-key"]; lower != tt.wantLower {
				t.Errorf("lower-case key header %v, want %v", lower, tt.wantLower)
			}
			if got := req.Header.Values("Idempotency-Key"); len(got) > 0 && got[0] != "k" && !tt.wantLower {
				t.Errorf("key header %v, want k", got)
			}
			if len(shared) != 1 || shared.Get("Idempotency-Key") != "k" {
				t.Errorf("the message's own header was changed: %v", shared)
			}
		})
	}
}

func stringsReader(s string) io.Reader { return &onceReader{s: s} }

// onceReader is a reader net/http cannot rewind (not a *strings.Reader,
// for which NewRequest sets GetBody).
type onceReader struct{ s string }

func (r *onceReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := copy(p, r.s)
	r.s = r.s[n:]
	return n, nil
}
