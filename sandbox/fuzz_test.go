package sandbox

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulksend/bulksend/segments"
)

var (
	fuzzMethods = []string{"POST", "GET", "PUT"}
	fuzzPaths   = []string{"/send", pathAgentless, pathToken, "/2010-04-01/Accounts/ACsandbox/Messages.json", "/stats", "/stats/reset", "/nope"}
	fuzzTypes   = []string{"application/json", "application/x-www-form-urlencoded", "text/plain", ""}
	knownStatus = []int{200, 201, 202, 204, 400, 401, 404, 405, 413, 422, 429, 500, 502, 503}
)

// FuzzServeHTTP throws arbitrary bodies at every endpoint, authenticated, so
// every body parser runs, and checks the server stays consistent.
func FuzzServeHTTP(f *testing.F) {
	f.Add(uint8(0), uint8(0), uint8(0), `{"to":"+15551234567"}`, "k")
	f.Add(uint8(0), uint8(1), uint8(0), agentless("sms", "+15551234567"), "")
	f.Add(uint8(0), uint8(1), uint8(0), `{"fromAddress":"f","toAddress":"+15551234567","toAddressMessengerType":"sms","messagingTemplate":{"responseId":"r","parameters":[{"id":"a","value":"b"}]}}`, "")
	f.Add(uint8(0), uint8(2), uint8(1), "grant_type=client_credentials", "")
	f.Add(uint8(0), uint8(3), uint8(1), "To=%2B15551234567&From=x&Body=hi", "k2")
	f.Add(uint8(0), uint8(3), uint8(1), "To=%2B15551234567&From=x&MediaUrl=https%3A%2F%2Fe.test%2Fa.jpg", "")
	f.Add(uint8(0), uint8(1), uint8(0), whatsapp("15551234567", `{"responseId":"r"}`), "")
	f.Add(uint8(0), uint8(3), uint8(1), "To=%zz", "")
	f.Add(uint8(0), uint8(0), uint8(1), "To=a&to=b", "")
	f.Add(uint8(1), uint8(4), uint8(3), "", "")
	f.Add(uint8(0), uint8(0), uint8(0), `{"to":`, "")
	f.Fuzz(func(t *testing.T, method, path, ctype uint8, body, key string) {
		s, _ := newServer(t, Config{Burst: 1000, Rate: 1000, Style: StyleRateLimit, SpamWindow: time.Second, FailRate: 0.1})
		s.tokens["tok"] = t0.Add(time.Hour)
		hdr := []string{
			"Content-Type: " + fuzzTypes[int(ctype)%len(fuzzTypes)],
			"Idempotency-Key: " + key,
			"X-Recipient: r",
		}
		p := fuzzPaths[int(path)%len(fuzzPaths)]
		switch p {
		case pathAgentless:
			hdr = append(hdr, "Authorization: Bearer tok")
		case pathToken:
			hdr = append(hdr, basicAuth(DefaultClientID, DefaultClientSecret))
		default:
			hdr = append(hdr, basicAuth(DefaultAccountSID, DefaultAuthToken))
		}
		for range 2 { // twice, so replays, duplicates and spam run too
			w := do(s, fuzzMethods[int(method)%len(fuzzMethods)], p, body, hdr...)
			if !slices.Contains(knownStatus, w.Code) {
				t.Fatalf("status %d", w.Code)
			}
			if w.Body.Len() > 0 && !json.Valid(w.Body.Bytes()) {
				t.Fatalf("body is not JSON: %q", w.Body)
			}
		}
		st := s.Stats()
		if st.Delivered != st.Distinct+st.Duplicates || st.Delivered > st.Requests {
			t.Fatalf("inconsistent stats %+v", st)
		}
	})
}

