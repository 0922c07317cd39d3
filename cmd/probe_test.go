package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/bulksend/bulksend/internal/testkit"
	"github.com/bulksend/bulksend/internal/testkit/sandboxtest"
	"github.com/bulksend/bulksend/probe"
	"github.com/bulksend/bulksend/ratelimit"
	"github.com/bulksend/bulksend/sandbox"
)

// TestNewCmdProbeFlags checks flags -> ProbeOptions without sending anything.
func TestNewCmdProbeFlags(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, o *ProbeOptions)
	}{
		{"defaults", []string{"http://x/send"}, func(t *testing.T, o *ProbeOptions) {
			if o.URL != "http://x/send" || o.Method != "GET" || o.MaxRequests != 0 || o.MaxTime != 30*time.Second ||
				o.Timeout != 30*time.Second || o.Insecure || o.JSON || o.Body != "" || len(o.Headers) != 0 {
				t.Errorf("defaults: %+v", o)
			}
		}},
		{"a send request", []string{"http://x/send", "--method", "POST", "-H", "A: 1", "--header", "Authorization: Bearer {{env \"T\"}}",
			"--body", `{"to":"+1555"}`, "--secret-header", "X-Key"}, func(t *testing.T, o *ProbeOptions) {
			if o.Method != "POST" || strings.Join(o.Headers, "|") != `A: 1|Authorization: Bearer {{env "T"}}` ||
				o.Body != `{"to":"+1555"}` || strings.Join(o.SecretHeaders, "|") != "X-Key" {
				t.Errorf("request: %+v", o)
			}
		}},
		{"budget and output", []string{"https://x/", "--max-requests", "40", "--max-time", "5s", "--timeout", "2s", "--insecure", "--json"},
			func(t *testing.T, o *ProbeOptions) {
				if o.MaxRequests != 40 || o.MaxTime != 5*time.Second || o.Timeout != 2*time.Second || !o.Insecure || !o.JSON {
					t.Errorf("budget: %+v", o)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := TestStreams()
			var got *ProbeOptions
			c := NewCmdProbe(ios, nil, nil, func(o *ProbeOptions) error { got = o; return nil })
			c.SetArgs(tt.args)
			if err := c.ExecuteContext(context.Background()); err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
		})
	}
}

// TestProbeUsage: what is wrong with the invocation is exit 2, found
// before anything is sent (the URL's port would refuse a connection).
func TestProbeUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no URL", nil, "exactly one URL"},
		{"two URLs", []string{"http://127.0.0.1:1/", "http://127.0.0.1:2/"}, "exactly one URL"},
		{"budget too small", []string{"http://127.0.0.1:1/", "--max-requests", "1"}, "--max-requests"},
		{"no timeout", []string{"http://127.0.0.1:1/", "--timeout", "0s"}, "--timeout"},
		{"no time", []string{"http://127.0.0.1:1/", "--max-time", "0s"}, "--max-time"},
		{"not a URL", []string{"ftp://127.0.0.1:1/"}, "scheme"},
		{"bad method", []string{"http://127.0.0.1:1/", "--method", "G T"}, "method"},
		{"bad header", []string{"http://127.0.0.1:1/", "-H", "no colon"}, "colon"},
		{"row field", []string{"http://127.0.0.1:1/", "--body", `{"to": {{json .to}}}`}, "row fields"},
		{"body not JSON", []string{"http://127.0.0.1:1/", "--body", `{"to": `}, "JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runProbe(t, nil, nil, tt.args...)
			if code != ExitUsage || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, ExitUsage, tt.want)
			}
			if out != "" {
				t.Errorf("stdout %q", out)
			}
		})
	}
}

// runProbe runs `bulksend probe args...` as Main would, and returns the
// exit code and what it printed.
func runProbe(t *testing.T, sig <-chan os.Signal, getenv env, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ios, _, out, errOut := TestStreams()
	return execProbe(NewCmdProbe(ios, sig, getenv, nil), out, errOut, args)
}

