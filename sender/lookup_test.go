package sender

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
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
	lookupBody   string // "" means {"id":"m-found"}
	sends        atomic.Int64
	lookups      atomic.Int64
}

func (s *lookupServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/lookup/") {
		s.lookups.Add(1)
		w.WriteHeader(s.lookupStatus)
		body := s.lookupBody
		if body == "" {
			body = `{"id":"m-found"}`
		}
		_, _ = w.Write([]byte(strings.TrimPrefix(body, "-")))
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
// anything else is looked up again and then left unknown. A 2xx that is
// empty does not say "exists": it settles nothing either.
func TestLookupSettles(t *testing.T) {
	const maxRetries = 2
	tests := []struct {
		name         string
		lookupStatus int
		lookupBody   string // "-" alone: no body
		want         Status
		wantSends    int64
		wantLookups  int64
		wantID       string
	}{
		{"found: sent, not resent", http.StatusOK, "", StatusSent, 1, 1, "m-found"},
		{"found without an id: sent", http.StatusOK, `{"status":"delivered"}`, StatusSent, 1, 1, ""},
		{"absent: sent again", http.StatusNotFound, "", StatusSent, 2, 1, "m-sent"},
		{"unsettled: looked up again, then unknown", http.StatusInternalServerError, "", StatusUnknown, 1, maxRetries + 1, ""},
		{"200 with no body: unsettled", http.StatusOK, "-", StatusUnknown, 1, maxRetries + 1, ""},
		{"200 []: unsettled", http.StatusOK, "[]", StatusUnknown, 1, maxRetries + 1, ""},
		{"200 [ ] with spaces: unsettled", http.StatusOK, " [ ]\n", StatusUnknown, 1, maxRetries + 1, ""},
		{"200 {}: unsettled", http.StatusOK, "{}", StatusUnknown, 1, maxRetries + 1, ""},
		{"200 null: unsettled", http.StatusOK, "null", StatusUnknown, 1, maxRetries + 1, ""},
		{"204: unsettled", http.StatusNoContent, "-", StatusUnknown, 1, maxRetries + 1, ""},
		{"200 a list of one: found", http.StatusOK, `[{"id":"m-1"}]`, StatusSent, 1, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &lookupServer{lookupStatus: tt.lookupStatus, lookupBody: tt.lookupBody}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			msgs := newMessages(1, ts.URL+"/send")
			msgs[0].Lookup = &Lookup{URL: ts.URL + "/lookup/row-001"}
			j := newMemJournal()
			lim := new(waitCountingLimiter)
			progress := new(Progress)
			cfg := Config{Client: newClient(t), Journal: j, Limiter: lim, MaxRetries: maxRetries, LookupDelay: time.Millisecond, Progress: progress,
				BackoffBase: time.Millisecond, BackoffMax: time.Millisecond,
				ParseResponse: func(_ int, body []byte) (string, string) {
					return strings.TrimSuffix(strings.TrimPrefix(string(body), `{"id":"`), `"}`), ""
				}}
			sum, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: msgs}, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			r := j.result(2)
			if r == nil || r.Status != tt.want || (tt.wantID != "" && r.MessageID != tt.wantID) {
				t.Fatalf("result %+v, want %s with message id %q", r, tt.want, tt.wantID)
			}
			if srv.sends.Load() != tt.wantSends || srv.lookups.Load() != tt.wantLookups {
				t.Errorf("server saw %d sends and %d lookups, want %d and %d", srv.sends.Load(), srv.lookups.Load(), tt.wantSends, tt.wantLookups)
			}
			if n := tt.wantSends + tt.wantLookups; int64(sum.Requests) != n || lim.waits.Load() != n {
				t.Errorf("%d requests counted, %d limiter waits; want %d each (lookups are paced and counted)", sum.Requests, lim.waits.Load(), n)
			}
			if n := progress.Settling.Load(); n != 0 {
				t.Errorf("Progress.Settling is %d after the run, want 0", n)
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

// pagesServer loses the answer to the first send (a 502) and serves a list
// of pages at /list/{n}: page n's body is "n"; the last page is pages.
type pagesServer struct {
	pages   int
	sends   atomic.Int64
	lookups atomic.Int64
}

func (s *pagesServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if n, ok := strings.CutPrefix(r.URL.Path, "/list/"); ok {
		s.lookups.Add(1)
		_, _ = w.Write([]byte(n))
		return
	}
	if s.sends.Add(1) == 1 {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	_, _ = w.Write([]byte(`{"id":"m-sent"}`))
}

// TestLookupPages: a Lookup whose Match reads a list follows its pages, each
// a paced and counted request, up to Lookup.Pages; found on a page is sent,
// the end of the list without it is absent (sent again), a list longer than
// the bound or a page that cannot be judged settles nothing (looked up
// again from the first page, then unknown). Match is given the time of the
// row's first request on the server's clock, less LookupClockSlack.
func TestLookupPages(t *testing.T) {
	const maxRetries = 1
	tests := []struct {
		name        string
		pages       int // pages in the list
		foundOn     int // page holding the message; 0: none
		unsettledOn int // page Match cannot judge; 0: none
		bound       int // Lookup.Pages
		want        Status
		wantSends   int64
		wantLookups int64
	}{
		{"found on the first page", 3, 1, 0, 5, StatusSent, 1, 1},
		{"found on the third page", 3, 3, 0, 5, StatusSent, 1, 3},
		{"absent at the end of the list: sent again", 3, 0, 0, 5, StatusSent, 2, 3},
		{"the list outlasts the bound: unknown", 10, 0, 0, 4, StatusUnknown, 1, (maxRetries + 1) * 4},
		{"a page that cannot be judged: unknown", 3, 3, 2, 5, StatusUnknown, 1, (maxRetries + 1) * 2},
		{"found on the last page the bound reads", DefaultLookupPages, DefaultLookupPages, 0, 0, StatusSent, 1, DefaultLookupPages},
		{"found one page past the default bound: unknown", DefaultLookupPages + 1, DefaultLookupPages + 1, 0, 0, StatusUnknown, 1, (maxRetries + 1) * DefaultLookupPages},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &pagesServer{pages: tt.pages}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			var sinces []time.Time
			var mu sync.Mutex
			msgs := newMessages(1, ts.URL+"/send")
			msgs[0].Lookup = &Lookup{URL: ts.URL + "/list/1", Pages: tt.bound, Match: func(body []byte, since time.Time) Page {
				mu.Lock()
				sinces = append(sinces, since)
				mu.Unlock()
				n, err := strconv.Atoi(string(body))
				switch {
				case err != nil:
					return Page{Unsettled: "not a page: " + err.Error()}
				case n == tt.unsettledOn:
					return Page{Unsettled: "a message without a date"}
				case n == tt.foundOn:
					return Page{Found: true, MessageID: "m-listed"}
				case n == tt.pages:
					return Page{}
				}
				return Page{Next: ts.URL + "/list/" + strconv.Itoa(n+1)}
			}}
			j := newMemJournal()
			lim := new(waitCountingLimiter)
			start := time.Now()
			cfg := Config{Client: newClient(t), Journal: j, Limiter: lim, MaxRetries: maxRetries, LookupDelay: time.Millisecond,
				BackoffBase: time.Millisecond, BackoffMax: time.Millisecond,
				ParseResponse: func(_ int, body []byte) (string, string) { return "", "" }}
			sum, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: msgs}, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			r := j.result(2)
			if r == nil || r.Status != tt.want {
				t.Fatalf("result %+v, want %s", r, tt.want)
			}
			if tt.want == StatusSent && tt.wantSends == 1 && r.MessageID != "m-listed" {
				t.Errorf("message id %q, want the listed m-listed", r.MessageID)
			}
			if srv.sends.Load() != tt.wantSends || srv.lookups.Load() != tt.wantLookups {
				t.Errorf("server saw %d sends and %d page reads, want %d and %d", srv.sends.Load(), srv.lookups.Load(), tt.wantSends, tt.wantLookups)
			}
			if n := tt.wantSends + tt.wantLookups; int64(sum.Requests) != n || lim.waits.Load() != n {
				t.Errorf("%d requests counted, %d limiter waits; want %d each (every page is paced and counted)", sum.Requests, lim.waits.Load(), n)
			}
			// httptest sends a Date header to the second: the offset it
			// gives is within a second of none.
			for _, s := range sinces {
				if lo, hi := start.Add(-LookupClockSlack-2*time.Second), time.Now().Add(-LookupClockSlack+time.Second); s.Before(lo) || s.After(hi) {
					t.Errorf("since %v, want the first request's start less %s (between %v and %v)", s, LookupClockSlack, lo, hi)
				}
			}
			j.check(t)
		})
	}
}

// TestLookupSinceResumed: a row an earlier run left unsettled is looked up
// first, and Match is given the time that run's request left
// (Message.Since, less LookupClockSlack), or zero when it is not known.
func TestLookupSinceResumed(t *testing.T) {
	earlier := time.Now().Add(-time.Hour)
	tests := []struct {
		name  string
		since time.Time
		want  time.Time
	}{
		{"the earlier run's time", earlier, earlier.Add(-LookupClockSlack)},
		{"not known", time.Time{}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &pagesServer{pages: 1}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			var got []time.Time
			var mu sync.Mutex
			msgs := newMessages(1, ts.URL+"/send")
			msgs[0].Settle, msgs[0].Since = true, tt.since
			msgs[0].Lookup = &Lookup{URL: ts.URL + "/list/1", Match: func(_ []byte, since time.Time) Page {
				mu.Lock()
				got = append(got, since)
				mu.Unlock()
				return Page{Found: true, MessageID: "m-listed", Message: []byte(`{"sid": "m-listed"}`)}
			}}
			j := newMemJournal()
			cfg := Config{Client: newClient(t), Journal: j, Limiter: new(waitCountingLimiter), MaxRetries: 1,
				ParseResponse: func(int, []byte) (string, string) { return "", "" }}
			if _, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: msgs}, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			if r := j.result(2); r == nil || r.Status != StatusSent || r.MessageID != "m-listed" || srv.sends.Load() != 0 {
				t.Fatalf("result %+v after %d sends; want sent by the lookup alone", r, srv.sends.Load())
			} else if r.Response != `{"sid": "m-listed"}` {
				t.Errorf("response %q, want the message as listed", r.Response)
			}
			// httptest's Date header is to the second: the offset it gives
			// is within a second of none.
			if len(got) != 1 || got[0].IsZero() != tt.want.IsZero() || got[0].Sub(tt.want).Abs() > time.Second {
				t.Errorf("since %v, want %v", got, tt.want)
			}
		})
	}
}

