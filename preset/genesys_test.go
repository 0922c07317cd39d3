package preset

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulksend/bulksend/internal/testkit"
	"github.com/bulksend/bulksend/sender"
)

const (
	testClientID     = "client-id"
	testClientSecret = "client-s3cret"
)

// genesysServer is a loopback Genesys: /oauth/token hands out tok-1, tok-2...
// and the agentless endpoint accepts what accept says.
type genesysServer struct {
	*httptest.Server
	t         *testing.T
	expiresIn int
	tokens    atomic.Int32
	calls     atomic.Int32
	// tokenHook, when set, runs before the token answer; it may write its
	// own answer and return true.
	tokenHook func(w http.ResponseWriter) bool
	// accept decides whether the API accepts a bearer token; nil accepts
	// any token this server issued.
	accept func(token string) bool
}

func newGenesysServer(t *testing.T) *genesysServer {
	s := &genesysServer{t: t, expiresIn: 86400}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", s.token)
	mux.HandleFunc("POST /api/v2/conversations/messages/agentless", s.api)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *genesysServer) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok || id != testClientID || secret != testClientSecret {
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		http.Error(w, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
		return
	}
	if s.tokenHook != nil && s.tokenHook(w) {
		return
	}
	n := s.tokens.Add(1)
	fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"bearer","expires_in":%d}`, n, s.expiresIn)
}

func (s *genesysServer) api(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	accepted := ok && strings.HasPrefix(tok, "tok-")
	if s.accept != nil {
		accepted = ok && s.accept(tok)
	}
	if !accepted {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"message":"token expired","code":"authentication.required","status":401}`)
		return
	}
	body, _ := io.ReadAll(r.Body)
	if !bytes.Contains(body, []byte(`"toAddress":"+15550001"`)) {
		http.Error(w, "body not replayed: "+string(body), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"id":"msg-1","conversationId":"conv-1"}`)
}

// preset builds the Genesys preset against this server.
func (s *genesysServer) preset(clock func() time.Time) (*Preset, *TokenSource, *http.Client) {
	s.t.Helper()
	p, ts, err := NewGenesys(GenesysConfig{
		From: "+15559999", APIURL: s.URL, LoginURL: s.URL + "/",
		ClientID: testClientID, ClientSecret: testClientSecret,
		HTTPClient: s.Client(), Now: clock,
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return p, ts, &http.Client{Transport: p.Wrap(s.Client().Transport)}
}

// send builds one row with p and sends it with c. It only reports, so
// test goroutines may call it.
func send(ctx context.Context, p *Preset, c *http.Client) (*http.Response, error) {
	m := p.Builder.Build(sender.Row{Line: 2, Fields: map[string]string{"to": "+15550001", "text": "hi"}})
	if m.Invalid != nil {
		return nil, m.Invalid
	}
	req, err := http.NewRequestWithContext(ctx, m.Method, m.URL, bytes.NewReader(m.Body))
	if err != nil {
		return nil, err
	}
	req.Header = m.Header.Clone()
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return resp, err
}

// checkSend sends one row and reports (without stopping the test, so it is
// safe in goroutines) unless the answer has status want.
func checkSend(t *testing.T, p *Preset, c *http.Client, want int) {
	t.Helper()
	resp, err := send(context.Background(), p, c)
	if err != nil {
		t.Error(err)
		return
	}
	if resp.StatusCode != want {
		t.Errorf("status %d, want %d", resp.StatusCode, want)
	}
}

func TestNewGenesysErrors(t *testing.T) {
	ok := GenesysConfig{From: "+1555", Region: "mypurecloud.com", ClientID: testClientID, ClientSecret: testClientSecret}
	tests := []struct {
		name   string
		change func(*GenesysConfig)
		want   string
	}{
		{name: "no secret", change: func(c *GenesysConfig) { c.ClientSecret = "" },
			want: "genesys: set GENESYSCLOUD_OAUTHCLIENT_ID and GENESYSCLOUD_OAUTHCLIENT_SECRET"},
		{name: "no id", change: func(c *GenesysConfig) { c.ClientID = "" },
			want: "genesys: set GENESYSCLOUD_OAUTHCLIENT_ID and GENESYSCLOUD_OAUTHCLIENT_SECRET"},
		{name: "no from", change: func(c *GenesysConfig) { c.From = "" }, want: "fromAddress required"},
		{name: "no region", change: func(c *GenesysConfig) { c.Region = "" }, want: "GENESYSCLOUD_REGION or --region"},
		{name: "only api url", change: func(c *GenesysConfig) { c.Region = ""; c.APIURL = "http://127.0.0.1:1" }, want: "GENESYSCLOUD_REGION"},
		{name: "unknown region lists known", change: func(c *GenesysConfig) { c.Region = "mypurecloud.fr" },
			want: `unknown region "mypurecloud.fr" (known: apne2.pure.cloud, apne3.pure.cloud, aps1.pure.cloud, apse1.pure.cloud, cac1.pure.cloud,`},
		{name: "bad api url", change: func(c *GenesysConfig) { c.APIURL = "api.test" }, want: `genesys: invalid URL "api.test"`},
		{name: "bad messenger type", change: func(c *GenesysConfig) { c.MessengerType = "fax" }, want: `unknown messenger type "fax" (want sms, whatsapp, open)`},
		{name: "template and text", change: func(c *GenesysConfig) { c.MessengerType = "whatsapp"; c.TemplateID = "t"; c.Text = "hi" }, want: "exclude each other"},
		{name: "params without template", change: func(c *GenesysConfig) { c.TemplateParams = []string{"a"} }, want: "need a messaging template id"},
		{name: "header params without template", change: func(c *GenesysConfig) { c.HeaderParams = []TemplateParam{{"1", "a"}} }, want: "need a messaging template id"},
		{name: "whatsapp without template", change: func(c *GenesysConfig) { c.MessengerType = "whatsapp" },
			want: "the whatsapp messenger type needs a messaging template (--template-id)"},
		{name: "sms with template", change: func(c *GenesysConfig) { c.TemplateID = "t" },
			want: "the sms messenger type sends text, not a messaging template"},
		{name: "text template", change: func(c *GenesysConfig) { c.Text = "{{.x" }, want: "genesys: template: --text:1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.change(&cfg)
			_, _, err := NewGenesys(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testClientSecret) {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
}

func TestGenesysHosts(t *testing.T) {
	tests := []struct {
		name               string
		region, api, login string
		wantAPI, wantLogin string
	}{
		{name: "domain", region: "usw2.pure.cloud", wantAPI: "https://api.usw2.pure.cloud", wantLogin: "https://login.usw2.pure.cloud"},
		{name: "aws name", region: "EU-West-1", wantAPI: "https://api.mypurecloud.ie", wantLogin: "https://login.mypurecloud.ie"},
		{name: "mexico", region: "mx-central-1", wantAPI: "https://api.mxc1.pure.cloud", wantLogin: "https://login.mxc1.pure.cloud"},
		{name: "singapore", region: "apse1.pure.cloud", wantAPI: "https://api.apse1.pure.cloud", wantLogin: "https://login.apse1.pure.cloud"},
		{name: "overrides", api: "http://127.0.0.1:8080/", login: "http://127.0.0.1:8081", wantAPI: "http://127.0.0.1:8080", wantLogin: "http://127.0.0.1:8081"},
		{name: "one override", region: "mypurecloud.com", login: "http://127.0.0.1:9", wantAPI: "https://api.mypurecloud.com", wantLogin: "http://127.0.0.1:9"},
		{name: "overrides ignore an unknown region", region: "nowhere", api: "http://a.test", login: "http://l.test", wantAPI: "http://a.test", wantLogin: "http://l.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ts, err := NewGenesys(GenesysConfig{From: "f", Region: tt.region, APIURL: tt.api, LoginURL: tt.login, ClientID: "i", ClientSecret: "s"})
			if err != nil {
				t.Fatal(err)
			}
			if want := tt.wantLogin + "/oauth/token"; ts.url != want {
				t.Errorf("token URL = %s, want %s", ts.url, want)
			}
			m := p.Builder.Build(sender.Row{Line: 1, Fields: map[string]string{"to": "x", "text": "y"}})
			if want := tt.wantAPI + "/api/v2/conversations/messages/agentless"; m.URL != want {
				t.Errorf("URL = %s, want %s", m.URL, want)
			}
			if !strings.HasPrefix(p.Describe, "POST "+tt.wantAPI) {
				t.Errorf("Describe = %s", p.Describe)
			}
		})
	}
}

// TestGenesysRegions: the SDKs list 17 regions; each has a domain of its own.
func TestGenesysRegions(t *testing.T) {
	domains := map[string]bool{}
	for _, d := range genesysRegions {
		domains[d] = true
	}
	if len(genesysRegions) != 17 || len(domains) != 17 {
		t.Errorf("%d regions, %d domains, want 17", len(genesysRegions), len(domains))
	}
}

func TestGenesysBuild(t *testing.T) {
	base := GenesysConfig{Source: "recipients.csv", From: "+15559999", Region: "mypurecloud.com", ClientID: testClientID, ClientSecret: testClientSecret}
	tests := []struct {
		name     string
		change   func(*GenesysConfig)
		fields   map[string]string
		wantBody string
		wantID   string
		wantTo   string // the recipient, when normalised
		invalid  string
	}{
		{
			name:     "sms from columns",
			fields:   map[string]string{"id": "a1", "to": "+15550001", "text": "Hi \"Zoë\",\nbye"},
			wantID:   "a1",
			wantBody: `{"fromAddress":"+15559999","toAddress":"+15550001","toAddressMessengerType":"sms","textBody":"Hi \"Zoë\",\nbye"}`,
		},
		{
			name: "named columns and text template",
			change: func(c *GenesysConfig) {
				c.ToField = "phone"
				c.Text = "Hello {{.name}}, code {{.code}}"
				c.IDField = "phone"
			},
			fields:   map[string]string{"phone": "+15550002", "name": `Ann "A"`, "code": "007"},
			wantID:   "+15550002",
			wantBody: `{"fromAddress":"+15559999","toAddress":"+15550002","toAddressMessengerType":"sms","textBody":"Hello Ann \"A\", code 007"}`,
		},
		{
			name: "whatsapp template",
			change: func(c *GenesysConfig) {
				c.MessengerType = "WhatsApp"
				c.From = "integration-1"
				c.TemplateID = "resp-9"
				c.TemplateParams = []string{"name", "date"}
			},
			fields:   map[string]string{"to": "+15550003", "name": "Bo", "date": "1 May"},
			wantID:   "2",
			wantTo:   "15550003",
			wantBody: `{"fromAddress":"integration-1","toAddress":"15550003","toAddressMessengerType":"whatsapp","messagingTemplate":{"responseId":"resp-9","bodyParameters":[{"id":"name","value":"Bo"},{"id":"date","value":"1 May"}]}}`,
		},
		{
			name: "whatsapp header, body and button parameters in an active conversation",
			change: func(c *GenesysConfig) {
				c.MessengerType, c.From, c.TemplateID = "whatsapp", "integration-1", "resp-9"
				c.TemplateParams = []string{"name"}
				c.BodyParams = []TemplateParam{{"2", "order"}}
				c.HeaderParams = []TemplateParam{{"1", "order"}}
				c.ButtonURLParams = []TemplateParam{{"1", "code"}}
				c.UseExistingConversation = true
			},
			fields: map[string]string{"to": "4915550003", "name": "Bo", "order": "A-17", "code": "x/y?z"},
			wantID: "2",
			wantBody: `{"fromAddress":"integration-1","toAddress":"4915550003","toAddressMessengerType":"whatsapp","messagingTemplate":{"responseId":"resp-9",` +
				`"headerParameters":[{"id":"1","value":"A-17"}],"bodyParameters":[{"id":"name","value":"Bo"},{"id":"2","value":"A-17"}],` +
				`"buttonUrlParameters":[{"id":"1","value":"x/y?z"}]},"useExistingActiveConversation":true}`,
		},
		{
			name:     "open template without parameters",
			change:   func(c *GenesysConfig) { c.MessengerType, c.TemplateID = "open", "r" },
			fields:   map[string]string{"to": "x"},
			wantID:   "2",
			wantBody: `{"fromAddress":"+15559999","toAddress":"x","toAddressMessengerType":"open","messagingTemplate":{"responseId":"r"}}`,
		},
		{
			name:     "sms in an active conversation",
			change:   func(c *GenesysConfig) { c.UseExistingConversation = true },
			fields:   map[string]string{"to": "+15550001", "text": "hi"},
			wantID:   "2",
			wantBody: `{"fromAddress":"+15559999","toAddress":"+15550001","toAddressMessengerType":"sms","textBody":"hi","useExistingActiveConversation":true}`,
		},
		{
			name:     "sms of 765 characters",
			fields:   map[string]string{"to": "+15550001", "text": strings.Repeat("é", 765)},
			wantID:   "2",
			wantBody: `{"fromAddress":"+15559999","toAddress":"+15550001","toAddressMessengerType":"sms","textBody":"` + strings.Repeat("é", 765) + `"}`,
		},
		{name: "sms of 766 characters", fields: map[string]string{"to": "+15550001", "text": strings.Repeat("a", 764) + "👍"},
			invalid: `recipients.csv:2: text is 766 characters, more than the 765 Genesys allows for this messenger type`},
		{name: "open of 2001 characters", change: func(c *GenesysConfig) { c.MessengerType = "open" }, fields: map[string]string{"to": "u", "text": strings.Repeat("a", 2001)},
			invalid: `recipients.csv:2: text is 2001 characters, more than the 2000 Genesys allows for this messenger type`},
		{name: "whatsapp address not a number", change: func(c *GenesysConfig) { c.MessengerType, c.TemplateID = "whatsapp", "r" },
			fields: map[string]string{"to": "+1 555 0003"}, invalid: `recipients.csv:2: whatsapp address "+1 555 0003": want a phone number, 8 to 15 digits with or without a leading +`},
		{name: "whatsapp address too short", change: func(c *GenesysConfig) { c.MessengerType, c.TemplateID = "whatsapp", "r" },
			fields: map[string]string{"to": "+1555"}, invalid: `recipients.csv:2: whatsapp address "+1555": want a phone number, 8 to 15 digits with or without a leading +`},
		{name: "missing to", fields: map[string]string{"text": "hi"}, invalid: `recipients.csv:2: column "to": missing`},
		{name: "empty text", fields: map[string]string{"to": "x", "text": ""}, invalid: `recipients.csv:2: column "text": empty`},
		{name: "template field missing", change: func(c *GenesysConfig) { c.Text = "Hi {{.name}}" }, fields: map[string]string{"to": "x"},
			invalid: `recipients.csv:2: template: field "name" missing`},
		{name: "template renders empty", change: func(c *GenesysConfig) { c.Text = "{{.name}}" }, fields: map[string]string{"to": "x", "name": ""},
			invalid: `recipients.csv:2: --text rendered empty`},
		{name: "template param missing", change: func(c *GenesysConfig) {
			c.MessengerType, c.TemplateID, c.TemplateParams = "open", "r", []string{"name"}
		},
			fields: map[string]string{"to": "x"}, invalid: `recipients.csv:2: column "name": missing`},
		{name: "button param missing", change: func(c *GenesysConfig) {
			c.MessengerType, c.TemplateID, c.ButtonURLParams = "whatsapp", "r", []TemplateParam{{"1", "code"}}
		}, fields: map[string]string{"to": "15550001234", "code": ""}, invalid: `recipients.csv:2: column "code": empty`},
		{name: "id field missing", change: func(c *GenesysConfig) { c.IDField = "ref" }, fields: map[string]string{"to": "x", "text": "y"},
			invalid: `recipients.csv:2: id field "ref" missing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			if tt.change != nil {
				tt.change(&cfg)
			}
			p, _, err := NewGenesys(cfg)
			if err != nil {
				t.Fatal(err)
			}
			m := buildCase(t, p.Builder, 2, tt.fields, tt.invalid)
			if m == nil {
				return
			}
			if string(m.Body) != tt.wantBody {
				t.Errorf("Body = %s\nwant   %s", m.Body, tt.wantBody)
			}
			if m.ID != tt.wantID || m.Recipient != cmp.Or(tt.wantTo, tt.fields[cmp.Or(cfg.ToField, "to")]) || m.Method != "POST" ||
				m.Header.Get("Content-Type") != "application/json" || m.IdempotencyKey != sender.KeyOf(sender.Fingerprint(m, nil)) {
				t.Errorf("got %+v", m)
			}
		})
	}
}

