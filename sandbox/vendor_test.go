package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func basicAuth(user, pass string) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

const formType = "Content-Type: application/x-www-form-urlencoded"

// token fetches a Genesys access token with the default credentials.
func token(t *testing.T, s http.Handler) string {
	t.Helper()
	w := do(s, "POST", pathToken, "grant_type=client_credentials", formType, basicAuth(DefaultClientID, DefaultClientSecret))
	if w.Code != 200 {
		t.Fatalf("token: %d %s", w.Code, w.Body)
	}
	var tok tokenResponse
	if err := json.Unmarshal(w.Body.Bytes(), &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token body %s: %v", w.Body, err)
	}
	return tok.AccessToken
}

func agentless(messenger, to string) string {
	return `{"fromAddress":"+15550000000","toAddress":"` + to + `","toAddressMessengerType":"` + messenger + `","textBody":"hi"}`
}

func TestGenesysToken(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		auth   string
		status int
		want   string
	}{
		{"issued", "grant_type=client_credentials", basicAuth(DefaultClientID, DefaultClientSecret), 200, `"token_type":"bearer","expires_in":3600}`},
		{"no credentials", "grant_type=client_credentials", "", 401, `"error":"invalid_client"`},
		{"wrong secret", "grant_type=client_credentials", basicAuth(DefaultClientID, "nope"), 401, `"error":"invalid_client"`},
		{"wrong client", "grant_type=client_credentials", basicAuth("other", DefaultClientSecret), 401, `"error":"invalid_client"`},
		{"wrong grant", "grant_type=password", basicAuth(DefaultClientID, DefaultClientSecret), 400, `"error":"unsupported_grant_type"`},
		{"malformed form", "grant_type=%zz", basicAuth(DefaultClientID, DefaultClientSecret), 400, `"error":"unsupported_grant_type"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newServer(t, Config{})
			w := do(s, "POST", pathToken, tt.body, formType, tt.auth)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.want) {
				t.Fatalf("got %d %s, want %d with %s", w.Code, w.Body, tt.status, tt.want)
			}
		})
	}
}

func TestGenesysTokenLifecycle(t *testing.T) {
	s, c := newServer(t, Config{TokenLifetime: 10 * time.Minute})
	send := func(hdr string) (int, string) {
		w := do(s, "POST", pathAgentless, agentless("sms", "+15551234567"), "Content-Type: application/json", hdr)
		return w.Code, w.Body.String()
	}
	tok := token(t, s)
	steps := []struct {
		name    string
		advance time.Duration
		auth    string
		status  int
		want    string
	}{
		{"no token", 0, "", 401, `{"message":"No authentication bearer token specified in authorization header.","code":"authentication.required","status":401}`},
		{"unknown token", 0, "Authorization: Bearer nope", 401, `"code":"authentication.required"`},
		{"basic instead of bearer", 0, basicAuth(DefaultClientID, DefaultClientSecret), 401, `"code":"authentication.required"`},
		{"fresh token", 0, "Authorization: Bearer " + tok, 202, `"messengerType":"sms"`},
		{"just before expiry", 10*time.Minute - time.Nanosecond, "Authorization: bearer " + tok, 202, `"toAddress":"+15551234567"`},
		{"expired", time.Nanosecond, "Authorization: Bearer " + tok, 401, `{"message":"Authentication token has expired.","code":"authentication.required","status":401}`},
	}
	for _, st := range steps {
		c.Advance(st.advance)
		if code, body := send(st.auth); code != st.status || !strings.Contains(body, st.want) {
			t.Fatalf("%s: %d %s, want %d with %s", st.name, code, body, st.status, st.want)
		}
	}
	if code, body := send("Authorization: Bearer " + token(t, s)); code != 202 {
		t.Fatalf("new token: %d %s", code, body)
	}
	if st := s.Stats(); st.Unauthorized != 4 || st.TokensIssued != 2 || st.Delivered != 3 || st.Requests != 7 {
		t.Errorf("stats %+v", st)
	}
}

func TestGenesysTokenLimiter(t *testing.T) {
	s, c := newServer(t, Config{Rate: 1}) // the message limiter is another bucket
	for range TokenBurst {
		token(t, s)
	}
	w := do(s, "POST", pathToken, "grant_type=client_credentials", formType, basicAuth(DefaultClientID, DefaultClientSecret))
	if w.Code != 429 || w.Header().Get("Retry-After") != "1" || !strings.Contains(w.Body.String(), `"code":"too.many.requests"`) {
		t.Fatalf("sixth token: %d %v %s, want 429 with Retry-After 1", w.Code, w.Header(), w.Body)
	}
	c.Advance(time.Second / TokenRate)
	tok := token(t, s)
	if w := do(s, "POST", pathAgentless, agentless("sms", "+15551234567"), "Authorization: Bearer "+tok); w.Code != 202 {
		t.Fatalf("message after token throttling: %d %s", w.Code, w.Body)
	}
	if st := s.Stats(); st.Throttled != 1 || st.TokensIssued != TokenBurst+1 {
		t.Errorf("stats %+v", st)
	}
}

var uuidLike = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestGenesysMessages(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		status int
		want   string
	}{
		{"sms", agentless("sms", "+15551234567"), 202, `"textBody":"hi"`},
		{"whatsapp needs no E.164", agentless("whatsapp", "15551234567"), 202, `"messengerType":"whatsapp"`},
		{"open", agentless("open", "user-17"), 202, `"messengerType":"open"`},
		{"template", `{"fromAddress":"f","toAddress":"+15551234567","toAddressMessengerType":"sms","messagingTemplate":{"responseId":"r1","parameters":[{"id":"name","value":"Ann"}]}}`,
			202, `"messagingTemplate":{"responseId":"r1","parameters":[{"id":"name","value":"Ann"}]}`},
		{"unknown messenger", agentless("fax", "+15551234567"), 400, `{"message":"toAddressMessengerType \"fax\" is not one of sms, whatsapp, open","code":"bad.request","status":400}`},
		{"sms not E.164", agentless("sms", "5551234567"), 400, `not an E.164 phone number`},
		{"sms too short", agentless("sms", "+1555123"), 400, `not an E.164 phone number`},
		{"sms with letters", agentless("sms", "+1555123456a"), 400, `not an E.164 phone number`},
		{"no from", `{"toAddress":"+15551234567","toAddressMessengerType":"sms","textBody":"x"}`, 400, `fromAddress is required`},
		{"no to", `{"fromAddress":"f","toAddressMessengerType":"sms","textBody":"x"}`, 400, `toAddress is required`},
		{"no text", `{"fromAddress":"f","toAddress":"+15551234567","toAddressMessengerType":"sms"}`, 400, `textBody or messagingTemplate is required`},
		{"template without id", `{"fromAddress":"f","toAddress":"+15551234567","toAddressMessengerType":"sms","messagingTemplate":{}}`, 400, `messagingTemplate.responseId is required`},
		{"not JSON", `fromAddress=f`, 400, `invalid JSON body`},
		{"wrong type", `{"fromAddress":"f","toAddress":15551234567,"toAddressMessengerType":"sms","textBody":"x"}`, 400, `invalid JSON body`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newServer(t, Config{})
			w := do(s, "POST", pathAgentless, tt.body, "Content-Type: application/json", "Authorization: Bearer "+token(t, s))
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.want) {
				t.Fatalf("got %d %s, want %d with %s", w.Code, w.Body, tt.status, tt.want)
			}
			if w.Code != 202 {
				return
			}
			var got agentlessResponse
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %s: %v", w.Body, err)
			}
			if !uuidLike.MatchString(got.ID) || !uuidLike.MatchString(got.ConversationID) || got.ID == got.ConversationID {
				t.Errorf("ids %q, %q", got.ID, got.ConversationID)
			}
			if got.Timestamp != "2025-01-02T03:04:05.000Z" || got.FromAddress == "" {
				t.Errorf("answer %+v", got)
			}
		})
	}
}

func TestTwilio(t *testing.T) {
	good := basicAuth(DefaultAccountSID, DefaultAuthToken)
	path := "/2010-04-01/Accounts/" + DefaultAccountSID + "/Messages.json"
	tests := []struct {
		name, path, auth, form string
		status                 int
		want                   string
	}{
		{"sent", path, good, "To=%2B15551234567&From=%2B15550000000&Body=hi", 201, `"status":"queued","to":"+15551234567","from":"+15550000000","body":"hi"}`},
		{"messaging service", path, good, "To=%2B15551234567&MessagingServiceSid=MG1&Body=hi", 201, `"messaging_service_sid":"MG1"`},
		{"no auth", path, "", "To=%2B15551234567&From=x&Body=hi", 401, `{"code":20003,"message":"Authenticate","status":401}`},
		{"wrong token", path, basicAuth(DefaultAccountSID, "nope"), "To=%2B15551234567&From=x&Body=hi", 401, `{"code":20003,"message":"Authenticate","status":401}`},
		{"other account in path", "/2010-04-01/Accounts/ACother/Messages.json", good, "To=%2B15551234567&From=x&Body=hi", 401, `"code":20003`},
		{"bad To", path, good, "To=555&From=x&Body=hi", 400, `{"code":21211,"message":"The 'To' number 555 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`},
		{"no To", path, good, "From=x&Body=hi", 400, `"code":21604`},
		{"no From", path, good, "To=%2B15551234567&Body=hi", 400, `"code":21603`},
		{"no Body", path, good, "To=%2B15551234567&From=x", 400, `"code":21602`},
		{"malformed form", path, good, "To=%zz", 400, `"code":20001`},
	}
	sid := regexp.MustCompile(`"sid":"SM[0-9a-f]{32}"`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newServer(t, Config{})
			w := do(s, "POST", tt.path, tt.form, formType, tt.auth)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.want) {
				t.Fatalf("got %d %s, want %d with %s", w.Code, w.Body, tt.status, tt.want)
			}
			if w.Code == 201 && !sid.MatchString(w.Body.String()) {
				t.Errorf("no SM sid in %s", w.Body)
			}
		})
	}
}

func TestTwilioCustomCredentials(t *testing.T) {
	s, _ := newServer(t, Config{AccountSID: "AC1", AuthToken: "t1", Rate: 1})
	form := "To=%2B15551234567&From=x&Body=hi"
	path := "/2010-04-01/Accounts/AC1/Messages.json"
	if w := do(s, "POST", path, form, formType, basicAuth("AC1", "t1")); w.Code != 201 {
		t.Fatalf("first: %d %s", w.Code, w.Body)
	}
	w := do(s, "POST", path, form, formType, basicAuth("AC1", "t1"))
	if w.Code != 429 || w.Body.String() != `{"code":20429,"message":"Too Many Requests","status":429}` {
		t.Fatalf("second: %d %s, want Twilio's 429", w.Code, w.Body)
	}
}
