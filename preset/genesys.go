package preset

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/bulksend/bulksend/segments"
	"github.com/bulksend/bulksend/sender"
)

// GenesysConfig configures the Genesys Cloud agentless messaging preset.
type GenesysConfig struct {
	// Source names the input in invalid-row reasons; "" means DefaultSource.
	Source string
	// IDField names the id column; "" means "id" when present, else the line.
	IDField string
	// From is the fromAddress: the SMS number or the WhatsApp/open
	// integration id. Required.
	From string
	// ToField names the recipient column; "" means "to".
	ToField string
	// TextField names the message text column; "" means "text".
	TextField string
	// Text is a template for the text; it overrides TextField when set.
	Text string
	// MessengerType is the toAddressMessengerType: sms (default), whatsapp
	// or open.
	MessengerType string
	// TemplateID is a messagingTemplate.responseId (a Response Management
	// response); when set the body carries messagingTemplate instead of
	// textBody. WhatsApp requires one; SMS takes none.
	TemplateID string
	// TemplateParams lists columns whose values become the template's body
	// parameters, each as {"id": column, "value": value}, before
	// BodyParams. (The API's "parameters" field they once filled is
	// deprecated in favour of bodyParameters.)
	TemplateParams []string
	// BodyParams, HeaderParams and ButtonURLParams fill the template's
	// bodyParameters, headerParameters and buttonUrlParameters, in order,
	// each from a column.
	BodyParams, HeaderParams, ButtonURLParams []TemplateParam
	// UseExistingConversation sends useExistingActiveConversation, so a
	// recipient already in an active conversation gets the message there
	// instead of the send failing.
	UseExistingConversation bool
	// Region is the org's Genesys Cloud domain (mypurecloud.com,
	// usw2.pure.cloud, ...) or its AWS name (us-east-1, us-west-2, ...).
	Region string
	// APIURL and LoginURL override the hosts derived from Region (the
	// sandbox, a proxy, a region not known here).
	APIURL, LoginURL string
	// ClientID and ClientSecret are the OAuth client-credentials grant.
	ClientID, ClientSecret string
	// HTTPClient sends the token requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Now is the clock for token expiry; nil means time.Now.
	Now func() time.Time
}

// genesysRegions maps each AWS region Genesys Cloud runs in to its domain;
// users know one or the other (the Terraform provider and CLI use both).
// The list is the SDKs' (platform-client-sdk-go configuration.go, 17 regions).
var genesysRegions = map[string]string{
	"us-east-1":      "mypurecloud.com",
	"us-east-2":      "use2.us-gov-pure.cloud",
	"us-west-2":      "usw2.pure.cloud",
	"ca-central-1":   "cac1.pure.cloud",
	"sa-east-1":      "sae1.pure.cloud",
	"eu-central-1":   "mypurecloud.de",
	"eu-central-2":   "euc2.pure.cloud",
	"eu-west-1":      "mypurecloud.ie",
	"eu-west-2":      "euw2.pure.cloud",
	"me-central-1":   "mec1.pure.cloud",
	"ap-south-1":     "aps1.pure.cloud",
	"ap-northeast-1": "mypurecloud.jp",
	"ap-northeast-2": "apne2.pure.cloud",
	"ap-northeast-3": "apne3.pure.cloud",
	"ap-southeast-2": "mypurecloud.com.au",
	"ap-southeast-1": "apse1.pure.cloud",
	"mx-central-1":   "mxc1.pure.cloud",
}

// TemplateParam is one substitution of a messaging template: its id in the
// template and the column its value comes from.
type TemplateParam struct {
	ID, Column string
}

// ParseTemplateParam reads "ID=COLUMN", or "COLUMN" alone for a
// substitution named like its column.
func ParseTemplateParam(s string) (TemplateParam, error) {
	id, col, ok := strings.Cut(s, "=")
	if !ok {
		col = id
	}
	if id == "" || col == "" {
		return TemplateParam{}, fmt.Errorf("template parameter %q: want ID=COLUMN", s)
	}
	return TemplateParam{ID: id, Column: col}, nil
}

