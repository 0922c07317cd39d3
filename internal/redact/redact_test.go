package redact

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestMaskerString(t *testing.T) {
	const tok = "tok-3f9a81c2d7"
	m := New("X-Api-Key")
	m.Add(tok, "AC0123456789abcdef", "twilio-auth-secret", "ab") // "ab": too short
	m.AddURL("https://alice:pa55w0rd!@api.example.com/v1")

	tests := []struct {
		name, in, want string
	}{
		{"plain", "Bearer " + tok, "Bearer ***"},
		{"short values are not secrets", "ab cd", "ab cd"},
		{"base64 alone", "echo " + b64(tok), "echo ***"},
		{"basic credential of two secrets", "Basic " + b64("AC0123456789abcdef:twilio-auth-secret"), "Basic ***"},
		{"url escaped", "q=" + strings.ReplaceAll("pa55w0rd!", "!", "%21"), "q=***"},
		{"url password", "GET https://alice:pa55w0rd!@api.example.com/v1", "GET https://alice:***@api.example.com/v1"},
		{"unknown url password", "dial https://bob:hunter2@h/x: refused", "dial https://bob:***@h/x: refused"},
		{"basic of a url user", "Basic " + b64("alice:pa55w0rd!"), "Basic ***"},
		{"no secret", "all good", "all good"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestMaskerBase64Inside checks a secret hidden inside a longer base64
// value, at each of the three offsets it can start at, as a token endpoint
// that echoes "Basic base64(id:secret)" shows it.
func TestMaskerBase64Inside(t *testing.T) {
	const secret = "genesys-client-secret-value"
	m := New()
	m.Add(secret)
	for _, prefix := range []string{"", "a", "ab", "abc:", "client-id:"} {
		enc := b64(prefix + secret + "|trailer")
		got := m.String(enc)
		if got == enc {
			t.Errorf("prefix %q: %q left as is", prefix, enc)
		}
		if dec, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(got, Mask, "")); err == nil && strings.Contains(string(dec), secret) {
			t.Errorf("prefix %q: %q still decodes to the secret", prefix, got)
		}
	}
}

func TestMaskerHeader(t *testing.T) {
	m := New("x-api-key")
	m.Add("sekret-value")
	tests := []struct {
		name, k, v, want string
	}{
		{"authorization", "Authorization", "Bearer x", Mask},
		{"named secret header", "X-Api-Key", "abc", Mask},
		{"other header masks values", "X-Trace", "id sekret-value", "id ***"},
		{"other header", "Content-Type", "application/json", "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.Header(tt.k, tt.v); got != tt.want {
				t.Errorf("Header(%q, %q) = %q, want %q", tt.k, tt.v, got, tt.want)
			}
		})
	}
}

func TestMaskerHeaderValues(t *testing.T) {
	m := New()
	h := http.Header{"Authorization": {"Bearer abc.def.ghi"}, "Accept": {"*/*"}}
	m.Add(m.HeaderValues(h)...)
	if got := m.String("echo: abc.def.ghi"); got != "echo: ***" {
		t.Errorf("got %q", got)
	}
}

func TestMaskerNil(t *testing.T) {
	var m *Masker
	if got := m.String("https://u:p4ss@h"); got != "https://u:***@h" {
		t.Errorf("got %q", got)
	}
}

func TestTerminal(t *testing.T) {
	tests := []struct {
		name, in, line, text string
	}{
		{"clean", "HTTP 401: bad token", "HTTP 401: bad token", "HTTP 401: bad token"},
		{"title", "\x1b]0;pwned\a", `\x1b]0;pwned\a`, `\x1b]0;pwned\a`},
		{"clear screen", "\x1b[2J\x1b[H", `\x1b[2J\x1b[H`, `\x1b[2J\x1b[H`},
		{"fake line", "x\r\nbulksend: all rows sent", `x\r\nbulksend: all rows sent`, "x\\r\nbulksend: all rows sent"},
		{"tab kept", "a\tb", "a\tb", "a\tb"},
		{"c1 csi", "a\u009b2Jb", `a\u009b2Jb`, `a\u009b2Jb`},
		{"bidi", "txt\u202egnp.exe", `txt\u202egnp.exe`, `txt\u202egnp.exe`},
		{"not utf-8", "caf\xe9", `caf\xe9`, `caf\xe9`},
		{"utf-8 kept", "Zoë ✓", "Zoë ✓", "Zoë ✓"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Terminal(tt.in); got != tt.line {
				t.Errorf("Terminal(%q) = %q, want %q", tt.in, got, tt.line)
			}
			if got := TerminalText(tt.in); got != tt.text {
				t.Errorf("TerminalText(%q) = %q, want %q", tt.in, got, tt.text)
			}
		})
	}
}

func FuzzTerminal(f *testing.F) {
	for _, s := range []string{"\x1b]0;x\a", "a\r\nb", "\u009b", "caf\xe9", "\u202e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Terminal(s)
		if !utf8.ValidString(got) {
			t.Fatalf("Terminal(%q) = %q: not UTF-8", s, got)
		}
		for _, r := range got {
			if r != '\t' && unsafe(r, utf8.RuneLen(r), false) {
				t.Fatalf("Terminal(%q) = %q: keeps %U", s, got, r)
			}
		}
	})
}

func FuzzMasker(f *testing.F) {
	f.Add("token-123456", "x token-123456 y")
	f.Add("p@ss:w/rd", "https://u:p%40ss%3Aw%2Frd@h")
	f.Fuzz(func(t *testing.T, secret, text string) {
		if len(secret) < minSecret {
			return
		}
		m := New()
		m.Add(secret)
		got := m.String(text + secret + text)
		if strings.Contains(got, secret) {
			t.Fatalf("String(%q) = %q: secret %q shown", text+secret+text, got, secret)
		}
		if strings.Contains(got, b64(secret)) {
			t.Fatalf("String: base64 of %q shown in %q", secret, got)
		}
	})
}
