package sender

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
)

// FingerprintLen is the length of a fingerprint: 32 hex digits, 128 bits.
const FingerprintLen = 32

// Fingerprint is what a report records of the request a row became, so a
// resumed run can tell that the input (or a template) changed under the
// report: a hash of the row's id, the method, the URL's path and query,
// the headers and the body, as the builder rendered them. The URL's
// scheme and host say where the message goes, not what it is: a run
// resumed against another host or port (a failover, a region) sends the
// same messages. A header omit names is left out: the
// credentials (Authorization, a --secret-header) and anything else that
// changes from run to run although the message does not, such as a rotated
// token. Authentication a preset adds in the transport is never in the
// Message, so it never counts. Only the hash is kept: nothing in the
// request can be read back from it. The idempotency key is derived from it
// (KeyOf), so the key changes exactly when the request does.
func Fingerprint(m *Message, omit func(name string) bool) string {
	var small [8]string
	names := small[:0]
	target := urlTarget(m.URL)
	size := 64 + len(m.ID) + len(m.Method) + len(target) + len(m.Body)
	for name, vs := range m.Header {
		if !SecretHeader(name) && (omit == nil || !omit(name)) {
			names = append(names, name)
			size += len(name) + 8
			for _, v := range vs {
				size += len(v) + 4
			}
		}
	}
	slices.Sort(names)
	var stack [512]byte // most requests fit: no allocation
	b := stack[:0]
	if size > len(stack) {
		b = make([]byte, 0, size)
	}
	b = appendField(b, "bulksend fingerprint 1")
	b = appendField(b, m.ID)
	b = appendField(b, m.Method)
	b = appendField(b, target)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, name := range names {
		vs := m.Header[name]
		b = appendField(b, name)
		b = binary.AppendUvarint(b, uint64(len(vs)))
		for _, v := range vs {
			b = appendField(b, v)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(m.Body)))
	b = append(b, m.Body...)
	return sum(b)
}

// RowFingerprint is the fingerprint of a row that could not be rendered
// (an invalid row): a hash of its fields as read, since there is no
// request to hash.
func RowFingerprint(row Row) string {
	var small [16]string
	names := small[:0]
	size := 32
	for name, v := range row.Fields {
		names = append(names, name)
		size += len(name) + len(v) + 8
	}
	slices.Sort(names)
	b := make([]byte, 0, size)
	b = appendField(b, "bulksend row 1")
	for _, name := range names {
		b = appendField(b, name)
		b = appendField(b, row.Fields[name])
	}
	return sum(b)
}

// urlTarget is u without its scheme and authority (host, port, user):
// its path, query and fragment.
func urlTarget(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return u
	}
	rest := u[i+3:]
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		return rest[j:]
	}
	return ""
}

// sum is the fingerprint of the encoded fields b.
func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:FingerprintLen/2])
}

// appendField appends s with its length first, so no two sequences of
// fields encode alike.
func appendField(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// KeyOf is the idempotency key of a message whose fingerprint is fp: a
// retry, or a resumed run, of the same request sends the same key, and a
// changed request a new one. A resumed run that resends a row an earlier
// run may have delivered uses the key of the fingerprint that run
// recorded.
func KeyOf(fp string) string {
	if fp == "" {
		return ""
	}
	return "bulksend-" + fp
}

// SecretHeader reports whether a header carries credentials whatever the
// preset: its value is never part of a fingerprint, so a rotated secret
// does not make a row look changed.
func SecretHeader(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Authorization", "Proxy-Authorization", "Cookie":
		return true
	}
	return false
}

// ValidFingerprint reports whether s has the form Fingerprint returns, so
// a reader can tell a recorded fingerprint from a damaged cell.
func ValidFingerprint(s string) bool {
	if len(s) != FingerprintLen {
		return false
	}
	return strings.Trim(s, "0123456789abcdef") == ""
}
