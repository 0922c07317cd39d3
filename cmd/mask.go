package cmd

import (
	"net/http"
	"strings"
)

// masker hides secrets in anything bulksend prints: the values of secret
// headers, and every known secret value wherever it appears.
type masker struct {
	headers map[string]bool
	values  []string
}

func newMasker(secrets, secretHeaders []string) *masker {
	m := &masker{headers: map[string]bool{"Authorization": true, "Proxy-Authorization": true}}
	for _, h := range secretHeaders {
		m.headers[http.CanonicalHeaderKey(strings.TrimSpace(h))] = true
	}
	for _, s := range secrets {
		if len(s) >= 4 {
			m.values = append(m.values, s)
		}
	}
	return m
}

// header returns v, or *** when the header named k is secret.
func (m *masker) header(k, v string) string {
	if m.headers[http.CanonicalHeaderKey(k)] {
		return "***"
	}
	return m.mask(v)
}

// mask replaces every known secret value in s with ***.
func (m *masker) mask(s string) string {
	for _, v := range m.values {
		s = strings.ReplaceAll(s, v, "***")
	}
	return s
}
