package limiters

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestLimiters starts each real limiter at 5 requests per second and sends
// it 10 messages at once, one after another: the first 5 (nginx: burst+1,
// 6) get through once each, the rest are refused with 429 and the headers
// the software is known for, and the tap and the backend count all of it.
// express-rate-limit, @fastify/rate-limit, rate-limiter-flexible and
// rolling-rate-limiter run in each of their styles.
func TestLimiters(t *testing.T) {
	tests := []struct {
		kind       Kind
		style      string
		maxPassed  int64
		header     []string          // set on a 429, none for a bare one
		noHeaderOf []string          // never set (a bare 429 has no Retry-After)
		like       map[string]string // header: a regexp its value on a 429 matches
	}{
		{Nginx, "", 6, nil, []string{"Retry-After"}, nil},
		{HAProxy, "", 5, nil, []string{"Retry-After"}, nil},
		{Express, "", 5, []string{"RateLimit-Policy", "X-RateLimit-Remaining", "Retry-After"}, nil, nil},
		{Express, StyleDraft7, 5, []string{"RateLimit", "RateLimit-Policy", "Retry-After"}, []string{"RateLimit-Remaining", "X-RateLimit-Remaining"}, nil},
		{Express, StyleDraft6, 5, []string{"RateLimit-Remaining", "RateLimit-Policy", "Retry-After"}, []string{"RateLimit", "X-RateLimit-Remaining"}, nil},
		{Express, StyleRetryAfter, 5, []string{"Retry-After"}, []string{"RateLimit", "RateLimit-Policy", "RateLimit-Remaining", "X-RateLimit-Remaining"}, nil},
		{Express, StyleNone, 5, nil, []string{"Retry-After", "RateLimit", "RateLimit-Remaining", "X-RateLimit-Remaining"}, nil},
		{HTTPRate, "", 5, []string{"X-RateLimit-Reset"}, nil, nil},
		{Fastify, "", 5, []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"}, []string{"RateLimit-Remaining"}, nil},
		{Fastify, StyleFastifyDraft, 5, []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"}, []string{"X-RateLimit-Remaining"}, nil},
		{Flexible, "", 5, []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"}, nil, nil},
		{Flexible, StyleFlexibleISO, 5, []string{"X-RateLimit-Reset", "Retry-After"}, nil, nil},
		{Flexible, StyleFlexibleDate, 5, []string{"X-RateLimit-Reset", "Retry-After"}, nil, nil},
		// The burst limiter lets 5 more through: all 10 pass.
		{Flexible, StyleFlexibleBursty, 10, nil, nil, nil},
		// The README's Express example: a bare 429.
		{Rolling, "", 5, nil, []string{"Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "RateLimit"}, nil},
		{Rolling, StyleRollingInfo, 5, []string{"X-RateLimit-Limit"}, []string{"RateLimit-Remaining"},
			map[string]string{"Retry-After": `^1$`, "X-RateLimit-Limit": `^5$`, "X-RateLimit-Remaining": `^0$`, "X-RateLimit-Reset": `^1[0-9]{9}$`}},
		{ULule, "", 5, []string{"X-RateLimit-Remaining"}, []string{"Retry-After"},
			map[string]string{"X-RateLimit-Reset": `^1[0-9]{9}$`, "X-RateLimit-Remaining": `^0$`}},
		{Throttled, "", 6, []string{"X-RateLimit-Limit"}, nil,
			map[string]string{"Retry-After": `^1$`, "X-RateLimit-Reset": `^[01]$`, "X-RateLimit-Remaining": `^0$`}},
		{GoLimiter, "", 5, []string{"X-RateLimit-Remaining"}, nil,
			map[string]string{"Retry-After": ` UTC$`, "X-RateLimit-Reset": `^[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} UTC$`}},
		{Tollbooth, "", 6, []string{"RateLimit-Remaining"}, []string{"Retry-After"},
			map[string]string{"RateLimit-Limit": `^5$`, "RateLimit-Reset": `^1$`, "X-Rate-Limit-Limit": `^5\.00$`}},
	}
	for _, tt := range tests {
		name := string(tt.kind)
		if tt.style != "" {
			name += " " + tt.style
		}
		t.Run(name, func(t *testing.T) {
			s := ForTest(t, Config{Kind: tt.kind, Limit: 5, Window: time.Second, Style: tt.style})
			var refused *http.Response
			for i := range 10 {
				resp, err := http.Post(s.URL+"/send", "application/json", strings.NewReader(fmt.Sprintf(`{"id": "m%d"}`, i)))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusTooManyRequests && refused == nil {
					refused = resp
				}
			}
			st := s.Stats()
			if st.Requests != 10 || st.Delivered < 5 || st.Delivered > tt.maxPassed || st.Distinct != st.Delivered ||
				st.Throttled != 10-st.Delivered || st.Failed != 0 {
				t.Fatalf("%s: stats %+v, want 10 requests, 5-%d delivered once each, the rest 429", s.Desc, st, tt.maxPassed)
			}
			for _, h := range tt.header {
				if refused.Header.Get(h) == "" {
					t.Errorf("429 without %s: %v", h, refused.Header)
				}
			}
			for _, h := range tt.noHeaderOf {
				if refused.Header.Get(h) != "" {
					t.Errorf("429 with %s: %v", h, refused.Header)
				}
			}
			for h, re := range tt.like {
				if v := refused.Header.Get(h); !regexp.MustCompile(re).MatchString(v) {
					t.Errorf("429 with %s: %q, want it to match %s", h, v, re)
				}
			}
			resp, err := http.Get(s.URL + "/stats")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var served Stats
			if err := json.NewDecoder(resp.Body).Decode(&served); err != nil || served != st {
				t.Errorf("GET /stats = %+v, %v; want %+v", served, err, st)
			}
		})
	}
}

func TestNginxRate(t *testing.T) {
	tests := []struct {
		name   string
		limit  int
		window time.Duration
		want   string
	}{
		{"15 per 150ms", 15, 150 * time.Millisecond, "100r/s"},
		{"100 per second", 100, time.Second, "100r/s"},
		{"1 per 2s", 1, 2 * time.Second, "30r/m"},
		{"7 per 3s rounds per minute", 7, 3 * time.Second, "140r/m"},
		{"under one per minute", 1, time.Hour, "1r/m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nginxRate(tt.limit, tt.window); got != tt.want {
				t.Errorf("nginxRate(%d, %v) = %s, want %s", tt.limit, tt.window, got, tt.want)
			}
		})
	}
}

// TestConfigs: the generated configurations say what the Config asks and
// keep every file in Dir.
func TestConfigs(t *testing.T) {
	c := Config{Kind: Nginx, Limit: 15, Window: 150 * time.Millisecond, Dir: "/tmp/x"}
	tests := []struct {
		name string
		conf string
		want []string
	}{
		{"nginx", c.nginxConf("127.0.0.1:1", "127.0.0.1:2"), []string{
			"rate=100r/s;", "burst=15 nodelay;", "limit_req_status 429;", "daemon off;", "pid /tmp/x/nginx.pid;",
			"error_log /tmp/x/nginx-error.log", "client_body_temp_path /tmp/x/client_body;", "listen 127.0.0.1:1;", "server 127.0.0.1:2;",
		}},
		{"nginx burst", Config{Limit: 100, Window: time.Second, Burst: 15, Dir: "/d"}.nginxConf("a", "b"), []string{"rate=100r/s;", "burst=15 nodelay;"}},
		{"nginx without a burst", Config{Limit: 100, Window: time.Second, NoBurst: true, Dir: "/d"}.nginxConf("a", "b"), []string{"rate=100r/s;", "limit_req zone=bulksend;"}},
		{"nginx queueing the excess", Config{Limit: 10, Window: time.Second, Burst: 10, Queue: true, Dir: "/d"}.nginxConf("a", "b"), []string{"rate=10r/s;", "limit_req zone=bulksend burst=10;"}},
		{"nginx queueing its burst's default", Config{Limit: 20, Window: time.Second, Queue: true, Dir: "/d"}.nginxConf("a", "b"), []string{"limit_req zone=bulksend burst=20;"}},
		{"nginx two-stage", Config{Limit: 10, Window: time.Second, Burst: 10, Delay: 4, Dir: "/d"}.nginxConf("a", "b"), []string{"limit_req zone=bulksend burst=10 delay=4;"}},
		{"nginx refusing with its default 503", Config{Limit: 15, Window: time.Second, Status: 503, Dir: "/d"}.nginxConf("a", "b"), []string{"limit_req_status 503;"}},
		{"nginx limit_conn", Config{Conn: 4, Dir: "/d"}.nginxConf("a", "b"), []string{
			"limit_conn_zone $binary_remote_addr zone=bulksend:1m;", "limit_conn_status 429;", "limit_conn bulksend 4;"}},
		{"haproxy refusing with 503", Config{Limit: 15, Window: time.Second, Status: 503, Dir: "/d"}.haproxyConf("a", "b"), []string{"deny_status 503 if"}},
		{"haproxy", c.haproxyConf("127.0.0.1:1", "127.0.0.1:2"), []string{
			"store http_req_rate(150ms)", "expire 1000ms", "track-sc0 src\n    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 15 }",
			"pidfile /tmp/x/haproxy.pid", "bind 127.0.0.1:1", "server counting 127.0.0.1:2",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, w := range tt.want {
				if !strings.Contains(tt.conf, w) {
					t.Errorf("config lacks %q:\n%s", w, tt.conf)
				}
			}
			if strings.Contains(tt.conf, "/var/") {
				t.Errorf("config names /var:\n%s", tt.conf)
			}
		})
	}
}

// TestBackend: deliveries are counted per message id, whatever carries it.
func TestBackend(t *testing.T) {
	b := &backend{seen: make(map[string]int)}
	srv := httptest.NewServer(b)
	defer srv.Close()
	post := func(body, key string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/send", strings.NewReader(body))
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %d", body, resp.StatusCode)
		}
	}
	post(`{"id": "a", "to": "1"}`, "")
	post(`{"id": "a", "to": "2"}`, "") // same id: a duplicate
	post(`{"id": 7}`, "")
	post(`{"to": "x"}`, "k1")
	post(`{"to": "y"}`, "k1") // same key, no id: a duplicate
	post(`not json`, "")
	post(`not json`, "") // same body: a duplicate
	resp, err := http.Get(srv.URL + "/send")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d, n, dup := b.stats(); d != 7 || n != 4 || dup != 3 {
		t.Fatalf("stats = %d delivered, %d distinct, %d duplicates; want 7, 4, 3", d, n, dup)
	}
}

func TestConfigCheck(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"unknown kind", Config{Kind: "envoy", Limit: 1, Window: time.Second, Dir: "d"}, `unknown limiter "envoy"`},
		{"no limit", Config{Kind: Nginx, Window: time.Second, Dir: "d"}, "limit 0"},
		{"no window", Config{Kind: Nginx, Limit: 1, Dir: "d"}, "window 0s"},
		{"negative burst", Config{Kind: Nginx, Limit: 1, Window: time.Second, Burst: -1, Dir: "d"}, "burst -1"},
		{"negative delay", Config{Kind: Nginx, Limit: 1, Window: time.Second, Delay: -1, Dir: "d"}, "delay -1"},
		{"queue without a burst", Config{Kind: Nginx, Limit: 1, Window: time.Second, NoBurst: true, Queue: true, Dir: "d"}, "a queue needs a burst"},
		{"delay at the burst", Config{Kind: Nginx, Limit: 10, Window: time.Second, Burst: 5, Delay: 5, Dir: "d"}, "delay 5: want it under the burst 5"},
		{"no dir", Config{Kind: Nginx, Limit: 1, Window: time.Second}, "no Dir"},
		{"unknown style", Config{Kind: Express, Limit: 1, Window: time.Second, Style: "draft-9", Dir: "d"}, `style "draft-9"`},
		{"style of another kind", Config{Kind: Nginx, Limit: 1, Window: time.Second, Style: StyleNone, Dir: "d"}, `style "none"`},
		{"flexible's style on rolling", Config{Kind: Rolling, Limit: 1, Window: time.Second, Style: StyleFlexibleISO, Dir: "d"}, `style "iso": want one of readme, info for rolling`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.check(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("check() = %v, want %q", err, tt.want)
			}
		})
	}
}

