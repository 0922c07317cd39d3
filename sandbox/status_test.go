package sandbox

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// twilioSent sends one Twilio message and returns its sid.
func twilioSent(t *testing.T, s *Server) string {
	t.Helper()
	w := do(s, "POST", "/2010-04-01/Accounts/"+DefaultAccountSID+"/Messages.json", "To=%2B15551234567&From=%2B15550000000&Body=hi",
		formType, basicAuth(DefaultAccountSID, DefaultAuthToken))
	var r struct{ SID string }
	if w.Code != 201 || json.Unmarshal(w.Body.Bytes(), &r) != nil {
		t.Fatalf("send: %d %s", w.Code, w.Body)
	}
	return r.SID
}

// genesysSent sends one Genesys message and returns conversationId/id and
// the token it used.
func genesysSent(t *testing.T, s *Server) (id, tok string) {
	t.Helper()
	tok = token(t, s)
	w := do(s, "POST", pathAgentless, agentless("sms", "+15551234567"), "Content-Type: application/json", "Authorization: Bearer "+tok)
	var r struct{ ID, ConversationID string }
	if w.Code != 202 || json.Unmarshal(w.Body.Bytes(), &r) != nil {
		t.Fatalf("send: %d %s", w.Code, w.Body)
	}
	return r.ConversationID + "/" + r.ID, tok
}

// TestTwilioStatus: a Twilio message moves from queued through sending and
// sent to its end, one DeliveryStep each, and an undelivered one carries
// its error code; date_updated and date_sent follow.
func TestTwilioStatus(t *testing.T) {
	const step = 10 * time.Second
	tests := []struct {
		name        string
		undelivered float64
		after       time.Duration
		want        []string // substrings of the answer
	}{
		{name: "just sent", after: 0, want: []string{`"date_sent":null`, `"date_updated":"Thu, 02 Jan 2025 03:04:05 +0000"`, `"error_code":null`, `"status":"queued"`}},
		{name: "sending", after: step, want: []string{`"date_updated":"Thu, 02 Jan 2025 03:04:15 +0000"`, `"status":"sending"`}},
		{name: "sent", after: 2*step + time.Second, want: []string{`"date_sent":"Thu, 02 Jan 2025 03:04:25 +0000"`, `"status":"sent"`}},
		{name: "delivered", after: time.Hour, want: []string{`"date_updated":"Thu, 02 Jan 2025 03:04:35 +0000"`, `"error_code":null`, `"status":"delivered"`}},
		{name: "undelivered", undelivered: 1, after: 3 * step, want: []string{`"error_code":30`, `"status":"undelivered"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clock := newServer(t, Config{DeliveryStep: step, Undelivered: tt.undelivered, Seed: 3})
			sid := twilioSent(t, s)
			clock.Advance(tt.after)
			w := do(s, "GET", "/2010-04-01/Accounts/"+DefaultAccountSID+"/Messages/"+sid+".json", "", basicAuth(DefaultAccountSID, DefaultAuthToken))
			if w.Code != 200 {
				t.Fatalf("lookup: %d %s", w.Code, w.Body)
			}
			for _, s := range tt.want {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("answer has no %s:\n%s", s, w.Body)
				}
			}
			if !strings.Contains(w.Body.String(), `"sid":"`+sid+`"`) {
				t.Errorf("answer is not for %s: %s", sid, w.Body)
			}
		})
	}
}

// TestGenesysStatus: a Genesys message is queued, then sent, then
// delivery-success or delivery-failed with a receipt naming the reason.
func TestGenesysStatus(t *testing.T) {
	const step = 10 * time.Second
	tests := []struct {
		name        string
		undelivered float64
		after       time.Duration
		want        []string
		notWant     string
	}{
		{name: "queued", after: 0, want: []string{`"status":"queued"`}, notWant: "normalizedReceipts"},
		{name: "sent", after: step, want: []string{`"status":"sent"`}, notWant: "normalizedReceipts"},
		{name: "delivered", after: 2 * step, want: []string{`"status":"delivery-success"`, `"status":"Delivered"`, `"isFinalReceipt":true`}},
		{name: "failed", undelivered: 1, after: 2 * step, want: []string{`"status":"delivery-failed"`, `"status":"Failed","reasons":[{"code":"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clock := newServer(t, Config{DeliveryStep: step, Undelivered: tt.undelivered})
			id, tok := genesysSent(t, s)
			clock.Advance(tt.after)
			conv, msg, _ := strings.Cut(id, "/")
			w := do(s, "GET", "/api/v2/conversations/messages/"+conv+"/messages/"+msg, "", "Authorization: Bearer "+tok)
			if w.Code != 200 {
				t.Fatalf("lookup: %d %s", w.Code, w.Body)
			}
			for _, s := range tt.want {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("answer has no %s:\n%s", s, w.Body)
				}
			}
			if tt.notWant != "" && strings.Contains(w.Body.String(), tt.notWant) {
				t.Errorf("answer has %s:\n%s", tt.notWant, w.Body)
			}
		})
	}
}

// TestLookupRefusals: a lookup needs the credentials, is counted against
// the rate limit like a send, and an unknown message is the vendor's 404.
func TestLookupRefusals(t *testing.T) {
	s, _ := newServer(t, Config{Burst: 2, Rate: 1})
	sid := twilioSent(t, s) // takes one token of two
	path := "/2010-04-01/Accounts/" + DefaultAccountSID + "/Messages/" + sid + ".json"
	good := basicAuth(DefaultAccountSID, DefaultAuthToken)
	tests := []struct {
		name, method, path, auth string
		status                   int
		want                     string
	}{
		{"no auth", "GET", path, "", 401, `"code":20003`},
		{"post", "POST", path, good, 405, ``},
		{"unknown sid", "GET", "/2010-04-01/Accounts/" + DefaultAccountSID + "/Messages/SM00.json", good, 404, `"code":20404`},
		{"throttled", "GET", path, good, 429, ``},
		{"genesys unknown token", "GET", "/api/v2/conversations/messages/c/messages/m", "Authorization: Bearer nope", 401, `"code":"authentication.required"`},
	}
	for _, tt := range tests {
		w := do(s, tt.method, tt.path, "", tt.auth)
		if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.want) {
			t.Errorf("%s: got %d %s, want %d with %s", tt.name, w.Code, w.Body, tt.status, tt.want)
		}
	}
	if st := s.Stats(); st.Lookups != 4 || st.Throttled != 1 {
		t.Errorf("stats %+v: want 4 lookups, 1 throttled", st)
	}
}