func TestGenesysTokenCache(t *testing.T) {
	tests := []struct {
		name      string
		expiresIn int
		// steps: advance the clock by d, send, expect this many token fetches.
		steps []struct {
			advance time.Duration
			fetched int
		}
	}{
		{name: "10 percent margin", expiresIn: 100, steps: []struct {
			advance time.Duration
			fetched int
		}{{0, 1}, {89 * time.Second, 1}, {time.Second, 2}, {89 * time.Second, 2}, {time.Second, 3}}},
		{name: "60 second margin", expiresIn: 86400, steps: []struct {
			advance time.Duration
			fetched int
		}{{0, 1}, {86339 * time.Second, 1}, {time.Second, 2}}},
		{name: "no expires_in: kept until a 401", expiresIn: 0, steps: []struct {
			advance time.Duration
			fetched int
		}{{0, 1}, {1000 * time.Hour, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newGenesysServer(t)
			srv.expiresIn = tt.expiresIn
			clock := testkit.NewClock(time.Unix(1_700_000_000, 0))
			p, ts, c := srv.preset(clock.Now)
			for i, step := range tt.steps {
				clock.Advance(step.advance)
				checkSend(t, p, c, http.StatusAccepted)
				if got := ts.Fetched(); got != step.fetched || int(srv.tokens.Load()) != step.fetched {
					t.Fatalf("step %d: fetched %d (server saw %d), want %d", i, got, srv.tokens.Load(), step.fetched)
				}
			}
		})
	}
}

func TestGenesysRefreshOn401(t *testing.T) {
	tests := []struct {
		name       string
		accept     func(tok string) bool
		wantStatus int
		wantTokens int32
		wantCalls  int32
	}{
		{name: "stale token replaced once", accept: func(tok string) bool { return tok == "tok-2" },
			wantStatus: http.StatusAccepted, wantTokens: 2, wantCalls: 2},
		{name: "persistent 401 retried only once", accept: func(string) bool { return false },
			wantStatus: http.StatusUnauthorized, wantTokens: 2, wantCalls: 2},
		{name: "good token not refreshed", wantStatus: http.StatusAccepted, wantTokens: 1, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newGenesysServer(t)
			srv.accept = tt.accept
			p, _, c := srv.preset(nil)
			checkSend(t, p, c, tt.wantStatus)
			if srv.tokens.Load() != tt.wantTokens || srv.calls.Load() != tt.wantCalls {
				t.Errorf("tokens %d, API calls %d; want %d, %d", srv.tokens.Load(), srv.calls.Load(), tt.wantTokens, tt.wantCalls)
			}
		})
	}
}