// Genesys's limits on textBody, in characters (UTF-16 code units, as its
// Java services count them).
const (
	GenesysMaxSMS   = 765
	GenesysMaxOther = 2000
)

// genesysMessengerTypes are the toAddressMessengerType values the agentless
// API accepts.
var genesysMessengerTypes = []string{"sms", "whatsapp", "open"}

var genesysIDKeys = []string{"id", "conversationId"}

// genesysParseResponse reads the agentless answer. Its message id is
// "conversationId/id": Genesys finds a message's status only under its
// conversation (GET /api/v2/conversations/messages/{conversationId}/
// messages/{messageId}), so `bulksend status` needs both. An answer with
// only one of them gives that one.
func genesysParseResponse(status int, body []byte) (messageID, errText string) {
	id, errText := parseResponse(status, body, genesysIDKeys[:1])
	if status < 200 || status >= 300 {
		return id, errText
	}
	conv, _ := parseResponse(status, body, genesysIDKeys[1:])
	if id == "" || conv == "" {
		return cmp.Or(id, conv), ""
	}
	return conv + "/" + id, ""
}

// newGenesysTokens is the token source of the org's login host.
func newGenesysTokens(cfg GenesysConfig, login string) *TokenSource {
	ts := &TokenSource{
		url:    login + "/oauth/token",
		id:     cfg.ClientID,
		secret: cfg.ClientSecret,
		client: cfg.HTTPClient,
		now:    cfg.Now,
	}
	if ts.client == nil {
		ts.client = http.DefaultClient
	}
	if ts.now == nil {
		ts.now = time.Now
	}
	return ts
}

// wrap adds the bearer token to every request of base.
func (ts *TokenSource) wrap(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &bearerTransport{ts: ts, base: base}
}

// genesys is the Builder behind NewGenesys. The fixed parts of the body are
// encoded once so Build only appends the row's values.
type genesys struct {
	rows
	url       string
	toField   string
	textField string
	whatsapp  bool // the address is a WhatsApp id: digits, no +
	maxText   int
	text      *tmpl  // nil: the text comes from textField
	head      []byte // {"fromAddress":...,"toAddress":
	mid       []byte // ,"toAddressMessengerType":...,
	template  []byte // "messagingTemplate":{"responseId":... ; nil: textBody
	groups    []paramGroup
	tail      []byte // ,"useExistingActiveConversation":true or nothing
}

// paramGroup is one of the template's parameter lists.
type paramGroup struct {
	head   string // ,"bodyParameters":[
	params []TemplateParam
}

// NewGenesys builds the Genesys Cloud agentless messaging preset and the
// token source behind its transport (the caller may report Fetched).
func NewGenesys(cfg GenesysConfig) (*Preset, *TokenSource, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, nil, errors.New("genesys: set GENESYSCLOUD_OAUTHCLIENT_ID and GENESYSCLOUD_OAUTHCLIENT_SECRET")
	}
	if cfg.From == "" {
		return nil, nil, errors.New("genesys: fromAddress required (--from)")
	}
	messenger, err := genesysMessenger(cfg)
	if err != nil {
		return nil, nil, err
	}
	api, login, err := genesysHosts(cfg)
	if err != nil {
		return nil, nil, err
	}

	g := &genesys{
		rows:      newRows(cfg.Source, cfg.IDField),
		url:       api + "/api/v2/conversations/messages/agentless",
		toField:   cmp.Or(cfg.ToField, "to"),
		textField: cmp.Or(cfg.TextField, "text"),
		whatsapp:  messenger == "whatsapp",
		maxText:   GenesysMaxOther,
	}
	if messenger == "sms" {
		g.maxText = GenesysMaxSMS
	}
	if cfg.Text != "" {
		if g.text, err = parseTemplate("--text", cfg.Text, textFuncs); err != nil {
			return nil, nil, fmt.Errorf("genesys: %w", err)
		}
	}
	g.head = appendJSONString([]byte(`{"fromAddress":`), cfg.From)
	g.head = append(g.head, `,"toAddress":`...)
	g.mid = appendJSONString([]byte(`,"toAddressMessengerType":`), messenger)
	g.mid = append(g.mid, ',')
	if cfg.TemplateID != "" {
		g.setTemplate(cfg)
	}
	if cfg.UseExistingConversation {
		g.tail = []byte(`,"useExistingActiveConversation":true`)
	}

	ts := newGenesysTokens(cfg, login)
	var sms func(*sender.Message) (segments.Count, bool)
	if messenger == "sms" {
		sms = genesysSMS
	}
	p := &Preset{
		SMS:           sms,
		Builder:       g,
		NoKeyHeader:   true, // the agentless call takes auth, content type and one query flag
		Wrap:          ts.wrap,
		ParseResponse: genesysParseResponse,
		Secrets:       basicSecrets(cfg.ClientID, cfg.ClientSecret),
		Describe:      fmt.Sprintf("POST %s, OAuth client credentials from %s", g.url, ts.url),
	}
	return p, ts, nil
}

