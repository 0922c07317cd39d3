package cmd

import "github.com/bulksend/bulksend/internal/redact"

// masker hides secrets in anything bulksend prints: the values of secret
// headers, every known secret value in each form it takes on the wire, and
// URL passwords. It is redact.Masker under the names the commands use.
type masker struct{ *redact.Masker }

func newMasker(secrets, secretHeaders []string) *masker {
	m := redact.New(secretHeaders...)
	m.Add(secrets...)
	return &masker{m}
}

// header returns v, or *** when the header named k is secret.
func (m *masker) header(k, v string) string { return m.Header(k, v) }

// mask replaces every known secret in s with ***.
func (m *masker) mask(s string) string { return m.String(s) }
