package sandbox

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// agentlessRequest is the body of Genesys's
// POST /api/v2/conversations/messages/agentless.
type agentlessRequest struct {
	FromAddress            string             `json:"fromAddress"`
	ToAddress              string             `json:"toAddress"`
	ToAddressMessengerType string             `json:"toAddressMessengerType"`
	TextBody               string             `json:"textBody,omitempty"`
	MessagingTemplate      *messagingTemplate `json:"messagingTemplate,omitempty"`
}

type messagingTemplate struct {
	ResponseID string              `json:"responseId"`
	Parameters []templateParameter `json:"parameters,omitempty"`
}

type templateParameter struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// agentlessResponse is Genesys's 202 answer.
type agentlessResponse struct {
	ID                string             `json:"id"`
	ConversationID    string             `json:"conversationId"`
	FromAddress       string             `json:"fromAddress"`
	ToAddress         string             `json:"toAddress"`
	MessengerType     string             `json:"messengerType"`
	TextBody          string             `json:"textBody,omitempty"`
	MessagingTemplate *messagingTemplate `json:"messagingTemplate,omitempty"`
	Timestamp         string             `json:"timestamp"`
}

// parseAgentless decodes and checks an agentless message; the error text is
// what the client reads in the 400 answer.
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
	switch {
	case m.FromAddress == "":
		return m, errors.New("fromAddress is required")
	case m.ToAddress == "":
		return m, errors.New("toAddress is required")
	case m.ToAddressMessengerType == "sms" && !isE164(m.ToAddress):
		return m, fmt.Errorf("toAddress %q is not an E.164 phone number", m.ToAddress)
	case m.TextBody == "" && m.MessagingTemplate == nil:
		return m, errors.New("textBody or messagingTemplate is required")
	case m.MessagingTemplate != nil && m.MessagingTemplate.ResponseID == "":
		return m, errors.New("messagingTemplate.responseId is required")
	}
	return m, nil
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
	return mustJSON(errorBody{Message: msg, Code: "authentication.required", Status: http.StatusUnauthorized})
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

// twilioMessage is the form Twilio's Messages.json takes.
type twilioMessage struct {
	To, From, MessagingServiceSID, Body string
}

// twilioError is Twilio's error shape.
type twilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info,omitempty"`
	Status   int    `json:"status"`
}

// twilioResponse is Twilio's 201 answer, trimmed to what clients read.
type twilioResponse struct {
	SID                 string `json:"sid"`
	Status              string `json:"status"`
	To                  string `json:"to"`
	From                string `json:"from"`
	MessagingServiceSID string `json:"messaging_service_sid,omitempty"`
	Body                string `json:"body"`
}

var twilioUnauthorizedBody = mustJSON(twilioError{Code: 20003, Message: "Authenticate", Status: http.StatusUnauthorized})

func badTwilio(code int, msg string) *twilioError {
	return &twilioError{
		Code:     code,
		Message:  msg,
		MoreInfo: "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
		Status:   http.StatusBadRequest,
	}
}

// parseTwilio decodes and checks a Messages.json form, with Twilio's error
// codes.
func parseTwilio(body []byte) (twilioMessage, *twilioError) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return twilioMessage{}, badTwilio(20001, "Invalid form body: "+err.Error())
	}
	m := twilioMessage{
		To:                  form.Get("To"),
		From:                form.Get("From"),
		MessagingServiceSID: form.Get("MessagingServiceSid"),
		Body:                form.Get("Body"),
	}
	switch {
	case m.To == "":
		return m, badTwilio(21604, "A 'To' phone number is required.")
	case !isE164(m.To):
		return m, badTwilio(21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", m.To))
	case m.From == "" && m.MessagingServiceSID == "":
		return m, badTwilio(21603, "A 'From' phone number is required.")
	case m.Body == "":
		return m, badTwilio(21602, "Message body is required.")
	}
	return m, nil
}

// twilioAuthorized checks Basic auth against the account, and that the
// account in the path is that account.
func (s *Server) twilioAuthorized(r *http.Request, sid string) bool {
	user, pass, ok := r.BasicAuth()
	return ok && equal(user, s.cfg.AccountSID) && equal(pass, s.cfg.AuthToken) && equal(sid, s.cfg.AccountSID)
}

// equal compares secrets in constant time, as a real server must.
func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
