// Package redact is the one place that decides what of a run's text may be
// shown or stored: a Masker hides every secret the run knows (and the forms
// a secret takes on the wire: base64, a Basic credential, URL and JSON
// escaping, the password in a URL's user info), and Terminal makes text a
// server or a row supplied inert on a terminal.
//
// Everything bulksend prints or stores that may hold a URL, a header or a
// body goes through a Masker: dry-run output, probe's banner, results and
// errors, the report's error and response columns, the summary.
package redact

import (
	"cmp"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Mask is what a secret is replaced with.
const Mask = "***"

// minSecret is the shortest value masked: shorter ones ("1", "us") would
// blank out ordinary text and hide nothing worth hiding.
const minSecret = 4

// minCore is the shortest base64 fragment masked for a secret embedded at an
// arbitrary offset in a longer base64 string (see cores).
const minCore = 8

// Masker hides secrets in text. The zero value is not usable: call New. It
// is safe for concurrent use; Add may be called while others mask (a
// refreshed OAuth token becomes a secret mid-run).
type Masker struct {
	headers map[string]bool // canonical names whose value is always ***

	mu      sync.Mutex // serialises Add
	secrets []string   // as given, for the user:pass pairs of Basic auth
	basic   []string   // user:pass credentials whose user is not a secret
	r       atomic.Pointer[strings.Replacer]
}

// New returns a Masker that shows the values of Authorization,
// Proxy-Authorization and the named headers as ***, and masks no value yet.
func New(secretHeaders ...string) *Masker {
	m := &Masker{headers: map[string]bool{"Authorization": true, "Proxy-Authorization": true}}
	for _, h := range secretHeaders {
		if h = strings.TrimSpace(h); h != "" {
			m.headers[http.CanonicalHeaderKey(h)] = true
		}
	}
	return m
}

// Add makes each value a secret, with every form it takes on the wire: its
// base64 (standard and URL alphabets, alone or inside a longer base64
// string), the Basic credential it makes with any other secret
// ("id:secret"), and its URL-escaped and JSON-escaped spellings. Values
// shorter than 4 bytes are ignored.
func (m *Masker) Add(values ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	added := false
	for _, v := range values {
		if len(v) >= minSecret && !slices.Contains(m.secrets, v) {
			m.secrets = append(m.secrets, v)
			added = true
		}
	}
	if added {
		m.rebuild()
	}
}

// AddURL makes the password of raw's user info a secret (and, through Add's
// pairs, the Basic credential net/http derives from it). A URL that does not
// parse, or has no password, adds nothing.
func (m *Masker) AddURL(raw string) {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return
	}
	if p, ok := u.User.Password(); ok {
		m.Add(p)
		if len(p) >= minSecret {
			// The user name is not a secret, but the Basic credential
			// net/http builds from it and the password is.
			user := u.User.Username()
			m.mu.Lock()
			m.basic = append(m.basic, user+":"+p)
			m.rebuild()
			m.mu.Unlock()
		}
	}
}

// rebuild recomputes the replacer from m.secrets; m.mu is held.
func (m *Masker) rebuild() {
	var forms []string
	for _, s := range m.secrets {
		forms = appendForms(forms, s)
	}
	for _, c := range m.basic {
		forms = appendBase64(forms, c)
	}
	for _, a := range m.secrets {
		for _, b := range m.secrets {
			if a != b {
				forms = appendBase64(forms, a+":"+b)
			}
		}
	}
	slices.SortFunc(forms, func(a, b string) int { // longest first: it wins
		return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b))
	})
	forms = slices.Compact(forms)
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, Mask)
	}
	m.r.Store(strings.NewReplacer(pairs...))
}

// appendForms appends s and its escaped and encoded spellings.
func appendForms(dst []string, s string) []string {
	dst = append(dst, s, url.QueryEscape(s), url.PathEscape(s), jsonEscape(s))
	return appendBase64(dst, s)
}

// appendBase64 appends s in base64: whole (padded and not, both alphabets)
// and, when long enough, the characters that encode s whatever its offset
// inside a longer encoded string.
func appendBase64(dst []string, s string) []string {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		dst = append(dst, enc.EncodeToString([]byte(s)))
		dst = append(dst, cores(enc.WithPadding(base64.NoPadding), s)...)
	}
	return dst
}

// cores returns, for each of the three byte offsets s can start at inside
// base64 input, the run of output characters that depend on s's bytes
// alone. Masking those hides s inside any longer encoded value, such as a
// token endpoint echoing a whole Basic credential.
func cores(enc *base64.Encoding, s string) []string {
	var out []string
	for k := range 3 {
		in := make([]byte, k+len(s))
		copy(in[k:], s)
		e := enc.EncodeToString(in)
		from := (8*k + 5) / 6      // first char with no bit of the k filler bytes
		to := 8 * (k + len(s)) / 6 // chars past it mix with what follows s
		if to-from >= minCore {
			out = append(out, e[from:to])
		}
	}
	return out
}

// jsonEscape is s as it appears inside a JSON string literal.
func jsonEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			const hex = "0123456789abcdef"
			b.WriteString(`\u00`)
			b.WriteByte(hex[r>>4])
			b.WriteByte(hex[r&0xf])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// userInfo matches the password of a URL's user info anywhere in text.
var userInfo = regexp.MustCompile(`(://[^/?#@\s:]*):[^/?#@\s]*@`)

// String returns s with every known secret and every URL password replaced
// by ***. It is safe to call on a nil Masker, which masks URL passwords only.
func (m *Masker) String(s string) string {
	if m != nil {
		if r := m.r.Load(); r != nil {
			s = r.Replace(s)
		}
	}
	if strings.Contains(s, "://") {
		s = userInfo.ReplaceAllString(s, "$1:"+Mask+"@")
	}
	return s
}

// Header returns v as it may be shown for the header named name: *** for a
// secret header, else v masked.
func (m *Masker) Header(name, v string) string {
	if m.SecretHeader(name) {
		return Mask
	}
	return m.String(v)
}

// SecretHeader reports whether name's values are always hidden.
func (m *Masker) SecretHeader(name string) bool {
	return m != nil && m.headers[http.CanonicalHeaderKey(name)]
}

// HeaderValues returns the values of h's secret headers, so a caller can
// add them to the Masker before the text around them is masked.
func (m *Masker) HeaderValues(h http.Header) []string {
	var out []string
	for k, vs := range h {
		if !m.SecretHeader(k) {
			continue
		}
		for _, v := range vs {
			out = append(out, v)
			// "Bearer xyz" and "Basic xyz": the credential alone too.
			if _, cred, ok := strings.Cut(v, " "); ok {
				out = append(out, strings.TrimSpace(cred))
			}
		}
	}
	return out
}
