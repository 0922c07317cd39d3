package preset

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/bulksend/bulksend/sender"
)

// GenericConfig describes a request as templates over the row's fields. The
// zero value of every optional field is a sensible default.
type GenericConfig struct {
	// Source names the input in invalid-row reasons ("recipients.csv",
	// "stdin"); "" means DefaultSource.
	Source string
	// URL is a Go text/template; it must render to an absolute http(s) URL.
	URL string
	// Method defaults to POST.
	Method string
	// Headers are "Name: value-template" lines; the value is rendered per row.
	Headers []string
	// Body is template text; "" sends no body.
	Body string
	// BodyName says where Body came from ("--body" or the file path) so
	// parse errors point there; "" means "--body".
	BodyName string
	// IDField names the id column; "" means "id" when present, else the line.
	IDField string
	// RecipientField, when set, names the column that keys the engine's
	// per-recipient interval; a row without it is invalid.
	RecipientField string
	// LookupURL, when set, is a template like URL: the address that says
	// whether the row's message exists (a 2xx with a body yes, 404 no), asked with
	// LookupMethod (default GET) and the same headers as the send.
	LookupURL    string
	LookupMethod string
	// Env backs the templates' env function; nil makes env return "".
	Env func(string) string
	// SecretHeaders name headers whose values are credentials, besides
	// Authorization: they stay out of the row's fingerprint, so a rotated
	// secret does not make the row look changed.
	SecretHeaders []string
}

// generic is the Builder behind NewGeneric.
type generic struct {
	rows
	method         string
	url            *tmpl
	lookup         *tmpl // nil: no lookup
	lookupMethod   string
	headers        []genericHeader
	body           *tmpl // nil: no body
	bodyHint       int   // initial capacity for the rendered body
	recipientField string
	secrets        []string
	secretHeaders  map[string]bool // canonical names, out of the fingerprint
	fields         []string        // the row fields the templates read (see Columns)
}

type genericHeader struct {
	name  string // canonical
	value *tmpl
}

const defaultContentType = "application/json"

// NewGeneric builds a Preset from request templates. It fails on what is
// wrong for every row alike (a template that does not parse, a malformed
// header, a fixed URL that is not absolute http(s)); what depends on a row
// makes that row invalid instead.
func NewGeneric(cfg GenericConfig) (*Preset, error) {
	if cfg.URL == "" {
		return nil, errors.New("generic: URL required")
	}
	method := strings.ToUpper(cfg.Method)
	if method == "" {
		method = http.MethodPost
	}
	if !validToken(method) {
		return nil, fmt.Errorf("generic: invalid method %q", cfg.Method)
	}
	env := cfg.Env
	if env == nil {
		env = func(string) string { return "" }
	}
	funcs := template.FuncMap{"json": jsonQuote, "env": env}
	for k, f := range escapeFuncs {
		funcs[k] = f
	}

	g := &generic{rows: newRows(cfg.Source, cfg.IDField), method: method, recipientField: cfg.RecipientField}
	for _, name := range cfg.SecretHeaders {
		if g.secretHeaders == nil {
			g.secretHeaders = make(map[string]bool)
		}
		g.secretHeaders[http.CanonicalHeaderKey(strings.TrimSpace(name))] = true
	}
	var trees []*template.Template
	var err error
	if g.url, err = parseEscaped("--url", cfg.URL, funcs, ctxURL); err != nil {
		return nil, fmt.Errorf("generic: %w", err)
	}
	trees = append(trees, g.url.t)
	if g.url.t == nil {
		if err := checkURL(g.url.static); err != nil {
			return nil, fmt.Errorf("generic: %w", err)
		}
	}
	if cfg.LookupURL != "" {
		if g.lookup, err = parseEscaped("--lookup-url", cfg.LookupURL, funcs, ctxURL); err != nil {
			return nil, fmt.Errorf("generic: %w", err)
		}
		trees = append(trees, g.lookup.t)
		if g.lookup.t == nil {
			if err := checkURL(g.lookup.static); err != nil {
				return nil, fmt.Errorf("generic: --lookup-url: %w", err)
			}
		}
		g.lookupMethod = strings.ToUpper(cmp.Or(cfg.LookupMethod, http.MethodGet))
		if !validToken(g.lookupMethod) {
			return nil, fmt.Errorf("generic: invalid lookup method %q", cfg.LookupMethod)
		}
	}

	hasContentType, contentType := false, ""
	for i, line := range cfg.Headers {
		name, value, err := parseHeader(line)
		if err != nil {
			return nil, fmt.Errorf("generic: header %d: %w", i+1, err)
		}
		t, err := parseTemplate("--header "+name, value, funcs)
		if err != nil {
			return nil, fmt.Errorf("generic: %w", err)
		}
		if t.t == nil && hasCtl(value) {
			return nil, fmt.Errorf("generic: header %q: value contains a control character", name)
		}
		if name == "Content-Type" {
			hasContentType, contentType = true, value
		}
		g.headers = append(g.headers, genericHeader{name: name, value: t})
		trees = append(trees, t.t)
	}

	if cfg.Body != "" {
		name := cfg.BodyName
		if name == "" {
			name = "--body"
		}
		if g.body, err = parseEscaped(name, cfg.Body, funcs, bodyContext(hasContentType, contentType)); err != nil {
			return nil, fmt.Errorf("generic: %w", err)
		}
		trees = append(trees, g.body.t)
		g.bodyHint = len(cfg.Body) + len(cfg.Body)/2
		if !hasContentType {
			g.headers = append(g.headers, genericHeader{name: "Content-Type", value: &tmpl{static: defaultContentType}})
		}
	}

	g.fields = templateFields(trees)

	// Values read with env are usually credentials (an API key in a header
	// or a query string): list them so the caller masks them in dry-run
	// output, reports and errors.
	for _, name := range envNames(trees) {
		if v := env(name); v != "" {
			g.secrets = append(g.secrets, v)
		}
	}
	return &Preset{
		Builder:       g,
		ParseResponse: DefaultParseResponse,
		Secrets:       g.secrets,
		Describe:      fmt.Sprintf("%s %s (generic template)", method, cfg.URL),
	}, nil
}

