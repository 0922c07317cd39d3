package preset

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bulksend/bulksend/segments"
	"github.com/bulksend/bulksend/sender"
)

// DefaultTwilioAPIURL is Twilio's REST API.
const DefaultTwilioAPIURL = "https://api.twilio.com"

// Twilio's limits on a message, from its OpenAPI description.
const (
	// TwilioMaxBody is the longest Body, in characters (UTF-16 code units).
	TwilioMaxBody = 1600
	// TwilioMaxMedia is the most MediaUrl parameters a message takes.
	TwilioMaxMedia = 10
	// TwilioMaxValidity is the longest ValidityPeriod.
	TwilioMaxValidity = 36000 * time.Second
)

// TwilioConfig configures the Twilio Programmable Messaging preset.
type TwilioConfig struct {
	// Source names the input in invalid-row reasons; "" means DefaultSource.
	Source string
	// IDField names the id column; "" means "id" when present, else the line.
	IDField string
	// From is the sender (a number, short code, alphanumeric id or channel
	// address) and MessagingService a Messaging Service SID (MG...), sent as
	// MessagingServiceSid. At least one is required; with both, Twilio
	// sends from From, which must be in the service's sender pool.
	From             string
	MessagingService string
	// ToField names the recipient column; "" means "to".
	ToField string
	// TextField names the message text column; "" means "text".
	TextField string
	// Text is a template for the text; it overrides TextField when set.
	Text string
	// MediaURLFields name columns holding media URLs, each sent as a
	// MediaUrl (MMS); an empty value adds none. A row with media may have
	// no text.
	MediaURLFields []string
	// ContentSID is a Content Template (HX...); with it no Body is sent
	// unless Text is set, and ContentVariables fill the template.
	ContentSID       string
	ContentVariables []ContentVariable
	// StatusCallback is the URL Twilio posts the message's status changes to.
	StatusCallback string
	// ValidityPeriod, when set, is how long the message may wait in
	// Twilio's queue before it is dropped: whole seconds up to 10 hours.
	ValidityPeriod time.Duration
	// APIURL overrides DefaultTwilioAPIURL (the sandbox).
	APIURL string
	// AccountSID names the account in the URL. The Basic auth credential
	// is AccountSID with AuthToken or, when both are set, APIKey (SK...)
	// with APISecret.
	AccountSID, AuthToken string
	APIKey, APISecret     string
}

// ContentVariable is one variable of a content template: its name in the
// template ("1", "name") and the column its value comes from.
type ContentVariable struct {
	Name, Column string
}

// ParseContentVariable reads "NAME=COLUMN".
func ParseContentVariable(s string) (ContentVariable, error) {
	name, col, ok := strings.Cut(s, "=")
	if !ok || name == "" || col == "" {
		return ContentVariable{}, fmt.Errorf("content variable %q: want NAME=COLUMN", s)
	}
	return ContentVariable{Name: name, Column: col}, nil
}

var twilioIDKeys = []string{"sid"}

// twilio is the Builder behind NewTwilio.
type twilio struct {
	rows
	url        string
	from       string // "&From=...&MessagingServiceSid=...", encoded once
	toField    string
	textField  string
	text       *tmpl
	media      []string
	content    bool   // a content template: the text is optional
	contentSID string // "&ContentSid=...", encoded once
	variables  []ContentVariable
	tail       string // "&StatusCallback=...&ValidityPeriod=...", encoded once
	lookup     *twilioLookup
}