// simulatedSandbox starts a sandbox on 127.0.0.1 whose clock is a
// simulated one, and returns its base URL and what makes a probe use that
// clock, one request at a time: the clock only moves when the probe waits,
// so the server decides every request at the instant the probe means to
// send it, however long the machine takes to carry it (see probe's own
// simulated tests). A probe run on the real clock on a busy machine
// stretches its timeline and at times reads the wrong model.
func simulatedSandbox(t *testing.T, cfg sandbox.Config) (string, func(*probe.Config)) {
	t.Helper()
	clock := testkit.NewJumpClock(time.Date(2025, 3, 1, 12, 0, 0, 123e6, time.UTC))
	cfg.Now = clock.Now
	_, base := sandboxtest.Start(t, cfg)
	return base, func(c *probe.Config) { c.Clock, c.Concurrency = clock, 1 }
}

// runSimulatedProbe is runProbe with the probe's configuration changed by
// adjust (see simulatedSandbox).
func runSimulatedProbe(t *testing.T, adjust func(*probe.Config), args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ios, _, out, errOut := TestStreams()
	c := NewCmdProbe(ios, nil, nil, func(o *ProbeOptions) error {
		o.adjust = adjust
		return probeRun(context.Background(), o)
	})
	return execProbe(c, out, errOut, args)
}

// execProbe runs the probe command c with args, its output in out and
// errOut, and returns its exit code and what it printed.
func execProbe(c *cobra.Command, out, errOut *bytes.Buffer, args []string) (code int, stdout, stderr string) {
	c.SetArgs(args)
	c.SetOut(out)
	c.SetErr(errOut)
	c.SilenceUsage, c.SilenceErrors = true, true
	err := c.ExecuteContext(context.Background())
	if err != nil {
		errOut.WriteString("bulksend: " + err.Error() + "\n")
	}
	return exitCode(err), out.String(), errOut.String()
}

// probeJSON runs a probe with --json against url and decodes its report.
func probeJSON(t *testing.T, url string, args ...string) (int, probeReport, string) {
	t.Helper()
	code, out, errOut := runProbe(t, nil, nil, append([]string{url, "--json"}, args...)...)
	var rep probeReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s\nstderr: %s", err, out, errOut)
	}
	return code, rep, errOut
}

// TestProbeDoneWhen is issue 3's acceptance test: against a sandbox with a
// burst of 15, 20 requests a second, X-RateLimit-Reset in Unix seconds and
// a clock 90 s ahead, probe finds all four.
func TestProbeDoneWhen(t *testing.T) {
	_, base := sandboxtest.Start(t, sandbox.Config{Burst: 15, Rate: 20, Style: sandbox.StyleResetUnix, Skew: 90 * time.Second})
	code, rep, errOut := probeJSON(t, base+"/send")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if rep.Burst < 13 || rep.Burst > 17 {
		t.Errorf("burst %d, want 15±2", rep.Burst)
	}
	if math.Abs(rep.SustainedPerSecond-20) > 20*0.15 {
		t.Errorf("sustained %v/s, want 20/s ±15%%", rep.SustainedPerSecond)
	}
	if rep.ResetHeader != "X-RateLimit-Reset" || rep.ResetUnit != ratelimit.UnitUnix {
		t.Errorf("reset %q %q, want X-RateLimit-Reset unix", rep.ResetHeader, rep.ResetUnit)
	}
	if rep.ClockSkewSeconds == nil || math.Abs(*rep.ClockSkewSeconds-90) > 2 {
		t.Errorf("skew %v, want 90±2", rep.ClockSkewSeconds)
	}
	if rep.QuotaHeader != "X-RateLimit" || rep.QuotaLimit != 15 {
		t.Errorf("quota %q %d", rep.QuotaHeader, rep.QuotaLimit)
	}
	if !strings.HasPrefix(rep.SuggestedFlags, "--rate ") || !strings.Contains(rep.SuggestedFlags, " --burst ") {
		t.Errorf("suggested flags %q", rep.SuggestedFlags)
	}
	// At most 400 requests a round: a fit left weak by a busy machine
	// takes another round of evidence (probe.Config.MinConfidence).
	if rep.Requests > 400*max(rep.Rounds, 1) || rep.ElapsedSeconds > 10 {
		t.Errorf("%d requests in %d rounds, %vs", rep.Requests, rep.Rounds, rep.ElapsedSeconds)
	}
}

