package sandbox

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFailRate(t *testing.T) {
	statuses := func(seed int64) []int {
		s, _ := newServer(t, Config{FailRate: 1, Seed: seed, Style: StyleRateLimit, Burst: 100, Rate: 1})
		var got []int
		for i := range 20 {
			w := sendJSON(s, `{"n":`+strconv.Itoa(i)+`}`)
			if !slices.Contains(failStatuses[:], w.Code) {
				t.Fatalf("status %d, want an injected 5xx", w.Code)
			}
			if w.Header().Get("RateLimit") != "" || w.Header().Get("Retry-After") != "" {
				t.Fatalf("an injected failure carries a wait hint: %v", w.Header())
			}
			got = append(got, w.Code)
		}
		if st := s.Stats(); st.Failed != 20 || st.Delivered != 0 || st.Requests != 20 {
			t.Fatalf("stats %+v", st)
		}
		return got
	}
	a, b, other := statuses(7), statuses(7), statuses(8)
	if !slices.Equal(a, b) {
		t.Errorf("the same seed gave %v and %v", a, b)
	}
	if slices.Equal(a, other) {
		t.Errorf("seeds 7 and 8 gave the same statuses %v", a)
	}
}

func TestFaultSharesAreDeterministic(t *testing.T) {
	// CutBefore and CutAfter hijack, which a recorder cannot, so this drives
	// the decision directly.
	run := func() Stats {
		s, _ := newServer(t, Config{FailRate: 0.2, CutBefore: 0.1, CutAfter: 0.1, Seed: 42})
		for i := range 1000 {
			q := request{kind: kindSend, identity: identity("POST", "/send", []byte(strconv.Itoa(i)))}
			s.decide(&q, t0)
		}
		return s.Stats()
	}
	a, b := run(), run()
	if a != b {
		t.Fatalf("same seed, different stats:\n%+v\n%+v", a, b)
	}
	if a.Failed < 150 || a.Failed > 250 || a.CutBefore < 60 || a.CutBefore > 140 || a.CutAfter < 60 || a.CutAfter > 140 {
		t.Errorf("shares far from 20%%/10%%/10%%: %+v", a)
	}
	if a.Delivered != 1000-a.Failed-a.CutBefore {
		t.Errorf("a lost ack still delivers: %+v", a)
	}
}

func TestLatencyJitterIsSeeded(t *testing.T) {
	delays := func(seed int64) []time.Duration {
		s, _ := newServer(t, Config{Latency: 10 * time.Millisecond, LatencyJitter: 5 * time.Millisecond, Seed: seed})
		var got []time.Duration
		for range 50 {
			q := request{kind: kindSend, ping: true}
			d := s.decide(&q, t0).delay
			if d < 10*time.Millisecond || d >= 15*time.Millisecond {
				t.Fatalf("delay %v outside [10ms, 15ms)", d)
			}
			got = append(got, d)
		}
		return got
	}
	if a, b := delays(3), delays(3); !slices.Equal(a, b) {
		t.Errorf("same seed, different delays")
	}
	if a, b := delays(3), delays(4); slices.Equal(a, b) {
		t.Errorf("different seeds, same delays")
	}
}

