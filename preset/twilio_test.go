package preset

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulksend/bulksend/internal/testkit"
	"github.com/bulksend/bulksend/sender"
)

const (
	testSID   = "AC0123456789"
	testToken = "auth-t0ken-secret"
)

func TestNewTwilioErrors(t *testing.T) {
	ok := TwilioConfig{From: "+15559999", AccountSID: testSID, AuthToken: testToken}
	tests := []struct {
		name   string
		change func(*TwilioConfig)
		want   string
	}{
		{name: "no token", change: func(c *TwilioConfig) { c.AuthToken = "" }, want: "twilio: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"},
		{name: "no sid", change: func(c *TwilioConfig) { c.AccountSID = "" }, want: "twilio: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"},
		{name: "api key without secret", change: func(c *TwilioConfig) { c.APIKey = "SK1" }, want: "set both TWILIO_API_KEY and TWILIO_API_SECRET, or neither"},
		{name: "api secret without key", change: func(c *TwilioConfig) { c.AuthToken, c.APISecret = "", "s" }, want: "set both TWILIO_API_KEY and TWILIO_API_SECRET, or neither"},
		{name: "api key without account", change: func(c *TwilioConfig) { c.AccountSID, c.APIKey, c.APISecret = "", "SK1", "s" }, want: "set TWILIO_ACCOUNT_SID"},
		{name: "no sender", change: func(c *TwilioConfig) { c.From = "" }, want: "set --from, --messaging-service or both"},
		{name: "bad status callback", change: func(c *TwilioConfig) { c.StatusCallback = "/status" }, want: `twilio: status callback: invalid URL "/status"`},
		{name: "validity period too long", change: func(c *TwilioConfig) { c.ValidityPeriod = 36001 * time.Second }, want: "twilio: validity period 10h0m1s: want whole seconds from 1s to 10h0m0s"},
		{name: "validity period not whole seconds", change: func(c *TwilioConfig) { c.ValidityPeriod = 1500 * time.Millisecond }, want: "want whole seconds"},
		{name: "variables without content", change: func(c *TwilioConfig) { c.ContentVariables = []ContentVariable{{"1", "name"}} }, want: "content variables need a content template (--content-sid)"},
		{name: "bad api url", change: func(c *TwilioConfig) { c.APIURL = "localhost:8080" }, want: `twilio: invalid URL "localhost:8080"`},
		{name: "text template", change: func(c *TwilioConfig) { c.Text = "{{" }, want: "twilio: template: --text:1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.change(&cfg)
			_, err := NewTwilio(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestTwilioBuild(t *testing.T) {
	base := TwilioConfig{Source: "list.jsonl", From: "+15559999", AccountSID: testSID, AuthToken: testToken}
	tests := []struct {
		name     string
		change   func(*TwilioConfig)
		fields   map[string]string
		wantURL  string
		wantBody string
		invalid  string
	}{
		{
			name:     "from number, form encoded",
			fields:   map[string]string{"to": "+15550001", "text": "Hi Zoë & co = 100%\nbye"},
			wantURL:  "https://api.twilio.com/2010-04-01/Accounts/AC0123456789/Messages.json",
			wantBody: "To=%2B15550001&From=%2B15559999&Body=Hi+Zo%C3%AB+%26+co+%3D+100%25%0Abye",
		},
		{
			name: "messaging service, named columns, api url",
			change: func(c *TwilioConfig) {
				c.From, c.MessagingService, c.ToField, c.TextField, c.APIURL = "", "MG42", "phone", "msg", "http://127.0.0.1:8080/"
			},
			fields:   map[string]string{"phone": "+15550002", "msg": "hello"},
			wantURL:  "http://127.0.0.1:8080/2010-04-01/Accounts/AC0123456789/Messages.json",
			wantBody: "To=%2B15550002&MessagingServiceSid=MG42&Body=hello",
		},
		{
			name:     "text template",
			change:   func(c *TwilioConfig) { c.Text = "Hi {{.name}}" },
			fields:   map[string]string{"to": "x", "name": "Ann"},
			wantURL:  "https://api.twilio.com/2010-04-01/Accounts/AC0123456789/Messages.json",
			wantBody: "To=x&From=%2B15559999&Body=Hi+Ann",
		},
		{
			name:     "from and messaging service",
			change:   func(c *TwilioConfig) { c.MessagingService = "MG42" },
			fields:   map[string]string{"to": "+15550001", "text": "hi"},
			wantURL:  "https://api.twilio.com/2010-04-01/Accounts/AC0123456789/Messages.json",
			wantBody: "To=%2B15550001&From=%2B15559999&MessagingServiceSid=MG42&Body=hi",
		},
		{
			name: "media, callback and validity",
			change: func(c *TwilioConfig) {
				c.MediaURLFields = []string{"img", "pdf"}
				c.StatusCallback = "https://hooks.test/status?c=1"
				c.ValidityPeriod = 10 * time.Minute
			},
			fields:   map[string]string{"to": "+15550001", "text": "see", "img": "https://cdn.test/a.jpg?x=1&y=2", "pdf": ""},
			wantURL:  "https://api.twilio.com/2010-04-01/Accounts/AC0123456789/Messages.json",
			wantBody: "To=%2B15550001&From=%2B15559999&Body=see&MediaUrl=https%3A%2F%2Fcdn.test%2Fa.jpg%3Fx%3D1%26y%3D2&StatusCallback=https%3A%2F%2Fhooks.test%2Fstatus%3Fc%3D1&ValidityPeriod=600",
		},
		{
			name:     "media without text",
			change:   func(c *TwilioConfig) { c.MediaURLFields = []string{"img"} },
			fields:   map[string]string{"to": "+15550001", "img": "https://cdn.test/a.jpg"},
			wantURL:  "https://api.twilio.com/2010-04-01/Accounts/AC0123456789/Messages.json",
			wantBody: "To=%2B15550001&From=%2B15559999&MediaUrl=https%3A%2F%2Fcdn.test%2Fa.jpg",
		},
		{
			name: "content template",
			change: func(c *TwilioConfig) {
				c.ContentSID = "HX0123456789abcdef0123456789abcdef"
				c.ContentVariables = []ContentVariable{{"1", "name"}, {"2", "date"}}
			},
			fields:   map[string]string{"to": "whatsapp:+15550001", "text": "ignored", "name": `Zoë "Z"`, "date": "1 May"},
			wantURL:  "https://api.twilio.com/2010-04-01/Accounts/AC0123456789/Messages.json",
			wantBody: "To=whatsapp%3A%2B15550001&From=%2B15559999&ContentSid=HX0123456789abcdef0123456789abcdef&ContentVariables=" + url.QueryEscape(`{"1":"Zoë \"Z\"","2":"1 May"}`),
		},
		{
			name:     "1600 characters",
			fields:   map[string]string{"to": "+15550001", "text": strings.Repeat("ü", 1600)},
			wantURL:  "https://api.twilio.com/2010-04-01/Accounts/AC0123456789/Messages.json",
			wantBody: "To=%2B15550001&From=%2B15559999&Body=" + strings.Repeat("%C3%BC", 1600),
		},
		{name: "1601 characters", fields: map[string]string{"to": "+15550001", "text": strings.Repeat("a", 1599) + "👍"},
			invalid: `list.jsonl:4: text is 1601 characters, more than the 1600 Twilio allows`},
		{name: "media not a URL", change: func(c *TwilioConfig) { c.MediaURLFields = []string{"img"} }, fields: map[string]string{"to": "x", "text": "t", "img": "a.jpg"},
			invalid: `list.jsonl:4: column "img": media invalid URL "a.jpg": scheme must be http or https`},
		{name: "media column missing", change: func(c *TwilioConfig) { c.MediaURLFields = []string{"img"} }, fields: map[string]string{"to": "x", "text": "t"},
			invalid: `list.jsonl:4: column "img": missing`},
		{name: "eleven media", change: func(c *TwilioConfig) {
			for i := range 11 {
				c.MediaURLFields = append(c.MediaURLFields, fmt.Sprint("m", i))
			}
		}, fields: func() map[string]string {
			f := map[string]string{"to": "x"}
			for i := range 11 {
				f[fmt.Sprint("m", i)] = "https://cdn.test/a.jpg"
			}
			return f
		}(), invalid: `list.jsonl:4: 11 media URLs, more than the 10 Twilio allows`},
		{name: "content variable missing", change: func(c *TwilioConfig) {
			c.ContentSID, c.ContentVariables = "HX1", []ContentVariable{{"1", "name"}}
		}, fields: map[string]string{"to": "x"}, invalid: `list.jsonl:4: column "name": missing`},
		{name: "empty to", fields: map[string]string{"to": "", "text": "x"}, invalid: `list.jsonl:4: column "to": empty`},
		{name: "missing text", fields: map[string]string{"to": "x"}, invalid: `list.jsonl:4: column "text": missing`},
		{name: "template field missing", change: func(c *TwilioConfig) { c.Text = "Hi {{.name}}" }, fields: map[string]string{"to": "x"},
			invalid: `list.jsonl:4: template: field "name" missing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			if tt.change != nil {
				tt.change(&cfg)
			}
			p, err := NewTwilio(cfg)
			if err != nil {
				t.Fatal(err)
			}
			m := buildCase(t, p.Builder, 4, tt.fields, tt.invalid)
			if m == nil {
				return
			}
			if m.URL != tt.wantURL || string(m.Body) != tt.wantBody {
				t.Errorf("got %s %s\nwant %s %s", m.URL, m.Body, tt.wantURL, tt.wantBody)
			}
			if _, err := url.ParseQuery(string(m.Body)); err != nil {
				t.Errorf("body does not parse as a form: %v", err)
			}
			if m.ID != "4" || m.Method != "POST" || m.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
				m.IdempotencyKey != sender.KeyOf(sender.Fingerprint(m, nil)) {
				t.Errorf("got %+v", m)
			}
		})
	}
}

func TestParseContentVariable(t *testing.T) {
	tests := []struct {
		name, in string
		want     ContentVariable
		err      bool
	}{
		{name: "name and column", in: "1=first_name", want: ContentVariable{Name: "1", Column: "first_name"}},
		{name: "column with =", in: "a=b=c", want: ContentVariable{Name: "a", Column: "b=c"}},
		{name: "column alone", in: "first_name", err: true},
		{name: "no name", in: "=c", err: true},
		{name: "no column", in: "1=", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseContentVariable(tt.in)
			if (err != nil) != tt.err || got != tt.want {
				t.Fatalf("ParseContentVariable(%q) = %+v, %v", tt.in, got, err)
			}
		})
	}
}

func FuzzParseContentVariable(f *testing.F) {
	for _, s := range []string{"1=first_name", "x", "=", "a=b=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseContentVariable(s)
		if err == nil && (v.Name == "" || v.Column == "" || v.Name+"="+v.Column != s) {
			t.Fatalf("%q parsed as %+v", s, v)
		}
	})
}

// TestTwilioAPIKey: with an API key the Basic credential is the key and its
// secret; the account SID stays in the URL only.
func TestTwilioAPIKey(t *testing.T) {
	srv := testkit.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	}))
	p, err := NewTwilio(TwilioConfig{From: "+1", APIURL: srv.URL, AccountSID: testSID, AuthToken: testToken, APIKey: "SK42", APISecret: "k3y-secret"})
	if err != nil {
		t.Fatal(err)
	}
	m := p.Builder.Build(sender.Row{Line: 2, Fields: map[string]string{"to": "+1", "text": "x"}})
	req, _ := http.NewRequest(m.Method, m.URL, bytes.NewReader(m.Body))
	resp, err := (&http.Client{Transport: p.Wrap(srv.Client().Transport)}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := srv.Requests()
	if len(got) != 1 {
		t.Fatalf("server got %d requests, want 1", len(got))
	}
	if user, pass, _ := got[0].BasicAuth(); user != "SK42" || pass != "k3y-secret" || got[0].URL.Path != "/2010-04-01/Accounts/"+testSID+"/Messages.json" {
		t.Errorf("got %q %q %s", user, pass, got[0].URL.Path)
	}
	if !slices.Contains(p.Secrets, "k3y-secret") || slices.Contains(p.Secrets, testToken) || !strings.Contains(p.Describe, "API key") {
		t.Errorf("Secrets %q, Describe %q", p.Secrets, p.Describe)
	}
}

func TestTwilioSend(t *testing.T) {
	srv := testkit.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"code":21211,"message":"The 'To' number +1 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`)
	}))
	p, err := NewTwilio(TwilioConfig{From: "+15559999", APIURL: srv.URL, AccountSID: testSID, AuthToken: testToken})
	if err != nil {
		t.Fatal(err)
	}
	m := p.Builder.Build(sender.Row{Line: 2, Fields: map[string]string{"to": "+1", "text": "a&b=c d"}})
	req, _ := http.NewRequest(m.Method, m.URL, bytes.NewReader(m.Body))
	req.Header = m.Header.Clone()
	resp, err := (&http.Client{Transport: p.Wrap(srv.Client().Transport)}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if req.Header.Get("Authorization") != "" {
		t.Error("Wrap modified the caller's request")
	}
	got := srv.Requests()
	if len(got) != 1 {
		t.Fatalf("server got %d requests, want 1", len(got))
	}
	user, pass, ok := got[0].BasicAuth()
	if !ok || user != testSID || pass != testToken {
		t.Errorf("basic auth = %q %q %v", user, pass, ok)
	}
	if path := got[0].URL.Path; path != "/2010-04-01/Accounts/"+testSID+"/Messages.json" {
		t.Errorf("path = %s", path)
	}
	if form := got[0].PostForm(); form.Get("To") != "+1" || form.Get("From") != "+15559999" || form.Get("Body") != "a&b=c d" {
		t.Errorf("form = %v", form)
	}
	id, errText := p.ParseResponse(resp.StatusCode, body)
	if id != "" || errText != "21211: The 'To' number +1 is not a valid phone number." {
		t.Errorf("ParseResponse = %q, %q", id, errText)
	}
	if id, _ := p.ParseResponse(201, []byte(`{"sid":"SM9","id":"other"}`)); id != "SM9" {
		t.Errorf("message id = %q, want SM9", id)
	}
}

// TestSecretsStayOutOfMessages builds valid and invalid rows with every
// preset and checks no secret reaches a Message, a reason or Describe.
func TestSecretsStayOutOfMessages(t *testing.T) {
	genesys, _, err := NewGenesys(GenesysConfig{From: "+1", Region: "mypurecloud.com", ClientID: testClientID, ClientSecret: testClientSecret, Text: "{{.text}}"})
	if err != nil {
		t.Fatal(err)
	}
	twilio, err := NewTwilio(TwilioConfig{From: "+1", AccountSID: testSID, AuthToken: testToken})
	if err != nil {
		t.Fatal(err)
	}
	rows := []sender.Row{
		{Line: 1, Fields: map[string]string{"to": "+15550001", "text": "hi"}},
		{Line: 2, Fields: map[string]string{"to": "+15550001"}},
		{Line: 3, Fields: map[string]string{}},
	}
	for name, p := range map[string]*Preset{"genesys": genesys, "twilio": twilio} {
		t.Run(name, func(t *testing.T) {
			if len(p.Secrets) != 2 {
				t.Fatalf("Secrets = %d values, want the secret and its Basic credential", len(p.Secrets))
			}
			for _, row := range rows {
				m := p.Builder.Build(row)
				var dump strings.Builder
				dump.WriteString(m.URL + m.Method + m.ID + m.Recipient + string(m.Body) + m.IdempotencyKey + p.Describe)
				for k, v := range m.Header {
					dump.WriteString(k + strings.Join(v, ","))
				}
				if m.Invalid != nil {
					dump.WriteString(m.Invalid.Error())
				}
				for _, s := range p.Secrets {
					if strings.Contains(dump.String(), s) {
						t.Errorf("line %d leaks a secret: %s", row.Line, dump.String())
					}
				}
			}
		})
	}
}

func BenchmarkBuild(b *testing.B) {
	generic, err := NewGeneric(GenericConfig{
		URL:     "https://api.test/send",
		Headers: []string{"X-Campaign: spring"},
		Body:    `{"to":{{json .to}},"text":{{json .text}}}`,
	})
	if err != nil {
		b.Fatal(err)
	}
	genesys, _, err := NewGenesys(GenesysConfig{From: "+15559999", Region: "mypurecloud.com", ClientID: "i", ClientSecret: "s"})
	if err != nil {
		b.Fatal(err)
	}
	twilio, err := NewTwilio(TwilioConfig{From: "+15559999", AccountSID: "AC1", AuthToken: "t"})
	if err != nil {
		b.Fatal(err)
	}
	row := sender.Row{Line: 2, Fields: map[string]string{"id": "42", "to": "+15550001", "text": "Hello Zoë, your code is 007. Reply STOP to stop."}}
	for _, bb := range []struct {
		name string
		p    *Preset
	}{{"generic", generic}, {"genesys", genesys}, {"twilio", twilio}} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if m := bb.p.Builder.Build(row); m.Invalid != nil {
					b.Fatal(m.Invalid)
				}
			}
		})
	}
}
