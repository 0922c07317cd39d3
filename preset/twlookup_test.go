package preset

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulksend/bulksend/sender"
)

// The account, sender and service of twilio-oai's ListMessage example
// readFullPage1 (twilio_message_list_200_read_full_page1.json): its first
// message is an outbound-api "testing" to +18182008801 created Fri, 24 May
// 2019 17:44:46 +0000 (SMded05904ccb347238880ca9264e8fe1c); its second, with
// the same addresses and time, is inbound.
const (
	oaiAccount = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	oaiPath    = "/2010-04-01/Accounts/" + oaiAccount + "/Messages.json"
	oaiFrom    = "+12019235161"
	oaiTo      = "+18182008801"
	oaiService = "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	oaiSID     = "SMded05904ccb347238880ca9264e8fe1c"
	oaiNext    = "https://api.example" + oaiPath + "?To=%2B123456789&From=%2B987654321&DateSent%3E=2008-01-02&PageSize=2&Page=1&PageToken=PAMMc26223853f8c46b4ab7dfaa6abba0a26"
)

var oaiCreated = time.Date(2019, 5, 24, 17, 44, 46, 0, time.UTC)

// TestTwilioListMatch: a page of the Message list, in twilio-oai's
// published shape and field order, settles a row only when it holds an
// outbound-api message to the row's recipient, from its sender (or its
// Messaging Service), with exactly its text, created no earlier than the
// row's first request; otherwise the next page is read, the list's end is
// absent, and an answer that is not the published list, or a look-alike
// that cannot be dated, settles nothing.
func TestTwilioListMatch(t *testing.T) {
	full := string(vendorFixture(t, "twilio_message_list_200_read_full_page1.json"))
	empty := string(vendorFixture(t, "twilio_message_list_200_read_empty.json"))
	last := strings.Replace(full, `"next_page_uri": "/2010`, `"next_page_uri": null, "was": "/2010`, 1)
	before := oaiCreated.Add(-time.Minute)
	tests := []struct {
		name          string
		from, service string
		body          string
		since         time.Time
		to, text      string
		want          sender.Page
	}{
		{"the published example: found", oaiFrom, "", full, before, oaiTo, "testing", sender.Page{Found: true, MessageID: oaiSID}},
		{"created the second the row left: found", oaiFrom, "", full, oaiCreated, oaiTo, "testing", sender.Page{Found: true, MessageID: oaiSID}},
		{"by the Messaging Service alone: found", "", oaiService, full, before, oaiTo, "testing", sender.Page{Found: true, MessageID: oaiSID}},
		{"sender and service: found", oaiFrom, oaiService, full, before, oaiTo, "testing", sender.Page{Found: true, MessageID: oaiSID}},
		{"created well before the row's first request: the next page", oaiFrom, "", full, oaiCreated.Add(TwilioClockWindow + time.Second), oaiTo, "testing", sender.Page{Next: oaiNext}},
		{"created just before the row's first request: unsettled", oaiFrom, "", full, oaiCreated.Add(time.Second), oaiTo, "testing",
			sender.Page{Unsettled: "a message like this row's was created shortly before this row's first request: it may be this row's, seen through a clock error"}},
		{"created a clock window before the row's first request: unsettled", oaiFrom, "", full, oaiCreated.Add(TwilioClockWindow), oaiTo, "testing",
			sender.Page{Unsettled: "a message like this row's was created shortly before this row's first request: it may be this row's, seen through a clock error"}},
		{"yesterday's identical message on the last page: absent", oaiFrom, "", last, oaiCreated.Add(24 * time.Hour), oaiTo, "testing", sender.Page{}},
		{"a trailing space is another text", oaiFrom, "", last, before, oaiTo, "testing ", sender.Page{}},
		{"case is another text", oaiFrom, "", last, before, oaiTo, "Testing", sender.Page{}},
		{"another recipient", oaiFrom, "", last, before, "+18182008802", "testing", sender.Page{}},
		{"another sender", "+12019235162", "", last, before, oaiTo, "testing", sender.Page{}},
		{"another Messaging Service", "", "MGbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", last, before, oaiTo, "testing", sender.Page{}},
		{"an inbound message with the text is not the row's", oaiFrom, "", last, before, oaiTo, "look mom I have media!", sender.Page{}},
		{"the published empty list: absent", oaiFrom, "", empty, before, oaiTo, "testing", sender.Page{}},
		{"a look-alike when the row's time is unknown: unsettled", oaiFrom, "", full, time.Time{}, oaiTo, "testing",
			sender.Page{Unsettled: "a message like this row's exists, and when this row's request left is not known"}},
		{"no look-alike when the row's time is unknown: absent", oaiFrom, "", last, time.Time{}, oaiTo, "other", sender.Page{}},
		{"a look-alike without a date: unsettled", oaiFrom, "", strings.Replace(full, `"date_created": "Fri, 24 May 2019 17:44:46 +0000"`, `"date_created": null`, 1), before, oaiTo, "testing",
			sender.Page{Unsettled: "a message like this row's has no date_created"}},
		{"a look-alike with an ISO date: unsettled", oaiFrom, "", strings.Replace(full, `"Fri, 24 May 2019 17:44:46 +0000"`, `"2019-05-24T17:44:46Z"`, 1), before, oaiTo, "testing",
			sender.Page{Unsettled: "a message like this row's has a date_created that is not RFC 2822"}},
		{"an undated message of another text is skipped", oaiFrom, "", strings.Replace(last, `"date_created": "Fri, 24 May 2019 17:44:46 +0000"`, `"date_created": null`, 1), before, oaiTo, "other", sender.Page{}},
		{"a next page of another account: unsettled", oaiFrom, "", strings.Replace(full, `"next_page_uri": "/2010-04-01/Accounts/ACa`, `"next_page_uri": "/2010-04-01/Accounts/ACb`, 1), before, oaiTo, "other",
			sender.Page{Unsettled: "next_page_uri is not the Message list's"}},
		{"a next page on another host: unsettled", oaiFrom, "", strings.Replace(full, `"next_page_uri": "/2010`, `"next_page_uri": "https://elsewhere.example/2010`, 1), before, oaiTo, "other",
			sender.Page{Unsettled: "next_page_uri is not the Message list's"}},
		{"200 {}: unsettled", oaiFrom, "", `{}`, before, oaiTo, "testing", sender.Page{Unsettled: "not Twilio's Message list: no messages"}},
		{"200 []: unsettled", oaiFrom, "", `[]`, before, oaiTo, "testing", sender.Page{Unsettled: "not Twilio's Message list: json: cannot unmarshal array into Go value of type preset.twilioList"}},
		{"200 null: unsettled", oaiFrom, "", `null`, before, oaiTo, "testing", sender.Page{Unsettled: "not Twilio's Message list: no messages"}},
		{"no body: unsettled", oaiFrom, "", ``, before, oaiTo, "testing", sender.Page{Unsettled: "not Twilio's Message list: unexpected end of JSON input"}},
		{"messages without next_page_uri: unsettled", oaiFrom, "", `{"messages": []}`, before, oaiTo, "testing",
			sender.Page{Unsettled: "not Twilio's Message list: no next_page_uri, so its end is unknown"}},
		{"an empty next_page_uri: unsettled", oaiFrom, "", `{"messages": [], "next_page_uri": ""}`, before, oaiTo, "testing",
			sender.Page{Unsettled: "not Twilio's Message list: an empty next_page_uri"}},
		{"a cut page: unsettled", oaiFrom, "", full[:len(full)/2], before, oaiTo, "testing", sender.Page{Unsettled: "not Twilio's Message list: unexpected end of JSON input"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newTwilioLookup("https://api.example", oaiPath, tt.from, tt.service)
			got := l.lookup(tt.to, url.QueryEscape(tt.to), tt.text).Match([]byte(tt.body), tt.since)
			if !samePage(t, got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// samePage reports whether got says what want says; a found message must
// come with the message as listed, the one with its sid.
func samePage(t *testing.T, got, want sender.Page) bool {
	t.Helper()
	msg := got.Message
	got.Message, want.Message = nil, nil
	if !reflect.DeepEqual(got, want) {
		return false
	}
	if !got.Found {
		return msg == nil
	}
	var m struct{ SID string }
	if err := json.Unmarshal(msg, &m); err != nil || m.SID != got.MessageID {
		t.Errorf("found %s with the message %s", got.MessageID, msg)
	}
	return true
}

// TestTwilioListClaims: two rows with the same recipient and text that both
// may have arrived are settled by two messages, never both by one.
func TestTwilioListClaims(t *testing.T) {
	page := `{"messages": [` + hiMsg("SM1") + `, ` + hiMsg("SM2") + `], "next_page_uri": null}`
	l := newTwilioLookup("https://api.example", oaiPath, "+15550000000", "")
	var got []sender.Page
	for range 3 {
		got = append(got, l.lookup("+15550000001", "%2B15550000001", "hi").Match([]byte(page), oaiCreated))
	}
	want := []sender.Page{{Found: true, MessageID: "SM1"}, {Found: true, MessageID: "SM2"}, {}}
	for i := range want {
		if !samePage(t, got[i], want[i]) {
			t.Errorf("row %d: %+v, want %+v", i+1, got[i], want[i])
		}
	}
}

// TestTwilioListAnswered: a message whose sid a create answer gave is its
// own row's, so a lookup for a twin row (same recipient and text) whose
// answer was lost does not take it; of the answers only the latest
// TwilioRecentAnswers are kept.
func TestTwilioListAnswered(t *testing.T) {
	page := []byte(`{"messages": [` + hiMsg("SM1") + `, ` + hiMsg("SM2") + `], "next_page_uri": null}`)
	p, err := NewTwilio(TwilioConfig{From: "+15550000000", AccountSID: testSID, AuthToken: testToken})
	if err != nil {
		t.Fatal(err)
	}
	// The twin's answer, as the engine reads it.
	if id, _ := p.ParseResponse(201, []byte(`{"sid": "SM1", "status": "queued"}`)); id != "SM1" {
		t.Fatalf("ParseResponse read %q", id)
	}
	p.ParseResponse(200, []byte(`{"sid": "SM2"}`)) // not a create answer: SM2 is not taken
	m := p.Builder.Build(sender.Row{Line: 3, Fields: map[string]string{"to": "+15550000001", "text": "hi"}})
	if got := m.Lookup.Match(page, oaiCreated); !samePage(t, got, sender.Page{Found: true, MessageID: "SM2"}) {
		t.Errorf("lookup of the twin whose answer was lost: %+v, want SM2, the message no answer gave", got)
	}
	if got := m.Lookup.Match(page, oaiCreated); !samePage(t, got, sender.Page{}) {
		t.Errorf("once more: %+v, want absent: SM1 was answered, SM2 taken", got)
	}

	l := newTwilioLookup("https://api.example", oaiPath, "+15550000000", "")
	l.answered("SM1")
	for i := range TwilioRecentAnswers {
		l.answered(fmt.Sprint("SMx", i))
	}
	if got := l.match(page, oaiCreated, "+15550000001", "hi"); !samePage(t, got, sender.Page{Found: true, MessageID: "SM1"}) {
		t.Errorf("after %d later answers: %+v, want SM1, forgotten", TwilioRecentAnswers, got)
	}
	if len(l.claimed) != TwilioRecentAnswers+1 || len(l.recent) != TwilioRecentAnswers {
		t.Errorf("%d claimed, %d recent: the ring does not hold its size", len(l.claimed), len(l.recent))
	}
}

// TestTwilioBuildLookup: a row with text is looked up through the Message
// list filtered by To and From (or To alone for a Messaging Service), a
// page of TwilioListPageSize; a content template or media without text is
// not looked up.
func TestTwilioBuildLookup(t *testing.T) {
	const api = "https://api.example/"
	list := "https://api.example/2010-04-01/Accounts/" + testSID + "/Messages.json"
	tests := []struct {
		name       string
		cfg        TwilioConfig
		fields     map[string]string
		wantLookup string // "" means none
	}{
		{"from a number", TwilioConfig{From: "+15550000000"}, map[string]string{"to": "+15550000001", "text": "hi"},
			list + "?To=%2B15550000001&From=%2B15550000000&PageSize=200"},
		{"a Messaging Service alone: To only", TwilioConfig{MessagingService: "MG0123456789abcdef0123456789abcdef"}, map[string]string{"to": "+15550000001", "text": "hi"},
			list + "?To=%2B15550000001&PageSize=200"},
		{"a WhatsApp address", TwilioConfig{From: "whatsapp:+15550000000"}, map[string]string{"to": "whatsapp:+15550000001", "text": "hi"},
			list + "?To=whatsapp%3A%2B15550000001&From=whatsapp%3A%2B15550000000&PageSize=200"},
		{"media without text: none", TwilioConfig{From: "+15550000000", MediaURLFields: []string{"media"}}, map[string]string{"to": "+15550000001", "text": "", "media": "https://example.com/a.png"}, ""},
		{"a content template: none", TwilioConfig{From: "+15550000000", ContentSID: "HX0123456789abcdef0123456789abcdef", Text: "x"}, map[string]string{"to": "+15550000001"}, ""},
		{"a short code", TwilioConfig{From: "55512"}, map[string]string{"to": "+15550000001", "text": "hi"},
			list + "?To=%2B15550000001&From=55512&PageSize=200"},
		{"an alphanumeric sender id", TwilioConfig{From: "My Shop 24"}, map[string]string{"to": "+15550000001", "text": "hi"},
			list + "?To=%2B15550000001&From=My+Shop+24&PageSize=200"},
		{"a recipient not in E.164: none", TwilioConfig{From: "+15550000000"}, map[string]string{"to": "+1 555 000 0001", "text": "hi"}, ""},
		{"a sender not as Twilio lists it: none", TwilioConfig{From: "+1 (555) 000-0000"}, map[string]string{"to": "+15550000001", "text": "hi"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.APIURL, cfg.AccountSID, cfg.AuthToken = api, testSID, testToken
			p, err := NewTwilio(cfg)
			if err != nil {
				t.Fatal(err)
			}
			m := p.Builder.Build(sender.Row{Line: 2, Fields: tt.fields})
			if m.Invalid != nil {
				t.Fatal(m.Invalid)
			}
			switch {
			case tt.wantLookup == "" && m.Lookup != nil:
				t.Errorf("lookup %s, want none", m.Lookup.URL)
			case tt.wantLookup != "" && (m.Lookup == nil || m.Lookup.URL != tt.wantLookup || m.Lookup.Match == nil || m.Lookup.Method != ""):
				t.Errorf("lookup %+v, want GET %s with a Match", m.Lookup, tt.wantLookup)
			}
			if m.Lookup != nil {
				checkListQuery(t, m.Lookup.URL)
			}
		})
	}
}

// TestListedAs: only addresses written as the Message list gives them back
// are looked up, so an exact match can find them.
func TestListedAs(t *testing.T) {
	tests := []struct {
		name   string
		addr   string
		sender bool
		want   bool
	}{
		{"E.164", "+15550000001", false, true},
		{"E.164 sender", "+15550000001", true, true},
		{"WhatsApp", "whatsapp:+15550000001", false, true},
		{"WhatsApp sender", "whatsapp:+15550000001", true, true},
		{"too short", "+1555000", false, false},
		{"too long", "+1234567890123456", false, false},
		{"spaces", "+1 555 000 0001", false, false},
		{"national", "(555) 000-0001", false, false},
		{"no plus", "15550000001", false, false},
		{"short code", "55512", true, true},
		{"short code as a recipient", "55512", false, false},
		{"alphanumeric sender id", "My Shop 24", true, true},
		{"alphanumeric, too long", "My Shop 24 7", true, false},
		{"alphanumeric with punctuation", "Shop-24", true, false},
		{"a channel id without a number", "messenger:1234567", false, false},
		{"empty", "", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := listedAs(tt.addr, tt.sender); got != tt.want {
				t.Errorf("listedAs(%q, %v) = %v, want %v", tt.addr, tt.sender, got, tt.want)
			}
		})
	}
}

// listMessageParams are the query parameters of twilio-oai's ListMessage
// (spec/json/twilio_api_v2010.json at the commit preset/testdata/vendor's
// README names), PageSize's range with them.
var listMessageParams = []string{"To", "From", "DateSent", "DateSent<", "DateSent>", "PageSize", "Page", "PageToken"}

// checkListQuery checks a lookup URL's query against ListMessage: only its
// parameters, each once, PageSize from 1 to 1000, and no DateSent filter
// (a message not yet sent has no date_sent).
func checkListQuery(t *testing.T, u string) {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := parsed.Query()
	for k, v := range q {
		if !slices.Contains(listMessageParams, k) || len(v) != 1 {
			t.Errorf("%s: query parameter %q (%d times) is not one of ListMessage's", u, k, len(v))
		}
		if strings.HasPrefix(k, "DateSent") {
			t.Errorf("%s: a DateSent filter drops messages not yet sent", u)
		}
	}
	if n, err := strconv.Atoi(q.Get("PageSize")); err != nil || n < 1 || n > 1000 {
		t.Errorf("%s: PageSize %q, want 1 to 1000", u, q.Get("PageSize"))
	}
}

// FuzzTwilioList: no page makes the list reader panic, and what it says
// holds: found names a message of the page that is the row's, created at
// since or later; a next page is the Message list's, on the API's host.
func FuzzTwilioList(f *testing.F) {
	f.Add(vendorFixture(f, "twilio_message_list_200_read_full_page1.json"), "+12019235161", "+18182008801", "testing", int64(0))
	f.Add(vendorFixture(f, "twilio_message_list_200_read_empty.json"), "+1", "+2", "x", int64(1))
	f.Add([]byte(`{"messages":[{"sid":"SM1","to":"+2","from":"+1","body":"x","direction":"outbound-api","date_created":"Fri, 24 May 2019 17:44:46 +0000"}],"next_page_uri":null}`), "+1", "+2", "x", int64(-5))
	f.Add([]byte(`{"messages":null,"next_page_uri":"/x"}`), "", "", "", int64(0))
	f.Fuzz(func(t *testing.T, body []byte, from, to, text string, offset int64) {
		since := oaiCreated.Add(time.Duration(offset) * time.Second)
		l := &twilioLookup{api: "https://api.example", path: oaiPath, from: from, claimed: make(map[string]struct{})}
		p := l.match(body, since, to, text)
		if p.Unsettled != "" {
			return
		}
		msgs, next, bad := parseTwilioList(body)
		if bad != "" {
			t.Fatalf("settled (%+v) a page the reader refuses: %s", p, bad)
		}
		if p.Found {
			for _, m := range msgs {
				if m.SID == p.MessageID && l.same(&m, to, text) && m.DateCreated != nil {
					if c, err := time.Parse(twilioDate, *m.DateCreated); err == nil && !c.Before(since) {
						return
					}
				}
			}
			t.Fatalf("found %q, which is no message of the row's on the page", p.MessageID)
		}
		if p.Next != "" && (next == "" || !strings.HasPrefix(p.Next, "https://api.example"+oaiPath+"?")) {
			t.Fatalf("next page %q, from next_page_uri %q", p.Next, next)
		}
		if p.Next == "" && next != "" {
			t.Fatalf("absent, though the list goes on at %q", next)
		}
	})
}

// twinCreate sends, through p's transport over a fake server, a create to
// to with text, answered 201 with sid; during tells what a lookup sees while
// the create is on the wire. It returns the answer's body, read and closed
// as the engine does, not yet parsed.
func twinCreate(t *testing.T, p *Preset, to, text, sid string, during func()) []byte {
	t.Helper()
	answer := `{"sid": "` + sid + `", "status": "queued"}`
	rt := p.Wrap(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if during != nil {
			during()
		}
		return &http.Response{StatusCode: http.StatusCreated, Body: io.NopCloser(strings.NewReader(answer)), Request: r}, nil
	}))
	form := url.Values{"To": {to}, "From": {"+15550000000"}, "Body": {text}}.Encode()
	req, err := http.NewRequest(http.MethodPost, "https://api.twilio.com/2010-04-01/Accounts/"+testSID+"/Messages.json", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return body
}

// TestTwilioListTwinCreating: while a twin row's create (same recipient and
// text) is unanswered, or answered but not yet read, a look-alike on the
// list may be the twin's message, so it settles nothing; once the twin's
// sid is known the lookup leaves that message out.
func TestTwilioListTwinCreating(t *testing.T) {
	page := []byte(`{"messages": [{"body": "hi", "date_created": "Fri, 24 May 2019 17:44:46 +0000", "direction": "outbound-api", "from": "+15550000000", "sid": "SM1", "to": "+15550000001"}], "next_page_uri": null}`)
	p, err := NewTwilio(TwilioConfig{From: "+15550000000", AccountSID: testSID, AuthToken: testToken})
	if err != nil {
		t.Fatal(err)
	}
	row := p.Builder.Build(sender.Row{Line: 2, Fields: map[string]string{"to": "+15550000001", "text": "hi"}})
	other := p.Builder.Build(sender.Row{Line: 3, Fields: map[string]string{"to": "+15550000001", "text": "other"}})
	const unanswered = "a message like this row's exists while a twin row's create (same recipient and text) is unanswered: it may be the twin's"
	body := twinCreate(t, p, "+15550000001", "hi", "SM1", func() {
		if got := row.Lookup.Match(page, oaiCreated); !samePage(t, got, sender.Page{Unsettled: unanswered}) {
			t.Errorf("while the twin's create is on the wire: %+v, want unsettled", got)
		}
		if got := other.Lookup.Match(page, oaiCreated); !samePage(t, got, sender.Page{}) {
			t.Errorf("another text while the create is on the wire: %+v, want absent", got)
		}
	})
	if got := row.Lookup.Match(page, oaiCreated); !samePage(t, got, sender.Page{Unsettled: unanswered}) {
		t.Errorf("answered, not yet parsed: %+v, want unsettled", got)
	}
	if id, _ := p.ParseResponse(http.StatusCreated, body); id != "SM1" {
		t.Fatalf("ParseResponse read %q", id)
	}
	if got := row.Lookup.Match(page, oaiCreated); !samePage(t, got, sender.Page{}) {
		t.Errorf("after the twin's answer: %+v, want absent, SM1 being the twin's", got)
	}
}

// TestTwilioListKeepsLookedUpTwins: a twin's answered sid is not forgotten
// after TwilioRecentAnswers later answers while a row with its recipient
// and text is still being looked up.
func TestTwilioListKeepsLookedUpTwins(t *testing.T) {
	msg := `{"body": "hi", "date_created": "Fri, 24 May 2019 17:44:46 +0000", "direction": "outbound-api", "from": "+15550000000", "sid": "SM1", "to": "+15550000001"}`
	first := []byte(`{"messages": [], "next_page_uri": "` + "/2010-04-01/Accounts/" + testSID + `/Messages.json?To=x&Page=1"}`)
	last := []byte(`{"messages": [` + msg + `], "next_page_uri": null}`)
	p, err := NewTwilio(TwilioConfig{From: "+15550000000", AccountSID: testSID, AuthToken: testToken})
	if err != nil {
		t.Fatal(err)
	}
	p.ParseResponse(http.StatusCreated, twinCreate(t, p, "+15550000001", "hi", "SM1", nil))
	row := p.Builder.Build(sender.Row{Line: 2, Fields: map[string]string{"to": "+15550000001", "text": "hi"}})
	if got := row.Lookup.Match(first, oaiCreated); got.Next == "" {
		t.Fatalf("first page: %+v, want the next page", got)
	}
	for i := range TwilioRecentAnswers {
		p.ParseResponse(http.StatusCreated, []byte(fmt.Sprintf(`{"sid": "SMx%d"}`, i)))
	}
	if got := row.Lookup.Match(last, oaiCreated); !samePage(t, got, sender.Page{}) {
		t.Errorf("after %d later answers, the lookup still running: %+v, want absent, SM1 being the twin's", TwilioRecentAnswers, got)
	}
}

// TestTwilioListClaimEarlier: a sid an earlier run's report gives a sent
// row (Preset.Claim, on --resume) is never taken for another row.
func TestTwilioListClaimEarlier(t *testing.T) {
	page := []byte(`{"messages": [` + hiMsg("SM1") + `, ` + hiMsg("SM2") + `], "next_page_uri": null}`)
	p, err := NewTwilio(TwilioConfig{From: "+15550000000", AccountSID: testSID, AuthToken: testToken})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		p.Claim(fmt.Sprint("SMy", i))
	}
	p.Claim("SM1")
	p.Claim("")
	row := p.Builder.Build(sender.Row{Line: 2, Fields: map[string]string{"to": "+15550000001", "text": "hi"}})
	if got := row.Lookup.Match(page, oaiCreated); !samePage(t, got, sender.Page{Found: true, MessageID: "SM2"}) {
		t.Errorf("first lookup: %+v, want SM2, SM1 being a sent row's", got)
	}
	p.Claim("SM3") // claimed after the set was sorted
	page3 := []byte(`{"messages": [` + hiMsg("SM3") + `], "next_page_uri": null}`)
	if got := row.Lookup.Match(page3, oaiCreated); !samePage(t, got, sender.Page{}) {
		t.Errorf("a sid claimed late: %+v, want absent", got)
	}
}

// hiMsg is an outbound "hi" from +15550000000 to +15550000001 with sid,
// created at oaiCreated, as the list gives it.
func hiMsg(sid string) string {
	return `{"body": "hi", "date_created": "Fri, 24 May 2019 17:44:46 +0000", "direction": "outbound-api", "from": "+15550000000", "sid": "` + sid + `", "to": "+15550000001"}`
}