// parseEscaped is parseTemplate for a template whose row values are
// escaped for ctx (see escape.go).
func parseEscaped(name, text string, funcs template.FuncMap, ctx templateContext) (*tmpl, error) {
	t, err := parseTemplate(name, text, funcs)
	if err != nil || t.t == nil {
		return t, err
	}
	if err := escapeRows(t.t, ctx, funcs); err != nil {
		return nil, err
	}
	t.fast = compileFast(t.t)
	return t, nil
}

// bodyContext is how a body's row values are escaped: as JSON when the
// Content-Type is JSON (the default), as a URL component in a form body;
// a Content-Type computed per row leaves the body as written.
func bodyContext(hasContentType bool, contentType string) templateContext {
	switch {
	case !hasContentType:
		return ctxJSON
	case strings.Contains(contentType, "{{"):
		return ctxText
	case strings.Contains(strings.ToLower(contentType), "json"):
		return ctxJSON
	case strings.Contains(strings.ToLower(contentType), "x-www-form-urlencoded"):
		return ctxURL
	}
	return ctxText
}

// parseHeader splits "Name: value" into a canonical name and the value text.
// The line itself never appears in errors: it may hold a credential.
func parseHeader(line string) (name, value string, err error) {
	name, value, ok := strings.Cut(line, ":")
	if !ok {
		return "", "", errors.New(`no colon (want "Name: value")`)
	}
	name = strings.TrimSpace(name)
	if !validToken(name) {
		return "", "", fmt.Errorf("invalid name %q", name)
	}
	return http.CanonicalHeaderKey(name), strings.TrimSpace(value), nil
}