// NewTwilio builds the Twilio preset: a form POST per row to the account's
// Messages resource, with Basic auth added by Wrap.
func NewTwilio(cfg TwilioConfig) (*Preset, error) {
	user, secret, err := twilioCredentials(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.From == "" && cfg.MessagingService == "" {
		return nil, errors.New("twilio: set --from, --messaging-service or both")
	}
	api := cmp.Or(cfg.APIURL, DefaultTwilioAPIURL)
	if err := checkURL(api); err != nil {
		return nil, fmt.Errorf("twilio: %w", err)
	}
	base, path := strings.TrimRight(api, "/"), "/2010-04-01/Accounts/"+url.PathEscape(cfg.AccountSID)+"/Messages.json"
	t := &twilio{
		rows:      newRows(cfg.Source, cfg.IDField),
		url:       base + path,
		lookup:    newTwilioLookup(base, path, cfg.From, cfg.MessagingService),
		toField:   cmp.Or(cfg.ToField, "to"),
		textField: cmp.Or(cfg.TextField, "text"),
		media:     cfg.MediaURLFields,
		content:   cfg.ContentSID != "",
		variables: cfg.ContentVariables,
	}
	if t.from, t.tail, err = twilioFixed(cfg); err != nil {
		return nil, err
	}
	if t.content {
		t.contentSID = "&ContentSid=" + url.QueryEscape(cfg.ContentSID)
	}
	if cfg.Text != "" {
		if t.text, err = parseTemplate("--text", cfg.Text, textFuncs); err != nil {
			return nil, fmt.Errorf("twilio: %w", err)
		}
	}
	who := "account"
	if user != cfg.AccountSID {
		who = "API key"
	}
	var claim func(string)
	wrap := basicAuth(user, secret)
	if t.lookup != nil {
		claim = t.lookup.claimEarlier
		auth := wrap
		wrap = func(base http.RoundTripper) http.RoundTripper { return auth(t.lookup.transport(base)) }
	}
	return &Preset{
		Builder:     t,
		Claim:       claim,
		NoKeyHeader: true, // Messages create documents no idempotency header
		Wrap:        wrap,
		ParseResponse: func(status int, body []byte) (string, string) {
			id, errText := parseResponse(status, body, twilioIDKeys)
			if status == http.StatusCreated && id != "" {
				t.lookup.answered(id) // another row's: never a lookup's find
			}
			return id, errText
		},
		Secrets:  basicSecrets(user, secret),
		Describe: fmt.Sprintf("POST %s, form, Basic auth as the %s", t.url, who),
		SMS:      twilioSMS,
	}, nil
}

// twilioSMS counts a Twilio message's segments from the form Build made. A
// channel address (whatsapp:+1...), media or a content template make it
// something other than an SMS.
func twilioSMS(m *sender.Message) (segments.Count, bool) {
	form, err := url.ParseQuery(string(m.Body))
	if err != nil || strings.Contains(form.Get("To"), ":") || form.Has("MediaUrl") || form.Has("ContentSid") {
		return segments.Count{}, false
	}
	return segments.Of(form.Get("Body")), true
}

// basicAuth is a Wrap that adds Basic auth to every request.
func basicAuth(user, secret string) func(http.RoundTripper) http.RoundTripper {
	return func(base http.RoundTripper) http.RoundTripper {
		if base == nil {
			base = http.DefaultTransport
		}
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			r := req.Clone(req.Context())
			r.SetBasicAuth(user, secret)
			return base.RoundTrip(r)
		})
	}
}

// twilioCredentials picks the Basic auth credential: an API key when one
// is given, else the account's auth token.
func twilioCredentials(cfg TwilioConfig) (user, secret string, err error) {
	switch {
	case cfg.AccountSID == "":
		return "", "", errors.New("twilio: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and TWILIO_API_SECRET)")
	case (cfg.APIKey == "") != (cfg.APISecret == ""):
		return "", "", errors.New("twilio: set both TWILIO_API_KEY and TWILIO_API_SECRET, or neither")
	case cfg.APIKey != "":
		return cfg.APIKey, cfg.APISecret, nil
	case cfg.AuthToken == "":
		return "", "", errors.New("twilio: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and TWILIO_API_SECRET)")
	}
	return cfg.AccountSID, cfg.AuthToken, nil
}

