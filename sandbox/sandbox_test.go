package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulksend/bulksend/internal/testkit"
)

// t0 is a Thursday, which the HTTP dates below rely on.
var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// newServer builds a Server on a clock stopped at t0.
func newServer(t testing.TB, cfg Config) (*Server, *testkit.Clock) {
	t.Helper()
	c := testkit.NewClock(t0)
	cfg.Now = c.Now
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, c
}

// do sends one request straight to the handler; hdr is "Key: value" pairs.
func do(s http.Handler, method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	for _, h := range hdr {
		k, v, _ := strings.Cut(h, ":")
		r.Header.Add(k, strings.TrimSpace(v))
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

func sendJSON(s http.Handler, body string, hdr ...string) *httptest.ResponseRecorder {
	return do(s, http.MethodPost, "/send", body, append([]string{"Content-Type: application/json"}, hdr...)...)
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero value", Config{}, true},
		{"bucket", Config{Burst: 15, Rate: 5}, true},
		{"rate alone", Config{Rate: 5}, true},
		{"window", Config{Burst: 3, Window: time.Second}, true},
		{"every style", Config{Style: StyleResetISO}, true},
		{"negative skew", Config{Skew: -time.Hour}, true},
		{"faults add to one", Config{FailRate: 0.5, CutBefore: 0.25, CutAfter: 0.25}, true},
		{"unknown style", Config{Style: "x-bogus"}, false},
		{"negative burst", Config{Burst: -1, Rate: 1}, false},
		{"negative rate", Config{Rate: -1}, false},
		{"burst without rate", Config{Burst: 5}, false},
		{"window without burst", Config{Window: time.Second}, false},
		{"negative window", Config{Burst: 1, Window: -time.Second}, false},
		{"negative latency", Config{Latency: -1}, false},
		{"negative jitter", Config{LatencyJitter: -1}, false},
		{"negative spam window", Config{SpamWindow: -1}, false},
		{"negative token lifetime", Config{TokenLifetime: -1}, false},
		{"fail rate above one", Config{FailRate: 1.5}, false},
		{"negative cut share", Config{CutBefore: -0.1}, false},
		{"faults above one together", Config{FailRate: 0.6, CutAfter: 0.6}, false},
		{"bucket", Config{Model: ModelBucket, Burst: 15, Rate: 100}, true},
		{"leaky", Config{Model: ModelLeaky, Burst: 15, Rate: 100}, true},
		{"fixed", Config{Model: ModelFixed, Burst: 15, Window: time.Second}, true},
		{"fixed aligned", Config{Model: ModelFixed, Aligned: true, Burst: 15, Window: time.Second}, true},
		{"window alone is fixed, aligned", Config{Aligned: true, Burst: 15, Window: time.Second}, true},
		{"sliding counter", Config{Model: ModelSliding, Sliding: SlidingCounter, Burst: 15, Window: time.Second, RefusedCount: true}, true},
		{"concurrency", Config{Model: ModelConcurrency, Burst: 3}, true},
		{"unknown model", Config{Model: "gcra", Burst: 1, Rate: 1}, false},
		{"bucket without rate", Config{Model: ModelBucket, Burst: 15}, false},
		{"leaky without rate", Config{Model: ModelLeaky}, false},
		{"sliding without window", Config{Model: ModelSliding, Burst: 15}, false},
		{"fixed without burst", Config{Model: ModelFixed, Window: time.Second}, false},
		{"concurrency without burst", Config{Model: ModelConcurrency}, false},
		{"aligned bucket", Config{Model: ModelBucket, Aligned: true, Rate: 1}, false},
		{"sliding kind on a fixed window", Config{Model: ModelFixed, Sliding: SlidingLog, Burst: 1, Window: time.Second}, false},
		{"unknown sliding kind", Config{Model: ModelSliding, Sliding: "ring", Burst: 1, Window: time.Second}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if tt.ok && err != nil {
				t.Fatalf("New: %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New: got %v, want an ErrInvalidConfig", err)
			}
		})
	}
}

func TestStylesListsEveryStyle(t *testing.T) {
	got := Styles()
	if len(got) != 16 {
		t.Fatalf("Styles() has %d entries, want 16", len(got))
	}
	got[0] = "changed"
	if Styles()[0] != StyleRetryAfter {
		t.Fatal("Styles() shares its backing array with the caller")
	}
}

