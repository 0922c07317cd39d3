package sandbox

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// kind is which API a message endpoint speaks; it picks bodies and checks.
type kind uint8

const (
	kindSend kind = iota
	kindGenesys
	kindTwilio
	kinds
)

// request is what the lock-free first half of a message request learned.
type request struct {
	kind kind
	ping bool // GET /send: a rate-limited probe that never delivers
	// early, when set, is answered before the limiter: 405, 413, or a
	// Twilio 401 (Basic auth needs no server state).
	early *answer
	// bearer is the Genesys access token, checked under the lock.
	bearer string
	// invalid is a 4xx validation answer, given only if the limiter lets
	// the request through, as a real API counts bad requests to its quota.
	invalid   *answer
	identity  [16]byte // what makes two deliveries "the same message"
	key       string   // Idempotency-Key, "" when absent or not honoured
	ref       string   // the "id" field of a /send JSON body, for lookups
	recipient string   // for the spam window; "" means none

	genesys agentlessRequest
	twilio  twilioMessage
}

// answer is what the server decided to do with a request.
type answer struct {
	status int
	body   []byte
	quota  decision // rate-limit headers to send; zero for none
	cut    bool     // close the connection instead of answering
	delay  time.Duration
	late   time.Duration // a fault's extra delay, on top of delay
}

// serveMessage handles the message endpoints in three steps: parse and
// validate without the lock, decide under it, then wait and answer without it.
func (s *Server) serveMessage(w http.ResponseWriter, r *http.Request, now time.Time, k kind, sid string) {
	q := request{kind: k}
	if !s.parse(w, r, &q, sid) {
		return // the body could not be read: the client is gone
	}
	a := s.decide(&q, now)
	if a.quota.held {
		defer s.release()
	}
	writeQuota(w.Header(), s.cfg.Style, a.quota, now.Add(s.cfg.Skew))
	if d := a.delay + a.late; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	if a.cut {
		cut(w)
		return
	}
	writeJSON(w, a.status, a.body)
}

// release frees the concurrency slot an answered request held.
func (s *Server) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limit != nil {
		s.limit.release()
	}
}

// cut closes the connection without a word, as a crashed proxy or a
// dropped network would. Where hijacking is impossible (HTTP/2, a recorder)
// it aborts the handler, which closes the stream without an answer.
func cut(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close() // nothing useful to do if closing fails: the client sees a cut either way
}

// parse reads and checks the request. It reports false when the body could
// not be read for any reason but its size.
func (s *Server) parse(w http.ResponseWriter, r *http.Request, q *request, sid string) bool {
	if q.kind == kindSend && r.Method == http.MethodGet {
		q.ping = true
		return true
	}
	if r.Method != http.MethodPost {
		allowed := http.MethodPost
		if q.kind == kindSend {
			allowed = "GET, POST"
		}
		w.Header().Set("Allow", allowed)
		q.early = &answer{status: http.StatusMethodNotAllowed, body: methodNotAllowedBody}
		return true
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			q.early = &answer{status: http.StatusRequestEntityTooLarge, body: tooLargeBody}
			return true
		}
		return false
	}
	q.identity = identity(r.Method, r.URL.Path, body)
	if q.kind == kindSend && !s.cfg.NoIdempotency {
		// Only the generic endpoint: Twilio and Genesys publish no
		// idempotency key, so their endpoints ignore one, as they do.
		q.key = r.Header.Get("Idempotency-Key")
	}
	switch q.kind {
	case kindSend:
		ct := mediaType(r.Header.Get("Content-Type"))
		if isJSON(ct) && !json.Valid(body) {
			q.invalid = &answer{status: http.StatusBadRequest, body: invalidJSONBody}
		} else {
			if isJSON(ct) {
				var v struct {
					ID json.RawMessage `json:"id"`
				}
				if json.Unmarshal(body, &v) == nil && len(v.ID) > 0 {
					var str string
					if json.Unmarshal(v.ID, &str) != nil {
						str = string(v.ID) // a number
					}
					q.ref = str
				}
			}
			if s.cfg.SpamWindow > 0 {
				q.recipient = recipientOf(ct, body, r.Header)
			}
		}
	case kindGenesys:
		q.bearer = bearerToken(r.Header.Get("Authorization"))
		m, err := parseAgentless(body)
		if err != nil {
			q.invalid = &answer{status: http.StatusBadRequest, body: genesysErrorBody(http.StatusBadRequest, "bad.request", err.Error())}
		}
		q.genesys, q.recipient = m, m.ToAddress
	case kindTwilio:
		if !s.twilioAuthorized(r, sid) {
			q.early = &answer{status: http.StatusUnauthorized, body: twilioUnauthorizedBody}
			return true
		}
		m, bad := parseTwilio(body)
		if bad == nil && slices.Contains(s.cfg.OptOut, strings.TrimPrefix(m.To, "whatsapp:")) {
			bad = badTwilio(21610, "Attempt to send to unsubscribed recipient")
		}
		if bad != nil {
			q.invalid = &answer{status: bad.Status, body: mustJSON(bad)}
		}
		q.twilio, q.recipient = m, m.To
	}
	return true
}