// twilioFixed checks and encodes the parameters every row sends alike: the
// sender, and the status callback and validity period.
func twilioFixed(cfg TwilioConfig) (from, tail string, err error) {
	if cfg.From != "" {
		from = "&From=" + url.QueryEscape(cfg.From)
	}
	if cfg.MessagingService != "" {
		from += "&MessagingServiceSid=" + url.QueryEscape(cfg.MessagingService)
	}
	if cfg.StatusCallback != "" {
		if err := checkURL(cfg.StatusCallback); err != nil {
			return "", "", fmt.Errorf("twilio: status callback: %w", err)
		}
		tail += "&StatusCallback=" + url.QueryEscape(cfg.StatusCallback)
	}
	if v := cfg.ValidityPeriod; v != 0 {
		if v < time.Second || v > TwilioMaxValidity || v%time.Second != 0 {
			return "", "", fmt.Errorf("twilio: validity period %s: want whole seconds from 1s to %s", v, TwilioMaxValidity)
		}
		tail += "&ValidityPeriod=" + strconv.FormatInt(int64(v/time.Second), 10)
	}
	if cfg.ContentSID == "" && len(cfg.ContentVariables) > 0 {
		return "", "", errors.New("twilio: content variables need a content template (--content-sid)")
	}
	return from, tail, nil
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
	media, err := t.mediaOf(row)
	if err != nil {
		return t.invalid(m, err)
	}
	text, err := t.textOf(row, len(media) > 0)
	if err != nil {
		return t.invalid(m, err)
	}
	if n := segments.UTF16Len(text); n > TwilioMaxBody {
		return t.invalid(m, fmt.Errorf("text is %d characters, more than the %d Twilio allows", n, TwilioMaxBody))
	}
	escTo := url.QueryEscape(to) // the form's and the lookup's
	body := make([]byte, 0, 64+len(escTo)+len(t.from)+len(text)+len(t.tail))
	body = append(append(body, "To="...), escTo...)
	body = append(body, t.from...)
	if text != "" {
		body = append(append(body, "&Body="...), url.QueryEscape(text)...)
	}
	for _, u := range media {
		body = append(append(body, "&MediaUrl="...), url.QueryEscape(u)...)
	}
	if t.content {
		body = append(body, t.contentSID...)
		if len(t.variables) > 0 {
			vars, err := t.variablesOf(row)
			if err != nil {
				return t.invalid(m, err)
			}
			body = append(append(body, "&ContentVariables="...), url.QueryEscape(vars)...)
		}
	}
	body = append(body, t.tail...)

	if len(media) == 0 && !t.content && !strings.Contains(to, ":") {
		m.Segments = segments.Of(text).Segments // an SMS: twilioSMS agrees
	}
	m.Method = http.MethodPost
	m.URL = t.url
	m.Header = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	m.Body = body
	m.Fingerprint = sender.Fingerprint(m, nil)
	m.IdempotencyKey = sender.KeyOf(m.Fingerprint)
	if text != "" && !t.content {
		// A content template's body is Twilio's rendering, which the row
		// does not know, and a message without text cannot be told from
		// another: such rows are not looked up, and end unknown when
		// their request may have arrived.
		m.Lookup = t.lookup.lookup(to, escTo, text)
	}
	return m
}

// textOf returns the row's text. It is required unless the message has
// media or a content template to stand for it.
func (t *twilio) textOf(row sender.Row, hasMedia bool) (string, error) {
	if t.text != nil {
		return textOf(row, t.text, t.textField)
	}
	if t.content {
		return "", nil // the template is the content; --text adds a Body
	}
	if hasMedia {
		return row.Fields[t.textField], nil
	}
	return column(row, t.textField)
}

// mediaOf returns the row's media URLs, checked: Twilio fetches each, so
// each must be an absolute http(s) URL.
func (t *twilio) mediaOf(row sender.Row) ([]string, error) {
	var media []string
	for _, f := range t.media {
		v, ok := row.Fields[f]
		if !ok {
			return nil, fmt.Errorf("column %q: missing", f)
		}
		if v == "" {
			continue
		}
		if err := checkURL(v); err != nil {
			return nil, fmt.Errorf("column %q: media %w", f, err)
		}
		media = append(media, v)
	}
	if len(media) > TwilioMaxMedia {
		return nil, fmt.Errorf("%d media URLs, more than the %d Twilio allows", len(media), TwilioMaxMedia)
	}
	return media, nil
}

// variablesOf renders the row's ContentVariables: a JSON object of strings.
func (t *twilio) variablesOf(row sender.Row) (string, error) {
	vars := make(map[string]string, len(t.variables))
	for _, v := range t.variables {
		val, err := column(row, v.Column)
		if err != nil {
			return "", err
		}
		vars[v.Name] = val
	}
	b, err := json.Marshal(vars)
	if err != nil {
		return "", fmt.Errorf("content variables: %w", err)
	}
	return string(b), nil
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

// RoundTrip implements http.RoundTripper.
func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