// genesysMessenger returns the messenger type, checked with the rules the
// SDK models document: WhatsApp needs a messaging template, SMS takes text.
func genesysMessenger(cfg GenesysConfig) (string, error) {
	messenger := strings.ToLower(cfg.MessengerType)
	if messenger == "" {
		messenger = "sms"
	}
	if !slices.Contains(genesysMessengerTypes, messenger) {
		return "", fmt.Errorf("genesys: unknown messenger type %q (want %s)", cfg.MessengerType, strings.Join(genesysMessengerTypes, ", "))
	}
	hasParams := len(cfg.TemplateParams)+len(cfg.BodyParams)+len(cfg.HeaderParams)+len(cfg.ButtonURLParams) > 0
	switch {
	case cfg.TemplateID == "" && hasParams:
		return "", errors.New("genesys: template parameters need a messaging template id")
	case messenger == "whatsapp" && cfg.TemplateID == "":
		return "", errors.New("genesys: the whatsapp messenger type needs a messaging template (--template-id)")
	case messenger == "sms" && cfg.TemplateID != "":
		return "", errors.New("genesys: the sms messenger type sends text, not a messaging template (--template-id is for whatsapp or open)")
	case cfg.TemplateID != "" && cfg.Text != "":
		return "", errors.New("genesys: a messaging template and --text exclude each other")
	}
	return messenger, nil
}

// setTemplate encodes the fixed start of the messagingTemplate and the
// parameter lists that rows fill.
func (g *genesys) setTemplate(cfg GenesysConfig) {
	g.template = appendJSONString([]byte(`"messagingTemplate":{"responseId":`), cfg.TemplateID)
	body := make([]TemplateParam, 0, len(cfg.TemplateParams)+len(cfg.BodyParams))
	for _, c := range cfg.TemplateParams {
		body = append(body, TemplateParam{ID: c, Column: c})
	}
	body = append(body, cfg.BodyParams...)
	// The SDK model's field order.
	for _, grp := range []paramGroup{
		{`,"headerParameters":[`, cfg.HeaderParams},
		{`,"bodyParameters":[`, body},
		{`,"buttonUrlParameters":[`, cfg.ButtonURLParams},
	} {
		if len(grp.params) > 0 {
			g.groups = append(g.groups, grp)
		}
	}
}

// genesysHosts returns the API and login base URLs, without a trailing slash.
func genesysHosts(cfg GenesysConfig) (api, login string, err error) {
	api, login = cfg.APIURL, cfg.LoginURL
	if api == "" || login == "" {
		region := strings.ToLower(strings.TrimSpace(cfg.Region))
		if region == "" {
			return "", "", errors.New("genesys: set GENESYSCLOUD_REGION or --region (e.g. mypurecloud.com), or both --api-url and --login-url")
		}
		domain, ok := genesysRegions[region]
		if !ok {
			domains := slices.Sorted(maps.Values(genesysRegions))
			if !slices.Contains(domains, region) {
				return "", "", fmt.Errorf("genesys: unknown region %q (known: %s, or their AWS names such as us-east-1); use --api-url and --login-url for another",
					cfg.Region, strings.Join(domains, ", "))
			}
			domain = region
		}
		api = cmp.Or(api, "https://api."+domain)
		login = cmp.Or(login, "https://login."+domain)
	}
	for _, u := range []string{api, login} {
		if err := checkURL(u); err != nil {
			return "", "", fmt.Errorf("genesys: %w", err)
		}
	}
	return strings.TrimRight(api, "/"), strings.TrimRight(login, "/"), nil
}

