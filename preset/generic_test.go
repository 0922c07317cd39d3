package preset

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/bulksend/bulksend/sender"
)

func TestNewGenericErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  GenericConfig
		want string // substring of the error
	}{
		{name: "no url", cfg: GenericConfig{}, want: "generic: URL required"},
		{name: "bad method", cfg: GenericConfig{URL: "http://x", Method: "PO ST"}, want: `invalid method "PO ST"`},
		{name: "url template", cfg: GenericConfig{URL: "http://x/{{.id"}, want: "template: --url:1:"},
		{name: "fixed url not absolute", cfg: GenericConfig{URL: "/send"}, want: `invalid URL "/send"`},
		{name: "fixed url wrong scheme", cfg: GenericConfig{URL: "ftp://x/send"}, want: "scheme must be http or https"},
		{name: "header without colon", cfg: GenericConfig{URL: "http://x", Headers: []string{"A: b", "Authorization Bearer s3cret"}},
			want: `header 2: no colon`},
		{name: "header bad name", cfg: GenericConfig{URL: "http://x", Headers: []string{"X Y: z"}}, want: `header 1: invalid name "X Y"`},
		{name: "header empty name", cfg: GenericConfig{URL: "http://x", Headers: []string{": z"}}, want: `header 1: invalid name ""`},
		{name: "header template", cfg: GenericConfig{URL: "http://x", Headers: []string{"X-A: {{.a"}}, want: "template: --header X-A:1:"},
		{name: "body flag", cfg: GenericConfig{URL: "http://x", Body: `{"a":{{nope .a}}}`}, want: `template: --body:1: function "nope" not defined`},
		{name: "json inside a json string", cfg: GenericConfig{URL: "http://x", Body: `{"a":"{{json .a}}"}`},
			want: `--body:1:8: {{json}} inside a JSON string writes a quoted string into it`},
		{name: "body file", cfg: GenericConfig{URL: "http://x", Body: "{\n{{end}}", BodyName: "tmpl/body.json"}, want: "template: tmpl/body.json:2:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewGeneric(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error leaks the header value: %v", err)
			}
		})
	}
}

