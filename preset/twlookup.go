package preset

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"io"
	"net/http"
	"net/url"
	"slices"
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
	// earlier holds a hash of each sid an earlier run's report gives a
	// sent row (claimEarlier), sorted when sorted is set: 8 bytes a row,
	// for reports of millions of rows.
	earlier []uint64
	sorted  bool
	seed    maphash.Seed
	recent  []answer
	next    int // where recent's next sid goes
	// creating counts, per twin key (recipient and text), the creates
	// sent and not yet answered: while one is, a look-alike on the list
	// may be that twin's message, whose answer is still to come, so it
	// settles nothing. answering holds the key of each create whose 201
	// was read until the engine hands its sid to answered.
	creating  map[twinKey]int
	answering map[string]twinKey
	// looking counts, per twin key, the rows whose lookup has begun and
	// not ended found or absent: the sids answered for that key are not
	// forgotten while one is.
	looking map[twinKey]int
}

// twinKey is what twin rows share: the recipient and the text.
type twinKey struct{ to, text string }

// answer is a create answer's sid, with the key of its request when known.
type answer struct {
	sid string
	key twinKey
}

// TwilioRecentAnswers is how many of the latest create answers' sids a
// Twilio lookup keeps to leave out; older ones are kept too while a twin
// row (same recipient and text) is being looked up.
const TwilioRecentAnswers = 1 << 16

// TwilioClockWindow is how far before a row's first request (clock slack
// included) a look-alike may be created and still be the row's own
// message, seen through a clock error: the earlier run of a resumed row
// ran on another host, or the clock was stepped. Such a look-alike settles
// nothing; only one created earlier still is taken for an older message.
const TwilioClockWindow = 5 * time.Minute

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
		query: q + "&PageSize=" + strconv.Itoa(TwilioListPageSize), claimed: make(map[string]struct{}), seed: maphash.MakeSeed(),
		creating: make(map[twinKey]int), answering: make(map[string]twinKey), looking: make(map[twinKey]int)}
}

