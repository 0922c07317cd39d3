package preset

import (
	"bytes"
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulksend/bulksend/segments"
	"github.com/bulksend/bulksend/sender"
)

// openAPIParam is the part of an OpenAPI schema property the Twilio form
// is checked against.
type openAPIParam struct {
	Type      string        `json:"type"`
	Format    string        `json:"format"`
	Pattern   string        `json:"pattern"`
	MinLength *int          `json:"minLength"`
	MaxLength *int          `json:"maxLength"`
	Items     *openAPIParam `json:"items"`
}

// TestTwilioRequestsMatchOpenAPI checks every form the Twilio preset builds,
// over its options, against the CreateMessageRequest schema of Twilio's
// OpenAPI description: only known parameters, each of its type, pattern and
// length, To present.
func TestTwilioRequestsMatchOpenAPI(t *testing.T) {
	var schema struct {
		Properties map[string]openAPIParam `json:"properties"`
		Required   []string                `json:"required"`
	}
	if err := json.Unmarshal(vendorFixture(t, "twilio_create_message_request_schema.json"), &schema); err != nil {
		t.Fatal(err)
	}
	const mg, hx = "MG0123456789abcdef0123456789abcdef", "HX0123456789abcdef0123456789abcdef"
	configs := map[string]TwilioConfig{
		"from":             {From: "+15550000000"},
		"service":          {MessagingService: mg},
		"from and service": {From: "+15550000000", MessagingService: mg, StatusCallback: "https://h.test/s?a=1", ValidityPeriod: time.Hour},
		"media":            {From: "+15550000000", MediaURLFields: []string{"img", "doc"}},
		"content":          {MessagingService: mg, ContentSID: hx, ContentVariables: []ContentVariable{{"1", "name"}, {"2", "text"}}},
		"content and text": {From: "whatsapp:+15550000000", ContentSID: hx, Text: "Hi {{.name}}"},
	}
	rows := []map[string]string{
		{"to": "+15550001001", "name": "Zoë", "text": "Hello, \"friend\" & co = 100%", "img": "https://cdn.test/a.jpg?x=1&y=2", "doc": ""},
		{"to": "whatsapp:+15550001002", "name": "Bo", "text": strings.Repeat("€", 800), "img": "", "doc": "https://cdn.test/b.pdf"},
	}
	for name, cfg := range configs {
		cfg.AccountSID, cfg.AuthToken = "AC1", "t"
		p, err := NewTwilio(cfg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, fields := range rows {
			m := p.Builder.Build(sender.Row{Line: i + 2, Fields: fields})
			if m.Invalid != nil {
				t.Fatalf("%s, row %d: %v", name, i+2, m.Invalid)
			}
			form, err := url.ParseQuery(string(m.Body))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, req := range schema.Required {
				if !form.Has(req) {
					t.Errorf("%s: required %s missing from %s", name, req, m.Body)
				}
			}
			for key, values := range form {
				prop, ok := schema.Properties[key]
				if !ok {
					t.Errorf("%s: parameter %s is not in the OpenAPI description", name, key)
					continue
				}
				if prop.Type != "array" && len(values) != 1 {
					t.Errorf("%s: %s given %d times", name, key, len(values))
				}
				if prop.Type == "array" {
					prop = *prop.Items
				}
				for _, v := range values {
					if msg := checkOpenAPI(prop, v); msg != "" {
						t.Errorf("%s: %s=%q: %s", name, key, v, msg)
					}
				}
			}
		}
	}
}

// checkOpenAPI checks one form value against its property; "" means valid.
func checkOpenAPI(p openAPIParam, v string) string {
	n := len([]rune(v))
	switch {
	case p.MinLength != nil && n < *p.MinLength, p.MaxLength != nil && n > *p.MaxLength:
		return "length out of range"
	case p.Pattern != "" && !regexp.MustCompile(p.Pattern).MatchString(v):
		return "does not match " + p.Pattern
	case p.Format == "uri" && checkURL(v) != nil:
		return "not a URI"
	case p.Type == "integer":
		if _, err := strconv.Atoi(v); err != nil {
			return "not an integer"
		}
	case p.Type == "boolean" && v != "true" && v != "false":
		return "not a boolean"
	}
	return ""
}

// TestGenesysRequestsMatchSDK decodes the bodies the Genesys preset builds,
// for sms, whatsapp and open, into the fields of the SDK's request models
// (unknown fields refused) and checks the rules their documentation
// states: SMS has textBody and an E.164 address, WhatsApp a template and a
// WhatsApp id, text within 765 (SMS) or 2,000 characters.
func TestGenesysRequestsMatchSDK(t *testing.T) {
	type templateParameter struct {
		ID    *string `json:"id"`
		Value *string `json:"value"`
	}
	type messagingTemplate struct {
		ResponseID          *string             `json:"responseId"`
		Parameters          []templateParameter `json:"parameters"`
		HeaderParameters    []templateParameter `json:"headerParameters"`
		BodyParameters      []templateParameter `json:"bodyParameters"`
		ButtonURLParameters []templateParameter `json:"buttonUrlParameters"`
	}
	type request struct {
		FromAddress                   *string            `json:"fromAddress"`
		ToAddress                     *string            `json:"toAddress"`
		ToAddressMessengerType        *string            `json:"toAddressMessengerType"`
		TextBody                      *string            `json:"textBody"`
		MessagingTemplate             *messagingTemplate `json:"messagingTemplate"`
		UseExistingActiveConversation *bool              `json:"useExistingActiveConversation"`
	}
	configs := map[string]GenesysConfig{
		"sms":      {From: "+15550000000"},
		"sms text": {From: "+15550000000", Text: "Hi {{.name}}", UseExistingConversation: true},
		"whatsapp": {From: "wa-1", MessengerType: "whatsapp", TemplateID: "r", TemplateParams: []string{"name"}},
		"whatsapp all params": {From: "wa-1", MessengerType: "whatsapp", TemplateID: "r", HeaderParams: []TemplateParam{{"1", "name"}},
			BodyParams: []TemplateParam{{"1", "name"}}, ButtonURLParams: []TemplateParam{{"1", "name"}}, UseExistingConversation: true},
		"open text":     {From: "open-1", MessengerType: "open"},
		"open template": {From: "open-1", MessengerType: "open", TemplateID: "r"},
	}
	rows := []map[string]string{
		{"to": "+15550001001", "name": "Zoë", "text": "Hello, \"friend\""},
		{"to": "+15550001002", "name": "Bo", "text": strings.Repeat("é", 765)},
	}
	for name, cfg := range configs {
		cfg.Region, cfg.ClientID, cfg.ClientSecret = "mypurecloud.com", "i", "s"
		p, _, err := NewGenesys(cfg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, fields := range rows {
			m := p.Builder.Build(sender.Row{Line: i + 2, Fields: fields})
			if m.Invalid != nil {
				t.Fatalf("%s, row %d: %v", name, i+2, m.Invalid)
			}
			dec := json.NewDecoder(bytes.NewReader(m.Body))
			dec.DisallowUnknownFields()
			var r request
			if err := dec.Decode(&r); err != nil {
				t.Fatalf("%s: %s: %v", name, m.Body, err)
			}
			if r.FromAddress == nil || r.ToAddress == nil || r.ToAddressMessengerType == nil {
				t.Fatalf("%s: %s lacks an address", name, m.Body)
			}
			text := ""
			if r.TextBody != nil {
				text = *r.TextBody
			}
			tmpl := r.MessagingTemplate
			switch to := *r.ToAddress; *r.ToAddressMessengerType {
			case "sms":
				if !regexp.MustCompile(`^\+[0-9]{8,15}$`).MatchString(to) || text == "" || tmpl != nil || segments.UTF16Len(text) > 765 {
					t.Errorf("%s: %s breaks the sms rules", name, m.Body)
				}
			case "whatsapp":
				if !regexp.MustCompile(`^[0-9]{8,15}$`).MatchString(to) || tmpl == nil || tmpl.ResponseID == nil || tmpl.Parameters != nil {
					t.Errorf("%s: %s breaks the whatsapp rules", name, m.Body)
				}
			case "open":
				if (text == "" && tmpl == nil) || segments.UTF16Len(text) > 2000 {
					t.Errorf("%s: %s breaks the open rules", name, m.Body)
				}
			default:
				t.Errorf("%s: messenger type %q", name, *r.ToAddressMessengerType)
			}
		}
	}
}

// TestCheckOpenAPI: the checker the contract test relies on refuses what
// the description refuses.
func TestCheckOpenAPI(t *testing.T) {
	n34 := 34
	sid := openAPIParam{Type: "string", Pattern: `^MG[0-9a-fA-F]{32}$`, MinLength: &n34, MaxLength: &n34}
	tests := []struct {
		name string
		p    openAPIParam
		v    string
		ok   bool
	}{
		{name: "sid", p: sid, v: "MG0123456789abcdef0123456789abcdef", ok: true},
		{name: "short sid", p: sid, v: "MG42"},
		{name: "uri", p: openAPIParam{Type: "string", Format: "uri"}, v: "https://h.test/a", ok: true},
		{name: "not a uri", p: openAPIParam{Type: "string", Format: "uri"}, v: "a.jpg"},
		{name: "integer", p: openAPIParam{Type: "integer"}, v: "600", ok: true},
		{name: "not an integer", p: openAPIParam{Type: "integer"}, v: "10m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if msg := checkOpenAPI(tt.p, tt.v); (msg == "") != tt.ok {
				t.Errorf("checkOpenAPI(%q) = %q", tt.v, msg)
			}
		})
	}
}