// identity hashes what makes a message itself: the same body sent to the
// same endpoint twice is one message delivered twice.
func identity(method, path string, body []byte) [16]byte {
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write([]byte(path))
	h.Write([]byte{0})
	h.Write(body)
	var id [16]byte
	copy(id[:], h.Sum(nil))
	return id
}

// decide applies, in order, what a real API applies: authentication, the
// quota, validation, idempotency, the spam window, faults, and delivery.
func (s *Server) decide(q *request, now time.Time) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Requests++
	a := s.decideLocked(q, now)
	if s.cfg.Latency > 0 || s.cfg.LatencyJitter > 0 {
		a.delay = s.cfg.Latency
		if j := s.cfg.LatencyJitter; j > 0 {
			a.delay += time.Duration(s.rng.Int64N(int64(j)))
		}
	}
	return a
}

func (s *Server) decideLocked(q *request, now time.Time) answer {
	if q.early != nil {
		if q.early.status == http.StatusUnauthorized {
			s.stats.Unauthorized++
		} else {
			s.stats.Rejected++
		}
		return *q.early
	}
	if q.kind == kindGenesys {
		if body := s.checkBearerLocked(q.bearer, now); body != nil {
			s.stats.Unauthorized++
			return answer{status: http.StatusUnauthorized, body: body}
		}
	}
	var d decision
	if s.limit != nil {
		d = s.limit.take(now)
		if !d.allowed {
			s.stats.Throttled++
			return answer{status: http.StatusTooManyRequests, body: throttledBodies[q.kind], quota: d}
		}
	}
	if s.quota != nil {
		long := s.quota.take(now)
		if !long.allowed {
			// Refused by the long quota: its wait is the answer's.
			s.stats.Throttled++
			if d.active {
				d.allowed, d.reset, d.long = false, long.reset, &long
				long = d
			}
			return answer{status: http.StatusTooManyRequests, body: throttledBodies[q.kind], quota: long}
		}
		if d.active {
			d.long = &long
		} else {
			d = long
		}
	}
	if q.invalid != nil {
		s.stats.Rejected++
		a := *q.invalid
		a.quota = d
		return a
	}
	if q.ping {
		return answer{status: http.StatusOK, body: pingBody, quota: d}
	}
	if q.key != "" {
		if st, ok := s.idem[q.key]; ok {
			if st.identity != q.identity {
				s.stats.Rejected++
				return answer{status: http.StatusUnprocessableEntity, body: keyReusedBody, quota: d}
			}
			s.stats.Replays++
			return answer{status: st.status, body: st.body, quota: d}
		}
	}
	if s.cfg.SpamWindow > 0 && q.recipient != "" {
		if last, ok := s.spam[q.recipient]; ok && now.Sub(last) < s.cfg.SpamWindow {
			s.stats.SpamRejected++
			return answer{status: http.StatusUnprocessableEntity, quota: d, body: mustJSON(errorBody{
				Message: fmt.Sprintf("recipient %s messaged less than %s ago", q.recipient, s.cfg.SpamWindow),
				Code:    "spam.window",
			})}
		}
	}
	cutAfter, failAfter, late := false, false, false
	if c := s.cfg; c.FailRate+c.CutBefore+c.CutAfter+c.FailAfter+c.Late > 0 {
		switch u := s.rng.Float64(); {
		case u < c.FailRate:
			// No quota headers: a 503 with a wait hint would be flow control,
			// and this is meant to be a plain failure.
			s.stats.Failed++
			i := s.rng.IntN(len(failStatuses))
			return answer{status: failStatuses[i], body: failBodies[q.kind][i]}
		case u < c.FailRate+c.CutBefore:
			s.stats.CutBefore++
			return answer{cut: true}
		case u < c.FailRate+c.CutBefore+c.CutAfter:
			cutAfter = true
		case u < c.FailRate+c.CutBefore+c.CutAfter+c.FailAfter:
			failAfter = true
		case u < c.FailRate+c.CutBefore+c.CutAfter+c.FailAfter+c.Late:
			late = true
		}
	}
	a := s.deliverLocked(q, now)
	a.quota = d
	switch {
	case cutAfter:
		s.stats.CutAfter++
		a.cut = true
	case failAfter:
		s.stats.FailedAfter++
		a = answer{status: http.StatusBadGateway, body: failBodies[q.kind][1]}
	case late:
		s.stats.Late++
		a.late = cmp.Or(s.cfg.LateBy, 2*time.Second)
	}
	return a
}