// TestGenesysConcurrent401 checks that many requests refused on one stale
// token lead to a single new token.
func TestGenesysConcurrent401(t *testing.T) {
	srv := newGenesysServer(t)
	srv.accept = func(tok string) bool { return tok != "tok-1" }
	p, ts, c := srv.preset(nil)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { checkSend(t, p, c, http.StatusAccepted) })
	}
	wg.Wait()
	if got := ts.Fetched(); got != 2 {
		t.Errorf("fetched %d tokens, want 2", got)
	}
}

// holdTokens makes the token endpoint wait: arrived is closed when the
// first token request comes, and every token request waits until the test
// closes release.
func (s *genesysServer) holdTokens() (arrived, release chan struct{}) {
	arrived, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.tokenHook = func(http.ResponseWriter) bool {
		once.Do(func() { close(arrived) })
		<-release
		return false
	}
	return arrived, release
}

func TestGenesysSingleFlight(t *testing.T) {
	srv := newGenesysServer(t)
	arrived, release := srv.holdTokens()
	p, ts, c := srv.preset(nil)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { checkSend(t, p, c, http.StatusAccepted) })
	}
	<-arrived
	close(release)
	wg.Wait()
	if srv.tokens.Load() != 1 || ts.Fetched() != 1 {
		t.Errorf("token requests %d, fetched %d; want 1", srv.tokens.Load(), ts.Fetched())
	}
	if srv.calls.Load() != 50 {
		t.Errorf("API calls %d, want 50", srv.calls.Load())
	}
}

