package preset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulksend/bulksend/segments"
	"github.com/bulksend/bulksend/sender"
)

// vendorFixture reads a golden body from testdata/vendor (see its README for
// where each came from).
func vendorFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "vendor", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestVendorFixtures reads each vendor's published answers through the
// preset's own response parser: the message id of every success, wherever
// the vendor puts it, and the readable error of every failure.
func TestVendorFixtures(t *testing.T) {
	tw, err := NewTwilio(TwilioConfig{From: "+15550000000", AccountSID: "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", AuthToken: "t"})
	if err != nil {
		t.Fatal(err)
	}
	gs, _, err := NewGenesys(GenesysConfig{From: "+15550000000", Region: "mypurecloud.com", ClientID: "i", ClientSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	const sm, mm = "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "MMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	tests := []struct {
		name    string
		preset  *Preset
		status  int
		file    string
		wantID  string
		wantErr string
	}{
		{name: "twilio create", preset: tw, status: 201, file: "twilio_message_201_create.json", wantID: sm},
		{name: "twilio without service", preset: tw, status: 201, file: "twilio_message_201_create_wo_service.json", wantID: sm},
		{name: "twilio with service", preset: tw, status: 201, file: "twilio_message_201_create_with_messaging_service.json", wantID: sm},
		{name: "twilio queued", preset: tw, status: 201, file: "twilio_message_201_create_with_queued_status.json", wantID: sm},
		{name: "twilio scheduled sms", preset: tw, status: 201, file: "twilio_message_201_create_scheduled_sms.json", wantID: sm},
		{name: "twilio scheduled mms", preset: tw, status: 201, file: "twilio_message_201_create_scheduled_mms.json", wantID: mm},
		{name: "twilio scheduled whatsapp", preset: tw, status: 201, file: "twilio_message_201_create_scheduled_whatsapp.json", wantID: sm},
		{name: "twilio bad number", preset: tw, status: 400, file: "twilio_error_400_21211.json",
			wantErr: "21211: The 'To' number +1555 is not a valid phone number."},
		{name: "twilio wrong token", preset: tw, status: 401, file: "twilio_error_401_20003.json", wantErr: "20003: Authenticate"},
		{name: "genesys sms", preset: gs, status: 202, file: "genesys_agentless_202_sms.json", wantID: "0d2a1e4e-7a46-4b3a-9b7e-2f0d3c6a9e11/5c1fd0ac-2bb8-4ee4-a1ec-8a6a7ca8b2c1"},
		{name: "genesys whatsapp", preset: gs, status: 202, file: "genesys_agentless_202_whatsapp.json", wantID: "1e3b2f5f-8b57-4c4b-8c8f-3f1e4d7b0f22/9b6f3e2a-51c4-4d0e-8f7a-3c2b1a0d9e8f"},
		{name: "genesys bad request", preset: gs, status: 400, file: "genesys_error_400.json",
			wantErr: "bad.request: textBody is required for the sms messenger type"},
		{name: "genesys wrong secret", preset: gs, status: 400, file: "genesys_oauth_400_invalid_client.json",
			wantErr: "invalid_client: authentication failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, errText := tt.preset.ParseResponse(tt.status, vendorFixture(t, tt.file))
			if id != tt.wantID || errText != tt.wantErr {
				t.Errorf("got (%q, %q), want (%q, %q)", id, errText, tt.wantID, tt.wantErr)
			}
		})
	}
}

// FuzzResponseID holds the fast id reader to the reference one (a full
// encoding/json decode) on bodies grown from the vendors' published
// answers, field order as published: whenever the fast path answers, it
// answers what decoding would.
func FuzzResponseID(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "vendor", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no vendor fixtures: %v", err)
	}
	for _, name := range files {
		f.Add(vendorFixture(f, filepath.Base(name)))
	}
	f.Add([]byte(`{"sid":"SM1","sid":"SM2"}`))
	f.Add([]byte(`{"s\u0069d":"SM1","sid":""}`))
	f.Add([]byte(` {"a":[{"sid":"x"}],"id":7e3 , "sid":null} `))
	keySets := [][]string{twilioIDKeys, genesysIDKeys, defaultIDKeys}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, keys := range keySets {
			fast, ok := idFast(body, keys)
			if !ok {
				continue
			}
			if slow := idSlow(body, keys); fast != slow {
				t.Fatalf("keys %q over %q: fast %q, encoding/json %q", keys, body, fast, slow)
			}
		}
	})
}

// TestPresetSMS: each SMS preset counts the segments of the messages it
// builds, and says so of nothing that is not billed as SMS.
func TestPresetSMS(t *testing.T) {
	twilio := func(change func(*TwilioConfig)) *Preset {
		cfg := TwilioConfig{From: "+15550000000", AccountSID: "AC1", AuthToken: "t"}
		if change != nil {
			change(&cfg)
		}
		p, err := NewTwilio(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	genesys := func(messenger, template string) *Preset {
		p, _, err := NewGenesys(GenesysConfig{From: "f", Region: "mypurecloud.com", ClientID: "i", ClientSecret: "s", MessengerType: messenger, TemplateID: template})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	long := strings.Repeat("a", 161)
	tests := []struct {
		name   string
		p      *Preset
		fields map[string]string
		want   segments.Count
		ok     bool
	}{
		{name: "twilio gsm", p: twilio(nil), fields: map[string]string{"to": "+1555", "text": long}, ok: true,
			want: segments.Count{Encoding: segments.GSM7, Units: 161, Segments: 2}},
		{name: "twilio ucs-2", p: twilio(nil), fields: map[string]string{"to": "+1555", "text": "Hi 👍 & co"}, ok: true,
			want: segments.Count{Encoding: segments.UCS2, Units: 10, Segments: 1, Culprit: '👍', CulpritAt: 3}},
		{name: "twilio whatsapp", p: twilio(nil), fields: map[string]string{"to": "whatsapp:+1555", "text": "hi"}},
		{name: "twilio mms", p: twilio(func(c *TwilioConfig) { c.MediaURLFields = []string{"img"} }),
			fields: map[string]string{"to": "+1555", "text": "hi", "img": "https://cdn.test/a.png"}},
		{name: "twilio no media in this row", p: twilio(func(c *TwilioConfig) { c.MediaURLFields = []string{"img"} }),
			fields: map[string]string{"to": "+1555", "text": "hi", "img": ""}, ok: true,
			want: segments.Count{Encoding: segments.GSM7, Units: 2, Segments: 1}},
		{name: "twilio content template", p: twilio(func(c *TwilioConfig) { c.ContentSID = "HX1" }), fields: map[string]string{"to": "+1555"}},
		{name: "genesys sms", p: genesys("sms", ""), fields: map[string]string{"to": "+1555", "text": "€{}"}, ok: true,
			want: segments.Count{Encoding: segments.GSM7, Units: 6, Segments: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.p.Builder.Build(sender.Row{Line: 2, Fields: tt.fields})
			if m.Invalid != nil {
				t.Fatal(m.Invalid)
			}
			c, ok := tt.p.SMS(m)
			if ok != tt.ok || c != tt.want {
				t.Errorf("SMS = %+v, %v; want %+v, %v", c, ok, tt.want, tt.ok)
			}
		})
	}
	for _, messenger := range []string{"whatsapp", "open"} {
		if genesys(messenger, "r").SMS != nil {
			t.Errorf("genesys %s counts SMS segments", messenger)
		}
	}
}