// Build implements sender.Builder.
func (g *generic) Build(row sender.Row) *sender.Message {
	m, ok := g.start(row)
	if !ok {
		return m
	}
	if g.recipientField != "" {
		if m.Recipient = row.Fields[g.recipientField]; m.Recipient == "" {
			return g.invalid(m, fmt.Errorf("recipient field %q missing", g.recipientField))
		}
	}
	m.Method = g.method
	u, err := g.url.render(row.Fields)
	if err != nil {
		return g.invalid(m, err)
	}
	if g.url.t != nil {
		if err := checkURL(u); err != nil {
			return g.invalid(m, errors.New(g.mask(err.Error())))
		}
	}
	m.URL = u

	m.Header = make(http.Header, len(g.headers))
	isJSON := false
	for _, h := range g.headers {
		v, err := h.value.render(row.Fields)
		if err != nil {
			return g.invalid(m, err)
		}
		if h.value.t != nil && hasCtl(v) {
			return g.invalid(m, fmt.Errorf("header %q: rendered value contains a line break or control character", h.name))
		}
		m.Header[h.name] = append(m.Header[h.name], v)
		if h.name == "Content-Type" && strings.Contains(strings.ToLower(v), "json") {
			isJSON = true
		}
	}

	if g.body != nil {
		if g.body.t == nil {
			m.Body = []byte(g.body.static)
		} else if g.body.fast != nil {
			b, err := appendFast(make([]byte, 0, g.bodyHint), g.body.fast, row.Fields)
			if err != nil {
				return g.invalid(m, err)
			}
			m.Body = b
		} else {
			buf := bytes.NewBuffer(make([]byte, 0, g.bodyHint))
			if err := g.body.t.Execute(buf, row.Fields); err != nil {
				return g.invalid(m, execError(err))
			}
			m.Body = buf.Bytes()
		}
		if isJSON && !json.Valid(m.Body) {
			return g.invalid(m, fmt.Errorf("rendered body is not valid JSON: %w", jsonError(m.Body)))
		}
	}
	if g.lookup != nil {
		lu, err := g.lookup.render(row.Fields)
		if err != nil {
			return g.invalid(m, err)
		}
		if g.lookup.t != nil {
			if err := checkURL(lu); err != nil {
				return g.invalid(m, fmt.Errorf("--lookup-url: %s", g.mask(err.Error())))
			}
		}
		m.Lookup = &sender.Lookup{Method: g.lookupMethod, URL: lu, Header: m.Header}
	}
	m.Fingerprint = g.fingerprint(m)
	m.IdempotencyKey = sender.KeyOf(m.Fingerprint)
	return m
}

// fingerprint is m's sender.Fingerprint without its secrets: the secret
// headers are left out, and a value read with env (a token in the URL or
// the body) is hashed as "***", so rotating it changes nothing.
func (g *generic) fingerprint(m *sender.Message) string {
	omit := func(name string) bool { return g.secretHeaders[name] }
	if !g.hasSecret(m) {
		return sender.Fingerprint(m, omit)
	}
	masked := *m
	masked.URL = g.mask(m.URL)
	masked.Body = []byte(g.mask(string(m.Body)))
	masked.Header = make(http.Header, len(m.Header))
	for name, vs := range m.Header {
		mv := make([]string, len(vs))
		for i, v := range vs {
			mv[i] = g.mask(v)
		}
		masked.Header[name] = mv
	}
	return sender.Fingerprint(&masked, omit)
}

// hasSecret reports whether one of the env-read secrets is in m's URL,
// headers or body; most requests hold none outside a secret header.
func (g *generic) hasSecret(m *sender.Message) bool {
	for _, v := range g.secrets {
		if strings.Contains(m.URL, v) || bytes.Contains(m.Body, []byte(v)) {
			return true
		}
		for name, vs := range m.Header {
			if g.secretHeaders[name] || sender.SecretHeader(name) {
				continue
			}
			for _, hv := range vs {
				if strings.Contains(hv, v) {
					return true
				}
			}
		}
	}
	return false
}

// mask hides the env-read secrets in s.
func (g *generic) mask(s string) string {
	for _, v := range g.secrets {
		s = strings.ReplaceAll(s, v, "***")
	}
	return s
}

// jsonError explains why body is not JSON; only called once json.Valid has
// said no, so the valid path does not pay for a decode.
func jsonError(body []byte) error {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	return errors.New("invalid JSON")
}

// checkURL accepts only absolute http(s) URLs with a host: anything else
// would fail later, once per retry, with a less useful message.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("invalid URL %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("invalid URL %q: scheme must be http or https", s)
	}
	if u.Host == "" {
		return fmt.Errorf("invalid URL %q: no host", s)
	}
	return nil
}

// hasCtl reports control characters other than tab: net/http refuses them
// in header values, and CR/LF would let a row inject headers.
func hasCtl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return true
		}
	}
	return false
}

// envNames lists the variables the templates read with env and a constant
// name ({{env "KEY"}} or {{"KEY" | env}}). A name computed per row cannot be
// known in advance and is not listed.
func envNames(ts []*template.Template) []string {
	var names []string
	walkPipes(ts, func(p *parse.PipeNode, _ bool) {
		for i, c := range p.Cmds {
			id, ok := c.Args[0].(*parse.IdentifierNode)
			if !ok || id.Ident != "env" {
				continue
			}
			switch {
			case len(c.Args) == 2:
				names = appendString(c.Args[1], names)
			case len(c.Args) == 1 && i > 0 && len(p.Cmds[i-1].Args) == 1:
				names = appendString(p.Cmds[i-1].Args[0], names)
			}
		}
	})
	return names
}

func appendString(n parse.Node, names []string) []string {
	if s, ok := n.(*parse.StringNode); ok {
		return append(names, s.Text)
	}
	return names
}
