package sandbox

import (
	"net/http"
	"strings"
	"time"
)

// DefaultDeliveryStep is how long a vendor message stays in each status
// before the next when Config.DeliveryStep is zero.
const DefaultDeliveryStep = time.Second

// Paths of the vendors' message resources, which `bulksend status` reads:
// Twilio's GET /2010-04-01/Accounts/{sid}/Messages/{MessageSid}.json and
// Genesys's GET /api/v2/conversations/messages/{conversationId}/messages/{messageId}.
const (
	pathTwilioMessage   = "/Messages/"
	pathGenesysMessages = "/api/v2/conversations/messages/"
)

// sentMessage is a message the vendor endpoints took, kept so its status
// can be read back: when it was taken (on the server's skewed clock), its
// fate, and the answer it was accepted with.
type sentMessage struct {
	n       int64 // the delivery's number: later messages have higher ones
	at      time.Time
	fate    fate
	twilio  *twilioResponse // Twilio's message resource as created
	genesys *messageData    // Genesys's message as created
}

// fate is how a message's story ends: delivered, or not with an error.
type fate struct {
	undelivered bool
	// The Twilio status and error code, and the Genesys reason, of an
	// undelivered message.
	twilioStatus string
	twilioCode   int
	twilioText   string
	genesysCode  string
	genesysText  string
}

// fates are the ways a message ends undelivered, picked per message:
// Twilio's published error codes and the Genesys reason codes that mean the
// same (the SDKs' ConversationReason).
var fates = []fate{
	{undelivered: true, twilioStatus: "undelivered", twilioCode: 30003, twilioText: "Unreachable destination handset",
		genesysCode: "InvalidDestination", genesysText: "The destination could not be reached."},
	{undelivered: true, twilioStatus: "undelivered", twilioCode: 30005, twilioText: "Unknown destination handset",
		genesysCode: "InvalidDestination", genesysText: "The destination is unknown."},
	{undelivered: true, twilioStatus: "undelivered", twilioCode: 30007, twilioText: "Message filtered",
		genesysCode: "MessageNotAllowed", genesysText: "The message was filtered by the carrier."},
	{undelivered: true, twilioStatus: "failed", twilioCode: 21610, twilioText: "Attempt to send to unsubscribed recipient",
		genesysCode: "RecipientOptedOut", genesysText: "The recipient has opted out."},
}

// fateOf decides delivery n's end from the seed alone, so it is the same
// on every run and costs no draw from the fault RNG.
func (s *Server) fateOf(n int64) fate {
	a, b := s.idBits(n, 7)
	if float64(a>>11)/(1<<53) >= s.cfg.Undelivered {
		return fate{}
	}
	return fates[b%uint64(len(fates))]
}

// keepLocked records an accepted vendor message under the id its status is
// read by.
func (s *Server) keepLocked(id string, m *sentMessage) {
	s.msgs[id] = m
	if m.twilio != nil {
		s.twilioOrder = append(s.twilioOrder, m)
		s.twilioByTo[m.twilio.To] = append(s.twilioByTo[m.twilio.To], m)
	}
}

// twilioStatusAt is a Twilio message's status at t: queued, sending and
// sent for one step each, then delivered, undelivered or failed.
func (m *sentMessage) twilioStatusAt(t time.Time, step time.Duration) (status string, final bool) {
	switch age := t.Sub(m.at); {
	case age < step:
		return "queued", false
	case age < 2*step:
		return "sending", false
	case age < 3*step:
		return "sent", false
	}
	if m.fate.undelivered {
		return m.fate.twilioStatus, true
	}
	return "delivered", true
}

// genesysStatusAt is a Genesys message's status at t: queued and sent for
// one step each, then delivery-success or delivery-failed.
func (m *sentMessage) genesysStatusAt(t time.Time, step time.Duration) (status string, final bool) {
	switch age := t.Sub(m.at); {
	case age < step:
		return "queued", false
	case age < 2*step:
		return "sent", false
	}
	if m.fate.undelivered {
		return "delivery-failed", true
	}
	return "delivery-success", true
}

// lookup is a GET of a message resource: which vendor, the id it is kept
// under, and the Twilio account in its path.
type lookup struct {
	kind    kind
	id      string
	account string
}

// lookupOf recognises the message resources' paths.
func lookupOf(path string) (lookup, bool) {
	if rest, ok := strings.CutPrefix(path, pathGenesysMessages); ok {
		conv, id, ok := strings.Cut(rest, "/messages/")
		if !ok || conv == "" || id == "" || strings.Contains(conv, "/") || strings.Contains(id, "/") {
			return lookup{}, false
		}
		return lookup{kind: kindGenesys, id: conv + "/" + id}, true
	}
	rest, ok := strings.CutPrefix(path, pathTwilio)
	if !ok {
		return lookup{}, false
	}
	account, rest, ok := strings.Cut(rest, pathTwilioMessage)
	if !ok || account == "" || strings.Contains(account, "/") {
		return lookup{}, false
	}
	sid, ok := strings.CutSuffix(rest, ".json")
	if !ok || sid == "" || strings.Contains(sid, "/") {
		return lookup{}, false
	}
	return lookup{kind: kindTwilio, id: sid, account: account}, true
}

