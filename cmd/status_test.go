package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulksend/bulksend/internal/testkit"
	"github.com/bulksend/bulksend/sandbox"
)

// TestNewCmdStatusFlags: the flags reach StatusOptions as given.
func TestNewCmdStatusFlags(t *testing.T) {
	ios, _, _, _ := TestStreams()
	var got *StatusOptions
	c := NewCmdStatus(ios, nil, nil, func(o *StatusOptions) error { got = o; return nil })
	c.SetArgs([]string{"r.csv", "--preset", "twilio", "--api-url", "http://x", "--watch", "--interval", "5s", "--max-time", "2m",
		"--rate", "10/s", "--concurrency", "3", "--json"})
	if err := c.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := StatusOptions{IO: ios, Report: "r.csv", Preset: "twilio", APIURL: "http://x", StatusField: "status", Watch: true,
		Interval: 5 * time.Second, MaxTime: 2 * time.Minute, Rate: "10/s", Concurrency: 3, Timeout: 30 * time.Second,
		MaxRetries: 5, MaxWait: 15 * time.Minute, JSON: true}
	if fmt.Sprintf("%+v", *got) != fmt.Sprintf("%+v", want) {
		t.Errorf("options\n%+v\nwant\n%+v", *got, want)
	}
}

// TestStatusRun: against the sandbox, a wrong secret exits 1 without
// printing it; then every row delivered exits 0 and says so in JSON; usage
// errors exit 2.
func TestStatusRun(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC))
	srv, err := sandbox.New(sandbox.Config{Now: clock.Now, DeliveryStep: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	dir := t.TempDir()
	input := filepath.Join(dir, "rows.csv")
	if err := os.WriteFile(input, []byte("id,to,text\nr1,+15550000001,hi\nr2,+15550000002,hi\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reportPath := filepath.Join(dir, "rows.report.csv")
	good := map[string]string{"TWILIO_ACCOUNT_SID": sandbox.DefaultAccountSID, "TWILIO_AUTH_TOKEN": sandbox.DefaultAuthToken}
	bad := map[string]string{"TWILIO_ACCOUNT_SID": sandbox.DefaultAccountSID, "TWILIO_AUTH_TOKEN": "wrong-secret-123"}
	ios, _, _, errOut := TestStreams()
	if code := run(context.Background(), ios, []string{"send", input, "--preset", "twilio", "--from", "+15550000000",
		"--api-url", ts.URL, "--report", reportPath, "--quiet"}, nil, func(k string) string { return good[k] }); code != ExitOK {
		t.Fatalf("send: exit %d\n%s", code, errOut)
	}
	clock.Advance(time.Minute) // every message delivered
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		want     int
		stdout   string
		stderr   string
		noSecret string
	}{
		{name: "wrong secret", args: []string{"--preset", "twilio", "--api-url", ts.URL}, env: bad, want: ExitError,
			stderr: "authentication failed", noSecret: "wrong-secret-123"},
		{name: "env secret in an unaskable url", args: []string{"--status-url", `ftp://h/{{env "API_TOKEN"}}/{{path .message_id}}`, "--json"},
			env: map[string]string{"API_TOKEN": "tok-secret-4567"}, want: ExitIncomplete, stderr: "could not be looked up", noSecret: "tok-secret-4567"},
		{name: "all delivered", args: []string{"--preset", "twilio", "--api-url", ts.URL, "--json"}, env: good, want: ExitOK,
			stdout: `"delivered": 2,`, stderr: "delivered 2, undelivered 0, pending 0, not sent 0"},
		{name: "no credentials", args: []string{"--preset", "twilio", "--api-url", ts.URL}, env: nil, want: ExitUsage,
			stderr: "TWILIO_ACCOUNT_SID"},
		{name: "vendor flag on generic", args: []string{"--api-url", ts.URL}, want: ExitUsage, stderr: "are for --preset genesys or twilio"},
		{name: "bad interval", args: []string{"--preset", "twilio", "--interval", "0s"}, env: good, want: ExitUsage, stderr: "--interval 0s"},
		{name: "negative max-retries", args: []string{"--preset", "twilio", "--max-retries", "-1"}, env: good, want: ExitUsage, stderr: "--max-retries -1"},
		{name: "zero max-wait", args: []string{"--preset", "twilio", "--max-wait", "0s"}, env: good, want: ExitUsage, stderr: "--max-wait 0s"},
		{name: "negative burst", args: []string{"--preset", "twilio", "--burst", "-1"}, env: good, want: ExitUsage, stderr: "--burst -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, out, errOut := TestStreams()
			args := append([]string{"status", reportPath}, tt.args...)
			code := run(context.Background(), ios, args, nil, func(k string) string { return tt.env[k] })
			if code != tt.want {
				t.Fatalf("exit %d, want %d\n%s", code, tt.want, errOut)
			}
			if !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errOut.String(), tt.stderr) {
				t.Errorf("stdout %q, stderr %q; want %q and %q", out, errOut, tt.stdout, tt.stderr)
			}
			if tt.noSecret != "" {
				rep, err := os.ReadFile(reportPath)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(out.String()+errOut.String()+string(rep), tt.noSecret) {
					t.Errorf("the secret is in the output or the report: %s%s%s", out, errOut, rep)
				}
			}
			if tt.stdout != "" {
				var v map[string]any
				if err := json.Unmarshal(out.Bytes(), &v); err != nil || v["exit_code"] != float64(tt.want) {
					t.Errorf("--json %s: %v", out, err)
				}
			}
		})
	}
}

// TestEngineRetries pins --max-retries 0 to no retries for send and status
// alike: the engine reads its own zero as DefaultMaxRetries.
func TestEngineRetries(t *testing.T) {
	tests := []struct {
		name string
		flag int
		want int
	}{
		{"zero is none", 0, -1},
		{"a count is kept", 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := engineRetries(tt.flag); got != tt.want {
				t.Errorf("engineRetries(%d) = %d, want %d", tt.flag, got, tt.want)
			}
		})
	}
}
