package preset

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// maxErrSnippet bounds the raw body quoted as the error when the body says
// nothing readable, so a proxy's HTML page does not flood the report.
const maxErrSnippet = 200

var defaultIDKeys = []string{"id", "sid", "messageId", "message_id", "conversationId"}

// DefaultParseResponse reads the common shapes of messaging APIs. On a 2xx
// answer it returns the message id from a JSON body's "id", "sid",
// "messageId", "message_id" or "conversationId" (the first found, string or
// number). On any other answer it returns the error text from "message",
// "error" (a string or {"message":...}) or "detail", prefixed with "code"
// when present ("21211: The 'To' number..."), falling back to the start of
// the body.
func DefaultParseResponse(status int, body []byte) (messageID, errText string) {
	return parseResponse(status, body, defaultIDKeys)
}

// parseResponse is DefaultParseResponse with the provider's id keys.
func parseResponse(status int, body []byte, idKeys []string) (messageID, errText string) {
	var obj map[string]json.RawMessage
	isObject := json.Unmarshal(body, &obj) == nil
	if status >= 200 && status < 300 {
		for _, k := range idKeys {
			if v := scalar(obj[k]); v != "" {
				return v, ""
			}
		}
		return "", ""
	}
	if isObject {
		if t := errorText(obj); t != "" {
			return "", t
		}
	}
	return "", snippet(body)
}

// errorText finds the readable error in a JSON error body.
func errorText(obj map[string]json.RawMessage) string {
	code := scalar(obj["code"])
	msg := scalar(obj["message"])
	if msg == "" {
		msg = scalar(obj["error"])
		// OAuth errors (RFC 6749) put the readable part in
		// error_description: "invalid_client: client not found".
		if d := scalar(obj["error_description"]); msg != "" && d != "" {
			msg += ": " + d
		}
	}
	if msg == "" {
		var nested map[string]json.RawMessage
		if json.Unmarshal(obj["error"], &nested) == nil {
			msg = scalar(nested["message"])
			if code == "" {
				code = scalar(nested["code"])
			}
		}
	}
	if msg == "" {
		msg = scalar(obj["detail"])
	}
	switch {
	case msg == "":
		return ""
	case code != "":
		return code + ": " + msg
	}
	return msg
}

// scalar returns a JSON string's value or a number's text; "" for anything
// else. Numbers keep their digits exactly (a 19-digit id must not become a
// float).
func scalar(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return s
	case c == '-' || '0' <= c && c <= '9':
		return string(raw)
	}
	return ""
}

// snippet is the start of body as readable text, cut on a rune boundary.
func snippet(body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) > maxErrSnippet {
		cut := maxErrSnippet
		for cut > 0 && !utf8.RuneStart(body[cut]) {
			cut--
		}
		body = body[:cut]
	}
	return strings.ToValidUTF8(string(body), "\uFFFD")
}
