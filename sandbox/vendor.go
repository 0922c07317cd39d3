package sandbox

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bulksend/bulksend/segments"
)

// agentlessRequest is the body of Genesys's
// POST /api/v2/conversations/messages/agentless, as the SDKs' model
// SendAgentlessOutboundMessageRequest has it.
type agentlessRequest struct {
	FromAddress                   string             `json:"fromAddress"`
	ToAddress                     string             `json:"toAddress"`
	ToAddressMessengerType        string             `json:"toAddressMessengerType"`
	TextBody                      string             `json:"textBody,omitempty"`
	MessagingTemplate             *messagingTemplate `json:"messagingTemplate,omitempty"`
	UseExistingActiveConversation bool               `json:"useExistingActiveConversation,omitempty"`
}

// messagingTemplate is the SDKs' SendMessagingTemplateRequest: a Response
// Management response and its substitutions (parameters is the deprecated
// name of bodyParameters).
type messagingTemplate struct {
	ResponseID          string              `json:"responseId"`
	Parameters          []templateParameter `json:"parameters,omitempty"`
	HeaderParameters    []templateParameter `json:"headerParameters,omitempty"`
	BodyParameters      []templateParameter `json:"bodyParameters,omitempty"`
	ButtonURLParameters []templateParameter `json:"buttonUrlParameters,omitempty"`
}

type templateParameter struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// agentlessResponse is Genesys's 202 answer, its fields in the order of the
// SDKs' SendAgentlessOutboundMessageResponse.
type agentlessResponse struct {
	ID                            string             `json:"id"`
	ConversationID                string             `json:"conversationId"`
	FromAddress                   string             `json:"fromAddress"`
	ToAddress                     string             `json:"toAddress"`
	MessengerType                 string             `json:"messengerType"`
	TextBody                      string             `json:"textBody,omitempty"`
	MessagingTemplate             *messagingTemplate `json:"messagingTemplate,omitempty"`
	UseExistingActiveConversation bool               `json:"useExistingActiveConversation"`
	Message                       messageData        `json:"message"`
	Timestamp                     string             `json:"timestamp"`
}

// messageData is the answer's message in the normalized format, in the
// order of the SDKs' MessageData.
type messageData struct {
	ID            string `json:"id"`
	Timestamp     string `json:"timestamp"`
	FromAddress   string `json:"fromAddress"`
	ToAddress     string `json:"toAddress"`
	Direction     string `json:"direction"`
	MessengerType string `json:"messengerType"`
	TextBody      string `json:"textBody,omitempty"`
	Status        string `json:"status"`
	// NormalizedReceipts is the delivery receipt, once there is one.
	NormalizedReceipts []receipt `json:"normalizedReceipts,omitempty"`
	ConversationID     string    `json:"conversationId"`
}

// Genesys's limits on textBody, in characters (UTF-16 code units, as the
// Java service counts them).
const (
	genesysMaxSMS   = 765
	genesysMaxOther = 2000
)

// parseAgentless decodes and checks an agentless message against the rules
// the SDK models document; the error text is what the client reads in the
// 400 answer.
func parseAgentless(body []byte) (agentlessRequest, error) {
	var m agentlessRequest
	if err := json.Unmarshal(body, &m); err != nil {
		return m, fmt.Errorf("invalid JSON body: %w", err)
	}
	switch m.ToAddressMessengerType {
	case "sms", "whatsapp", "open":
	default:
		return m, fmt.Errorf("toAddressMessengerType %q is not one of sms, whatsapp, open", m.ToAddressMessengerType)
	}
	limit := genesysMaxOther
	if m.ToAddressMessengerType == "sms" {
		limit = genesysMaxSMS
	}
	switch t := m.MessagingTemplate; {
	case m.FromAddress == "":
		return m, errors.New("fromAddress is required")
	case m.ToAddress == "":
		return m, errors.New("toAddress is required")
	case m.ToAddressMessengerType == "sms" && !isE164(m.ToAddress):
		return m, fmt.Errorf("toAddress %q is not an E.164 phone number", m.ToAddress)
	case m.ToAddressMessengerType == "whatsapp" && !isWhatsAppID(m.ToAddress):
		return m, fmt.Errorf("toAddress %q is not a WhatsApp id (the phone number's digits, without +)", m.ToAddress)
	case m.ToAddressMessengerType == "sms" && m.TextBody == "":
		return m, errors.New("textBody is required for the sms messenger type")
	case m.ToAddressMessengerType == "sms" && t != nil:
		return m, errors.New("messagingTemplate is not supported for the sms messenger type")
	case m.ToAddressMessengerType == "whatsapp" && t == nil:
		return m, errors.New("messagingTemplate is required for the whatsapp messenger type")
	case m.TextBody == "" && t == nil:
		return m, errors.New("textBody or messagingTemplate is required")
	case t != nil && t.ResponseID == "":
		return m, errors.New("messagingTemplate.responseId is required")
	case segments.UTF16Len(m.TextBody) > limit:
		return m, fmt.Errorf("textBody is %d characters, more than the %d allowed for %s", segments.UTF16Len(m.TextBody), limit, m.ToAddressMessengerType)
	}
	return m, nil
}

