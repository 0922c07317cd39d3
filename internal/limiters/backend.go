package limiters

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// maxBody bounds a message body the backend reads.
const maxBody = 1 << 20

var discardLog = log.New(io.Discard, "", 0)

// backend is the messaging API behind a limiter: it accepts every message
// (any method but GET and HEAD, any path) and counts deliveries per
// message id, so a message delivered twice shows as a duplicate.
type backend struct {
	srv     *http.Server
	addr    string
	latency time.Duration // each message is answered after it

	mu        sync.Mutex
	seq       int64
	delivered int64
	seen      map[string]int // message id -> deliveries
}

func startBackend(latency time.Duration) (*backend, error) {
	b := &backend{seen: make(map[string]int), latency: latency}
	srv, addr, err := serve(b)
	if err != nil {
		return nil, fmt.Errorf("start backend: %w", err)
	}
	b.srv, b.addr = srv, addr
	return b, nil
}

// ServeHTTP delivers a message: 200 with {"id": "msg-N"}. GET and HEAD
// deliver nothing (a probe's requests), and answer 200 with {}.
func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		_, _ = io.WriteString(w, "{}")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"read body"}`)
		return
	}
	n := b.deliver(identity(r, body))
	if b.latency > 0 {
		t := time.NewTimer(b.latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	_, _ = io.WriteString(w, `{"id":"msg-`+strconv.FormatInt(n, 10)+`","status":"queued"}`)
}

// identity is what makes two requests the same message: the body's "id"
// field when it is a JSON object with one, else the Idempotency-Key
// header, else the body itself.
func identity(r *http.Request, body []byte) string {
	var msg struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(body, &msg) == nil && len(msg.ID) > 0 && string(msg.ID) != "null" {
		return "id:" + string(msg.ID)
	}
	if k := r.Header.Get("Idempotency-Key"); k != "" {
		return "key:" + k
	}
	sum := sha256.Sum256(body)
	return "body:" + string(sum[:])
}

func (b *backend) deliver(id string) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	b.delivered++
	b.seen[id]++
	return b.seq
}

// stats returns deliveries, distinct ids delivered and duplicates.
func (b *backend) stats() (delivered, distinct, duplicates int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	distinct = int64(len(b.seen))
	return b.delivered, distinct, b.delivered - distinct
}

func (b *backend) close() {
	if b != nil && b.srv != nil {
		shutdown(b.srv)
	}
}
