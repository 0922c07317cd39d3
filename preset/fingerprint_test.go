package preset

import (
	"testing"

	"github.com/bulksend/bulksend/sender"
)

// TestGenericFingerprint pins what a row's fingerprint follows: the
// rendered request, never a secret that rotates.
func TestGenericFingerprint(t *testing.T) {
	base := GenericConfig{
		URL:           "http://api.test/send?to={{.to}}",
		Headers:       []string{`Authorization: Bearer {{env "TOKEN"}}`, "X-Campaign: {{.campaign}}", "X-Api-Key: {{.key}}"},
		Body:          `{"to": {{json .to}}, "text": {{json .text}}}`,
		SecretHeaders: []string{"x-api-key"},
	}
	row := map[string]string{"id": "7", "to": "+15550001", "text": "hi", "campaign": "spring", "key": "k1"}
	fingerprint := func(t *testing.T, cfg GenericConfig, token string, fields map[string]string) string {
		t.Helper()
		cfg.Env = func(string) string { return token }
		p, err := NewGeneric(cfg)
		if err != nil {
			t.Fatal(err)
		}
		m := p.Builder.Build(sender.Row{Line: 2, Fields: fields})
		if m.Invalid != nil {
			t.Fatal(m.Invalid)
		}
		if !sender.ValidFingerprint(m.Fingerprint) || m.IdempotencyKey != sender.KeyOf(m.Fingerprint) {
			t.Fatalf("fingerprint %q, key %q", m.Fingerprint, m.IdempotencyKey)
		}
		return m.Fingerprint
	}
	with := func(k, v string) map[string]string {
		f := make(map[string]string, len(row))
		for name, val := range row {
			f[name] = val
		}
		f[k] = v
		return f
	}
	tokenInURL := base
	tokenInURL.URL = `http://api.test/send?to={{.to}}&key={{env "TOKEN"}}`
	tests := []struct {
		name      string
		cfgA      GenericConfig
		cfgB      GenericConfig
		tokA      string
		tokB      string
		rowB      map[string]string
		wantEqual bool
	}{
		{name: "same row, same request", cfgA: base, cfgB: base, tokA: "t1", tokB: "t1", rowB: row, wantEqual: true},
		{name: "a rotated bearer token changes nothing", cfgA: base, cfgB: base, tokA: "t1", tokB: "t2", rowB: row, wantEqual: true},
		{name: "a rotated token in the URL changes nothing", cfgA: tokenInURL, cfgB: tokenInURL, tokA: "t1", tokB: "t2", rowB: row, wantEqual: true},
		{name: "a --secret-header value changes nothing", cfgA: base, cfgB: base, tokA: "t1", tokB: "t1", rowB: with("key", "k2"), wantEqual: true},
		{name: "a column no template reads changes nothing", cfgA: base, cfgB: base, tokA: "t1", tokB: "t1", rowB: with("unused", "x"), wantEqual: true},
		{name: "the body changes it", cfgA: base, cfgB: base, tokA: "t1", tokB: "t1", rowB: with("text", "hi!")},
		{name: "the URL changes it", cfgA: base, cfgB: base, tokA: "t1", tokB: "t1", rowB: with("to", "+15550002")},
		{name: "a header changes it", cfgA: base, cfgB: base, tokA: "t1", tokB: "t1", rowB: with("campaign", "autumn")},
		{name: "the id changes it", cfgA: base, cfgB: base, tokA: "t1", tokB: "t1", rowB: with("id", "8")},
		{name: "the body template changes it", cfgA: base, cfgB: func() GenericConfig {
			c := base
			c.Body = `{"to": {{json .to}}, "text": {{json .text}}, "v": 2}`
			return c
		}(), tokA: "t1", tokB: "t1", rowB: row},
		{name: "the method changes it", cfgA: base, cfgB: func() GenericConfig {
			c := base
			c.Method = "PUT"
			return c
		}(), tokA: "t1", tokB: "t1", rowB: row},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := fingerprint(t, tt.cfgA, tt.tokA, row), fingerprint(t, tt.cfgB, tt.tokB, tt.rowB)
			if (a == b) != tt.wantEqual {
				t.Errorf("fingerprints %s and %s: equal=%v, want %v", a, b, a == b, tt.wantEqual)
			}
		})
	}
}

// TestVendorFingerprint: the vendor presets fingerprint every row,
// although they send no idempotency key, and the credentials, which their
// transports add, never count.
func TestVendorFingerprint(t *testing.T) {
	tests := []struct {
		name  string
		build func(t *testing.T, secret string) sender.Builder
	}{
		{name: "twilio", build: func(t *testing.T, secret string) sender.Builder {
			p, err := NewTwilio(TwilioConfig{AccountSID: "AC" + "0123456789abcdef0123456789abcdef", AuthToken: secret, From: "+15550000"})
			if err != nil {
				t.Fatal(err)
			}
			return p.Builder
		}},
		{name: "genesys", build: func(t *testing.T, secret string) sender.Builder {
			p, _, err := NewGenesys(GenesysConfig{ClientID: "id", ClientSecret: secret, Region: "mypurecloud.com", From: "+15550000"})
			if err != nil {
				t.Fatal(err)
			}
			return p.Builder
		}},
	}
	row := sender.Row{Line: 2, Fields: map[string]string{"id": "1", "to": "+15550001", "text": "hi"}}
	changed := sender.Row{Line: 2, Fields: map[string]string{"id": "1", "to": "+15550001", "text": "hi!"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := tt.build(t, "s1").Build(row), tt.build(t, "s2").Build(row)
			if a.Invalid != nil {
				t.Fatal(a.Invalid)
			}
			if !sender.ValidFingerprint(a.Fingerprint) || a.Fingerprint != b.Fingerprint {
				t.Errorf("fingerprints %q and %q with rotated credentials, want one valid fingerprint", a.Fingerprint, b.Fingerprint)
			}
			if c := tt.build(t, "s1").Build(changed); c.Fingerprint == a.Fingerprint {
				t.Errorf("a changed text kept fingerprint %s", a.Fingerprint)
			}
		})
	}
}
