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
		if id, ok := idFast(body, idKeys); ok {
			return id, ""
		}
		return idSlow(body, idKeys), ""
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) == nil {
		if t := errorText(obj); t != "" {
			return "", t
		}
	}
	return "", snippet(body)
}

// idSlow is the reference reading of a success body: the first of keys, in
// order, whose value is a non-empty string or a number, as encoding/json
// decodes the object (a repeated key keeps its last value).
func idSlow(body []byte, keys []string) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return ""
	}
	for _, k := range keys {
		if v := scalar(obj[k]); v != "" {
			return v
		}
	}
	return ""
}

// maxIDKeys bounds the id keys idFast tracks without allocating; every
// preset has fewer.
const maxIDKeys = 8

// idFast is idSlow without decoding the values it does not need: it walks
// every top-level member, wherever the id stands (Twilio's sid is the 16th
// of 20 keys), and keeps the last value of each id key, as decoding does.
// ok is false when it cannot answer for idSlow: a body that is not a valid
// object, or a key written with escapes. FuzzResponseID holds the two to
// the same answer.
func idFast(body []byte, keys []string) (id string, ok bool) {
	if len(keys) > maxIDKeys {
		return "", false
	}
	var found [maxIDKeys][]byte
	ok = eachMember(body, func(key, value []byte) {
		for i, k := range keys {
			if string(key) == k {
				found[i] = value
			}
		}
	})
	if !ok {
		return "", false
	}
	for i := range keys {
		if v := scalar(found[i]); v != "" {
			return v, true
		}
	}
	return "", true
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

// eachMember calls fn with each top-level member of a JSON object, its key
// as written and its value undecoded. It reports false, having called fn
// for none or some, for anything but a valid object whose keys have no
// escapes (those need decoding to compare).
func eachMember(b []byte, fn func(key, value []byte)) bool {
	if !json.Valid(b) {
		return false
	}
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return true
	}
	for i < len(b) {
		// json.Valid vouched for the syntax: a key string, a colon, a value.
		end := i + 1
		for b[end] != '"' {
			if b[end] == '\\' {
				return false
			}
			end++
		}
		key := b[i+1 : end]
		i = skipWS(b, skipWS(b, end+1)+1) // past the colon
		start := i
		i = valueEnd(b, i)
		fn(key, b[start:i])
		i = skipWS(b, i)
		if i >= len(b) || b[i] == '}' {
			return true
		}
		i = skipWS(b, i+1) // past the comma
	}
	return true
}

// valueEnd returns the index just past the valid JSON value starting at i
// (trailing spaces included for scalars; scalar trims them).
func valueEnd(b []byte, i int) int {
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
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
		case ',':
			if depth == 0 {
				return i
			}
		}
	}
	return i
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
