package preset

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/bulksend/bulksend/sender"
)

// DefaultTwilioAPIURL is Twilio's REST API.
const DefaultTwilioAPIURL = "https://api.twilio.com"

// TwilioConfig configures the Twilio Programmable Messaging preset.
type TwilioConfig struct {
	// Source names the input in invalid-row reasons; "" means DefaultSource.
	Source string
	// IDField names the id column; "" means "id" when present, else the line.
	IDField string
	// From is the sender number; exactly one of From and MessagingService
	// is required.
	From string
	// MessagingService is a Messaging Service SID (MG...), sent as
	// MessagingServiceSid.
	MessagingService string
	// ToField names the recipient column; "" means "to".
	ToField string
	// TextField names the message text column; "" means "text".
	TextField string
	// Text is a template for the text; it overrides TextField when set.
	Text string
	// APIURL overrides DefaultTwilioAPIURL (the sandbox).
	APIURL string
	// AccountSID and AuthToken are the Basic auth credentials; the SID is
	// also part of the URL.
	AccountSID, AuthToken string
}

var twilioIDKeys = []string{"sid"}

// twilio is the Builder behind NewTwilio.
type twilio struct {
	rows
	url       string
	from      string // "&From=..." or "&MessagingServiceSid=...", encoded once
	toField   string
	textField string
	text      *tmpl
}

// NewTwilio builds the Twilio preset: a form POST per row to the account's
// Messages resource, with Basic auth added by Wrap.
func NewTwilio(cfg TwilioConfig) (*Preset, error) {
	if cfg.AccountSID == "" || cfg.AuthToken == "" {
		return nil, errors.New("twilio: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
	}
	var from string
	switch {
	case (cfg.From == "") == (cfg.MessagingService == ""):
		return nil, errors.New("twilio: set exactly one of --from and --messaging-service")
	case cfg.From != "":
		from = "&From=" + url.QueryEscape(cfg.From)
	default:
		from = "&MessagingServiceSid=" + url.QueryEscape(cfg.MessagingService)
	}
	api := cmp.Or(cfg.APIURL, DefaultTwilioAPIURL)
	if err := checkURL(api); err != nil {
		return nil, fmt.Errorf("twilio: %w", err)
	}
	t := &twilio{
		rows:      newRows(cfg.Source, cfg.IDField),
		url:       strings.TrimRight(api, "/") + "/2010-04-01/Accounts/" + url.PathEscape(cfg.AccountSID) + "/Messages.json",
		from:      from,
		toField:   cmp.Or(cfg.ToField, "to"),
		textField: cmp.Or(cfg.TextField, "text"),
	}
	if cfg.Text != "" {
		var err error
		if t.text, err = parseTemplate("--text", cfg.Text, textFuncs); err != nil {
			return nil, fmt.Errorf("twilio: %w", err)
		}
	}
	sid, token := cfg.AccountSID, cfg.AuthToken
	return &Preset{
		Builder: t,
		Wrap: func(base http.RoundTripper) http.RoundTripper {
			if base == nil {
				base = http.DefaultTransport
			}
			return roundTripFunc(func(req *http.Request) (*http.Response, error) {
				r := req.Clone(req.Context())
				r.SetBasicAuth(sid, token)
				return base.RoundTrip(r)
			})
		},
		ParseResponse: func(status int, body []byte) (string, string) {
			return parseResponse(status, body, twilioIDKeys)
		},
		Secrets:  basicSecrets(sid, token),
		Describe: fmt.Sprintf("POST %s, form, Basic auth as the account", t.url),
	}, nil
}

// Build implements sender.Builder.
func (t *twilio) Build(row sender.Row) *sender.Message {
	m, ok := t.start(row)
	if !ok {
		return m
	}
	to, err := column(row, t.toField)
	if err != nil {
		return t.invalid(m, err)
	}
	m.Recipient = to
	text, err := textOf(row, t.text, t.textField)
	if err != nil {
		return t.invalid(m, err)
	}
	to, text = url.QueryEscape(to), url.QueryEscape(text)
	body := make([]byte, 0, len("To=")+len(to)+len(t.from)+len("&Body=")+len(text))
	body = append(body, "To="...)
	body = append(body, to...)
	body = append(body, t.from...)
	body = append(body, "&Body="...)
	body = append(body, text...)

	m.Method = http.MethodPost
	m.URL = t.url
	m.Header = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	m.Body = body
	m.IdempotencyKey = sender.IdempotencyKey(m.ID, body)
	return m
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

// RoundTrip implements http.RoundTripper.
func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
