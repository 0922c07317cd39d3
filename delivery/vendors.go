package delivery

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bulksend/bulksend/report"
)

// errNoMessageID is the reason a sent row without a message id is not
// looked up: the vendor's answer named none.
var errNoMessageID = errors.New("no message id in the report")

// Twilio reads Twilio's Message resource,
// GET {API}/2010-04-01/Accounts/{Account}/Messages/{MessageSid}.json.
type Twilio struct {
	API     string // base URL, no trailing slash
	Account string // the account SID
}

// Request is the GET of the row's message, by its sid.
func (t Twilio) Request(row *report.Row) (string, string, http.Header, error) {
	if row.MessageID == "" {
		return "", "", nil, errNoMessageID
	}
	return http.MethodGet, t.API + "/2010-04-01/Accounts/" + url.PathEscape(t.Account) +
		"/Messages/" + url.PathEscape(row.MessageID) + ".json", nil, nil
}

// twilioLayout is the RFC 2822 layout of Twilio's dates.
const twilioLayout = "Mon, 02 Jan 2006 15:04:05 -0700"

// Read reads status, error_code, error_message and date_updated.
func (Twilio) Read(body []byte) (State, error) {
	var m struct {
		Status       string          `json:"status"`
		ErrorCode    json.RawMessage `json:"error_code"`
		ErrorMessage *string         `json:"error_message"`
		DateUpdated  *string         `json:"date_updated"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return State{}, fmt.Errorf("read twilio message: %w", err)
	}
	if m.Status == "" {
		return State{}, errors.New("read twilio message: no status")
	}
	s := State{Status: m.Status}
	code := scalar(m.ErrorCode)
	text := ""
	if m.ErrorMessage != nil {
		text = *m.ErrorMessage
	}
	s.Error = joinError(code, text)
	if m.DateUpdated != nil {
		s.At = parseTime(twilioLayout, *m.DateUpdated)
	}
	return s, nil
}

// Genesys reads a Genesys Cloud conversation message,
// GET {API}/api/v2/conversations/messages/{conversationId}/messages/{messageId};
// the report's message_id is "conversationId/messageId", as the Genesys
// preset records it.
type Genesys struct {
	API string // base URL, no trailing slash
}

// Request is the GET of the row's message under its conversation.
func (g Genesys) Request(row *report.Row) (string, string, http.Header, error) {
	if row.MessageID == "" {
		return "", "", nil, errNoMessageID
	}
	conv, id, ok := strings.Cut(row.MessageID, "/")
	if !ok || conv == "" || id == "" || strings.Contains(id, "/") {
		return "", "", nil, fmt.Errorf("message id %q is not conversationId/messageId (sent by a bulksend that kept only the message id?)", row.MessageID)
	}
	return http.MethodGet, g.API + "/api/v2/conversations/messages/" + url.PathEscape(conv) +
		"/messages/" + url.PathEscape(id), nil, nil
}

// Read reads the SDKs' MessageData: status, timestamp, and the reasons of
// a failed delivery receipt.
func (Genesys) Read(body []byte) (State, error) {
	var m struct {
		Status    string `json:"status"`
		Timestamp string `json:"timestamp"`
		Receipts  []struct {
			Status  string `json:"status"`
			Reasons []struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"reasons"`
		} `json:"normalizedReceipts"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return State{}, fmt.Errorf("read genesys message: %w", err)
	}
	if m.Status == "" {
		return State{}, errors.New("read genesys message: no status")
	}
	s := State{Status: m.Status}
	var reasons []string
	for _, r := range m.Receipts {
		for _, why := range r.Reasons {
			reasons = append(reasons, joinError(why.Code, why.Message))
		}
	}
	s.Error = strings.Join(reasons, "; ")
	s.At = parseTime(time.RFC3339Nano, m.Timestamp)
	return s, nil
}

// parseTime reads a vendor's time in UTC; an odd one is left out (zero),
// not fatal: the status is what matters.
func parseTime(layout, s string) time.Time {
	t, err := time.Parse(layout, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// joinError is "code: text", or whichever of the two there is.
func joinError(code, text string) string {
	switch {
	case code == "":
		return text
	case text == "":
		return code
	}
	return code + ": " + text
}

// scalar is a JSON string or number as text; "" for null or anything else.
func scalar(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(v, &n) == nil {
		return n.String()
	}
	return ""
}

// numberText is a JSON number, string or bool as text, for a status field.
func numberText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}
