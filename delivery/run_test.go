package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulksend/bulksend/internal/testkit"
	"github.com/bulksend/bulksend/report"
	"github.com/bulksend/bulksend/sandbox"
	"github.com/bulksend/bulksend/sender"
)

var t0 = time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)

// vendorCase is one vendor of the sandbox: how to send a message there
// and how to look it up.
type vendorCase struct {
	name   string
	send   func(t *testing.T, base string) string // returns the report's message_id
	vendor func(base string) Vendor
	auth   func(base string) func(*http.Request)
}

var vendors = []vendorCase{
	{
		name: "twilio",
		send: func(t *testing.T, base string) string {
			form := url.Values{"To": {"+15551234567"}, "From": {"+15550000000"}, "Body": {"hi"}}
			req, _ := http.NewRequest("POST", base+"/2010-04-01/Accounts/"+sandbox.DefaultAccountSID+"/Messages.json", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(sandbox.DefaultAccountSID, sandbox.DefaultAuthToken)
			var r struct{ SID string }
			decode(t, req, 201, &r)
			return r.SID
		},
		vendor: func(base string) Vendor { return Twilio{API: base, Account: sandbox.DefaultAccountSID} },
		auth: func(string) func(*http.Request) {
			return func(r *http.Request) { r.SetBasicAuth(sandbox.DefaultAccountSID, sandbox.DefaultAuthToken) }
		},
	},
	{
		name: "genesys",
		send: func(t *testing.T, base string) string {
			req, _ := http.NewRequest("POST", base+"/api/v2/conversations/messages/agentless",
				strings.NewReader(`{"fromAddress":"+15550000000","toAddress":"+15551234567","toAddressMessengerType":"sms","textBody":"hi"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+cachedToken(t, base))
			var r struct{ ID, ConversationID string }
			decode(t, req, 202, &r)
			return r.ConversationID + "/" + r.ID
		},
		vendor: func(base string) Vendor { return Genesys{API: base} },
		auth: func(base string) func(*http.Request) {
			return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+cachedToken(nil, base)) }
		},
	},
}

func decode(t *testing.T, req *http.Request, status int, v any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != status {
		t.Fatalf("%s %s: %d", req.Method, req.URL, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

var tokens sync.Map // base URL -> token: the token endpoint allows a burst of 5

func cachedToken(t *testing.T, base string) string {
	if tok, ok := tokens.Load(base); ok {
		return tok.(string)
	}
	tok := genesysToken(t, base)
	tokens.Store(base, tok)
	return tok
}

func genesysToken(t *testing.T, base string) string {
	req, _ := http.NewRequest("POST", base+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(sandbox.DefaultClientID, sandbox.DefaultClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if t != nil {
			t.Fatal(err)
		}
		return ""
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	return tok.AccessToken
}

// authDoer adds a vendor's credentials and counts requests.
type authDoer struct {
	auth     func(*http.Request)
	requests atomic.Int64
	// after, when set, is called after each answer with the count so far.
	after func(n int64)
}

func (d *authDoer) Do(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	d.auth(req)
	resp, err := http.DefaultTransport.RoundTrip(req)
	n := d.requests.Add(1)
	if d.after != nil {
		d.after(n)
	}
	return resp, err
}

// setup is a sandbox on a stopped clock and a report of n sent rows to it
// (lines 2..n+1), plus one failed row (line n+2).
type setup struct {
	srv    *sandbox.Server
	base   string
	clock  *testkit.Clock
	report string
}

func newSetup(t *testing.T, vc vendorCase, cfg sandbox.Config, n int, file string) *setup {
	t.Helper()
	clock := testkit.NewClock(t0)
	cfg.Now = clock.Now
	srv, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	s := &setup{srv: srv, base: ts.URL, clock: clock, report: filepath.Join(t.TempDir(), file)}
	w, err := report.Create(s.report, report.Options{CommitDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		id := vc.send(t, s.base)
		if err := w.Record(&sender.Result{Line: i + 2, ID: fmt.Sprintf("r%d", i+1), Status: sender.StatusSent, HTTPStatus: 201,
			Attempts: 1, MessageID: id, SentAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Record(&sender.Result{Line: n + 2, ID: "bad", Status: sender.StatusFailed, HTTPStatus: 400, Attempts: 1, Error: "HTTP 400"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *setup) options(vc vendorCase, doer sender.Doer) Options {
	return Options{
		Report: s.report,
		Vendor: vc.vendor(s.base),
		Engine: sender.Config{Client: doer, Now: s.clock.Now, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond},
		Sleep: func(ctx context.Context, d time.Duration) error {
			s.clock.Advance(d)
			return ctx.Err()
		},
	}
}

func readReport(t *testing.T, path string) map[int]report.Row {
	t.Helper()
	rows := map[int]report.Row{}
	err := report.LastRows(path, report.FormatFromName(path), func(r report.Row) error {
		rows[r.Line] = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestRunWatch: --watch asks every sent row until its story ends, the
// report gets each row's final status, error and time, and the summary
// lists the undelivered rows with their codes.
func TestRunWatch(t *testing.T) {
	const n = 40
	wantCode := map[string]*regexp.Regexp{
		"twilio":  regexp.MustCompile(`^(30003: Unreachable destination handset|30005: Unknown destination handset|30007: Message filtered|21610: Attempt to send to unsubscribed recipient)$`),
		"genesys": regexp.MustCompile(`^(InvalidDestination|MessageNotAllowed|RecipientOptedOut): `),
	}
	for _, file := range []string{"report.csv", "report.jsonl"} {
		for _, vc := range vendors {
			t.Run(vc.name+" "+file, func(t *testing.T) {
				s := newSetup(t, vc, sandbox.Config{Undelivered: 0.3, DeliveryStep: time.Second, Seed: 5}, n, file)
				doer := &authDoer{auth: vc.auth(s.base)}
				opts := s.options(vc, doer)
				opts.Watch, opts.Interval, opts.MaxTime = true, time.Second, time.Hour
				var passes []int
				opts.OnPass = func(_, rows int) { passes = append(passes, rows) }
				res, err := Run(context.Background(), nil, opts)
				if err != nil {
					t.Fatal(err)
				}
				if res.Rows != n+1 || res.Counts[NotSent] != 1 || res.Delivered+res.Undelivered != n || res.Pending != 0 || res.TimedOut {
					t.Errorf("result %+v", res)
				}
				if res.Undelivered == 0 || res.Delivered == 0 || res.AllDelivered() {
					t.Errorf("want some of each with a 30%% undelivered share: %+v", res)
				}
				if passes[0] != n || len(passes) < 3 || passes[len(passes)-1] == 0 {
					t.Errorf("passes asked %v rows", passes)
				}
				rows := readReport(t, s.report)
				for line := 2; line <= n+1; line++ {
					r := rows[line]
					switch OutcomeOf(r.DeliveryStatus) {
					case Delivered:
						if r.DeliveryError != "" {
							t.Errorf("line %d delivered with error %q", line, r.DeliveryError)
						}
					case Undelivered:
						if !wantCode[vc.name].MatchString(r.DeliveryError) {
							t.Errorf("line %d %s with error %q", line, r.DeliveryStatus, r.DeliveryError)
						}
					default:
						t.Errorf("line %d not final: %+v", line, r)
					}
					if !strings.HasPrefix(r.DeliveryAt, "2026-12-03T14:00:0") {
						t.Errorf("line %d delivery_at %q", line, r.DeliveryAt)
					}
				}
				if r := rows[n+2]; r.DeliveryStatus != "" || r.Status != sender.StatusFailed {
					t.Errorf("the failed row was touched: %+v", r)
				}
				if len(res.Failures) != res.Undelivered || res.Failures[0].Error == "" {
					t.Errorf("failures %+v", res.Failures)
				}
				if info, _ := os.Stat(s.report); info.Mode().Perm() != 0o600 {
					t.Errorf("report mode %v", info.Mode().Perm())
				}
			})
		}
	}
}

// TestRunResumes: a run stopped half way has saved what it learned, and
// the next run asks only the rows still open.
func TestRunResumes(t *testing.T) {
	const n = 30
	for _, vc := range vendors {
		t.Run(vc.name, func(t *testing.T) {
			s := newSetup(t, vc, sandbox.Config{DeliveryStep: time.Second}, n, "report.csv")
			s.clock.Advance(time.Minute) // every message is final
			stop := make(chan struct{})
			var once sync.Once
			doer := &authDoer{auth: vc.auth(s.base), after: func(k int64) {
				if k == n/2 {
					once.Do(func() { close(stop) })
				}
			}}
			opts := s.options(vc, doer)
			opts.Engine.Concurrency = 1
			_, err := Run(context.Background(), stop, opts)
			if !errors.Is(err, sender.ErrInterrupted) {
				t.Fatalf("stopped run: %v", err)
			}
			first := doer.requests.Load()
			done := 0
			for _, r := range readReport(t, s.report) {
				if r.DeliveryStatus == "delivered" || r.DeliveryStatus == "delivery-success" {
					done++
				}
			}
			if done != int(first) || done == 0 || done == n {
				t.Fatalf("after the stop %d rows have a status, %d lookups made", done, first)
			}
			doer.after = nil
			res, err := Run(context.Background(), nil, opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := doer.requests.Load() - first; got != int64(n-done) {
				t.Errorf("the rerun made %d lookups, want %d (the open rows only)", got, n-done)
			}
			if res.Delivered != n || res.AllDelivered() {
				t.Errorf("result %+v (the failed row is not delivered)", res)
			}
		})
	}
}

// TestRunRefuses: an unfinished journal, and credentials the vendor
// refuses, end the run with an error.
func TestRunRefuses(t *testing.T) {
	vc := vendors[0]
	t.Run("in flight", func(t *testing.T) {
		s := newSetup(t, vc, sandbox.Config{}, 1, "report.csv")
		w, err := report.Append(s.report, report.Options{CommitDelay: -1})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Begin(&sender.Message{Line: 9, ID: "x"}); err != nil {
			t.Fatal(err)
		}
		w.Close()
		_, err = Run(context.Background(), nil, s.options(vc, &authDoer{auth: vc.auth(s.base)}))
		if !errors.Is(err, ErrUnfinished) {
			t.Errorf("got %v, want ErrUnfinished", err)
		}
	})
	t.Run("wrong credentials", func(t *testing.T) {
		s := newSetup(t, vc, sandbox.Config{}, 3, "report.csv")
		doer := &authDoer{auth: func(r *http.Request) { r.SetBasicAuth(sandbox.DefaultAccountSID, "wrong") }}
		_, err := Run(context.Background(), nil, s.options(vc, doer))
		if !errors.Is(err, sender.ErrAuth) {
			t.Errorf("got %v, want ErrAuth", err)
		}
	})
	t.Run("max time", func(t *testing.T) {
		s := newSetup(t, vc, sandbox.Config{DeliveryStep: time.Hour}, 2, "report.csv")
		opts := s.options(vc, &authDoer{auth: vc.auth(s.base)})
		opts.Watch, opts.Interval, opts.MaxTime = true, time.Minute, 5*time.Minute
		res, err := Run(context.Background(), nil, opts)
		if err != nil || !res.TimedOut || res.Pending != 2 || res.Passes != 6 {
			t.Errorf("result %+v, %v: want timed out after 6 passes (0 to 5m) with 2 pending", res, err)
		}
	})
}

// TestRunMasksEchoes: a server that echoes a secret into a message's
// status word and error gets neither stored: both pass Options.Redact.
func TestRunMasksEchoes(t *testing.T) {
	const secret = "s3cr3t-token-value"
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"status":"failed-%s","error":"bad key %s"}`, secret, secret)
	}))
	t.Cleanup(ts.Close)
	s := newSetup(t, vendors[0], sandbox.Config{}, 1, "report.csv")
	g, err := NewGeneric(GenericConfig{URL: ts.URL + "/m/{{.message_id}}", ErrorField: "error"})
	if err != nil {
		t.Fatal(err)
	}
	opts := s.options(vendors[0], http.DefaultClient)
	opts.Vendor = g
	opts.Redact = func(v string) string { return strings.ReplaceAll(v, secret, "***") }
	if _, err := Run(context.Background(), nil, opts); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(s.report)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), secret) {
		t.Fatalf("the report stores the secret:\n%s", raw)
	}
	if r := readReport(t, s.report)[2]; r.DeliveryStatus != "failed-***" || !strings.Contains(r.DeliveryError, "***") {
		t.Errorf("delivery %q / %q, want both masked", r.DeliveryStatus, r.DeliveryError)
	}
}

// TestRunBatches: a pass holds lookups for Batch rows at a time and still
// asks every open row exactly once, reported as one pass over all of them.
func TestRunBatches(t *testing.T) {
	const n = 10
	vc := vendors[0]
	s := newSetup(t, vc, sandbox.Config{DeliveryStep: time.Second}, n, "report.csv")
	// The clock stands still: every message stays open after its lookup,
	// so only the pass's own bookkeeping keeps it from being asked again.
	doer := &authDoer{auth: vc.auth(s.base)}
	opts := s.options(vc, doer)
	opts.Batch = 3
	var passes []string
	opts.OnPass = func(pass, rows int) { passes = append(passes, fmt.Sprintf("%d:%d", pass, rows)) }
	res, err := Run(context.Background(), nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := doer.requests.Load(); got != n {
		t.Errorf("%d lookups, want %d", got, n)
	}
	if strings.Join(passes, " ") != "1:10" || res.Passes != 1 || res.Pending != n+0 || res.Delivered != 0 {
		t.Errorf("passes %v, result %+v", passes, res)
	}
}