func FuzzParseAgentless(f *testing.F) {
	f.Add(agentless("sms", "+15551234567"))
	f.Add(agentless("whatsapp", "x"))
	f.Add(whatsapp("15551234567", `{"responseId":"r","bodyParameters":[{"id":"1","value":"v"}]}`))
	f.Add(`{"fromAddress":"f","toAddress":"o","toAddressMessengerType":"open","messagingTemplate":{"responseId":"r"}}`)
	f.Add(`{"toAddress":null}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		m, err := parseAgentless([]byte(body))
		if err != nil {
			return
		}
		if m.FromAddress == "" || m.ToAddress == "" || !slices.Contains([]string{"sms", "whatsapp", "open"}, m.ToAddressMessengerType) {
			t.Fatalf("accepted %+v", m)
		}
		tmpl := m.MessagingTemplate
		switch m.ToAddressMessengerType {
		case "sms":
			if !isE164(m.ToAddress) || m.TextBody == "" || tmpl != nil || segments.UTF16Len(m.TextBody) > 765 {
				t.Fatalf("accepted an sms %+v", m)
			}
		case "whatsapp":
			if !isWhatsAppID(m.ToAddress) || tmpl == nil || tmpl.ResponseID == "" {
				t.Fatalf("accepted a whatsapp message %+v", m)
			}
		}
		if m.TextBody == "" && (tmpl == nil || tmpl.ResponseID == "") || segments.UTF16Len(m.TextBody) > 2000 {
			t.Fatalf("accepted a message without text or too long: %+v", m)
		}
	})
}

func FuzzParseTwilio(f *testing.F) {
	f.Add("To=%2B15551234567&From=x&Body=hi")
	f.Add("To=%2B15551234567&MessagingServiceSid=" + mg + "&Body=hi")
	f.Add("To=whatsapp%3A%2B15551234567&From=x&ContentSid=" + hx + "&ContentVariables=%7B%221%22%3A%22a%22%7D")
	f.Add("To=%2B15551234567&From=x&MediaUrl=https%3A%2F%2Fe.test%2Fa.jpg&ValidityPeriod=5&StatusCallback=http%3A%2F%2Fe.test")
	f.Add("To=555")
	f.Add("To=%zz;a=b")
	f.Fuzz(func(t *testing.T, body string) {
		m, bad := parseTwilio([]byte(body))
		if bad != nil {
			if bad.Status != http.StatusBadRequest || bad.Code == 0 || !json.Valid(mustJSON(bad)) {
				t.Fatalf("error %+v", bad)
			}
			return
		}
		if !isE164(strings.TrimPrefix(m.To, "whatsapp:")) || (m.Body == "" && len(m.MediaURL) == 0 && m.ContentSID == "") ||
			(m.From == "" && m.MessagingServiceSID == "") || segments.UTF16Len(m.Body) > 1600 || len(m.MediaURL) > 10 {
			t.Fatalf("accepted %+v", m)
		}
	})
}

func FuzzIsE164(f *testing.F) {
	re := regexp.MustCompile(`^\+[0-9]{8,15}$`)
	for _, s := range []string{"+15551234567", "+1234567", "15551234567", "+1234567890123456", "+١٢٣٤٥٦٧٨٩", "+12345678\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isE164(s), re.MatchString(s); got != want {
			t.Fatalf("isE164(%q) = %v, want %v", s, got, want)
		}
	})
}

func FuzzRecipientOf(f *testing.F) {
	f.Add("application/json", `{"to":"a"}`, "h")
	f.Add("application/x-www-form-urlencoded", "To=b&x=%zz", "")
	f.Add("", ` {"toAddress":"c"}`, "h")
	f.Add("text/plain", "to=a", "")
	f.Fuzz(func(t *testing.T, ctype, body, header string) {
		h := http.Header{}
		h.Set("X-Recipient", header)
		got := recipientOf(mediaType(ctype), []byte(body), h)
		if again := recipientOf(mediaType(ctype), []byte(body), h); again != got {
			t.Fatalf("not deterministic: %q then %q", got, again)
		}
		if body == "" && got != h.Get("X-Recipient") {
			t.Fatalf("empty body gave %q, want the header %q", got, h.Get("X-Recipient"))
		}
	})
}