// Build implements sender.Builder.
func (g *genesys) Build(row sender.Row) *sender.Message {
	m, ok := g.start(row)
	if !ok {
		return m
	}
	to, err := column(row, g.toField)
	if err != nil {
		return g.invalid(m, err)
	}
	if g.whatsapp {
		if to, err = whatsAppID(to); err != nil {
			return g.invalid(m, err)
		}
	}
	m.Recipient = to

	var text string
	if g.template == nil {
		if text, err = textOf(row, g.text, g.textField); err != nil {
			return g.invalid(m, err)
		}
		if n := segments.UTF16Len(text); n > g.maxText {
			return g.invalid(m, fmt.Errorf("text is %d characters, more than the %d Genesys allows for this messenger type", n, g.maxText))
		}
	}
	body := make([]byte, 0, len(g.head)+len(to)+len(g.mid)+len(g.template)+len(text)+32)
	body = append(body, g.head...)
	body = appendJSONString(body, to)
	body = append(body, g.mid...)
	if g.template == nil {
		body = append(body, `"textBody":`...)
		body = appendJSONString(body, text)
	} else {
		body = append(body, g.template...)
		for _, grp := range g.groups {
			body = append(body, grp.head...)
			for i, p := range grp.params {
				v, err := column(row, p.Column)
				if err != nil {
					return g.invalid(m, err)
				}
				if i > 0 {
					body = append(body, ',')
				}
				body = appendJSONString(append(body, `{"id":`...), p.ID)
				body = appendJSONString(append(body, `,"value":`...), v)
				body = append(body, '}')
			}
			body = append(body, ']')
		}
		body = append(body, '}')
	}
	body = append(body, g.tail...)
	body = append(body, '}')
	if g.maxText == GenesysMaxSMS {
		m.Segments = segments.Of(text).Segments
	}

	m.Method = http.MethodPost
	m.URL = g.url
	m.Header = http.Header{"Content-Type": {"application/json"}}
	m.Body = body
	m.Fingerprint = sender.Fingerprint(m, nil)
	m.IdempotencyKey = sender.KeyOf(m.Fingerprint)
	return m
}

// genesysSMS counts an SMS agentless message's segments from the body
// Build made.
func genesysSMS(m *sender.Message) (segments.Count, bool) {
	var b struct {
		TextBody string `json:"textBody"`
	}
	if json.Unmarshal(m.Body, &b) != nil {
		return segments.Count{}, false
	}
	return segments.Of(b.TextBody), true
}

// whatsAppID normalises a recipient to a WhatsApp id as the agentless API
// wants it: the phone number's digits without the + of E.164 (+13175555555
// is 13175555555). Anything else is refused rather than guessed at.
func whatsAppID(to string) (string, error) {
	id := strings.TrimPrefix(to, "+")
	if len(id) < 8 || len(id) > 15 || strings.Trim(id, "0123456789") != "" {
		return "", fmt.Errorf("whatsapp address %q: want a phone number, 8 to 15 digits with or without a leading +", to)
	}
	return id, nil
}

// textOf returns the message text: the rendered template when there is one,
// else the required column.
func textOf(row sender.Row, t *tmpl, field string) (string, error) {
	if t == nil {
		return column(row, field)
	}
	s, err := t.render(row.Fields)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", errors.New("--text rendered empty")
	}
	return s, nil
}

// basicSecrets lists a secret and the Basic credential built from it, which
// is just as secret.
func basicSecrets(user, secret string) []string {
	return []string{secret, base64.StdEncoding.EncodeToString([]byte(user + ":" + secret))}
}