// serveLookup answers a GET of a message resource with the message as it
// stands now. Lookups draw on the same rate limit as sends, as a vendor's
// quota counts every API call, and need the same credentials.
func (s *Server) serveLookup(w http.ResponseWriter, r *http.Request, now time.Time, l lookup) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	twilioOK := l.kind == kindTwilio && s.twilioAuthorized(r, l.account)
	bearer := bearerToken(r.Header.Get("Authorization"))
	skewed := now.Add(s.cfg.Skew)

	s.mu.Lock()
	s.stats.Lookups++
	var unauthorized []byte
	switch {
	case l.kind == kindTwilio && !twilioOK:
		unauthorized = twilioUnauthorizedBody
	case l.kind == kindGenesys:
		unauthorized = s.checkBearerLocked(bearer, now)
	}
	if unauthorized != nil {
		s.stats.Unauthorized++
		s.mu.Unlock()
		writeJSON(w, http.StatusUnauthorized, unauthorized)
		return
	}
	var d decision
	if s.limit != nil {
		d = s.limit.take(now)
	}
	m := s.msgs[l.id]
	var body []byte
	switch {
	case s.limit != nil && !d.allowed:
		s.stats.Throttled++
	case m == nil:
	case l.kind == kindTwilio && m.twilio != nil:
		body = mustJSON(m.twilioAt(skewed, s.cfg.DeliveryStep))
	case l.kind == kindGenesys && m.genesys != nil:
		body = mustJSON(m.genesysAt(skewed, s.cfg.DeliveryStep))
	}
	if d.held {
		s.limit.release()
	}
	s.mu.Unlock()

	writeQuota(w.Header(), s.cfg.Style, d, skewed)
	switch {
	case s.limit != nil && !d.allowed:
		writeJSON(w, http.StatusTooManyRequests, throttledBodies[l.kind])
	case body != nil:
		writeJSON(w, http.StatusOK, body)
	case l.kind == kindTwilio:
		writeJSON(w, http.StatusNotFound, mustJSON(newTwilioError(http.StatusNotFound, 20404,
			"The requested resource "+r.URL.Path+" was not found")))
	default:
		writeJSON(w, http.StatusNotFound, genesysErrorBody(http.StatusNotFound, "not.found",
			"The requested message could not be found."))
	}
}

// twilioAt is the Twilio message resource at t.
func (m *sentMessage) twilioAt(t time.Time, step time.Duration) twilioResponse {
	r := *m.twilio
	status, final := m.twilioStatusAt(t, step)
	r.Status = status
	if status != "queued" {
		// Twilio changes date_updated with each status; the sandbox moves
		// it to the start of the current step.
		steps := min(int64(t.Sub(m.at)/step), 3)
		r.DateUpdated = m.at.Add(time.Duration(steps) * step).UTC().Format(twilioDate)
	}
	if status != "queued" && status != "sending" {
		sent := m.at.Add(2 * step).UTC().Format(twilioDate)
		r.DateSent = &sent
	}
	if final && m.fate.undelivered {
		code, text := m.fate.twilioCode, m.fate.twilioText
		r.ErrorCode, r.ErrorMessage = &code, &text
	}
	return r
}

// genesysAt is the Genesys message at t, with its delivery receipt once
// its story has ended.
func (m *sentMessage) genesysAt(t time.Time, step time.Duration) messageData {
	d := *m.genesys
	status, final := m.genesysStatusAt(t, step)
	d.Status = status
	if final {
		rc := receipt{ID: d.ID, Type: "Receipt", Status: "Delivered", IsFinalReceipt: true, Direction: "Outbound"}
		if m.fate.undelivered {
			rc.Status = "Failed"
			rc.Reasons = []reason{{Code: m.fate.genesysCode, Message: m.fate.genesysText}}
		}
		d.NormalizedReceipts = []receipt{rc}
		d.Timestamp = m.at.Add(2 * step).UTC().Format(genesysTime)
	}
	return d
}

// receipt is the SDKs' ConversationNormalizedMessage as a delivery receipt.
type receipt struct {
	ID             string   `json:"id"`
	Type           string   `json:"type"`
	Status         string   `json:"status"`
	Reasons        []reason `json:"reasons,omitempty"`
	IsFinalReceipt bool     `json:"isFinalReceipt"`
	Direction      string   `json:"direction"`
}

// reason is the SDKs' ConversationReason.
type reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// genesysTime is the ISO-8601 layout of Genesys's timestamps.
const genesysTime = "2006-01-02T15:04:05.000Z07:00"