func TestGenericBuild(t *testing.T) {
	const jsonBody = `{"name":{{json .name}},"text":{{json .text}}}`
	env := func(k string) string { return map[string]string{"API_KEY": "k-123"}[k] }
	tests := []struct {
		name   string
		cfg    GenericConfig
		fields map[string]string
		// want, when Invalid is nil
		wantMethod    string
		wantURL       string
		wantHeader    http.Header
		wantBody      string
		wantRecipient string
		wantID        string
		invalid       string // exact reason; "" means valid
	}{
		{
			name:       "json quotes commas accents newlines",
			cfg:        GenericConfig{URL: "https://api.test/send", Body: jsonBody},
			fields:     map[string]string{"id": "7", "name": `Zoë "Z", O'Neil`, "text": "line 1\nline 2\t\\ done"},
			wantMethod: "POST", wantURL: "https://api.test/send", wantID: "7",
			wantHeader: http.Header{"Content-Type": {"application/json"}},
			wantBody:   `{"name":"Zoë \"Z\", O'Neil","text":"line 1\nline 2\t\\ done"}`,
		},
		{
			name:       "url and headers per row",
			cfg:        GenericConfig{URL: "https://api.test/u/{{urlquery .user}}?k={{env \"API_KEY\"}}", Method: "put", Headers: []string{"x-user: {{.user}}", "X-Fixed:  yes ", "X-User: again"}, Env: env},
			fields:     map[string]string{"user": "a b/c"},
			wantMethod: "PUT", wantURL: "https://api.test/u/a+b%2Fc?k=k-123", wantID: "3",
			wantHeader: http.Header{"X-User": {"a b/c", "again"}, "X-Fixed": {"yes"}},
		},
		{
			name:       "form body keeps its content type and is not checked as json",
			cfg:        GenericConfig{URL: "http://api.test/send", Headers: []string{"Content-Type: application/x-www-form-urlencoded"}, Body: "to={{urlquery .to}}"},
			fields:     map[string]string{"to": "+1 555"},
			wantMethod: "POST", wantURL: "http://api.test/send", wantID: "3",
			wantHeader: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
			wantBody:   "to=%2B1+555",
		},
		{
			name:       "recipient field",
			cfg:        GenericConfig{URL: "http://api.test/send", RecipientField: "phone", IDField: "ref"},
			fields:     map[string]string{"phone": "+1555", "ref": "r-9"},
			wantMethod: "POST", wantURL: "http://api.test/send", wantID: "r-9", wantRecipient: "+1555",
			wantHeader: http.Header{},
		},
		{
			name:    "missing template field",
			cfg:     GenericConfig{Source: "recipients.csv", URL: "http://api.test/send", Body: `{"to":{{json .phone}}}`},
			fields:  map[string]string{"to": "x"},
			invalid: `recipients.csv:3: template: field "phone" missing`,
		},
		{
			name:    "missing url field",
			cfg:     GenericConfig{URL: "http://api.test/{{.path}}"},
			fields:  map[string]string{},
			invalid: `input:3: template: field "path" missing`,
		},
		{
			name:       "field inside a json string is escaped as json",
			cfg:        GenericConfig{URL: "http://api.test/send", Body: `{"name":"{{.name}}","text":"hi {{.name}}!"}`},
			fields:     map[string]string{"name": `x", "admin": true, "y": "`},
			wantMethod: "POST", wantURL: "http://api.test/send", wantID: "3",
			wantHeader: http.Header{"Content-Type": {"application/json"}},
			wantBody:   `{"name":"x\", \"admin\": true, \"y\": \"","text":"hi x\", \"admin\": true, \"y\": \"!"}`,
		},
		{
			name:       "number outside a json string",
			cfg:        GenericConfig{URL: "http://api.test/send", Body: `{"n":{{.n}},"ok":{{.ok}}}`},
			fields:     map[string]string{"n": "-1.5e3", "ok": "true"},
			wantMethod: "POST", wantURL: "http://api.test/send", wantID: "3",
			wantHeader: http.Header{"Content-Type": {"application/json"}},
			wantBody:   `{"n":-1.5e3,"ok":true}`,
		},
		{
			name:    "text outside a json string cannot add keys",
			cfg:     GenericConfig{URL: "http://api.test/send", Body: `{"n":{{.n}}}`},
			fields:  map[string]string{"n": `1, "admin": true`},
			invalid: `input:3: template: field "n": outside a JSON string it must be one JSON value (a number, true, false, null, a quoted string); insert text with {{json .field}}`,
		},
		{
			name:    "raw in a json body is the template's choice",
			cfg:     GenericConfig{URL: "http://api.test/send", Headers: []string{"Content-Type: Application/Problem+JSON"}, Body: `{{raw .raw}}`},
			fields:  map[string]string{"raw": "{"},
			invalid: `input:3: rendered body is not valid JSON: unexpected end of JSON input`,
		},
		{
			name:       "row value in the url path and query is escaped",
			cfg:        GenericConfig{URL: "https://api.test/users/{{.id}}?to={{.to}}&k={{env \"API_KEY\"}}", Env: env},
			fields:     map[string]string{"id": "../../admin?x=1#", "to": "+1 555&admin=1"},
			wantMethod: "POST", wantURL: "https://api.test/users/..%2F..%2Fadmin%3Fx%3D1%23?to=%2B1%20555%26admin%3D1&k=k-123", wantID: "../../admin?x=1#",
			wantHeader: http.Header{},
		},
		{
			name:       "dot-dot segment is escaped",
			cfg:        GenericConfig{URL: "https://api.test/users/{{.u}}/x"},
			fields:     map[string]string{"u": ".."},
			wantMethod: "POST", wantURL: "https://api.test/users/%2E%2E/x", wantID: "3",
			wantHeader: http.Header{},
		},
		{
			name:       "raw url field",
			cfg:        GenericConfig{URL: "{{raw .url}}"},
			fields:     map[string]string{"url": "https://api.test/a?b=c"},
			wantMethod: "POST", wantURL: "https://api.test/a?b=c", wantID: "3",
			wantHeader: http.Header{},
		},
		{
			name:    "rendered url not absolute",
			cfg:     GenericConfig{URL: "{{raw .url}}"},
			fields:  map[string]string{"url": "/relative"},
			invalid: `input:3: invalid URL "/relative": scheme must be http or https`,
		},
		{
			name:    "rendered url without host",
			cfg:     GenericConfig{URL: "{{.url | raw}}"},
			fields:  map[string]string{"url": "https:///x"},
			invalid: `input:3: invalid URL "https:///x": no host`,
		},
		{
			name:    "rendered url unparsable masks env secrets",
			cfg:     GenericConfig{URL: "http://api.test:{{.port}}/?k={{env \"API_KEY\"}}", Env: env},
			fields:  map[string]string{"port": "x"},
			invalid: `input:3: invalid URL "http://api.test:x/?k=***": invalid port ":x" after host`,
		},
		{
			name:    "header injection",
			cfg:     GenericConfig{URL: "http://api.test/send", Headers: []string{"X-Name: {{.name}}"}},
			fields:  map[string]string{"name": "a\r\nX-Evil: 1"},
			invalid: `input:3: header "X-Name": rendered value contains a line break or control character`,
		},
		{
			name:    "recipient missing",
			cfg:     GenericConfig{URL: "http://api.test/send", RecipientField: "phone"},
			fields:  map[string]string{"to": "x"},
			invalid: `input:3: recipient field "phone" missing`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewGeneric(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			m := buildCase(t, p.Builder, 3, tt.fields, tt.invalid)
			if m == nil {
				return
			}
			if m.Method != tt.wantMethod || m.URL != tt.wantURL || m.ID != tt.wantID || m.Recipient != tt.wantRecipient {
				t.Errorf("got %s %s id=%q recipient=%q, want %s %s id=%q recipient=%q",
					m.Method, m.URL, m.ID, m.Recipient, tt.wantMethod, tt.wantURL, tt.wantID, tt.wantRecipient)
			}
			if !reflect.DeepEqual(m.Header, tt.wantHeader) {
				t.Errorf("Header = %v, want %v", m.Header, tt.wantHeader)
			}
			if string(m.Body) != tt.wantBody {
				t.Errorf("Body = %s, want %s", m.Body, tt.wantBody)
			}
			if m.Line != 3 || m.IdempotencyKey != sender.KeyOf(m.Fingerprint) || m.Fingerprint == "" {
				t.Errorf("Line = %d, IdempotencyKey = %q", m.Line, m.IdempotencyKey)
			}
		})
	}
}