// step is one request in a limiter scenario: advance the clock, send, check.
type step struct {
	advance   time.Duration
	status    int
	reset     string // X-RateLimit-Reset in Go duration style
	remaining string
}

func TestLimiter(t *testing.T) {
	accepted := func(remaining string) step { return step{status: 200, remaining: remaining} }
	tests := []struct {
		name  string
		cfg   Config
		steps []step
	}{{
		name: "burst 15 then refill after 10ms at 100/s",
		cfg:  Config{Burst: 15, Rate: 100},
		steps: append(func() (s []step) {
			for i := 14; i >= 0; i-- {
				s = append(s, step{status: 200, remaining: strconv.Itoa(i), reset: (time.Duration(15-i) * 10 * time.Millisecond).String()})
			}
			return s
		}(),
			step{status: 429, reset: "10ms", remaining: "0"},
			step{advance: 9 * time.Millisecond, status: 429, reset: "1ms"},
			step{advance: time.Millisecond, status: 200, remaining: "0", reset: "150ms"},
			step{status: 429, reset: "10ms"},
		),
	}, {
		name: "no penalty: a limited request costs nothing",
		cfg:  Config{Burst: 2, Rate: 1},
		steps: []step{
			accepted("1"), accepted("0"),
			{status: 429, reset: "1s"}, {status: 429, reset: "1s"},
			{advance: time.Second, status: 200, remaining: "0"},
		},
	}, {
		name: "penalty: the bucket goes down to -burst",
		cfg:  Config{Burst: 2, Rate: 1, Penalty: true},
		steps: []step{
			accepted("1"), accepted("0"),
			{status: 429, reset: "2s"}, {status: 429, reset: "3s"}, {status: 429, reset: "3s"},
			// Hammering during the lockout costs yet another token.
			{advance: 2 * time.Second, status: 429, reset: "2s"},
			{advance: 2 * time.Second, status: 200, remaining: "0"},
		},
	}, {
		name: "rate alone means a burst of one",
		cfg:  Config{Rate: 2},
		steps: []step{
			{status: 200, remaining: "0", reset: "500ms"},
			{status: 429, reset: "500ms"},
			{advance: 500 * time.Millisecond, status: 200},
		},
	}, {
		name: "fixed window",
		cfg:  Config{Burst: 3, Window: time.Second},
		steps: []step{
			{status: 200, remaining: "2", reset: "1s"}, accepted("1"), accepted("0"),
			{status: 429, reset: "1s"},
			{advance: 400 * time.Millisecond, status: 429, reset: "600ms"},
			{advance: 600 * time.Millisecond, status: 200, remaining: "2", reset: "1s"},
		},
	}, {
		name: "fixed window with penalty: the end moves out, at most two windows ahead",
		cfg:  Config{Burst: 1, Window: time.Second, Penalty: true},
		steps: []step{
			accepted("0"),
			{status: 429, reset: "2s"}, {status: 429, reset: "2s"},
			{advance: time.Second, status: 429, reset: "2s"},
			{advance: 2 * time.Second, status: 200, remaining: "0", reset: "1s"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runSteps(t, tt.cfg, tt.steps) })
	}
}

// runSteps sends one request per step to a server of cfg on a clock that
// each step advances, and checks its status and its X-RateLimit-Reset and
// -Remaining (cfg's style is set to StyleResetDuration).
func runSteps(t *testing.T, cfg Config, steps []step) {
	t.Helper()
	cfg.Style = StyleResetDuration
	s, c := newServer(t, cfg)
	for i, st := range steps {
		c.Advance(st.advance)
		w := sendJSON(s, `{"n":`+strconv.Itoa(i)+`}`)
		if w.Code != st.status {
			t.Fatalf("request %d: status %d, want %d (%s)", i+1, w.Code, st.status, w.Body)
		}
		if got := w.Header().Get("X-RateLimit-Reset"); st.reset != "" && got != st.reset {
			t.Errorf("request %d: X-RateLimit-Reset %q, want %q", i+1, got, st.reset)
		}
		if got := w.Header().Get("X-RateLimit-Remaining"); st.remaining != "" && got != st.remaining {
			t.Errorf("request %d: X-RateLimit-Remaining %q, want %q", i+1, got, st.remaining)
		}
	}
}

// quotaHeaders are every header a style may set; a style must set only its own.
var quotaHeaders = []string{
	"Retry-After", "RateLimit", "RateLimit-Policy", "RateLimit-Limit", "RateLimit-Remaining",
	"RateLimit-Reset", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
	"X-RateLimit-Reset-After", "inin-ratelimit-count", "inin-ratelimit-allowed", "inin-ratelimit-reset",
	"X-Retry-In",
}

func checkHeaders(t *testing.T, what string, h http.Header, want map[string]string) {
	t.Helper()
	for _, k := range quotaHeaders {
		if got, w := h.Get(k), want[k]; got != w {
			t.Errorf("%s: %s = %q, want %q", what, k, got, w)
		}
	}
}

func TestStyleHeaders(t *testing.T) {
	// Burst 2 at 0.8/s: a token every 1.25s, full after 2.5s. The first
	// request leaves 1 token and 1.25s to full; the third waits 1.25s.
	tests := []struct {
		style     string
		success   map[string]string
		throttled map[string]string
	}{
		{StyleRetryAfter, nil, map[string]string{"Retry-After": "2"}},
		{StyleRetryAfterDate, nil, map[string]string{"Retry-After": "Thu, 02 Jan 2025 03:04:07 GMT"}},
		{StyleRetryIn, nil, map[string]string{"Retry-After": "2", "X-Retry-In": "1.25s"}},
		{StyleRateLimit,
			map[string]string{"RateLimit": `"default";r=1;t=2`, "RateLimit-Policy": `"default";q=2;w=3`},
			map[string]string{"RateLimit": `"default";r=0;t=2`, "RateLimit-Policy": `"default";q=2;w=3`}},
		{StyleRateLimitOld,
			map[string]string{"RateLimit-Limit": "2", "RateLimit-Remaining": "1", "RateLimit-Reset": "2"},
			map[string]string{"RateLimit-Limit": "2", "RateLimit-Remaining": "0", "RateLimit-Reset": "2"}},
		// The limit is the refill rate, 0.8/s, rounded; the reset is always 1.
		{StyleRateLimitRefill,
			map[string]string{"RateLimit-Limit": "1", "RateLimit-Remaining": "1", "RateLimit-Reset": "1"},
			map[string]string{"RateLimit-Limit": "1", "RateLimit-Remaining": "0", "RateLimit-Reset": "1"}},
		{StyleResetAfter,
			map[string]string{"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "1", "X-RateLimit-Reset-After": "1.250"},
			map[string]string{"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "1.250"}},
		{StyleInin,
			map[string]string{"inin-ratelimit-count": "1", "inin-ratelimit-allowed": "2", "inin-ratelimit-reset": "2"},
			map[string]string{"inin-ratelimit-count": "2", "inin-ratelimit-allowed": "2", "inin-ratelimit-reset": "2"}},
		{StyleResetUnix,
			map[string]string{"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "1", "X-RateLimit-Reset": "1735787047"},
			map[string]string{"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1735787047"}},
		{StyleResetUnixMS,
			map[string]string{"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "1", "X-RateLimit-Reset": "1735787046250"},
			map[string]string{"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1735787046250"}},
		{StyleResetSeconds,
			map[string]string{"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "1", "X-RateLimit-Reset": "2"},
			map[string]string{"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2"}},
		{StyleResetISO,
			map[string]string{"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "1", "X-RateLimit-Reset": "2025-01-02T03:04:06.250Z"},
			map[string]string{"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2025-01-02T03:04:06.250Z"}},
		{StyleResetDuration,
			map[string]string{"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "1", "X-RateLimit-Reset": "1.25s"},
			map[string]string{"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1.25s"}},
		{StyleResetJSDate,
			map[string]string{"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "1", "X-RateLimit-Reset": "Thu Jan 02 2025 03:04:06 GMT+0000 (Coordinated Universal Time)"},
			map[string]string{"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "Thu Jan 02 2025 03:04:06 GMT+0000 (Coordinated Universal Time)"}},
		{StyleResetRFC1123,
			map[string]string{"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "1", "X-RateLimit-Reset": "Thu, 02 Jan 2025 03:04:07 UTC"},
			map[string]string{"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "Thu, 02 Jan 2025 03:04:07 UTC", "Retry-After": "Thu, 02 Jan 2025 03:04:07 UTC"}},
		{StyleNone, nil, nil},
	}
	if len(tests) != len(Styles()) {
		t.Fatalf("%d styles tested, %d exist", len(tests), len(Styles()))
	}
	for _, tt := range tests {
		t.Run(tt.style, func(t *testing.T) {
			s, _ := newServer(t, Config{Burst: 2, Rate: 0.8, Style: tt.style})
			first := sendJSON(s, `{"n":1}`)
			sendJSON(s, `{"n":2}`)
			third := sendJSON(s, `{"n":3}`)
			if first.Code != 200 || third.Code != 429 {
				t.Fatalf("statuses %d, %d; want 200, 429", first.Code, third.Code)
			}
			checkHeaders(t, "success", first.Header(), tt.success)
			checkHeaders(t, "429", third.Header(), tt.throttled)
			for _, w := range []*httptest.ResponseRecorder{first, third} {
				if got := w.Header().Get("Date"); got != "Thu, 02 Jan 2025 03:04:05 GMT" {
					t.Errorf("Date %q", got)
				}
			}
		})
	}
}

func TestStyleHeadersRoundUp(t *testing.T) {
	// Times that are not whole seconds or milliseconds must round up, so a
	// client that obeys them is never early. A 1/3 s interval is 333333333ns.
	tests := []struct {
		style, header, want string
	}{
		{StyleRetryAfter, "Retry-After", "1"},
		{StyleRetryIn, "X-Retry-In", "333.333333ms"},
		{StyleResetAfter, "X-RateLimit-Reset-After", "0.334"},
		{StyleResetUnixMS, "X-RateLimit-Reset", "1735787045334"},
		{StyleResetDuration, "X-RateLimit-Reset", "334ms"},
		{StyleResetISO, "X-RateLimit-Reset", "2025-01-02T03:04:05.334Z"},
		{StyleRetryAfterDate, "Retry-After", "Thu, 02 Jan 2025 03:04:06 GMT"},
		{StyleResetRFC1123, "X-RateLimit-Reset", "Thu, 02 Jan 2025 03:04:06 UTC"},
	}
	for _, tt := range tests {
		t.Run(tt.style, func(t *testing.T) {
			s, _ := newServer(t, Config{Rate: 3, Style: tt.style})
			sendJSON(s, `{}`)
			w := sendJSON(s, `{}`)
			if w.Code != 429 {
				t.Fatalf("status %d, want 429", w.Code)
			}
			if got := w.Header().Get(tt.header); got != tt.want {
				t.Errorf("%s = %q, want %q", tt.header, got, tt.want)
			}
		})
	}
}

func TestSkew(t *testing.T) {
	// The first 429 waits 1.25s (see TestStyleHeaders); absolute times move
	// with the skew, relative ones do not.
	tests := []struct {
		name, style, header string
		skew                time.Duration
		date, want          string
	}{
		{"ahead unix", StyleResetUnix, "X-RateLimit-Reset", time.Hour, "Thu, 02 Jan 2025 04:04:05 GMT", "1735790647"},
		{"behind unix ms", StyleResetUnixMS, "X-RateLimit-Reset", -90 * time.Second, "Thu, 02 Jan 2025 03:02:35 GMT", "1735786956250"},
		{"ahead http date", StyleRetryAfterDate, "Retry-After", time.Hour, "Thu, 02 Jan 2025 04:04:05 GMT", "Thu, 02 Jan 2025 04:04:07 GMT"},
		{"ahead iso", StyleResetISO, "X-RateLimit-Reset", 24 * time.Hour, "Fri, 03 Jan 2025 03:04:05 GMT", "2025-01-03T03:04:06.250Z"},
		{"relative seconds unchanged", StyleResetSeconds, "X-RateLimit-Reset", time.Hour, "Thu, 02 Jan 2025 04:04:05 GMT", "2"},
		{"relative retry-after unchanged", StyleRetryAfter, "Retry-After", -time.Hour, "Thu, 02 Jan 2025 02:04:05 GMT", "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newServer(t, Config{Burst: 2, Rate: 0.8, Style: tt.style, Skew: tt.skew})
			sendJSON(s, `{}`)
			sendJSON(s, `{}`)
			w := sendJSON(s, `{}`)
			if got := w.Header().Get("Date"); got != tt.date {
				t.Errorf("Date %q, want %q", got, tt.date)
			}
			if got := w.Header().Get(tt.header); got != tt.want {
				t.Errorf("%s %q, want %q", tt.header, got, tt.want)
			}
		})
	}
	t.Run("genesys timestamp", func(t *testing.T) {
		s, _ := newServer(t, Config{Skew: time.Hour})
		tok := token(t, s)
		w := do(s, "POST", pathAgentless, agentless("sms", "+15551234567"), "Authorization: Bearer "+tok)
		if !strings.Contains(w.Body.String(), `"timestamp":"2025-01-02T04:04:05.000Z"`) {
			t.Errorf("body %s lacks the skewed timestamp", w.Body)
		}
		if st := s.Stats(); !st.FirstAt.Equal(t0) {
			t.Errorf("stats FirstAt %v, want the true clock %v", st.FirstAt, t0)
		}
	})
}

func TestRoutes(t *testing.T) {
	tests := []struct {
		name, method, path, body, ctype string
		status                          int
		wantBody                        string
		allow                           string
	}{
		{"send", "POST", "/send", `{"to":"a"}`, "application/json", 200, `{"id":"msg-1","status":"accepted"}`, ""},
		{"send any body without JSON type", "POST", "/send", `not json`, "text/plain", 200, `{"id":"msg-1","status":"accepted"}`, ""},
		{"send invalid JSON", "POST", "/send", `{"to":`, "application/json; charset=utf-8", 400, `{"message":"invalid JSON body"}`, ""},
		{"send empty JSON", "POST", "/send", ``, "application/vnd.api+json", 400, `{"message":"invalid JSON body"}`, ""},
		{"ping", "GET", "/send", ``, "", 200, `{"ok":true}`, ""},
		{"send wrong method", "PUT", "/send", `{}`, "", 405, "", "GET, POST"},
		{"agentless wrong method", "GET", pathAgentless, ``, "", 405, "", "POST"},
		{"stats wrong method", "POST", "/stats", ``, "", 405, "", "GET"},
		{"reset wrong method", "GET", "/stats/reset", ``, "", 405, "", "POST"},
		{"token wrong method", "GET", "/oauth/token", ``, "", 405, "", "POST"},
		{"unknown path", "GET", "/nope", ``, "", 404, "", ""},
		{"twilio path without sid", "POST", "/2010-04-01/Accounts//Messages.json", ``, "", 404, "", ""},
		{"twilio path with slash in sid", "POST", "/2010-04-01/Accounts/a/b/Messages.json", ``, "", 404, "", ""},
		{"too large", "POST", "/send", strings.Repeat("x", MaxBodyBytes+1), "", 413, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newServer(t, Config{})
			w := do(s, tt.method, tt.path, tt.body, "Content-Type: "+tt.ctype)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			if tt.wantBody != "" && w.Body.String() != tt.wantBody {
				t.Errorf("body %s, want %s", w.Body, tt.wantBody)
			}
			if got := w.Header().Get("Allow"); got != tt.allow {
				t.Errorf("Allow %q, want %q", got, tt.allow)
			}
			if w.Header().Get("Date") == "" {
				t.Error("no Date header")
			}
			if w.Body.Len() > 0 && !json.Valid(w.Body.Bytes()) {
				t.Errorf("body is not JSON: %s", w.Body)
			}
		})
	}
}

func TestPingNeverDelivers(t *testing.T) {
	s, _ := newServer(t, Config{Burst: 1, Rate: 1, FailRate: 1})
	if w := do(s, "GET", "/send", ""); w.Code != 200 {
		t.Fatalf("ping: %d, want 200 (pings take no faults)", w.Code)
	}
	if w := do(s, "GET", "/send", ""); w.Code != 429 || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("second ping: %d %v, want a 429 with Retry-After 1", w.Code, w.Header())
	}
	st := s.Stats()
	if st.Requests != 2 || st.Delivered != 0 || st.Throttled != 1 || st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestValidationCountsAgainstQuota(t *testing.T) {
	s, _ := newServer(t, Config{Burst: 1, Rate: 1, Style: StyleRateLimitOld})
	w := sendJSON(s, `{`)
	if w.Code != 400 || w.Header().Get("RateLimit-Remaining") != "0" {
		t.Fatalf("bad body: %d %v, want a 400 with quota headers", w.Code, w.Header())
	}
	if w := sendJSON(s, `{}`); w.Code != 429 {
		t.Fatalf("next: %d, want 429: the bad request used the quota", w.Code)
	}
	if st := s.Stats(); st.Rejected != 1 || st.Throttled != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestStats(t *testing.T) {
	s, c := newServer(t, Config{Burst: 1, Rate: 1})
	if w := do(s, "GET", "/stats", ""); w.Body.String() != `{"requests":0,"delivered":0,"distinct":0,"duplicates":0,"throttled":0,"replays":0,"failed":0,"failed_after":0,"late":0,"message_lookups":0,"cut_before":0,"cut_after":0,"spam_rejected":0,"rejected":0,"unauthorized":0,"tokens_issued":0,"lookups":0,"list_reads":0}` {
		t.Fatalf("empty stats: %s", w.Body)
	}
	sendJSON(s, `{"a":1}`)
	c.Advance(time.Second)
	sendJSON(s, `{"a":1}`)
	sendJSON(s, `{"a":2}`)
	w := do(s, "GET", "/stats", "")
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /stats: %d %v", w.Code, w.Header())
	}
	want := `{"requests":3,"delivered":2,"distinct":1,"duplicates":1,"throttled":1,"replays":0,"failed":0,"failed_after":0,"late":0,"message_lookups":0,"cut_before":0,"cut_after":0,"spam_rejected":0,"rejected":0,"unauthorized":0,"tokens_issued":0,"lookups":0,"list_reads":0,"first_delivery_at":"2025-01-02T03:04:05Z","last_delivery_at":"2025-01-02T03:04:06Z"}`
	if w.Body.String() != want {
		t.Errorf("stats\n got %s\nwant %s", w.Body, want)
	}
	var decoded Stats
	if err := json.Unmarshal(w.Body.Bytes(), &decoded); err != nil || decoded != s.Stats() {
		t.Errorf("decoded %+v (%v), want %+v", decoded, err, s.Stats())
	}
	if w := do(s, "POST", "/stats/reset", ""); w.Code != 204 {
		t.Fatalf("reset: %d", w.Code)
	}
	if st := s.Stats(); st != (Stats{}) {
		t.Errorf("after reset: %+v", st)
	}
	// A reset is a fresh experiment: a full bucket, nothing seen before.
	for i := range 2 {
		if w := sendJSON(s, `{"a":1}`); w.Code != 200 {
			t.Fatalf("after reset, request %d: %d", i+1, w.Code)
		}
		c.Advance(time.Second)
	}
	if st := s.Stats(); st.Distinct != 1 || st.Duplicates != 1 {
		t.Errorf("after reset: %+v", st)
	}
	if w := sendJSON(s, `{}`); w.Code != 200 || w.Body.String() != `{"id":"msg-5","status":"accepted"}` {
		t.Errorf("message ids must keep counting after a reset: %s", w.Body)
	}
}

func TestStatsNotRateLimited(t *testing.T) {
	s, _ := newServer(t, Config{Rate: 1})
	sendJSON(s, `{}`)
	for range 3 {
		if w := do(s, "GET", "/stats", ""); w.Code != 200 {
			t.Fatalf("GET /stats: %d", w.Code)
		}
	}
}

func TestStart(t *testing.T) {
	s, _ := newServer(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, done, err := Start(ctx, "127.0.0.1:0", s)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	resp, err := http.Post("http://"+addr+"/send", "application/json", strings.NewReader(`{"to":"x"}`))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"id":"msg-1","status":"accepted"}` {
		t.Fatalf("answer %d %s", resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("done: %v", err)
	}
	if _, ok := <-done; ok {
		t.Fatal("done not closed")
	}
	if _, _, err := Start(context.Background(), "256.0.0.1:0", s); err == nil {
		t.Fatal("Start on a bad address succeeded")
	}
}
