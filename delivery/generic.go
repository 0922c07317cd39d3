package delivery

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/template"

	"github.com/bulksend/bulksend/report"
)

// GenericConfig configures the lookup of any JSON API's message resource.
type GenericConfig struct {
	// URL is a Go text/template over the report row: .id, .message_id and
	// .line; path and query escape a value for a URL path segment or query,
	// env reads Env. Required.
	URL string
	// Headers are "Key: value" templates like URL's.
	Headers []string
	// StatusField is the JSON path of the status in the answer ("status",
	// "data.delivery.state", "events.0.status"); "" means "status".
	StatusField string
	// ErrorField, when set, is the JSON path of the error of a message
	// that did not arrive.
	ErrorField string
	// Env backs the templates' env function; nil reads nothing.
	Env func(string) string
}

// Generic is the Vendor of GenericConfig.
type Generic struct {
	url     *template.Template
	headers []genericHeader
	status  Path
	errPath Path
}

type genericHeader struct {
	key   string
	value *template.Template
}

// NewGeneric checks cfg's templates and paths.
func NewGeneric(cfg GenericConfig) (*Generic, error) {
	if cfg.URL == "" {
		return nil, errors.New("status url: a template is required")
	}
	env := cfg.Env
	if env == nil {
		env = func(string) string { return "" }
	}
	funcs := template.FuncMap{"path": url.PathEscape, "query": url.QueryEscape, "env": env}
	parse := func(name, text string) (*template.Template, error) {
		t, err := template.New(name).Funcs(funcs).Option("missingkey=error").Parse(text)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		return t, nil
	}
	g := &Generic{}
	var err error
	if g.url, err = parse("status url", cfg.URL); err != nil {
		return nil, err
	}
	for _, h := range cfg.Headers {
		k, v, ok := strings.Cut(h, ":")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t\r\n") {
			return nil, fmt.Errorf("header %q: want 'Key: value'", h)
		}
		t, err := parse("header "+k, strings.TrimSpace(v))
		if err != nil {
			return nil, err
		}
		g.headers = append(g.headers, genericHeader{key: k, value: t})
	}
	if cfg.StatusField == "" {
		cfg.StatusField = "status"
	}
	if g.status, err = ParsePath(cfg.StatusField); err != nil {
		return nil, fmt.Errorf("status field: %w", err)
	}
	if cfg.ErrorField != "" {
		if g.errPath, err = ParsePath(cfg.ErrorField); err != nil {
			return nil, fmt.Errorf("status error field: %w", err)
		}
	}
	return g, nil
}

// Request renders the lookup of row.
func (g *Generic) Request(row *report.Row) (string, string, http.Header, error) {
	data := map[string]string{"id": row.ID, "message_id": row.MessageID, "line": strconv.Itoa(row.Line)}
	render := func(t *template.Template) (string, error) {
		var b bytes.Buffer
		if err := t.Execute(&b, data); err != nil {
			return "", fmt.Errorf("render %s: %w", t.Name(), err)
		}
		return b.String(), nil
	}
	u, err := render(g.url)
	if err != nil {
		return "", "", nil, err
	}
	if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return "", "", nil, fmt.Errorf("status url %q is not an http(s) URL", u)
	}
	h := make(http.Header, len(g.headers))
	for _, gh := range g.headers {
		v, err := render(gh.value)
		if err != nil {
			return "", "", nil, err
		}
		if strings.ContainsAny(v, "\r\n") {
			return "", "", nil, fmt.Errorf("header %s: a value with a line break", gh.key)
		}
		h.Add(gh.key, v)
	}
	return http.MethodGet, u, h, nil
}

// Read takes the status (and the error) at the configured paths.
func (g *Generic) Read(body []byte) (State, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return State{}, fmt.Errorf("read answer: %w", err)
	}
	st, ok := numberText(g.status.Find(v))
	if !ok || st == "" {
		return State{}, fmt.Errorf("read answer: no status at %s", g.status)
	}
	s := State{Status: st}
	if g.errPath != nil {
		s.Error, _ = numberText(g.errPath.Find(v))
	}
	return s, nil
}

// Path is a JSON path: object keys and array indexes, written joined by
// dots ("data.events.0.status").
type Path []string

// ParsePath reads a dotted path; every part must be non-empty.
func ParsePath(s string) (Path, error) {
	if s == "" {
		return nil, errors.New("empty path")
	}
	p := Path(strings.Split(s, "."))
	for _, part := range p {
		if part == "" {
			return nil, fmt.Errorf("path %q has an empty part", s)
		}
	}
	return p, nil
}

// String is the path as written.
func (p Path) String() string { return strings.Join(p, ".") }

// Find is the value at p in v, decoded by encoding/json; nil when there
// is none. A part that is a number indexes an array.
func (p Path) Find(v any) any {
	for _, part := range p {
		switch x := v.(type) {
		case map[string]any:
			v = x[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}