func TestLatencyEndsWithTheClient(t *testing.T) {
	// A client that gives up during the latency gets no answer, but its
	// message was delivered: the "timeout after send" case.
	s, _ := newServer(t, Config{Latency: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequestWithContext(ctx, "POST", "/send", strings.NewReader(`{}`))
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r) // would hang for an hour without the select
	if w.Body.Len() != 0 {
		t.Errorf("answered %d %s", w.Code, w.Body)
	}
	if st := s.Stats(); st.Delivered != 1 {
		t.Errorf("stats %+v", st)
	}
}

// post sends over a real connection that is never reused, so Go's transport
// does not quietly retry a cut request.
func post(t *testing.T, url, body, key string) (*http.Response, string, error) {
	t.Helper()
	req, err := http.NewRequest("POST", url+"/send", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

func TestCuts(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want Stats
	}{
		{"cut before delivering", Config{CutBefore: 1}, Stats{Requests: 1, CutBefore: 1}},
		{"cut after delivering", Config{CutAfter: 1}, Stats{Requests: 1, CutAfter: 1, Delivered: 1, Distinct: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newServer(t, tt.cfg)
			ts := httptest.NewServer(s)
			defer ts.Close()
			if resp, body, err := post(t, ts.URL, `{"to":"a"}`, ""); err == nil {
				t.Fatalf("got an answer %d %s, want a cut connection", resp.StatusCode, body)
			}
			got := s.Stats()
			got.FirstAt, got.LastAt = time.Time{}, time.Time{}
			if got != tt.want {
				t.Errorf("stats %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLostAckReplayedByKey(t *testing.T) {
	s, _ := newServer(t, Config{CutAfter: 1})
	ts := httptest.NewServer(s)
	defer ts.Close()
	if _, _, err := post(t, ts.URL, `{"to":"a"}`, "k1"); err == nil {
		t.Fatal("first attempt answered, want a cut")
	}
	resp, body, err := post(t, ts.URL, `{"to":"a"}`, "k1")
	if err != nil || resp.StatusCode != 200 || body != `{"id":"msg-1","status":"accepted"}` {
		t.Fatalf("retry: %v %v %s, want the stored answer", err, resp, body)
	}
	if st := s.Stats(); st.Delivered != 1 || st.Replays != 1 || st.CutAfter != 1 || st.Duplicates != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestIdempotency(t *testing.T) {
	type req struct{ body, key string }
	tests := []struct {
		name    string
		cfg     Config
		reqs    []req
		status  []int
		bodies  []string // "" skips the check
		want    func(Stats) bool
		explain string
	}{
		{
			name: "same key twice", reqs: []req{{`{"a":1}`, "k"}, {`{"a":1}`, "k"}},
			status: []int{200, 200}, bodies: []string{`{"id":"msg-1","status":"accepted"}`, `{"id":"msg-1","status":"accepted"}`},
			want: func(s Stats) bool { return s.Delivered == 1 && s.Replays == 1 && s.Duplicates == 0 },
		},
		{
			name: "different keys, same body", reqs: []req{{`{"a":1}`, "k1"}, {`{"a":1}`, "k2"}},
			status: []int{200, 200}, bodies: []string{`{"id":"msg-1","status":"accepted"}`, `{"id":"msg-2","status":"accepted"}`},
			want: func(s Stats) bool { return s.Delivered == 2 && s.Duplicates == 1 && s.Distinct == 1 && s.Replays == 0 },
		},
		{
			name: "same key, different body", reqs: []req{{`{"a":1}`, "k"}, {`{"a":2}`, "k"}},
			status: []int{200, 422}, bodies: []string{"", `{"message":"Idempotency-Key was already used with a different request","code":"idempotency.mismatch","status":422}`},
			want: func(s Stats) bool { return s.Delivered == 1 && s.Rejected == 1 },
		},
		{
			name: "no idempotency", cfg: Config{NoIdempotency: true}, reqs: []req{{`{"a":1}`, "k"}, {`{"a":1}`, "k"}},
			status: []int{200, 200}, bodies: []string{"", `{"id":"msg-2","status":"accepted"}`},
			want: func(s Stats) bool { return s.Delivered == 2 && s.Duplicates == 1 && s.Replays == 0 },
		},
		{
			name: "a failure is not stored", cfg: Config{FailRate: 1}, reqs: []req{{`{"a":1}`, "k"}, {`{"a":1}`, "k"}},
			status: []int{0, 0}, // 5xx both times: each attempt is processed afresh
			want:   func(s Stats) bool { return s.Failed == 2 && s.Replays == 0 },
		},
		{
			name: "a spam refusal is not stored", cfg: Config{SpamWindow: time.Second}, reqs: []req{{`{"to":"x","n":1}`, "k1"}, {`{"to":"x","n":2}`, "k2"}, {`{"to":"x","n":2}`, "k2"}},
			status: []int{200, 422, 422},
			want:   func(s Stats) bool { return s.SpamRejected == 2 && s.Replays == 0 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newServer(t, tt.cfg)
			for i, r := range tt.reqs {
				w := sendJSON(s, r.body, "Idempotency-Key: "+r.key)
				if tt.status[i] != 0 && w.Code != tt.status[i] {
					t.Errorf("request %d: status %d, want %d", i+1, w.Code, tt.status[i])
				}
				if i < len(tt.bodies) && tt.bodies[i] != "" && w.Body.String() != tt.bodies[i] {
					t.Errorf("request %d: body %s, want %s", i+1, w.Body, tt.bodies[i])
				}
			}
			if st := s.Stats(); !tt.want(st) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestVendorEndpointsIgnoreIdempotencyKey: Twilio and Genesys publish no
// idempotency key, so a repeated key delivers the message again.
func TestVendorEndpointsIgnoreIdempotencyKey(t *testing.T) {
	s, c := newServer(t, Config{})
	tok := token(t, s)
	twilio := "/2010-04-01/Accounts/" + DefaultAccountSID + "/Messages.json"
	auth := basicAuth(DefaultAccountSID, DefaultAuthToken)
	sends := []struct {
		name string
		send func() *httptest.ResponseRecorder
	}{
		{"genesys", func() *httptest.ResponseRecorder {
			return do(s, "POST", pathAgentless, agentless("sms", "+15551234567"), "Authorization: Bearer "+tok, "Idempotency-Key: k")
		}},
		{"twilio", func() *httptest.ResponseRecorder {
			return do(s, "POST", twilio, "To=%2B15551234567&From=x&Body=hi", formType, auth, "Idempotency-Key: k")
		}},
	}
	for _, sd := range sends {
		first := sd.send()
		c.Advance(time.Minute)
		again := sd.send()
		if first.Code/100 != 2 || again.Code/100 != 2 || again.Body.String() == first.Body.String() {
			t.Errorf("%s: %d %s then %d %s, want two deliveries", sd.name, first.Code, first.Body, again.Code, again.Body)
		}
	}
	if st := s.Stats(); st.Delivered != 4 || st.Duplicates != 2 || st.Replays != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestSpamWindow(t *testing.T) {
	spam := `{"message":"recipient +15551234567 messaged less than 2s ago","code":"spam.window"}`
	steps := []struct {
		name    string
		advance time.Duration
		body    string
		hdr     []string
		status  int
		want    string
	}{
		{"first, JSON to", 0, `{"to":"+15551234567","n":1}`, []string{"Content-Type: application/json"}, 200, ""},
		{"form To within the window", 1999 * time.Millisecond, "To=%2B15551234567&n=2", []string{formType}, 422, spam},
		{"header recipient, someone else", 0, `{"n":3}`, []string{"X-Recipient: +15550000000"}, 200, ""},
		{"toAddress once the window is over", time.Millisecond, `{"toAddress":"+15551234567","n":4}`, nil, 200, ""},
		{"header for the first again, too soon", time.Second, `{"n":5}`, []string{"X-Recipient: +15551234567"}, 422, spam},
		{"no recipient at all", 0, `{"n":6}`, nil, 200, ""},
	}
	s, c := newServer(t, Config{SpamWindow: 2 * time.Second})
	for _, st := range steps {
		c.Advance(st.advance)
		w := do(s, "POST", "/send", st.body, st.hdr...)
		if w.Code != st.status || (st.want != "" && w.Body.String() != st.want) {
			t.Fatalf("%s: %d %s, want %d %s", st.name, w.Code, w.Body, st.status, st.want)
		}
	}
	if st := s.Stats(); st.SpamRejected != 2 || st.Delivered != 4 {
		t.Errorf("stats %+v", st)
	}
}

func TestSpamWindowVendors(t *testing.T) {
	s, _ := newServer(t, Config{SpamWindow: time.Minute})
	tok := token(t, s)
	twilio := "/2010-04-01/Accounts/" + DefaultAccountSID + "/Messages.json"
	auth := basicAuth(DefaultAccountSID, DefaultAuthToken)
	if w := do(s, "POST", pathAgentless, agentless("sms", "+15551234567"), "Authorization: Bearer "+tok); w.Code != 202 {
		t.Fatalf("genesys: %d %s", w.Code, w.Body)
	}
	if w := do(s, "POST", twilio, "To=%2B15551234567&From=x&Body=other", formType, auth); w.Code != 422 {
		t.Fatalf("twilio to the same number: %d %s, want 422", w.Code, w.Body)
	}
	if w := do(s, "POST", twilio, "To=%2B15557654321&From=x&Body=other", formType, auth); w.Code != 201 {
		t.Fatalf("twilio to another number: %d %s", w.Code, w.Body)
	}
}

func TestRecipientOf(t *testing.T) {
	tests := []struct {
		name, ctype, body, header, want string
	}{
		{"json to", "application/json", `{"to":"a","toAddress":"b"}`, "h", "a"},
		{"json To", "application/json", `{"To":"a"}`, "", "a"},
		{"json toAddress", "", ` {"toAddress":"b"}`, "", "b"},
		{"json without a recipient", "application/json", `{"x":"a"}`, "h", "h"},
		{"json with a number", "application/json", `{"to":5}`, "h", "h"},
		{"json array", "application/json", `[{"to":"a"}]`, "h", "h"},
		{"form to", "application/x-www-form-urlencoded", "to=a&To=b", "", "a"},
		{"form To", "application/x-www-form-urlencoded", "To=b&toAddress=c", "", "b"},
		{"form toAddress", "application/x-www-form-urlencoded", "toAddress=c", "", "c"},
		{"form with a bad pair", "application/x-www-form-urlencoded", "x=%zz&To=b", "", "b"},
		{"text", "text/plain", "to=a", "h", "h"},
		{"nothing", "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.header != "" {
				h.Set("X-Recipient", tt.header)
			}
			if got := recipientOf(tt.ctype, []byte(tt.body), h); got != tt.want {
				t.Errorf("recipientOf = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIsE164(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"+15551234567", true},
		{"+12345678", true},
		{"+123456789012345", true},
		{"+1234567", false},
		{"+1234567890123456", false},
		{"15551234567", false},
		{"+1555 123 4567", false},
		{"+", false},
		{"", false},
		{"++15551234567", false},
		{"+١٢٣٤٥٦٧٨٩", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := isE164(tt.in); got != tt.want {
				t.Errorf("isE164(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// TestFaultsAfterDelivery: a 502 after delivering and a late answer both
// deliver the message, and GET /messages/{id} finds it by its body's id;
// an id never delivered is 404.
func TestFaultsAfterDelivery(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		wantStatus int
		check      func(Stats) bool
	}{
		{"502 after delivering", Config{FailAfter: 1}, http.StatusBadGateway, func(st Stats) bool { return st.FailedAfter == 1 }},
		{"a late answer", Config{Late: 1, LateBy: time.Millisecond}, http.StatusOK, func(st Stats) bool { return st.Late == 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, "/send", strings.NewReader(`{"id":"r1","to":"+1555"}`))
			r.Header.Set("Content-Type", "application/json")
			s.ServeHTTP(w, r)
			if w.Code != tt.wantStatus {
				t.Errorf("answer %d, want %d", w.Code, tt.wantStatus)
			}
			if st := s.Stats(); st.Delivered != 1 || !tt.check(st) {
				t.Errorf("stats %+v: want the message delivered and the fault counted", st)
			}
			for ref, want := range map[string]int{"r1": http.StatusOK, "r2": http.StatusNotFound} {
				w := httptest.NewRecorder()
				s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/messages/"+ref, nil))
				if w.Code != want || (want == http.StatusOK && !strings.Contains(w.Body.String(), `"id":"msg-1"`)) {
					t.Errorf("GET /messages/%s: %d %s, want %d", ref, w.Code, w.Body, want)
				}
			}
		})
	}
}
