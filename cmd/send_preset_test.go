package cmd

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulksend/bulksend/internal/testkit/sandboxtest"
	"github.com/bulksend/bulksend/sandbox"
)

// presetFlags are the SendOptions fields the vendor presets read.
type presetFlags struct {
	Input, Preset, From, ToField, TextField, Text string
	MessengerType, TemplateID                     string
	TemplateParams                                []string
	MessagingSvc, APIURL, LoginURL, Region        string
}

func presetFlagsOf(o *SendOptions) presetFlags {
	return presetFlags{
		Input: o.Input, Preset: o.Preset, From: o.From, ToField: o.ToField, TextField: o.TextField, Text: o.Text,
		MessengerType: o.MessengerType, TemplateID: o.TemplateID, TemplateParams: o.TemplateParams,
		MessagingSvc: o.MessagingSvc, APIURL: o.APIURL, LoginURL: o.LoginURL, Region: o.Region,
	}
}

func TestSendPresetFlags(t *testing.T) {
	// What every case starts from: the flags' defaults.
	defaults := presetFlags{Input: "rows.csv", Preset: "generic", ToField: "to", TextField: "text", MessengerType: "sms"}
	with := func(f func(*presetFlags)) presetFlags {
		p := defaults
		f(&p)
		return p
	}
	tests := []struct {
		name string
		args []string
		want presetFlags
	}{
		{
			name: "defaults",
			args: []string{"rows.csv"},
			want: defaults,
		},
		{
			name: "genesys sms against the sandbox",
			args: []string{"rows.csv", "--preset", "genesys", "--from", "+15550000000",
				"--api-url", "http://127.0.0.1:8080", "--login-url", "http://127.0.0.1:8080"},
			want: with(func(p *presetFlags) {
				p.Preset, p.From = "genesys", "+15550000000"
				p.APIURL, p.LoginURL = "http://127.0.0.1:8080", "http://127.0.0.1:8080"
			}),
		},
		{
			name: "genesys region and other columns",
			args: []string{"rows.csv", "--preset=genesys", "--from=+15550000000", "--region", "usw2.pure.cloud",
				"--to-field", "mobile", "--text-field", "message"},
			want: with(func(p *presetFlags) {
				p.Preset, p.From, p.Region = "genesys", "+15550000000", "usw2.pure.cloud"
				p.ToField, p.TextField = "mobile", "message"
			}),
		},
		{
			name: "genesys text template",
			args: []string{"rows.csv", "--preset", "genesys", "--from", "+15550000000", "--text", "Hi {{.name}}, your code is {{.code}}"},
			want: with(func(p *presetFlags) {
				p.Preset, p.From, p.Text = "genesys", "+15550000000", "Hi {{.name}}, your code is {{.code}}"
			}),
		},
		{
			name: "genesys whatsapp template with parameters in order",
			args: []string{"rows.csv", "--preset", "genesys", "--from", "wa-integration", "--messenger-type", "whatsapp",
				"--template-id", "order-ready-v2", "--template-param", "name", "--template-param", "order"},
			want: with(func(p *presetFlags) {
				p.Preset, p.From, p.MessengerType = "genesys", "wa-integration", "whatsapp"
				p.TemplateID, p.TemplateParams = "order-ready-v2", []string{"name", "order"}
			}),
		},
		{
			name: "template parameter with a comma stays one parameter",
			args: []string{"rows.csv", "--preset", "genesys", "--template-id", "t", "--template-param", "a,b"},
			want: with(func(p *presetFlags) {
				p.Preset, p.TemplateID, p.TemplateParams = "genesys", "t", []string{"a,b"}
			}),
		},
		{
			name: "twilio from a number",
			args: []string{"rows.csv", "--preset", "twilio", "--from", "+15550000000", "--api-url", "http://127.0.0.1:9"},
			want: with(func(p *presetFlags) {
				p.Preset, p.From, p.APIURL = "twilio", "+15550000000", "http://127.0.0.1:9"
			}),
		},
		{
			name: "twilio messaging service",
			args: []string{"rows.csv", "--preset", "twilio", "--messaging-service", "MG0123456789abcdef0123456789abcdef"},
			want: with(func(p *presetFlags) {
				p.Preset, p.MessagingSvc = "twilio", "MG0123456789abcdef0123456789abcdef"
			}),
		},
		{
			name: "stdin",
			args: []string{"-", "--preset", "twilio"},
			want: with(func(p *presetFlags) { p.Input, p.Preset = "-", "twilio" }),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := TestStreams()
			getenv := func(string) string { return "" }
			var got *SendOptions
			c := NewCmdSend(ios, nil, getenv, func(o *SendOptions) error {
				got = o
				return nil
			})
			c.SetArgs(tt.args)
			c.SetOut(ios.Out)
			c.SetErr(ios.ErrOut)
			if err := c.Execute(); err != nil {
				t.Fatalf("Execute(%q): %v", tt.args, err)
			}
			if got == nil {
				t.Fatal("runF was not called")
			}
			if g := presetFlagsOf(got); !presetFlagsEqual(g, tt.want) {
				t.Errorf("flags %q\n got %+v\nwant %+v", tt.args, g, tt.want)
			}
		})
	}
}