func TestGenericIdempotencyKey(t *testing.T) {
	p, err := NewGeneric(GenericConfig{URL: "http://api.test/send", Body: `{"text":{{json .text}}}`})
	if err != nil {
		t.Fatal(err)
	}
	build := func(id, text string) string {
		m := p.Builder.Build(sender.Row{Line: 2, Fields: map[string]string{"id": id, "text": text}})
		if m.Invalid != nil {
			t.Fatal(m.Invalid)
		}
		return m.IdempotencyKey
	}
	tests := []struct {
		name      string
		a, b      [2]string // id, text
		wantEqual bool
	}{
		{name: "same row, same key", a: [2]string{"1", "hi"}, b: [2]string{"1", "hi"}, wantEqual: true},
		{name: "body changes the key", a: [2]string{"1", "hi"}, b: [2]string{"1", "hi!"}},
		{name: "id changes the key", a: [2]string{"1", "hi"}, b: [2]string{"2", "hi"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ka, kb := build(tt.a[0], tt.a[1]), build(tt.b[0], tt.b[1])
			if (ka == kb) != tt.wantEqual {
				t.Errorf("keys %q and %q: equal=%v, want %v", ka, kb, ka == kb, tt.wantEqual)
			}
		})
	}
}

func TestGenericSecrets(t *testing.T) {
	env := func(k string) string {
		return map[string]string{"TOKEN": "tok-secret", "KEY": "key-secret", "PIPED": "piped-secret", "NESTED": "nested-secret"}[k]
	}
	p, err := NewGeneric(GenericConfig{
		URL:     `https://api.test/?k={{env "KEY"}}`,
		Headers: []string{`Authorization: Bearer {{env "TOKEN"}}`, `X-Empty: {{env "UNSET"}}`},
		Body:    `{{if .x}}{{"PIPED" | env | json}}{{else}}{{json (env "NESTED")}}{{end}}`,
		Env:     env,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"key-secret", "tok-secret", "piped-secret", "nested-secret"}
	if !reflect.DeepEqual(p.Secrets, want) {
		t.Errorf("Secrets = %q, want %q", p.Secrets, want)
	}
	if strings.Contains(p.Describe, "secret") {
		t.Errorf("Describe leaks a secret: %s", p.Describe)
	}
	m := p.Builder.Build(sender.Row{Line: 1, Fields: map[string]string{"x": "1"}})
	if m.Invalid != nil || string(m.Body) != `"piped-secret"` || m.Header.Get("Authorization") != "Bearer tok-secret" {
		t.Errorf("Build = %+v", m)
	}
}

func TestGenericNilEnv(t *testing.T) {
	p, err := NewGeneric(GenericConfig{URL: "http://api.test/", Body: `{"k":{{json (env "HOME")}}}`})
	if err != nil {
		t.Fatal(err)
	}
	if m := p.Builder.Build(sender.Row{Line: 1, Fields: map[string]string{}}); m.Invalid != nil || string(m.Body) != `{"k":""}` {
		t.Errorf("Build = %v %s", m.Invalid, m.Body)
	}
	if len(p.Secrets) != 0 {
		t.Errorf("Secrets = %q", p.Secrets)
	}
}

func FuzzGenericBuild(f *testing.F) {
	f.Add("1", "Ann", "hello")
	f.Add("x", `quote " back \ slash, comma`, "line\nbreak\ttab")
	f.Add("", "Zoë 😀", "\u2028\u2029<>&")
	f.Add("\r\n", "\xff\xfe", "\x00\x1f")
	f.Add("{{.id}}", "}}", "{{")
	p, err := NewGeneric(GenericConfig{
		Source:  "fuzz.csv",
		URL:     "https://api.test/send/{{urlquery .id}}",
		Headers: []string{"X-Id: {{.id}}"},
		Body:    `{"name":{{json .name}},"text":{{json .text}}}`,
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id, name, text string) {
		m := p.Builder.Build(sender.Row{Line: 2, Fields: map[string]string{"id": id, "name": name, "text": text}})
		if m.Invalid != nil {
			if !strings.HasPrefix(m.Invalid.Error(), "fuzz.csv:2: ") {
				t.Fatalf("reason without source and line: %v", m.Invalid)
			}
			return
		}
		if hasCtl(m.Header.Get("X-Id")) {
			t.Fatalf("control character in header %q", m.Header.Get("X-Id"))
		}
		var got struct{ Name, Text string }
		if err := json.Unmarshal(m.Body, &got); err != nil {
			t.Fatalf("body %q is not valid JSON: %v", m.Body, err)
		}
		if want := string([]rune(name)); got.Name != want {
			t.Errorf("name = %q, want %q", got.Name, want)
		}
		if want := string([]rune(text)); got.Text != want {
			t.Errorf("text = %q, want %q", got.Text, want)
		}
	})
}

// FuzzEscapedRows checks that no row value changes a request's shape: a
// value in the URL's path stays one segment and one in the query one value;
// a value in a JSON string stays that string's content.
func FuzzEscapedRows(f *testing.F) {
	f.Add("../../admin?x=1#", `x", "admin": true, "y": "`)
	f.Add("..", "+15550001&to=2")
	f.Add("\xff/%2F", "\u0000\"")
	p, err := NewGeneric(GenericConfig{
		URL:  "https://api.test/u/{{.id}}/m?to={{.to}}",
		Body: `{"to":"{{.to}}","text":"hi {{.id}}"}`,
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id, to string) {
		if id == "" {
			return // an empty id is invalid
		}
		m := p.Builder.Build(sender.Row{Line: 2, Fields: map[string]string{"id": id, "to": to}})
		if m.Invalid != nil {
			t.Fatalf("invalid: %v", m.Invalid)
		}
		u, err := url.Parse(m.URL)
		if err != nil {
			t.Fatalf("URL %q: %v", m.URL, err)
		}
		if want := "/u/" + id + "/m"; u.Path != want || u.RawQuery == "" || u.Fragment != "" {
			t.Fatalf("URL %q: path %q, want %q", m.URL, u.Path, want)
		}
		if q := u.Query(); len(q) != 1 || len(q["to"]) != 1 || q.Get("to") != to {
			t.Fatalf("URL %q: query %v, want to=%q only", m.URL, q, to)
		}
		var got map[string]string
		if err := json.Unmarshal(m.Body, &got); err != nil {
			t.Fatalf("body %q: %v", m.Body, err)
		}
		if len(got) != 2 || got["to"] != string([]rune(to)) || got["text"] != "hi "+string([]rune(id)) {
			t.Fatalf("body %q decodes to %q", m.Body, got)
		}
	})
}

func FuzzParseHeader(f *testing.F) {
	f.Add("Content-Type: application/json")
	f.Add("x-api-key:{{env \"KEY\"}}")
	f.Add("no colon")
	f.Add(" : value")
	f.Add("Bad Name: v")
	f.Fuzz(func(t *testing.T, line string) {
		name, value, err := parseHeader(line)
		if err != nil {
			return
		}
		if !validToken(name) || name != http.CanonicalHeaderKey(name) {
			t.Fatalf("name %q is not a canonical token", name)
		}
		if value != strings.TrimSpace(value) || !strings.Contains(line, value) {
			t.Fatalf("value %q not taken from %q", value, line)
		}
	})
}