// TestLookupList404: a 404 to a Lookup that reads a list (Match) is a list
// that is not there, not a message absent from it: it settles nothing, so
// the row is never resent on it, and ends unknown.
func TestLookupList404(t *testing.T) {
	const maxRetries = 1
	srv := &lookupServer{lookupStatus: http.StatusNotFound}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	msgs := newMessages(1, ts.URL+"/send")
	msgs[0].Lookup = &Lookup{URL: ts.URL + "/lookup/list", Match: func([]byte, time.Time) Page { return Page{} }}
	j := newMemJournal()
	cfg := Config{Client: newClient(t), Journal: j, Limiter: new(waitCountingLimiter), MaxRetries: maxRetries,
		LookupDelay: time.Millisecond, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond,
		ParseResponse: func(int, []byte) (string, string) { return "", "" }}
	if _, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: msgs}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if r := j.result(2); r == nil || r.Status != StatusUnknown || !strings.Contains(r.Error, "HTTP 404") {
		t.Fatalf("result %+v, want unknown after HTTP 404", r)
	}
	if srv.sends.Load() != 1 || srv.lookups.Load() != maxRetries+1 {
		t.Errorf("%d sends and %d lookups, want 1 and %d", srv.sends.Load(), srv.lookups.Load(), maxRetries+1)
	}
	j.check(t)
}