// presetFlagsEqual compares flags, an empty parameter list equal to none.
func presetFlagsEqual(a, b presetFlags) bool {
	ap, bp := a.TemplateParams, b.TemplateParams
	a.TemplateParams, b.TemplateParams = nil, nil
	return reflect.DeepEqual(a, b) && slices.Equal(ap, bp)
}

// TestSendPresetSetup runs `send --dry-run` with each preset: the options and
// the environment become a preset (or a usage error naming what to fix),
// without any network traffic.
func TestSendPresetSetup(t *testing.T) {
	genesysEnv := map[string]string{
		"GENESYSCLOUD_OAUTHCLIENT_ID":     "client-id-1",
		"GENESYSCLOUD_OAUTHCLIENT_SECRET": "genesys-s3cret-value",
	}
	twilioEnv := map[string]string{
		"TWILIO_ACCOUNT_SID": "AC0123",
		"TWILIO_AUTH_TOKEN":  "twilio-t0ken-value",
	}
	withEnv := func(base map[string]string, k, v string) map[string]string {
		m := map[string]string{k: v}
		for bk, bv := range base {
			if bk != k {
				m[bk] = bv
			}
		}
		return m
	}
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		wantOut  string // in stdout (the rendered request)
		wantErr  string // in stderr
	}{
		{
			name:    "genesys region from the environment",
			args:    []string{"--preset", "genesys", "--from", "+15550000000"},
			env:     withEnv(genesysEnv, "GENESYSCLOUD_REGION", "usw2.pure.cloud"),
			wantOut: "POST https://api.usw2.pure.cloud/api/v2/conversations/messages/agentless\n",
		},
		{
			name:    "genesys --region overrides the environment and takes AWS names",
			args:    []string{"--preset", "genesys", "--from", "+15550000000", "--region", "eu-west-1"},
			env:     withEnv(genesysEnv, "GENESYSCLOUD_REGION", "usw2.pure.cloud"),
			wantOut: "POST https://api.mypurecloud.ie/api/v2/conversations/messages/agentless\n",
		},
		{
			name:    "genesys --api-url wins over the region",
			args:    []string{"--preset", "genesys", "--from", "+15550000000", "--api-url", "http://127.0.0.1:1", "--login-url", "http://127.0.0.1:1"},
			env:     withEnv(genesysEnv, "GENESYSCLOUD_REGION", "mypurecloud.com"),
			wantOut: "POST http://127.0.0.1:1/api/v2/conversations/messages/agentless\n",
		},
		{
			name:    "genesys body from --text-field and --to-field",
			args:    []string{"--preset", "genesys", "--from", "+15550000000", "--region", "mypurecloud.com", "--to-field", "mobile", "--text-field", "msg"},
			env:     genesysEnv,
			wantOut: `{"fromAddress":"+15550000000","toAddress":"+15550000009","toAddressMessengerType":"sms","textBody":"hello"}`,
		},
		{
			name:     "genesys without credentials",
			args:     []string{"--preset", "genesys", "--from", "+15550000000", "--region", "mypurecloud.com"},
			env:      map[string]string{"GENESYSCLOUD_OAUTHCLIENT_ID": "client-id-1"},
			wantCode: ExitUsage,
			wantErr:  "set GENESYSCLOUD_OAUTHCLIENT_ID and GENESYSCLOUD_OAUTHCLIENT_SECRET",
		},
		{
			name:     "genesys without --from",
			args:     []string{"--preset", "genesys", "--region", "mypurecloud.com"},
			env:      genesysEnv,
			wantCode: ExitUsage,
			wantErr:  "fromAddress required (--from)",
		},
		{
			name:     "genesys without a region",
			args:     []string{"--preset", "genesys", "--from", "+15550000000"},
			env:      genesysEnv,
			wantCode: ExitUsage,
			wantErr:  "set GENESYSCLOUD_REGION or --region",
		},
		{
			name:     "genesys unknown region",
			args:     []string{"--preset", "genesys", "--from", "+15550000000", "--region", "mars-1"},
			env:      genesysEnv,
			wantCode: ExitUsage,
			wantErr:  `unknown region "mars-1"`,
		},
		{
			name:     "genesys unknown messenger type",
			args:     []string{"--preset", "genesys", "--from", "+15550000000", "--region", "mypurecloud.com", "--messenger-type", "fax"},
			env:      genesysEnv,
			wantCode: ExitUsage,
			wantErr:  `unknown messenger type "fax"`,
		},
		{
			name:    "twilio",
			args:    []string{"--preset", "twilio", "--from", "+15550000000", "--to-field", "mobile", "--text", "Hi {{.name}}"},
			env:     twilioEnv,
			wantOut: "POST https://api.twilio.com/2010-04-01/Accounts/AC0123/Messages.json\n",
		},
		{
			name:    "twilio messaging service",
			args:    []string{"--preset", "twilio", "--messaging-service", "MG42", "--to-field", "mobile", "--text-field", "msg"},
			env:     twilioEnv,
			wantOut: "To=%2B15550000009&MessagingServiceSid=MG42&Body=hello\n",
		},
		{
			name:     "twilio without credentials",
			args:     []string{"--preset", "twilio", "--from", "+15550000000"},
			env:      map[string]string{"TWILIO_ACCOUNT_SID": "AC0123"},
			wantCode: ExitUsage,
			wantErr:  "set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN",
		},
		{
			name:    "twilio with both --from and --messaging-service",
			args:    []string{"--preset", "twilio", "--from", "+15550000000", "--messaging-service", "MG42"},
			env:     twilioEnv,
			wantOut: "To=%2B15550000001&From=%2B15550000000&MessagingServiceSid=MG42&Body=hi",
		},
		{
			name:     "twilio with neither --from nor --messaging-service",
			args:     []string{"--preset", "twilio"},
			env:      twilioEnv,
			wantCode: ExitUsage,
			wantErr:  "set --from, --messaging-service or both",
		},
		{
			name:     "unknown preset",
			args:     []string{"--preset", "sendgrid"},
			wantCode: ExitUsage,
			wantErr:  `--preset "sendgrid": use generic, genesys or twilio`,
		},
	}
	// The default columns and the ones the --to-field/--text-field cases name
	// differ, so those cases show the flags took effect.
	const rows = "id,to,mobile,name,text,msg\n1,+15550000001,+15550000009,Zoë,hi,hello\n"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, in, out, errOut := TestStreams()
			in.WriteString(rows)
			args := append([]string{"send", "-", "--dry-run"}, tt.args...)
			code := run(context.Background(), ios, args, nil, func(k string) string { return tt.env[k] })
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, tt.wantCode, errOut)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("stdout does not contain %q:\n%s", tt.wantOut, out)
			}
			if !strings.Contains(errOut.String(), tt.wantErr) {
				t.Errorf("stderr does not contain %q:\n%s", tt.wantErr, errOut)
			}
			if code == ExitOK && !strings.Contains(out.String(), "\nAuthorization: *** (added when sending)\n") {
				t.Errorf("dry run does not show the masked Authorization header:\n%s", out)
			}
			for _, secret := range []string{"genesys-s3cret-value", "twilio-t0ken-value"} {
				if strings.Contains(out.String()+errOut.String(), secret) {
					t.Errorf("output shows the secret %q:\nstdout:\n%s\nstderr:\n%s", secret, out, errOut)
				}
			}
		})
	}
}