// isWhatsAppID reports whether s is a WhatsApp id: a phone number's 8 to 15
// digits without the +.
func isWhatsAppID(s string) bool {
	return isE164("+" + s)
}

// bearerToken extracts the token of an "Authorization: Bearer ..." header.
func bearerToken(auth string) string {
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// checkBearerLocked returns the 401 body for a missing, unknown or expired
// token, and nil for a good one.
func (s *Server) checkBearerLocked(token string, now time.Time) []byte {
	if token == "" {
		return genesysUnauthorized("No authentication bearer token specified in authorization header.")
	}
	expiry, ok := s.tokens[token]
	if !ok {
		return genesysUnauthorized("Invalid login credentials.")
	}
	if !now.Before(expiry) {
		delete(s.tokens, token)
		return genesysUnauthorized("Authentication token has expired.")
	}
	return nil
}

func genesysUnauthorized(msg string) []byte {
	return genesysErrorBody(http.StatusUnauthorized, "authentication.required", msg)
}

// genesysError is Genesys's error shape, the SDKs' ErrorBody, with the
// fields a platform API error carries.
type genesysError struct {
	Message           string            `json:"message"`
	Code              string            `json:"code"`
	Status            int               `json:"status"`
	MessageWithParams string            `json:"messageWithParams"`
	MessageParams     map[string]string `json:"messageParams"`
	ContextID         string            `json:"contextId"`
	Details           []struct{}        `json:"details"`
	Errors            []struct{}        `json:"errors"`
}

// genesysErrorBody is a Genesys error answer. Its contextId, the id a
// support case quotes, is derived from the rest so equal errors read alike.
func genesysErrorBody(status int, code, msg string) []byte {
	sum := sha256.Sum256([]byte(code + "\x00" + msg))
	return mustJSON(genesysError{
		Message: msg, Code: code, Status: status, MessageWithParams: msg,
		MessageParams: map[string]string{}, Details: []struct{}{}, Errors: []struct{}{},
		ContextID: formatUUID(binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:16])),
	})
}

// oauthError is the shape of Genesys's login service errors.
type oauthError struct {
	Error            string `json:"error"`
	Description      string `json:"description"`
	ErrorDescription string `json:"error_description"`
}

func oauthErrorBody(code, desc string) []byte {
	return mustJSON(oauthError{Error: code, Description: desc, ErrorDescription: desc})
}