func TestGenesysWaitHonoursContext(t *testing.T) {
	srv := newGenesysServer(t)
	arrived, release := srv.holdTokens()
	p, ts, c := srv.preset(nil)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := send(ctx, p, c)
		errc <- err
	}()
	<-arrived
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// The token request was not cancelled with its first caller: once it
	// lands, the next request uses it.
	close(release)
	checkSend(t, p, c, http.StatusAccepted)
	if srv.tokens.Load() != 1 || ts.Fetched() != 1 {
		t.Errorf("token requests %d, fetched %d; want 1", srv.tokens.Load(), ts.Fetched())
	}
}

func TestGenesysTokenErrorPassedThrough(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header map[string]string
		body   string
		// The answer the engine sees, when not the endpoint's own.
		wantStatus int
		wantBody   string
	}{
		{name: "client refused with 400 stops like a 401", status: http.StatusBadRequest,
			body:       `{"error":"invalid_client","description":"authentication failed","error_description":"authentication failed"}`,
			wantStatus: http.StatusUnauthorized,
			wantBody:   `{"error":"invalid_client: authentication failed","error_description":"the token endpoint answered 400 Bad Request"}`},
		{name: "unauthorized client", status: http.StatusBadRequest, body: `{"error":"unauthorized_client"}`,
			wantStatus: http.StatusUnauthorized,
			wantBody:   `{"error":"unauthorized_client","error_description":"the token endpoint answered 400 Bad Request"}`},
		{name: "400 without a reason", status: http.StatusBadRequest, body: `<html>`,
			wantStatus: http.StatusUnauthorized,
			wantBody:   `{"error":"the token endpoint refused the client","error_description":"the token endpoint answered 400 Bad Request"}`},
		{name: "throttled", status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "7"}, body: `{"message":"slow down","code":"too.many.requests"}`},
		{name: "server error", status: http.StatusServiceUnavailable, body: `unavailable`},
		{name: "bad credentials", status: http.StatusUnauthorized, body: `{"error":"invalid_client"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newGenesysServer(t)
			var failing atomic.Bool
			failing.Store(true)
			srv.tokenHook = func(w http.ResponseWriter) bool {
				if !failing.Load() {
					return false
				}
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
				return true
			}
			p, ts, c := srv.preset(nil)
			m := p.Builder.Build(sender.Row{Line: 2, Fields: map[string]string{"to": "+15550001", "text": "hi"}})
			req, _ := http.NewRequest(m.Method, m.URL, bytes.NewReader(m.Body))
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			wantStatus, wantBody := cmp.Or(tt.wantStatus, tt.status), cmp.Or(tt.wantBody, tt.body)
			if resp.StatusCode != wantStatus || string(body) != wantBody || !strings.HasPrefix(resp.Status, strconv.Itoa(wantStatus)) {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, wantStatus, wantBody)
			}
			if _, errText := p.ParseResponse(resp.StatusCode, body); tt.wantBody != "" && !strings.HasSuffix(errText, ": the token endpoint answered 400 Bad Request") {
				t.Errorf("error text %q does not say what the endpoint answered", errText)
			}
			for k, v := range tt.header {
				if resp.Header.Get(k) != v {
					t.Errorf("header %s = %q, want %q", k, resp.Header.Get(k), v)
				}
			}
			if srv.calls.Load() != 0 || ts.Fetched() != 0 {
				t.Errorf("API calls %d, fetched %d; want 0", srv.calls.Load(), ts.Fetched())
			}
			// The failure is not cached: once the endpoint recovers, the next
			// request gets a token.
			failing.Store(false)
			checkSend(t, p, c, http.StatusAccepted)
		})
	}
}

func TestGenesysTokenTransportError(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	p, _, err := NewGenesys(GenesysConfig{From: "f", APIURL: dead.URL, LoginURL: dead.URL,
		ClientID: testClientID, ClientSecret: testClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: p.Wrap(nil)}
	m := p.Builder.Build(sender.Row{Line: 2, Fields: map[string]string{"to": "x", "text": "y"}})
	req, _ := http.NewRequest(m.Method, m.URL, bytes.NewReader(m.Body))
	_, err = c.Do(req)
	if err == nil || !strings.Contains(err.Error(), "fetch genesys token") {
		t.Fatalf("err = %v, want a token fetch error", err)
	}
	for _, s := range p.Secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error leaks a secret: %v", err)
		}
	}
}

func TestGenesysParseResponse(t *testing.T) {
	p, _, err := NewGenesys(GenesysConfig{From: "f", Region: "mypurecloud.de", ClientID: "i", ClientSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name            string
		status          int
		body            string
		wantID, wantErr string
	}{
		{name: "conversation and message id", status: 202, body: `{"id":"m1","conversationId":"c1"}`, wantID: "c1/m1"},
		{name: "message id only", status: 202, body: `{"id":"m1"}`, wantID: "m1"},
		{name: "conversation id", status: 202, body: `{"conversationId":"c1","sid":"x"}`, wantID: "c1"},
		{name: "error", status: 400, body: `{"message":"Invalid toAddress","code":"bad.request","status":400}`, wantErr: "bad.request: Invalid toAddress"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, e := p.ParseResponse(tt.status, []byte(tt.body))
			if id != tt.wantID || e != tt.wantErr {
				t.Errorf("got (%q, %q), want (%q, %q)", id, e, tt.wantID, tt.wantErr)
			}
		})
	}
}

// TestGenesysUnreplayableBody checks that a 401 on a body that cannot be
// replayed is returned as is, and that the refused token is still dropped.
func TestGenesysUnreplayableBody(t *testing.T) {
	srv := newGenesysServer(t)
	srv.accept = func(tok string) bool { return tok != "tok-1" }
	p, ts, c := srv.preset(nil)
	m := p.Builder.Build(sender.Row{Line: 2, Fields: map[string]string{"to": "+15550001", "text": "hi"}})
	req, _ := http.NewRequest(m.Method, m.URL, io.NopCloser(bytes.NewReader(m.Body)))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || srv.calls.Load() != 1 {
		t.Fatalf("status %d after %d calls, want 401 after 1", resp.StatusCode, srv.calls.Load())
	}
	if req.Header.Get("Authorization") != "" {
		t.Error("Wrap modified the caller's request")
	}
	checkSend(t, p, c, http.StatusAccepted)
	if ts.Fetched() != 2 {
		t.Errorf("fetched %d tokens, want 2", ts.Fetched())
	}
}

func TestParseTemplateParam(t *testing.T) {
	tests := []struct {
		name, in string
		want     TemplateParam
		err      string
	}{
		{name: "id and column", in: "1=first_name", want: TemplateParam{ID: "1", Column: "first_name"}},
		{name: "column alone", in: "order", want: TemplateParam{ID: "order", Column: "order"}},
		{name: "column with =", in: "a=b=c", want: TemplateParam{ID: "a", Column: "b=c"}},
		{name: "empty", in: "", err: `template parameter "": want ID=COLUMN`},
		{name: "no id", in: "=col", err: `template parameter "=col": want ID=COLUMN`},
		{name: "no column", in: "1=", err: `template parameter "1=": want ID=COLUMN`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTemplateParam(tt.in)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func FuzzParseTemplateParam(f *testing.F) {
	for _, s := range []string{"1=first_name", "order", "", "=", "a=b=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseTemplateParam(s)
		if err != nil {
			return
		}
		if p.ID == "" || p.Column == "" || (p.ID+"="+p.Column != s && p.ID != s) {
			t.Fatalf("%q parsed as %+v", s, p)
		}
	})
}

func TestWhatsAppID(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "E.164", in: "+13175555555", want: "13175555555"},
		{name: "already an id", in: "13175555555", want: "13175555555"},
		{name: "15 digits", in: "+123456789012345", want: "123456789012345"},
		{name: "16 digits", in: "+1234567890123456"},
		{name: "7 digits", in: "+1234567"},
		{name: "spaces", in: "+1 317 555 5555"},
		{name: "two pluses", in: "++13175555555"},
		{name: "whatsapp prefix", in: "whatsapp:+13175555555"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := whatsAppID(tt.in)
			if got != tt.want || (err == nil) != (tt.want != "") {
				t.Fatalf("whatsAppID(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}