// TestSendPresetMessageID sends through the sandbox and checks that each
// report row's message_id is the id the vendor answered for that very row
// (Genesys's "conversationId/id", the pair its status lookup needs;
// Twilio's "sid").
func TestSendPresetMessageID(t *testing.T) {
	_, base := sandboxtest.Start(t, sandbox.Config{})
	env := map[string]string{
		"GENESYSCLOUD_OAUTHCLIENT_ID":     sandbox.DefaultClientID,
		"GENESYSCLOUD_OAUTHCLIENT_SECRET": sandbox.DefaultClientSecret,
		"TWILIO_ACCOUNT_SID":              sandbox.DefaultAccountSID,
		"TWILIO_AUTH_TOKEN":               sandbox.DefaultAuthToken,
	}
	tests := []struct {
		name   string
		args   []string
		status string
		idKey  *regexp.Regexp // the id in the response column, or "" when the cut leaves it out
		idForm *regexp.Regexp // the message id's form, when the response does not show it
	}{
		{
			name:   "genesys",
			args:   []string{"--preset", "genesys", "--from", "+15550000000", "--api-url", base, "--login-url", base},
			status: "202",
			idKey:  regexp.MustCompile(`^\{"id":"([0-9a-f-]{36})","conversationId":"([0-9a-f-]{36})"`),
		},
		{
			name:   "twilio",
			args:   []string{"--preset", "twilio", "--from", "+15550000000", "--api-url", base},
			status: "201",
			// Twilio's sid is the 16th key, past the report's cut of the
			// response; the start shows the published shape.
			idKey:  regexp.MustCompile(`^\{"account_sid":"ACsandbox","api_version":"2010-04-01",()`),
			idForm: regexp.MustCompile(`^SM[0-9a-f]{32}$`),
		},
	}
	const n = 5
	var input strings.Builder
	input.WriteString("id,to,text\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&input, "r%d,+1555000000%d,hello %d\n", i, i, i)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reportPath := filepath.Join(t.TempDir(), "report.csv")
			ios, in, _, errOut := TestStreams()
			in.WriteString(input.String())
			args := append([]string{"send", "-", "--quiet", "--report", reportPath}, tt.args...)
			if code := run(context.Background(), ios, args, nil, func(k string) string { return env[k] }); code != ExitOK {
				t.Fatalf("exit code %d; stderr:\n%s", code, errOut)
			}
			f, err := os.Open(reportPath)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			recs, err := csv.NewReader(f).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != n+1 {
				t.Fatalf("report has %d rows, want %d", len(recs)-1, n)
			}
			col := map[string]int{}
			for i, h := range recs[0] {
				col[h] = i
			}
			seen := map[string]bool{}
			for _, r := range recs[1:] {
				if r[col["status"]] != "sent" || r[col["http_status"]] != tt.status {
					t.Errorf("row %s: status %s %s, want sent %s", r[col["id"]], r[col["status"]], r[col["http_status"]], tt.status)
				}
				m := tt.idKey.FindStringSubmatch(r[col["response"]])
				if m == nil {
					t.Fatalf("row %s: no vendor id in response %q", r[col["id"]], r[col["response"]])
				}
				got := r[col["message_id"]]
				switch {
				case tt.idForm != nil && !tt.idForm.MatchString(got):
					t.Errorf("row %s: message_id %q, want one like %s", r[col["id"]], got, tt.idForm)
				case tt.idForm == nil && got != m[len(m)-1]+"/"+m[1]:
					t.Errorf("row %s: message_id %q, want the response's %q/%q", r[col["id"]], got, m[len(m)-1], m[1])
				}
				if seen[got] {
					t.Errorf("row %s: message id %s seen twice", r[col["id"]], got)
				}
				seen[got] = true
			}
		})
	}
}

