package preset

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bulksend/bulksend/sender"
)

// TwilioListPageSize is the PageSize of the Message list a Twilio lookup
// reads (Twilio allows up to 1,000): a page of 200 messages of up to 1,600
// UTF-16 units each, were every unit escaped as \uXXXX, is about 2 MB,
// inside the engine's 4 MiB read of a lookup's answer.
const TwilioListPageSize = 200

// twilioDate is the RFC 2822 layout of Twilio's date fields.
const twilioDate = "Mon, 02 Jan 2006 15:04:05 -0700"

// twilioLookup settles a Twilio row whose request may have arrived. Twilio
// has no idempotency key and the lost answer held the message's sid, so the
// only question Twilio can answer is its Message list (GET
// /2010-04-01/Accounts/{AccountSid}/Messages.json, twilio-oai's ListMessage)
// filtered by To and From, read for an outbound-api message with the row's
// exact body created since the row's first request.
//
// The list is not filtered by DateSent (nor DateSent> / DateSent<), though
// twilio-oai offers no other date filter: date_sent is null until Twilio
// hands the message to the carrier, so a message still queued, accepted or
// scheduled, which is just what an attempt moments ago may have made, is
// missing from any DateSent filter. Taking such a list for the whole truth
// would call the message absent and send it twice. Nor is the order of the
// list published, so no page is taken to be the last one that can hold it:
// the lookup reads every page up to sender.DefaultLookupPages, and a list
// longer than that settles nothing (the row is looked up again, then
// unknown).
type twilioLookup struct {
	api     string // the API's base URL, no trailing slash
	path    string // the Message list's path, /2010-04-01/Accounts/{sid}/Messages.json
	from    string // the From filter and match; "" with a Messaging Service alone
	service string // the messaging_service_sid a message must carry; "" for none
	query   string // "&From=...&PageSize=...", encoded once

	// claimed holds the sids a lookup has taken for a row, so two rows with
	// the same recipient and text that both may have arrived are not both
	// settled by one message, and the sids the latest TwilioRecentAnswers
	// create answers gave (recent, a ring: once full, the oldest is at
	// next), so a row whose
	// answer was lost is not settled by its twin's message, which was
	// answered: lookups follow their attempt within seconds, so the twin's
	// answer is among the latest.
	mu      sync.Mutex
	claimed map[string]struct{}
	recent  []string
	next    int // where recent's next sid goes
}

// TwilioRecentAnswers is how many of the latest create answers' sids a
// Twilio lookup keeps to leave out.
const TwilioRecentAnswers = 1 << 16

// newTwilioLookup is the lookup of the account's Message list at api+path,
// for messages from from or through service; nil when from is not written
// as Twilio writes a sender back (see listedAs): every row's look-alike
// would then go unseen and be called absent.
func newTwilioLookup(api, path, from, service string) *twilioLookup {
	if from != "" && !listedAs(from, true) {
		return nil
	}
	q := ""
	if from != "" {
		q = "&From=" + url.QueryEscape(from)
	}
	return &twilioLookup{api: api, path: path, from: from, service: service,
		query: q + "&PageSize=" + strconv.Itoa(TwilioListPageSize), claimed: make(map[string]struct{})}
}

// lookup is the Lookup of a message to to (escTo, query-escaped) with text
// as its Body; nil when there is none (a nil l, or a recipient not written
// as Twilio lists it).
func (l *twilioLookup) lookup(to, escTo, text string) *sender.Lookup {
	if l == nil || !listedAs(to, false) {
		return nil
	}
	return &sender.Lookup{
		URL: l.api + l.path + "?To=" + escTo + l.query,
		Match: func(body []byte, since time.Time) sender.Page {
			return l.match(body, since, to, text)
		},
	}
}

// twilioList is one page of the Message list: the fields a lookup reads.
type twilioList struct {
	Messages *[]json.RawMessage `json:"messages"`
	// NextPageURI is null on the last page; absent, the answer is not the
	// published list.
	NextPageURI json.RawMessage `json:"next_page_uri"`
}

// twilioListed is a message of the list: the fields a lookup reads, and
// the message as listed.
type twilioListed struct {
	raw                 json.RawMessage
	SID                 string  `json:"sid"`
	Body                *string `json:"body"`
	To                  *string `json:"to"`
	From                *string `json:"from"`
	MessagingServiceSID *string `json:"messaging_service_sid"`
	Direction           string  `json:"direction"`
	DateCreated         *string `json:"date_created"`
}

// parseTwilioList reads a page of the Message list: its messages, and the
// path of the next page, "" on the last one.
func parseTwilioList(body []byte) ([]twilioListed, string, string) {
	var p twilioList
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, "", "not Twilio's Message list: " + err.Error()
	}
	if p.Messages == nil {
		return nil, "", "not Twilio's Message list: no messages"
	}
	var next *string
	if len(p.NextPageURI) == 0 || json.Unmarshal(p.NextPageURI, &next) != nil {
		return nil, "", "not Twilio's Message list: no next_page_uri, so its end is unknown"
	}
	if next != nil && *next == "" {
		return nil, "", "not Twilio's Message list: an empty next_page_uri"
	}
	msgs := make([]twilioListed, len(*p.Messages))
	for i, raw := range *p.Messages {
		if err := json.Unmarshal(raw, &msgs[i]); err != nil {
			return nil, "", "not Twilio's Message list: " + err.Error()
		}
		msgs[i].raw = raw
	}
	if next == nil {
		return msgs, "", ""
	}
	return msgs, *next, ""
}