// serveToken is Genesys's POST /oauth/token for the client-credentials
// grant. Its own small bucket (TokenBurst, TokenRate) answers 429 with
// Retry-After whatever Config.Style says, as the login service does.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, now time.Time) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeJSON(w, http.StatusRequestEntityTooLarge, tooLargeBody)
		}
		return
	}
	form, formErr := url.ParseQuery(string(body))
	user, pass, ok := r.BasicAuth()
	authorized := ok && equal(user, s.cfg.ClientID) && equal(pass, s.cfg.ClientSecret)

	s.mu.Lock()
	d := s.tokenLimit.take(now)
	var token string
	switch {
	case !d.allowed:
		s.stats.Throttled++
	case !authorized:
		s.stats.Unauthorized++
	case formErr != nil || form.Get("grant_type") != "client_credentials":
		s.stats.Rejected++
	default:
		token = rand.Text()
		s.tokens[token] = now.Add(s.cfg.TokenLifetime)
		s.stats.TokensIssued++
	}
	s.mu.Unlock()

	switch {
	case !d.allowed:
		w.Header().Set("Retry-After", strconv.FormatInt(max(ceilSeconds(d.reset), 1), 10))
		writeJSON(w, http.StatusTooManyRequests, throttledBodies[kindGenesys])
	case !authorized:
		writeJSON(w, http.StatusUnauthorized, oauthErrorBody("invalid_client", "client not found or bad client secret"))
	case token == "":
		writeJSON(w, http.StatusBadRequest, oauthErrorBody("unsupported_grant_type", "grant_type must be client_credentials"))
	default:
		writeJSON(w, http.StatusOK, mustJSON(tokenResponse{
			AccessToken: token,
			TokenType:   "bearer",
			ExpiresIn:   ceilSeconds(s.cfg.TokenLifetime),
		}))
	}
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// twilioMessage is the form Twilio's Messages.json takes (the parameters
// bulksend sends; Twilio's OpenAPI description lists a few more).
type twilioMessage struct {
	To, From, MessagingServiceSID, Body string
	MediaURL                            []string
	ContentSID, ContentVariables        string
	StatusCallback                      string
	ValidityPeriod                      string
}

// twilioError is Twilio's error shape (twilio-go's TwilioRestError).
type twilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// twilioResponse is Twilio's 201 answer, every field of the published
// examples in their published order. The null fields are pointers.
type twilioResponse struct {
	AccountSID          string          `json:"account_sid"`
	APIVersion          string          `json:"api_version"`
	Body                string          `json:"body"`
	DateCreated         string          `json:"date_created"`
	DateSent            *string         `json:"date_sent"`
	DateUpdated         string          `json:"date_updated"`
	Direction           string          `json:"direction"`
	ErrorCode           *int            `json:"error_code"`
	ErrorMessage        *string         `json:"error_message"`
	From                *string         `json:"from"`
	MessagingServiceSID *string         `json:"messaging_service_sid"`
	NumMedia            string          `json:"num_media"`
	NumSegments         string          `json:"num_segments"`
	Price               *string         `json:"price"`
	PriceUnit           *string         `json:"price_unit"`
	SID                 string          `json:"sid"`
	Status              string          `json:"status"`
	SubresourceURIs     twilioResources `json:"subresource_uris"`
	To                  string          `json:"to"`
	URI                 string          `json:"uri"`
}

type twilioResources struct {
	Media string `json:"media"`
}

// twilioDate is the RFC 2822 layout of Twilio's date fields.
const twilioDate = "Mon, 02 Jan 2006 15:04:05 -0700"

func newTwilioError(status, code int, msg string) *twilioError {
	return &twilioError{
		Code:     code,
		Message:  msg,
		MoreInfo: "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
		Status:   status,
	}
}

var twilioUnauthorizedBody = mustJSON(newTwilioError(http.StatusUnauthorized, 20003, "Authenticate"))

func badTwilio(code int, msg string) *twilioError {
	return newTwilioError(http.StatusBadRequest, code, msg)
}

// Twilio's limits on a message.
const (
	twilioMaxBody  = 1600 // characters of Body
	twilioMaxMedia = 10   // MediaUrl parameters
)

// twilioInvalid is the code the sandbox gives a parameter that breaks the
// OpenAPI description's schema (a pattern, a range), where Twilio's own
// code for each case is not published.
const twilioInvalid = 20001

var (
	messagingServiceSID = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	contentSID          = regexp.MustCompile(`^HX[0-9a-fA-F]{32}$`)
)