// TestLookupEmpty pins the narrow rule README documents for a lookup's 2xx:
// only no body, [], {} or null says nothing; any other body, a wrapped
// empty list or a zero count included, counts as the message found.
func TestLookupEmpty(t *testing.T) {
	tests := []struct {
		name string
		body string
		want bool
	}{
		{"no body", "", true},
		{"spaces", " \n", true},
		{"empty list", "[]", true},
		{"empty list with spaces", "[ ]", true},
		{"empty object", "{ }", true},
		{"null", "null", true},
		{"a message", `{"id":"m-1"}`, false},
		{"a wrapped empty list: found", `{"data":[]}`, false},
		{"a zero count: found", `{"count":0}`, false},
		{"a list with a message", `[{"id":"m-1"}]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := empty([]byte(tt.body)); got != tt.want {
				t.Errorf("empty(%q) = %v, want %v", tt.body, got, tt.want)
			}
		})
	}
}

// outcomeLimiter lets every request go at once and counts how Done ended
// them.
type outcomeLimiter struct {
	waitCountingLimiter
	mu    sync.Mutex
	dones map[ratelimit.Outcome]int
}

func (l *outcomeLimiter) Done(_ time.Time, o ratelimit.Outcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dones == nil {
		l.dones = map[ratelimit.Outcome]int{}
	}
	l.dones[o]++
}

// TestLookupOutageNotRefused: a lookup answered 503 with no wait, past the
// outage grace, is an outage that fails the lookup, not the limit refusing
// it: the limiter hears it as an answer, not a refusal (which the adaptive
// rate would keep among the refused requests a log counts). Within the
// grace it is the limit's, as for a send. The next lookup finds the
// message absent, and it is sent again.
func TestLookupOutageNotRefused(t *testing.T) {
	for _, c := range []struct {
		name        string
		grace       time.Duration
		wantRefused int
	}{{"past the grace", -1, 0}, {"within the grace", time.Hour, 1}} {
		t.Run(c.name, func(t *testing.T) {
			var sends, lookups atomic.Int64
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/lookup/") {
					if lookups.Add(1) == 1 {
						w.WriteHeader(http.StatusServiceUnavailable)
						return
					}
					w.WriteHeader(http.StatusNotFound)
					return
				}
				if sends.Add(1) == 1 {
					w.WriteHeader(http.StatusBadGateway)
					return
				}
				_, _ = w.Write([]byte(`{"id":"m-sent"}`))
			}))
			defer ts.Close()
			msgs := newMessages(1, ts.URL+"/send")
			msgs[0].Lookup = &Lookup{URL: ts.URL + "/lookup/row-001"}
			j := newMemJournal()
			lim := new(outcomeLimiter)
			cfg := Config{Client: newClient(t), Journal: j, Limiter: lim, MaxRetries: 2, LookupDelay: time.Millisecond,
				OutageGrace: c.grace, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond}
			if _, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: msgs}, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			if r := j.result(2); r == nil || r.Status != StatusSent {
				t.Fatalf("result %+v, want sent", r)
			}
			lim.mu.Lock()
			refused := lim.dones[ratelimit.Refused]
			lim.mu.Unlock()
			if lookups.Load() != 2 || refused != c.wantRefused {
				t.Errorf("%d lookups, %d ended as refused; want 2 and %d", lookups.Load(), refused, c.wantRefused)
			}
		})
	}
}