// match reads a page of the list for the message to to with body text,
// created at since or later.
func (l *twilioLookup) match(body []byte, since time.Time, to, text string) sender.Page {
	msgs, next, bad := parseTwilioList(body)
	if bad != "" {
		return sender.Page{Unsettled: bad}
	}
	for i := range msgs {
		m := &msgs[i]
		if !l.same(m, to, text) {
			continue
		}
		if m.DateCreated == nil {
			return sender.Page{Unsettled: "a message like this row's has no date_created"}
		}
		created, err := time.Parse(twilioDate, *m.DateCreated)
		if err != nil {
			return sender.Page{Unsettled: "a message like this row's has a date_created that is not RFC 2822"}
		}
		if since.IsZero() {
			// An earlier run made the request, when is not known here: the
			// look-alike may be an older message with the same text.
			return sender.Page{Unsettled: "a message like this row's exists, and when this row's request left is not known"}
		}
		if created.Before(since) || m.SID == "" || !l.claim(m.SID) {
			continue // an older message with the same text, or another row's
		}
		return sender.Page{Found: true, MessageID: m.SID, Message: m.raw}
	}
	if next == "" {
		return sender.Page{}
	}
	// Only the same resource, on the same host: the request carries the
	// account's credentials.
	if !strings.HasPrefix(next, l.path+"?") {
		return sender.Page{Unsettled: "next_page_uri is not the Message list's"}
	}
	return sender.Page{Next: l.api + next}
}

// same reports whether m is an outbound message made through the API from
// this sender to to with exactly text as its body. Twilio's published
// definition documents no change it makes to a body, so none is assumed.
func (l *twilioLookup) same(m *twilioListed, to, text string) bool {
	switch {
	case m.Direction != "outbound-api",
		m.To == nil || *m.To != to,
		m.Body == nil || *m.Body != text,
		l.from != "" && (m.From == nil || *m.From != l.from),
		l.service != "" && (m.MessagingServiceSID == nil || *m.MessagingServiceSID != l.service):
		return false
	}
	return true
}

// listedAs reports whether addr is written as the Message list gives it
// back, so that an exact match can find it: an E.164 number (+ and 8 to 15
// digits), alone or after a channel prefix such as whatsapp:, or, for a
// sender, a short code (3 to 8 digits) or an alphanumeric sender id (1 to
// 11 letters, digits or spaces, a letter among them). A number written
// otherwise ("+1 555 0100", "(555) 0100") may be stored as Twilio
// normalises it, and a list that seems not to hold the message would
// have it sent twice; such rows are not looked up.
func listedAs(addr string, sender bool) bool {
	if i := strings.IndexByte(addr, ':'); i > 0 {
		addr = addr[i+1:] // a channel address: whatsapp:+1555...
		sender = false
	}
	if digits, ok := strings.CutPrefix(addr, "+"); ok {
		return len(digits) >= 8 && len(digits) <= 15 && allDigits(digits)
	}
	if !sender || addr == "" || len(addr) > 11 {
		return false
	}
	if allDigits(addr) {
		return len(addr) >= 3 && len(addr) <= 8
	}
	letter := false
	for i := 0; i < len(addr); i++ {
		switch c := addr[i]; {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
			letter = true
		case c >= '0' && c <= '9', c == ' ':
		default:
			return false
		}
	}
	return letter
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// claim takes sid for one row; false when another row has it, by a lookup
// or by its own answer.
func (l *twilioLookup) claim(sid string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.claimed[sid]; ok {
		return false
	}
	l.claimed[sid] = struct{}{}
	return true
}

// claimEarlier notes sid, the message an earlier run's report gives a sent
// row: that message is its row's, and no lookup of this run may take it
// for a twin row (same recipient and text) the report left in flight or
// unknown. It is never forgotten.
func (l *twilioLookup) claimEarlier(sid string) {
	if sid == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.claimed[sid] = struct{}{}
}

// answered notes sid, a create answer's: that message is its row's. The
// oldest of TwilioRecentAnswers is forgotten, unless a lookup took it.
func (l *twilioLookup) answered(sid string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.claimed[sid]; ok {
		return // a lookup took it first: see the README
	}
	if len(l.recent) < TwilioRecentAnswers {
		l.recent = append(l.recent, sid)
	} else {
		delete(l.claimed, l.recent[l.next])
		l.recent[l.next] = sid
		l.next = (l.next + 1) % TwilioRecentAnswers
	}
	l.claimed[sid] = struct{}{}
}