// parseTwilio decodes and checks a Messages.json form against Twilio's
// OpenAPI description, with Twilio's error codes.
func parseTwilio(body []byte) (twilioMessage, *twilioError) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return twilioMessage{}, badTwilio(twilioInvalid, "Invalid form body: "+err.Error())
	}
	m := twilioMessage{
		To:                  form.Get("To"),
		From:                form.Get("From"),
		MessagingServiceSID: form.Get("MessagingServiceSid"),
		Body:                form.Get("Body"),
		MediaURL:            form["MediaUrl"],
		ContentSID:          form.Get("ContentSid"),
		ContentVariables:    form.Get("ContentVariables"),
		StatusCallback:      form.Get("StatusCallback"),
		ValidityPeriod:      form.Get("ValidityPeriod"),
	}
	switch {
	case m.To == "":
		return m, badTwilio(21604, "A 'To' phone number is required.")
	case !isE164(strings.TrimPrefix(m.To, "whatsapp:")):
		return m, badTwilio(21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", m.To))
	case m.From == "" && m.MessagingServiceSID == "":
		return m, badTwilio(21603, "A 'From' phone number is required.")
	case m.MessagingServiceSID != "" && !messagingServiceSID.MatchString(m.MessagingServiceSID):
		return m, badTwilio(twilioInvalid, "MessagingServiceSid must match ^MG[0-9a-fA-F]{32}$.")
	case m.ContentSID != "" && !contentSID.MatchString(m.ContentSID):
		return m, badTwilio(twilioInvalid, "ContentSid must match ^HX[0-9a-fA-F]{32}$.")
	case m.ContentVariables != "" && m.ContentSID == "":
		return m, badTwilio(twilioInvalid, "ContentVariables needs a ContentSid.")
	case m.ContentVariables != "" && !stringObject(m.ContentVariables):
		return m, badTwilio(twilioInvalid, "ContentVariables must be a JSON object of strings.")
	case m.Body == "" && len(m.MediaURL) == 0 && m.ContentSID == "":
		return m, badTwilio(21602, "Message body is required.")
	case segments.UTF16Len(m.Body) > twilioMaxBody:
		return m, badTwilio(21617, "The concatenated message body exceeds the 1600 character limit.")
	case len(m.MediaURL) > twilioMaxMedia:
		return m, badTwilio(twilioInvalid, "At most 10 MediaUrl parameters are allowed.")
	case slices.ContainsFunc(m.MediaURL, func(u string) bool { return !webURL(u) }):
		return m, badTwilio(21620, "Invalid media URL(s).")
	case m.StatusCallback != "" && !webURL(m.StatusCallback):
		return m, badTwilio(21609, "Invalid StatusCallback URL.")
	case m.ValidityPeriod != "" && !inRange(m.ValidityPeriod, 1, 36000):
		return m, badTwilio(twilioInvalid, "ValidityPeriod must be an integer from 1 to 36000.")
	}
	return m, nil
}

// webURL reports whether s is an absolute http(s) URL with a host.
func webURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// inRange reports whether s is a decimal integer in [lo, hi].
func inRange(s string, lo, hi int) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= lo && n <= hi
}

// stringObject reports whether s is a JSON object whose values are strings,
// the shape of ContentVariables.
func stringObject(s string) bool {
	var v map[string]string
	return json.Unmarshal([]byte(s), &v) == nil && v != nil
}

// twilioAuthorized checks Basic auth against the account's auth token or
// its API key, and that the account in the path is that account.
func (s *Server) twilioAuthorized(r *http.Request, sid string) bool {
	user, pass, ok := r.BasicAuth()
	if !ok || !equal(sid, s.cfg.AccountSID) {
		return false
	}
	// Both comparisons run, so the time taken does not say which matched.
	asAccount := equal(user, s.cfg.AccountSID) && equal(pass, s.cfg.AuthToken)
	asKey := equal(user, s.cfg.APIKey) && equal(pass, s.cfg.APISecret)
	return asAccount || asKey
}

// twilioAccepted is the 201 answer for message m with the given sid.
func twilioAccepted(account, sid string, m *twilioMessage, now time.Time) twilioResponse {
	uri := "/2010-04-01/Accounts/" + account + "/Messages/" + sid
	created := now.UTC().Format(twilioDate)
	r := twilioResponse{
		AccountSID:      account,
		APIVersion:      "2010-04-01",
		Body:            m.Body,
		DateCreated:     created,
		DateUpdated:     created,
		Direction:       "outbound-api",
		NumMedia:        strconv.Itoa(len(m.MediaURL)),
		NumSegments:     strconv.Itoa(segments.Of(m.Body).Segments),
		SID:             sid,
		Status:          "queued",
		SubresourceURIs: twilioResources{Media: uri + "/Media.json"},
		To:              m.To,
		URI:             uri + ".json",
	}
	if len(m.MediaURL) > 0 {
		r.NumSegments = "1" // an MMS is one message
	}
	if m.From != "" {
		r.From = &m.From
	}
	if m.MessagingServiceSID != "" {
		r.MessagingServiceSID = &m.MessagingServiceSID
	}
	return r
}

// equal compares secrets in constant time, as a real server must.
func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
