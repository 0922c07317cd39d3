package cmd

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bulksend/bulksend/campaign"
	"github.com/bulksend/bulksend/ratelimit"
	"github.com/bulksend/bulksend/report"
	"github.com/bulksend/bulksend/sender"
)

// TestNewCmdSendFlags checks flags -> SendOptions without running anything.
func TestNewCmdSendFlags(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, o *SendOptions)
	}{
		{"defaults", []string{"rows.csv", "--url", "http://x/send"}, func(t *testing.T, o *SendOptions) {
			if o.Input != "rows.csv" || o.Method != "POST" || o.Concurrency != 8 || o.Timeout != 30*time.Second ||
				o.MaxRetries != 5 || o.MaxWait != 15*time.Minute || o.IdempotencyHeader != "Idempotency-Key" ||
				o.Preset != "generic" || o.Rate != "" || o.ProgressInterval != 10*time.Second || o.ConcurrencyGiven {
				t.Errorf("defaults: %+v", o)
			}
		}},
		{"stdin", []string{"-", "--url", "u"}, func(t *testing.T, o *SendOptions) {
			if o.Input != "-" {
				t.Errorf("Input = %q", o.Input)
			}
		}},
		{"pacing", []string{"f.jsonl", "--rate", "300/m", "--burst", "15", "--concurrency", "32", "--max-errors", "10%", "--recipient-field", "to", "--recipient-interval", "2s"},
			func(t *testing.T, o *SendOptions) {
				if o.Rate != "300/m" || o.Burst != 15 || o.Concurrency != 32 || !o.ConcurrencyGiven || o.MaxErrors != "10%" ||
					o.RecipientField != "to" || o.RecipientInterval != 2*time.Second {
					t.Errorf("pacing: %+v", o)
				}
			}},
		{"repeatable headers", []string{"f.csv", "-H", "A: 1", "--header", "B: {{.x}}", "--secret-header", "X-Key"},
			func(t *testing.T, o *SendOptions) {
				if strings.Join(o.Headers, "|") != "A: 1|B: {{.x}}" || len(o.SecretHeaders) != 1 {
					t.Errorf("headers: %q %q", o.Headers, o.SecretHeaders)
				}
			}},
		{"report and safety", []string{"f.csv", "--report", "out.jsonl", "--resume", "--retry-failed", "--json", "-q", "--no-idempotency"},
			func(t *testing.T, o *SendOptions) {
				if o.Report != "out.jsonl" || !o.Resume || !o.RetryFailed || !o.JSON || !o.Quiet || !o.NoIdempotency {
					t.Errorf("report: %+v", o)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := TestStreams()
			var got *SendOptions
			c := NewCmdSend(ios, nil, nil, func(o *SendOptions) error { got = o; return nil })
			c.SetArgs(tt.args)
			if err := c.ExecuteContext(context.Background()); err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
		})
	}
}

// TestNewPlanUsage checks that contradictory or malformed options are usage
// errors (exit 2) found before anything is read or sent.
func TestNewPlanUsage(t *testing.T) {
	base := func() *SendOptions {
		ios, _, _, _ := TestStreams()
		return &SendOptions{IO: ios, Input: "rows.csv", Preset: "generic", URL: "http://127.0.0.1:1/send",
			Method: "POST", Concurrency: 8, IdempotencyHeader: "Idempotency-Key",
			Timeout: 30 * time.Second, MaxWait: 15 * time.Minute, ProgressInterval: 10 * time.Second}
	}
	tests := []struct {
		name   string
		modify func(o *SendOptions)
		want   string
	}{
		{"bad rate", func(o *SendOptions) { o.Rate = "fast" }, "--rate"},
		{"bad format", func(o *SendOptions) { o.Format = "xml" }, "--format"},
		{"retry-failed alone", func(o *SendOptions) { o.RetryFailed = true }, "--retry-failed needs --resume"},
		{"resume and force", func(o *SendOptions) { o.Resume, o.Force = true, true }, "contradict"},
		{"bad max-errors", func(o *SendOptions) { o.MaxErrors = "lots" }, "--max-errors"},
		{"max-errors share", func(o *SendOptions) { o.MaxErrors = "150%" }, "--max-errors"},
		{"no url", func(o *SendOptions) { o.URL = "" }, "--url is required"},
		{"unknown preset", func(o *SendOptions) { o.Preset = "sms" }, "--preset"},
		{"bad template", func(o *SendOptions) { o.Body = "{{.to" }, "body"},
		{"resume to stdout", func(o *SendOptions) { o.Resume, o.Report = true, "-" }, "--resume needs a report file"},
		{"zero concurrency", func(o *SendOptions) { o.Concurrency = 0 }, "--concurrency 0: must be at least 1"},
		{"negative burst", func(o *SendOptions) { o.Burst = -1 }, "--burst -1: must not be negative"},
		{"negative max-retries", func(o *SendOptions) { o.MaxRetries = -1 }, "--max-retries -1"},
		{"zero timeout", func(o *SendOptions) { o.Timeout = 0 }, "--timeout 0s: must be positive"},
		{"negative timeout", func(o *SendOptions) { o.Timeout = -time.Second }, "--timeout -1s: must be positive"},
		{"zero max-wait", func(o *SendOptions) { o.MaxWait = 0 }, "--max-wait 0s: must be positive"},
		{"negative max-wait", func(o *SendOptions) { o.MaxWait = -time.Second }, "--max-wait -1s"},
		{"negative progress-interval", func(o *SendOptions) { o.ProgressInterval = -time.Second }, "--progress-interval -1s"},
		{"negative recipient-interval", func(o *SendOptions) { o.RecipientInterval, o.RecipientField = -time.Second, "to" }, "--recipient-interval -1s: must not be negative"},
		{"recipient-interval without field", func(o *SendOptions) { o.RecipientInterval = time.Second }, "--recipient-interval needs --recipient-field"},
		{"empty idempotency-header", func(o *SendOptions) { o.IdempotencyHeader = "" }, `--idempotency-header "": not a header name`},
		{"bad input-encoding", func(o *SendOptions) { o.Encoding = "ebcdic" }, "--input-encoding"},
		{"insecure and cacert", func(o *SendOptions) { o.Insecure, o.CACert = true, "ca.pem" }, "--insecure and --cacert contradict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base()
			tt.modify(o)
			_, err := newPlan(o)
			if err == nil || exitCode(err) != ExitUsage || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("newPlan: %v (exit %d), want usage error containing %q", err, exitCode(err), tt.want)
			}
		})
	}
}