// TestProbeStyles checks that other header styles are named as send reads
// them; probe's own tests cover every style on a simulated clock.
func TestProbeStyles(t *testing.T) {
	tests := []struct{ style, header, unit string }{
		{sandbox.StyleRetryAfter, "Retry-After", ratelimit.UnitSeconds},
		{sandbox.StyleResetUnixMS, "X-RateLimit-Reset", ratelimit.UnitUnixMS},
		{sandbox.StyleRateLimit, "RateLimit", ratelimit.UnitSeconds},
	}
	for _, tt := range tests {
		t.Run(tt.style, func(t *testing.T) {
			t.Parallel()
			base, adjust := simulatedSandbox(t, sandbox.Config{Burst: 10, Rate: 40, Style: tt.style})
			code, out, errOut := runSimulatedProbe(t, adjust, base+"/send", "--json")
			var rep probeReport
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("stdout is not the JSON report: %v\n%s\nstderr: %s", err, out, errOut)
			}
			if code != ExitOK || rep.ResetHeader != tt.header || rep.ResetUnit != tt.unit || !rep.Limited || rep.Burst < 8 || rep.Burst > 12 {
				t.Errorf("exit %d, report %+v, stderr %s", code, rep, errOut)
			}
			if rep.ClockSkewSeconds == nil || math.Abs(*rep.ClockSkewSeconds) > 1 {
				t.Errorf("skew %v, want about 0", rep.ClockSkewSeconds)
			}
		})
	}
}

// TestProbeTable checks the table a person reads.
func TestProbeTable(t *testing.T) {
	base, adjust := simulatedSandbox(t, sandbox.Config{Burst: 15, Rate: 50, Style: sandbox.StyleResetUnixMS, Skew: -30 * time.Second})
	code, out, errOut := runSimulatedProbe(t, adjust, base+"/send")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		`^endpoint +GET ` + regexp.QuoteMeta(base) + `/send$`,
		`^requests +\d+ in \d+\.\ds: \d+ accepted, \d+ throttled$`,
		`^burst +1[3-7] \(\d+ accepted before the first throttle answer; its X-RateLimit headers say 15\)$`,
		`^sustained rate +\d+/s \(\d+ accepted over \d\.\d\ds between throttle answers\)$`,
		`^reset header +X-RateLimit-Reset, unit unix_ms: an instant in Unix milliseconds \(X-RateLimit-Reset: \d{13} asked for a wait of \d\.\ds\)$`,
		`^clock skew +-(29\.[6-9]|30\.[0-4])s( ±0\.\ds)? \(the server is behind\); X-RateLimit-Reset read against this machine's clock would be 30s off: send reads it against the server's Date$`,
		`^suggested flags +--rate [\d.]+/s --burst 1[3-7]$`,
	} {
		if !regexp.MustCompile(`(?m)` + want).MatchString(out) {
			t.Errorf("table lacks %s:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "bulksend probe: GET "+base+"/send, as many requests as needed in 30s") {
		t.Errorf("stderr %q", errOut)
	}
}

// TestProbeRounds: a probe whose first fit was weak says how many rounds
// it took, and a fit still weak at the end says so.
func TestProbeRounds(t *testing.T) {
	tests := []struct {
		name   string
		cfg    sandbox.Config
		args   []string
		want   string
		weak   bool
		rounds int
	}{
		{"HAProxy's counter, told apart in a second round",
			sandbox.Config{Model: sandbox.ModelSliding, Sliding: sandbox.SlidingCounterFirst, Burst: 15, Window: 150 * time.Millisecond, RefusedCount: true},
			nil, `^model +15 per 150ms sliding window \(counter from first request\); refused requests count against it \(confidence 1\.00 after 2 rounds: it explains \d+ of \d+ answers\)$`, false, 2},
		// A bucket, a window and a log of one are one limiter: no rival
		// weakens the fit.
		{"one at a time, a bucket or a window alike",
			sandbox.Config{Burst: 1, Rate: 10}, nil,
			`^model +bucket \(token, or leaky answering at once\) of 1 refilled at 10\.0/s \(confidence 1\.00: it explains \d+ of \d+ answers\)$`, false, 1},
		{"HAProxy's counter, cut short by the budget",
			sandbox.Config{Model: sandbox.ModelSliding, Sliding: sandbox.SlidingCounterFirst, Burst: 15, Window: 150 * time.Millisecond, RefusedCount: true},
			[]string{"--max-requests", "60"},
			`^model +.* \(confidence 0\.[0-8]\d: it explains \d+ of \d+ answers\)$`, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base, adjust := simulatedSandbox(t, tt.cfg)
			code, out, errOut := runSimulatedProbe(t, adjust, append([]string{base + "/send"}, tt.args...)...)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if !regexp.MustCompile(`(?m)` + tt.want).MatchString(out) {
				t.Errorf("table lacks %s:\n%s", tt.want, out)
			}
			if weak := strings.Contains(out, "a weak fit: another kind of limiter explains these answers nearly as well"); weak != tt.weak {
				t.Errorf("weak fit said %v, want %v:\n%s", weak, tt.weak, out)
			}
			// A weak fit the budget cut short names the flag to raise.
			raise := tt.args != nil && tt.weak
			if said := strings.Contains(out, "a weak fit within the budget: raise --max-requests (now 60) to let the probe take another round"); said != raise {
				t.Errorf("flag to raise said %v, want %v:\n%s", said, raise, out)
			}
			base, adjust = simulatedSandbox(t, tt.cfg)
			_, out, _ = runSimulatedProbe(t, adjust, append([]string{base + "/send", "--json"}, tt.args...)...)
			var rep probeReport
			if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Rounds != tt.rounds {
				t.Errorf("JSON rounds %d (%v), want %d", rep.Rounds, err, tt.rounds)
			}
		})
	}
}