// recorder is a testing.TB that records how a test would end.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Skipf(format string, a ...any)  { r.skipped = fmt.Sprintf(format, a...) }
func (r *recorder) Fatalf(format string, a ...any) { r.failed = fmt.Sprintf(format, a...) }

// TestUnavailable: a missing limiter skips a test here and fails it
// under CI, where every real limiter must run; any other error fails.
func TestUnavailable(t *testing.T) {
	missing := fmt.Errorf("%w: nginx: no nginx on PATH", ErrUnavailable)
	tests := []struct {
		name       string
		ci         string
		err        error
		skip, fail bool
	}{
		{"missing here", "", missing, true, false},
		{"missing under CI", "true", missing, false, true},
		{"broken here", "", fmt.Errorf("find repository root: no testdata/limiters"), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			r := &recorder{TB: t}
			Unavailable(r, tt.err)
			if (r.skipped != "") != tt.skip || (r.failed != "") != tt.fail {
				t.Errorf("skipped %q, failed %q; want skip %v, fail %v", r.skipped, r.failed, tt.skip, tt.fail)
			}
		})
	}
}

// TestTapIdle checks that the tap does not reuse a connection to the
// limiter after it idled as long as the limiter's keep-alive timeout:
// Node's http server (express, fastify, rate-limiter-flexible and
// rolling-rate-limiter here) closes one after 5 s, and a request written
// on it as it closes is cut after it went out, a row bulksend must leave
// unknown though the backend never saw it (tapIdle). Before the fix the
// tap kept idle connections forever.
func TestTapIdle(t *testing.T) {
	b, err := startBackend(0)
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(b.srv)
	tp, err := startTap(b.addr, b, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tp.close()
	const nodeKeepAlive = 5 * time.Second
	if got := tp.tr.IdleConnTimeout; got <= 0 || got > nodeKeepAlive/2 {
		t.Errorf("tap's IdleConnTimeout %v, want within (0, %v]: well under Node's keep-alive timeout %v", got, nodeKeepAlive/2, nodeKeepAlive)
	}
}