// deliverLocked records a delivery and builds its answer, which is stored
// for the request's Idempotency-Key before the lock is released, so a
// concurrent replay can never deliver twice.
func (s *Server) deliverLocked(q *request, now time.Time) answer {
	s.seq++
	s.stats.Delivered++
	if _, dup := s.seen[q.identity]; dup {
		s.stats.Duplicates++
	} else {
		s.seen[q.identity] = struct{}{}
		s.stats.Distinct++
	}
	if s.stats.FirstAt.IsZero() {
		s.stats.FirstAt = now
	}
	s.stats.LastAt = now
	if s.cfg.SpamWindow > 0 && q.recipient != "" {
		s.spam[q.recipient] = now
	}
	a := s.accepted(q, s.seq, now.Add(s.cfg.Skew))
	if q.ref != "" {
		if _, ok := s.byRef[q.ref]; !ok {
			s.byRef[q.ref] = a.body
		}
	}
	if q.key != "" {
		s.idem[q.key] = storedReply{identity: q.identity, status: a.status, body: a.body}
	}
	return a
}

// accepted is the success answer for delivery number n.
func (s *Server) accepted(q *request, n int64, skewed time.Time) answer {
	switch q.kind {
	case kindGenesys:
		m := &q.genesys
		id, conv := s.uuid(n, 1), s.uuid(n, 2)
		ts := skewed.UTC().Format("2006-01-02T15:04:05.000Z07:00")
		msg := messageData{
			ID: id, Timestamp: ts, FromAddress: m.FromAddress, ToAddress: m.ToAddress,
			Direction: "outbound", MessengerType: m.ToAddressMessengerType, TextBody: m.TextBody,
			Status: "queued", ConversationID: conv,
		}
		s.keepLocked(conv+"/"+id, &sentMessage{n: n, at: skewed, fate: s.fateOf(n), genesys: &msg})
		return answer{status: http.StatusAccepted, body: mustJSON(agentlessResponse{
			ID:                            id,
			ConversationID:                conv,
			FromAddress:                   m.FromAddress,
			ToAddress:                     m.ToAddress,
			MessengerType:                 m.ToAddressMessengerType,
			TextBody:                      m.TextBody,
			MessagingTemplate:             m.MessagingTemplate,
			UseExistingActiveConversation: m.UseExistingActiveConversation,
			Message:                       msg,
			Timestamp:                     ts,
		})}
	case kindTwilio:
		a, b := s.idBits(n, 3)
		prefix := "SM"
		if len(q.twilio.MediaURL) > 0 {
			prefix = "MM"
		}
		sid := fmt.Sprintf("%s%016x%016x", prefix, a, b)
		r := twilioAccepted(s.cfg.AccountSID, sid, &q.twilio, skewed)
		s.keepLocked(sid, &sentMessage{n: n, at: skewed, fate: s.fateOf(n), twilio: &r})
		return answer{status: http.StatusCreated, body: mustJSON(r)}
	default:
		body := make([]byte, 0, 48)
		body = append(body, `{"id":"msg-`...)
		body = strconv.AppendInt(body, n, 10)
		body = append(body, `","status":"accepted"}`...)
		return answer{status: http.StatusOK, body: body}
	}
}

// idBits derives 128 stable bits for delivery n, so ids are unique,
// deterministic for a seed, and cost no draw from the fault RNG.
func (s *Server) idBits(n int64, salt uint64) (uint64, uint64) {
	a := splitmix64(uint64(s.cfg.Seed)*0x9e3779b97f4a7c15 ^ uint64(n)<<8 ^ salt)
	return a, splitmix64(a)
}

// uuid formats idBits as a version-4-looking UUID, as Genesys ids look.
func (s *Server) uuid(n int64, salt uint64) string {
	return formatUUID(s.idBits(n, salt))
}