// lookup is the Lookup of a message to to (escTo, query-escaped) with text
// as its Body; nil when there is none (a nil l, or a recipient not written
// as Twilio lists it).
func (l *twilioLookup) lookup(to, escTo, text string) *sender.Lookup {
	if l == nil || !listedAs(to, false) {
		return nil
	}
	key := twinKey{to, text}
	active := false // this row's lookup has begun and not ended
	return &sender.Lookup{
		URL: l.api + l.path + "?To=" + escTo + l.query,
		Match: func(body []byte, since time.Time) sender.Page {
			// A row's pages are read one after the other, never at once.
			if !active {
				active = true
				l.look(key, 1)
			}
			p := l.match(body, since, to, text)
			if p.Unsettled == "" && (p.Found || p.Next == "") {
				active = false
				l.look(key, -1)
			}
			return p
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
		if created.Before(since.Add(-TwilioClockWindow)) || m.SID == "" || l.taken(m.SID) {
			continue // an older message with the same text, or another row's
		}
		if l.twinCreating(twinKey{to, text}) {
			return sender.Page{Unsettled: "a message like this row's exists while a twin row's create (same recipient and text) is unanswered: it may be the twin's"}
		}
		if created.Before(since) {
			// Too close to call: a clock error (another host's, a
			// step) can put the row's own message here.
			return sender.Page{Unsettled: "a message like this row's was created shortly before this row's first request: it may be this row's, seen through a clock error"}
		}
		if !l.claim(m.SID) {
			continue // another row's, taken since
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
	if _, ok := l.claimed[sid]; ok || l.earlierHas(sid) {
		return false
	}
	l.claimed[sid] = struct{}{}
	return true
}

// claimEarlier notes sid, the message an earlier run's report gives a sent
// row: that message is its row's, and no lookup of this run may take it
// for a twin row (same recipient and text) the report left in flight or
// unknown. It is never forgotten. Only a hash of it is kept: two sids
// with one 64-bit hash are as unlikely as a guessed sid.
func (l *twilioLookup) claimEarlier(sid string) {
	if sid == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.earlier = append(l.earlier, maphash.String(l.seed, sid))
	l.sorted = false
}

// earlierHas reports whether an earlier run's report gives sid to a sent
// row; l.mu is held.
func (l *twilioLookup) earlierHas(sid string) bool {
	if len(l.earlier) == 0 {
		return false
	}
	if !l.sorted {
		slices.Sort(l.earlier)
		l.sorted = true
	}
	_, ok := slices.BinarySearch(l.earlier, maphash.String(l.seed, sid))
	return ok
}

// taken reports whether another row has sid, by a lookup or by its own
// answer.
func (l *twilioLookup) taken(sid string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.claimed[sid]
	return ok || l.earlierHas(sid)
}

// twinCreating reports whether a create for key is still unanswered.
func (l *twilioLookup) twinCreating(key twinKey) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.creating[key] > 0
}

// look counts a row's lookup for key begun (+1) or ended (-1).
func (l *twilioLookup) look(key twinKey, d int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.looking[key] += d; l.looking[key] <= 0 {
		delete(l.looking, key)
	}
}

// create counts a create for key sent (+1) or answered (-1); with a sid,
// the answer was a 201 the engine is about to read: the count drops when
// answered notes the sid, so no lookup sees the message between the two.
func (l *twilioLookup) create(key twinKey, d int, sid string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if sid != "" {
		l.answering[sid] = key
		return
	}
	if l.creating[key] += d; l.creating[key] <= 0 {
		delete(l.creating, key)
	}
}

// answered notes sid, a create answer's: that message is its row's. The
// oldest of TwilioRecentAnswers is forgotten, unless a lookup took it or a
// row with its recipient and text is being looked up.
func (l *twilioLookup) answered(sid string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	key, known := l.answering[sid]
	if known {
		delete(l.answering, sid)
		if l.creating[key]--; l.creating[key] <= 0 {
			delete(l.creating, key)
		}
	}
	if _, ok := l.claimed[sid]; ok {
		return // a lookup took it first: see the README
	}
	a := answer{sid: sid, key: key}
	if len(l.recent) < TwilioRecentAnswers {
		l.recent = append(l.recent, a)
	} else {
		// An old answer whose twin is still looked up stays claimed.
		if old := l.recent[l.next]; l.looking[old.key] == 0 {
			delete(l.claimed, old.sid)
		}
		l.recent[l.next] = a
		l.next = (l.next + 1) % TwilioRecentAnswers
	}
	l.claimed[sid] = struct{}{}
}

// createTeeLimit bounds what of a create's answer is kept to read its sid:
// Twilio's answer to a create is a couple of KB.
const createTeeLimit = 64 << 10

// transport counts the creates base carries per twin key, from the moment
// each leaves until its answer is known (see creating).
func (l *twilioLookup) transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if req.Method != http.MethodPost || req.URL.Path != l.path || req.Body == nil || req.Body == http.NoBody {
			return base.RoundTrip(req)
		}
		form, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read request: %w", err)
		}
		r := req.Clone(req.Context())
		r.Body = io.NopCloser(bytes.NewReader(form))
		vals, _ := url.ParseQuery(string(form))
		key := twinKey{vals.Get("To"), vals.Get("Body")}
		l.create(key, 1, "")
		resp, err := base.RoundTrip(r)
		if err != nil {
			l.create(key, -1, "")
			return nil, err
		}
		resp.Body = &createBody{ReadCloser: resp.Body, l: l, key: key, created: resp.StatusCode == http.StatusCreated}
		return resp, nil
	})
}

// createBody is a create's answer, kept (up to createTeeLimit) as it is
// read, so that on Close the count of its twin key drops, or, for a 201
// with a sid, waits for answered.
type createBody struct {
	io.ReadCloser
	l       *twilioLookup
	key     twinKey
	created bool
	buf     []byte
	closed  bool
}

func (b *createBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if keep := min(n, createTeeLimit-len(b.buf)); keep > 0 {
		b.buf = append(b.buf, p[:keep]...)
	}
	return n, err
}

func (b *createBody) Close() error {
	if !b.closed {
		b.closed = true
		var a struct {
			SID string `json:"sid"`
		}
		if b.created && json.Unmarshal(b.buf, &a) == nil && a.SID != "" {
			b.l.create(b.key, 0, a.SID)
		} else {
			b.l.create(b.key, -1, "")
		}
	}
	return b.ReadCloser.Close()
}
