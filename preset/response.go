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
	if status >= 200 && status < 300 {
		if members, ok := topLevel(body); ok {
			for _, k := range idKeys {
				for _, m := range members {
					if m.key == k {
						if v := scalar(m.value); v != "" {
							return v, ""
						}
						break
					}
				}
			}
			return "", ""
		}
	}
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

type member struct {
	key   string
	value json.RawMessage
}

// topLevel splits a JSON object into its members without decoding the
// values; ok is false for anything but a valid object whose keys have no
// escapes (those take the slow path).
func topLevel(b []byte) (out [8]member, ok bool) {
	if !json.Valid(b) {
		return out, false
	}
	n := 0
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return out, false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return out, true
	}
	for i < len(b) {
		if b[i] != '"' {
			return out, false
		}
		end := i + 1
		for end < len(b) && b[end] != '"' {
			if b[end] == '\\' {
				return out, false
			}
			end++
		}
		key := b[i+1 : end]
		i = skipWS(b, end+1) + 1 // past ':'
		i = skipWS(b, i)
		start := i
		depth, inStr := 0, false
		for ; i < len(b); i++ {
			c := b[i]
			if inStr {
				if c == '\\' {
					i++
				} else if c == '"' {
					inStr = false
				}
				continue
			}
			if c == '"' {
				inStr = true
			} else if c == '{' || c == '[' {
				depth++
			} else if c == '}' || c == ']' {
				if depth == 0 {
					break
				}
				depth--
			} else if c == ',' && depth == 0 {
				break
			}
		}
		if n < len(out) {
			out[n] = member{key: string(key), value: b[start:i]}
			n++
		}
		if i >= len(b) || b[i] == '}' {
			return out, true
		}
		i = skipWS(b, i+1)
	}
	return out, true
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