// formatUUID formats 128 bits as a version-4 UUID.
func formatUUID(a, b uint64) string {
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x",
		a>>32, a>>16&0xffff, a&0xfff, b>>48&0x3fff|0x8000, b&0xffffffffffff)
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// mediaType is the lower-case media type of a Content-Type, parameters off.
func mediaType(contentType string) string {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

func isJSON(mt string) bool {
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// recipientFields name the recipient in a generic body, in order of
// preference (JSON field names match case-insensitively, so "to" covers "To").
var recipientFields = []string{"to", "To", "toAddress"}

// recipientOf finds the recipient of a generic /send request for the spam
// window: the to, toAddress or To field of a JSON object or a form body,
// else the X-Recipient header.
func recipientOf(mt string, body []byte, h http.Header) string {
	switch {
	case mt == "application/x-www-form-urlencoded":
		// A malformed pair must not hide a well-formed To, so the partial
		// result is used even when parsing reports an error.
		form, _ := url.ParseQuery(string(body))
		for _, k := range recipientFields {
			if v := form.Get(k); v != "" {
				return v
			}
		}
	case bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{")):
		var f struct {
			To        string `json:"to"`
			ToAddress string `json:"toAddress"`
		}
		if json.Unmarshal(body, &f) == nil {
			if f.To != "" {
				return f.To
			}
			if f.ToAddress != "" {
				return f.ToAddress
			}
		}
	}
	return h.Get("X-Recipient")
}

// isE164 reports whether s is "+" and 8 to 15 digits, the shape both
// vendors require of a phone number.
func isE164(s string) bool {
	digits, ok := strings.CutPrefix(s, "+")
	if !ok || len(digits) < 8 || len(digits) > 15 {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	return true
}

// errorBody is the generic endpoint's error shape.
type errorBody struct {
	Message string `json:"message"`
	Code    string `json:"code,omitempty"`
	Status  int    `json:"status,omitempty"`
}

// mustJSON marshals values whose types cannot fail to marshal.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sandbox: marshal %T: %v", v, err))
	}
	return b
}

// failStatuses are the injected failures, drawn uniformly.
var failStatuses = [...]int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}

// Static bodies, built once.
var (
	pingBody             = []byte(`{"ok":true}`)
	notFoundBody         = mustJSON(errorBody{Message: "not found", Code: "not.found", Status: http.StatusNotFound})
	methodNotAllowedBody = mustJSON(errorBody{Message: "method not allowed", Code: "method.not.allowed", Status: http.StatusMethodNotAllowed})
	tooLargeBody         = mustJSON(errorBody{Message: "request body too large", Code: "payload.too.large", Status: http.StatusRequestEntityTooLarge})
	invalidJSONBody      = mustJSON(errorBody{Message: "invalid JSON body"})
	keyReusedBody        = mustJSON(errorBody{Message: "Idempotency-Key was already used with a different request", Code: "idempotency.mismatch", Status: http.StatusUnprocessableEntity})

	throttledBodies = [kinds][]byte{
		kindSend:    mustJSON(errorBody{Message: "too many requests", Code: "too.many.requests", Status: http.StatusTooManyRequests}),
		kindGenesys: genesysErrorBody(http.StatusTooManyRequests, "too.many.requests", "Rate limit exceeded the maximum allowed requests"),
		kindTwilio:  mustJSON(newTwilioError(http.StatusTooManyRequests, 20429, "Too Many Requests")),
	}
	failBodies = func() (b [kinds][len(failStatuses)][]byte) {
		codes := [...]string{"internal.server.error", "bad.gateway", "service.unavailable"}
		for i, st := range failStatuses {
			msg := http.StatusText(st) + " (injected fault)"
			b[kindSend][i] = mustJSON(errorBody{Message: msg, Status: st})
			b[kindGenesys][i] = genesysErrorBody(st, codes[i], msg)
			b[kindTwilio][i] = mustJSON(newTwilioError(st, 20500, msg))
		}
		return b
	}()
)

// serveMessageRef answers GET /messages/{id}: the answer the /send delivery of
// the message whose JSON body has that "id" got, or 404 when none was
// delivered. It is how a client settles a request whose answer it lost.
func (s *Server) serveMessageRef(w http.ResponseWriter, r *http.Request, ref string) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	s.mu.Lock()
	s.stats.MessageLookups++
	body, ok := s.byRef[ref]
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, notFoundBody)
		return
	}
	writeJSON(w, http.StatusOK, body)
}