func TestParseMaxErrors(t *testing.T) {
	tests := []struct {
		in    string
		count int
		share float64
		ok    bool
	}{
		{"", 0, 0, true}, {"5", 5, 0, true}, {"10%", 0, 0.1, true}, {"0.5%", 0, 0.005, true},
		{"0", 0, 0, false}, {"-1", 0, 0, false}, {"0%", 0, 0, false}, {"101%", 0, 0, false}, {"x", 0, 0, false},
	}
	for _, tt := range tests {
		c, s, err := parseMaxErrors(tt.in)
		if (err == nil) != tt.ok || c != tt.count || s != tt.share {
			t.Errorf("parseMaxErrors(%q) = %d, %v, %v", tt.in, c, s, err)
		}
	}
}

func TestSummarizeExitCodes(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"finished", nil, ExitOK},
		{"interrupted", sender.ErrInterrupted, ExitInterrupted},
		{"max errors", fmt.Errorf("run: %w", sender.ErrMaxErrors), ExitMaxErrors},
		{"input changed under the report", fmt.Errorf("line 2: %w", campaign.ErrInputChanged), ExitUsage},
		{"report unreadable", fmt.Errorf("read report to resume: %w", report.ErrOutOfOrder), ExitError},
		{"auth", sender.ErrAuth, ExitError},
		{"parked", &sender.ParkedError{Until: time.Now(), Reason: "quota"}, ExitParked},
	}
	for _, tt := range tests {
		if got := runErrorCode(tt.err); got != tt.want {
			t.Errorf("%s: runErrorCode(%v) = %d, want %d", tt.name, tt.err, got, tt.want)
		}
	}
	if got := exitCode(silentExit(ExitIncomplete)); got != ExitIncomplete {
		t.Errorf("silentExit(3) -> %d", got)
	}
	if got := rateFlag(ratelimit.RateFromPerSecond(97.4)); got != "--rate 97.4/s" {
		t.Errorf("suggestion %q", got)
	}
}

// TestResumeCommand: a parked run prints the command that continues it:
// the flags given, quoted for a shell, less those that start over or could
// send a message twice, plus --resume.
func TestResumeCommand(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "plain", args: []string{"rows.csv", "--url", "https://api.example.com/send"},
			want: "bulksend send rows.csv --url https://api.example.com/send --resume"},
		{name: "templates and repeated flags quoted",
			args: []string{"my rows.csv", "--body", `{"to": {{json .to}}}`, "-H", "A: b", "-H", "C: it's"},
			want: `bulksend send 'my rows.csv' --body '{"to": {{json .to}}}' --header 'A: b' --header 'C: it'\''s' --resume`},
		{name: "force, resume and dry-run dropped; booleans kept",
			args: []string{"rows.csv", "--force", "--dry-run", "--resume", "--quiet", "--rate", "5/s"},
			want: "bulksend send rows.csv --quiet --rate 5/s --resume"},
		{name: "--resend-unknown dropped: the rows this run leaves unknown are not resent blind",
			args: []string{"rows.csv", "--resume", "--resend-unknown", "--retry-failed"},
			want: "bulksend send rows.csv --retry-failed --resume"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			c := NewCmdSend(&IOStreams{}, nil, nil, func(o *SendOptions) error { got = o.ResumeCommand; return nil })
			c.SetArgs(tt.args)
			if err := c.Execute(); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("resume command\n %s\nwant\n %s", got, tt.want)
			}
		})
	}
}