// TestProbeNotMeasured: what exits 1, and that it still prints what it saw.
func TestProbeNotMeasured(t *testing.T) {
	_, unlimited := sandboxtest.Start(t, sandbox.Config{})
	_, slow := sandboxtest.Start(t, sandbox.Config{Burst: 5, Rate: 0.5})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/send"
	l.Close()
	tests := []struct {
		name   string
		args   []string
		stderr string
		stdout string // a regexp; "" for no output at all
	}{
		{
			name:   "no limit within the budget",
			args:   []string{unlimited + "/send", "--max-requests", "20"},
			stderr: "bulksend: no 429 in 20 requests over ",
			stdout: `(?m)^burst +not found: every answer was accepted$`,
		},
		{
			name:   "burst but no rate within the budget",
			args:   []string{slow + "/send", "--max-requests", "8"},
			stderr: "bulksend: burst found, but the sustained rate could not be measured in 8 requests and ",
			stdout: `(?m)^burst +5 \(5 accepted before the first throttle answer\)\n(.|\n)*^sustained rate +not measured$`,
		},
		{
			name:   "refused",
			args:   []string{unlimited + "/nowhere"},
			stderr: "answered 404 Not Found",
		},
		{
			name:   "unreachable",
			args:   []string{closed, "--timeout", "2s"},
			stderr: "bulksend: GET " + closed + ": ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runProbe(t, nil, nil, tt.args...)
			if code != ExitError || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, ExitError, tt.stderr)
			}
			if tt.stdout == "" && out != "" || !regexp.MustCompile(tt.stdout).MatchString(out) {
				t.Errorf("stdout %q, want %q", out, tt.stdout)
			}
			if strings.Contains(out, "suggested flags") {
				t.Errorf("flags suggested without a measurement:\n%s", out)
			}
		})
	}
	// With --max-requests 0 the probe still stops at its own cap, and it
	// is --max-requests, not --max-time, that looks further.
	t.Run("no limit within the default budget", func(t *testing.T) {
		base, adjust := simulatedSandbox(t, sandbox.Config{})
		code, _, errOut := runSimulatedProbe(t, adjust, base+"/send")
		want := fmt.Sprintf("no 429 in %d requests over ", probe.AutoMaxRequests)
		flag := fmt.Sprintf("set --max-requests above %d", probe.AutoMaxRequests)
		if code != ExitError || !strings.Contains(errOut, want) || !strings.Contains(errOut, flag) || strings.Contains(errOut, "--max-time") {
			t.Errorf("exit %d, stderr %q; want %d, %q and %q", code, errOut, ExitError, want, flag)
		}
	})
	t.Run("json says why", func(t *testing.T) {
		code, rep, _ := probeJSON(t, unlimited+"/send", "--max-requests", "10")
		if code != ExitError || rep.ExitCode != ExitError || rep.Limited || rep.Requests != 10 || rep.SuggestedFlags != "" ||
			!strings.HasPrefix(rep.Note, "no 429 in 10 requests") {
			t.Errorf("exit %d, report %+v", code, rep)
		}
	})
}