// TestSendVendorFlags: the Genesys template, Twilio message and pricing
// flags reach SendOptions as given, repeatable ones in order.
func TestSendVendorFlags(t *testing.T) {
	type vendorFlags struct {
		BodyParams, HeaderParams, ButtonURLParams []string
		UseExistingConversation                   bool
		MediaURLFields, ContentVariables          []string
		ContentSID, StatusCallback                string
		ValidityPeriod                            time.Duration
		PricePerSegment                           float64
	}
	tests := []struct {
		name string
		args []string
		want vendorFlags
	}{
		{name: "defaults", args: []string{"rows.csv"}},
		{
			name: "genesys template parameters",
			args: []string{"rows.csv", "--body-param", "1=name", "--body-param", "2=order", "--header-param", "1=order",
				"--button-url-param", "1=track", "--use-existing-conversation"},
			want: vendorFlags{BodyParams: []string{"1=name", "2=order"}, HeaderParams: []string{"1=order"},
				ButtonURLParams: []string{"1=track"}, UseExistingConversation: true},
		},
		{
			name: "twilio message parameters and a price",
			args: []string{"rows.csv", "--media-url-field", "img", "--media-url-field", "pdf", "--content-sid", "HX1",
				"--content-variable", "1=name", "--status-callback", "https://h.test/s", "--validity-period", "90s",
				"--price-per-segment", "0.0079"},
			want: vendorFlags{MediaURLFields: []string{"img", "pdf"}, ContentSID: "HX1", ContentVariables: []string{"1=name"},
				StatusCallback: "https://h.test/s", ValidityPeriod: 90 * time.Second, PricePerSegment: 0.0079},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := TestStreams()
			var o *SendOptions
			c := NewCmdSend(ios, nil, func(string) string { return "" }, func(got *SendOptions) error {
				o = got
				return nil
			})
			c.SetArgs(tt.args)
			c.SetOut(ios.Out)
			c.SetErr(ios.ErrOut)
			if err := c.Execute(); err != nil || o == nil {
				t.Fatalf("Execute(%q): %v", tt.args, err)
			}
			got := vendorFlags{o.BodyParams, o.HeaderParams, o.ButtonURLParams, o.UseExistingConversation,
				o.MediaURLFields, o.ContentVariables, o.ContentSID, o.StatusCallback, o.ValidityPeriod, o.PricePerSegment}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
