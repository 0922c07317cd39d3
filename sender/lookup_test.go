package sender

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulksend/bulksend/ratelimit"
)

// lookupServer loses the answer to the first send (a 502, as a proxy whose
// upstream took it, or not), answers later sends 200, and answers lookups
// with lookupStatus.
type lookupServer struct {
	lookupStatus int
	sends        atomic.Int64
	lookups      atomic.Int64
}

func (s *lookupServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/lookup/") {
		s.lookups.Add(1)
		w.WriteHeader(s.lookupStatus)
		_, _ = w.Write([]byte(`{"id":"m-found"}`))
		return
	}
	if s.sends.Add(1) == 1 {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	_, _ = w.Write([]byte(`{"id":"m-sent"}`))
}

// TestLookupSettles: an ambiguous attempt against a server not known to
// deduplicate is settled by the message's Lookup, paced and counted like a
// send: found is sent (with the lookup's message id), absent is sent again,
// anything else is looked up again and then left unknown.
func TestLookupSettles(t *testing.T) {
	const maxRetries = 2
	tests := []struct {
		name         string
		lookupStatus int
		want         Status
		wantSends    int64
		wantLookups  int64
		wantID       string
	}{
		{"found: sent, not resent", http.StatusOK, StatusSent, 1, 1, "m-found"},
		{"absent: sent again", http.StatusNotFound, StatusSent, 2, 1, "m-sent"},
		{"unsettled: looked up again, then unknown", http.StatusInternalServerError, StatusUnknown, 1, maxRetries + 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &lookupServer{lookupStatus: tt.lookupStatus}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			msgs := newMessages(1, ts.URL+"/send")
			msgs[0].Lookup = &Lookup{URL: ts.URL + "/lookup/row-001"}
			j := newMemJournal()
			lim := new(waitCountingLimiter)
			cfg := Config{Client: newClient(t), Journal: j, Limiter: lim, MaxRetries: maxRetries, LookupDelay: time.Millisecond,
				BackoffBase: time.Millisecond, BackoffMax: time.Millisecond,
				ParseResponse: func(_ int, body []byte) (string, string) {
					return strings.TrimSuffix(strings.TrimPrefix(string(body), `{"id":"`), `"}`), ""
				}}
			sum, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: msgs}, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			r := j.result(2)
			if r == nil || r.Status != tt.want || r.MessageID != tt.wantID {
				t.Fatalf("result %+v, want %s with message id %q", r, tt.want, tt.wantID)
			}
			if srv.sends.Load() != tt.wantSends || srv.lookups.Load() != tt.wantLookups {
				t.Errorf("server saw %d sends and %d lookups, want %d and %d", srv.sends.Load(), srv.lookups.Load(), tt.wantSends, tt.wantLookups)
			}
			if n := tt.wantSends + tt.wantLookups; int64(sum.Requests) != n || lim.waits.Load() != n {
				t.Errorf("%d requests counted, %d limiter waits; want %d each (lookups are paced and counted)", sum.Requests, lim.waits.Load(), n)
			}
			j.check(t)
		})
	}
}

// waitCountingLimiter lets every request go at once and counts them.
type waitCountingLimiter struct{ waits atomic.Int64 }

func (l *waitCountingLimiter) Wait(context.Context) error { l.waits.Add(1); return nil }
func (l *waitCountingLimiter) Throttle(time.Time, time.Duration, bool) time.Duration {
	return 0
}
func (l *waitCountingLimiter) Success(time.Time, ratelimit.Quota, bool) {}