// TestUndeliveredShare: about the configured share of messages ends
// undelivered, each with one of the published codes.
func TestUndeliveredShare(t *testing.T) {
	s, clock := newServer(t, Config{Undelivered: 0.2, DeliveryStep: time.Second})
	const n = 500
	sids := make([]string, n)
	for i := range sids {
		sids[i] = twilioSent(t, s)
	}
	clock.Advance(time.Minute)
	codes := regexp.MustCompile(`"error_code":(30003|30005|30007|21610),`)
	bad := 0
	for _, sid := range sids {
		w := do(s, "GET", "/2010-04-01/Accounts/"+DefaultAccountSID+"/Messages/"+sid+".json", "", basicAuth(DefaultAccountSID, DefaultAuthToken))
		if !strings.Contains(w.Body.String(), `"status":"delivered"`) {
			bad++
			if !codes.MatchString(w.Body.String()) {
				t.Errorf("undelivered without a published code: %s", w.Body)
			}
		}
	}
	if bad < n/10 || bad > n*3/10 {
		t.Errorf("%d of %d undelivered, want about 20%%", bad, n)
	}
}

func TestLookupOf(t *testing.T) {
	tests := []struct {
		path string
		want lookup
		ok   bool
	}{
		{"/2010-04-01/Accounts/AC1/Messages/SM1.json", lookup{kind: kindTwilio, id: "SM1", account: "AC1"}, true},
		{"/2010-04-01/Accounts/AC1/Messages.json", lookup{}, false},
		{"/2010-04-01/Accounts/AC1/Messages/SM1", lookup{}, false},
		{"/2010-04-01/Accounts/AC1/Messages/a/b.json", lookup{}, false},
		{"/api/v2/conversations/messages/c1/messages/m1", lookup{kind: kindGenesys, id: "c1/m1"}, true},
		{"/api/v2/conversations/messages/c1/messages/", lookup{}, false},
		{"/api/v2/conversations/messages/agentless", lookup{}, false},
		{"/api/v2/conversations/messages/c1/messages/m1/x", lookup{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, ok := lookupOf(tt.path)
			if got != tt.want || ok != tt.ok {
				t.Errorf("lookupOf = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// FuzzLookupOf: whatever the path, a recognised lookup names a message
// whose path gives it back.
func FuzzLookupOf(f *testing.F) {
	f.Add("/2010-04-01/Accounts/AC1/Messages/SM1.json")
	f.Add("/api/v2/conversations/messages/c1/messages/m1")
	f.Fuzz(func(t *testing.T, path string) {
		l, ok := lookupOf(path)
		if !ok {
			return
		}
		var back string
		if l.kind == kindTwilio {
			back = pathTwilio + l.account + pathTwilioMessage + l.id + ".json"
		} else {
			conv, id, _ := strings.Cut(l.id, "/")
			back = pathGenesysMessages + conv + "/messages/" + id
		}
		if back != path {
			t.Errorf("lookupOf(%q) = %+v, which is %q", path, l, back)
		}
	})
}