// TestProbeMasksSecrets: credentials given in headers or read with env never
// appear in what probe prints, even in an error that quotes the URL.
func TestProbeMasksSecrets(t *testing.T) {
	srv := testkit.NewServer(t, http.NotFoundHandler())
	getenv := func(k string) string {
		if k == "API_KEY" {
			return "env-secret-123"
		}
		return ""
	}
	for _, asJSON := range []bool{false, true} {
		args := []string{srv.URL + `/send?key={{env "API_KEY"}}`, "-H", "Authorization: Bearer header-secret-456", "-H", "X-Api-Key: custom-secret-789",
			"--secret-header", "X-Api-Key"}
		if asJSON {
			args = append(args, "--json")
		}
		code, out, errOut := runProbe(t, nil, getenv, args...)
		if code != ExitError {
			t.Errorf("exit %d, want %d", code, ExitError)
		}
		var gotAuth, gotKey string
		if reqs := srv.Requests(); len(reqs) > 0 {
			last := reqs[len(reqs)-1]
			gotAuth, gotKey = last.Header.Get("Authorization"), last.URL.Query().Get("key")
		}
		if gotAuth != "Bearer header-secret-456" || gotKey != "env-secret-123" {
			t.Errorf("server got Authorization %q, key %q", gotAuth, gotKey)
		}
		for _, secret := range []string{"env-secret-123", "header-secret-456"} {
			if strings.Contains(out+errOut, secret) {
				t.Errorf("json=%v: %q printed:\n%s\n%s", asJSON, secret, out, errOut)
			}
		}
		if !strings.Contains(out+errOut, "key=***") {
			t.Errorf("json=%v: masked URL not shown:\n%s\n%s", asJSON, out, errOut)
		}
	}
}

// TestProbeInterrupted: a signal stops the probe; it exits 130 with what it
// saw. From the fifth request on the server answers nothing until the probe
// gives the request up, so only the signal can end the probe before its
// budget, however slowly a loaded machine delivers the signal.
func TestProbeInterrupted(t *testing.T) {
	sig := make(chan os.Signal, 1)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch i := n.Add(1); {
		case i == 5:
			sig <- syscall.SIGINT
			fallthrough
		case i > 5:
			<-r.Context().Done()
		}
	}))
	defer srv.Close()
	ios, _, out, _ := TestStreams()
	c := NewCmdProbe(ios, sig, nil, nil)
	c.SilenceUsage, c.SilenceErrors = true, true
	c.SetArgs([]string{srv.URL, "--json"})
	err := c.ExecuteContext(context.Background())
	if code := exitCode(err); code != ExitInterrupted {
		t.Fatalf("exit %d (%v), want %d", code, err, ExitInterrupted)
	}
	var rep probeReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.ExitCode != ExitInterrupted || rep.Note != "interrupted" || rep.Accepted < 1 || rep.Requests >= 100 {
		t.Errorf("report %+v", rep)
	}
}

// TestProbeTransportKeepsConnections: the probe grows to MaxConcurrency
// requests in flight, and every one of their connections stays open for
// the next burst; with fewer kept, each burst dials anew and the server
// decides its requests later than they were sent.
func TestProbeTransportKeepsConnections(t *testing.T) {
	if got := probeTransport(false).MaxIdleConnsPerHost; got < probe.MaxConcurrency {
		t.Errorf("MaxIdleConnsPerHost %d, want at least probe.MaxConcurrency (%d)", got, probe.MaxConcurrency)
	}
}
