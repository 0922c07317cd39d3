package cmd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bulksend/bulksend/delivery"
	"github.com/bulksend/bulksend/internal/redact"
	"github.com/bulksend/bulksend/preset"
	"github.com/bulksend/bulksend/ratelimit"
	"github.com/bulksend/bulksend/sender"
)

// StatusOptions is everything `bulksend status` was asked to do.
type StatusOptions struct {
	IO     *IOStreams
	Signal <-chan os.Signal
	Getenv env

	Report string

	// The vendor and how to reach it.
	Preset           string
	APIURL, LoginURL string
	Region           string
	StatusURL        string
	StatusField      string
	StatusErrorField string
	Headers          []string
	SecretHeaders    []string
	Insecure         bool
	CACert           string

	// Pacing, as for send.
	Rate        string
	Burst       int
	Concurrency int
	Timeout     time.Duration
	MaxRetries  int
	MaxWait     time.Duration

	// Watching.
	Watch    bool
	Interval time.Duration
	MaxTime  time.Duration

	JSON  bool
	Quiet bool

	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// NewCmdStatus builds `bulksend status`. runF replaces statusRun in tests
// that only check flag parsing.
func NewCmdStatus(ios *IOStreams, sig <-chan os.Signal, getenv env, runF func(*StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{IO: ios, Signal: sig, Getenv: getenv}
	c := &cobra.Command{
		Use:   "status REPORT",
		Short: "Ask the vendor what became of each sent message, and write it into the report",
		Long: `Ask the vendor whether each message a report has as sent reached its
recipient, and write the answer into the report's delivery_status,
delivery_error (the vendor's error code and text) and delivery_at columns.

--preset twilio reads Twilio's Message resource, --preset genesys the
Genesys Cloud conversation message (the report's message_id is
conversationId/messageId, as send records it), with the credentials send
uses (TWILIO_*, GENESYSCLOUD_*). The generic preset GETs --status-url, a
template over the report row (.id, .message_id, .line; path and query
escape a value), and reads the status at --status-field, a JSON path.
Statuses read as delivered: delivered, delivery-success, read; as not
delivered: undelivered, failed, canceled, delivery-failed; anything else is
still on its way.

Lookups go through the same paced, throttle-aware engine as send: --rate,
--burst and --concurrency as there, adaptive without --rate. The report is
rewritten atomically as answers arrive, so a killed run keeps what it
learned; run it again and it asks only the rows whose story has not ended.
--watch asks again every --interval until every row is final or --max-time
has passed.`,
		Example: `  # once, after a Twilio send
  bulksend status recipients.csv.report.csv --preset twilio

  # keep asking every 30s for up to an hour, summary as JSON
  bulksend status report.csv --preset genesys --watch --interval 30s --max-time 1h --json

  # any JSON API
  bulksend status report.csv --status-url 'https://api.example.com/messages/{{path .message_id}}' \
    --header 'Authorization: Bearer {{env "API_TOKEN"}}' --status-field data.state`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Report = args[0]
			if runF != nil {
				return runF(opts)
			}
			return statusRun(c.Context(), opts)
		},
	}
	c.SetHelpTemplate(c.HelpTemplate() + exitStatusHelp(
		"0    every row of the report was delivered",
		"1    could not run: unreadable or locked report, a send still unfinished, auth failure, server unreachable",
		"2    usage error",
		"3    some rows were not delivered, are not final yet, or were never sent",
		"130  interrupted; what was learned is in the report, run again to continue"))
	f := c.Flags()
	f.SortFlags = false
	f.StringVar(&opts.Preset, "preset", "generic", "vendor: generic, genesys or twilio")
	f.StringVar(&opts.APIURL, "api-url", "", "genesys/twilio: override the API base URL (e.g. the sandbox)")
	f.StringVar(&opts.LoginURL, "login-url", "", "genesys: override the OAuth login base URL")
	f.StringVar(&opts.Region, "region", "", "genesys: region such as mypurecloud.com (default $GENESYSCLOUD_REGION)")
	f.StringVar(&opts.StatusURL, "status-url", "", "generic: URL template of a message's status, over .id, .message_id, .line")
	f.StringVar(&opts.StatusField, "status-field", "status", "generic: JSON path of the status in the answer (e.g. data.state)")
	f.StringVar(&opts.StatusErrorField, "status-error-field", "", "generic: JSON path of the error of an undelivered message")
	f.StringArrayVar(&opts.Headers, "header", nil, "generic: request header 'Key: value' (a template; repeatable)")
	f.StringArrayVar(&opts.SecretHeaders, "secret-header", nil, "header whose value is masked in any output (repeatable)")
	f.BoolVar(&opts.Insecure, "insecure", false, "skip TLS certificate verification")
	f.StringVar(&opts.CACert, "cacert", "", "PEM file of CA certificates to trust besides the system's")
	f.StringVar(&opts.Rate, "rate", "", "total lookup rate, e.g. 5/s, 300/m (default: adaptive)")
	f.IntVar(&opts.Burst, "burst", 0, "lookups allowed at once before --rate applies")
	f.IntVar(&opts.Concurrency, "concurrency", sender.DefaultConcurrency, "lookups in flight")
	f.DurationVar(&opts.Timeout, "timeout", sender.DefaultTimeout, "per lookup")
	f.IntVar(&opts.MaxRetries, "max-retries", sender.DefaultMaxRetries, "retries of a failing lookup (throttles do not count)")
	f.DurationVar(&opts.MaxWait, "max-wait", sender.DefaultMaxWait, "longest throttle pause honoured")
	f.BoolVar(&opts.Watch, "watch", false, "ask again every --interval until every row is final or --max-time")
	f.DurationVar(&opts.Interval, "interval", delivery.DefaultInterval, "with --watch: time between passes")
	f.DurationVar(&opts.MaxTime, "max-time", time.Hour, "with --watch: stop after this long (0: no limit)")
	f.BoolVar(&opts.JSON, "json", false, "print the summary as JSON on stdout")
	f.BoolVar(&opts.Quiet, "quiet", false, "print nothing on stderr but errors")
	completeValues(c, map[string][]string{"preset": {"generic", "genesys", "twilio"}, "region": preset.GenesysRegions()})
	return c
}

// statusRun is the command: the vendor, the engine's pieces, the run, and
// what the user sees of it.
func statusRun(ctx context.Context, opts *StatusOptions) error {
	if err := checkEngineFlags(opts.Concurrency, opts.Burst, opts.MaxRetries, opts.Timeout, opts.MaxWait); err != nil {
		return err
	}
	switch {
	case opts.Interval <= 0:
		return usageError("--interval %s: must be more than 0", opts.Interval)
	case opts.MaxTime < 0:
		return usageError("--max-time %s: must be 0 (no limit) or more", opts.MaxTime)
	}
	var rate ratelimit.Rate
	if opts.Rate != "" {
		var err error
		if rate, err = ratelimit.ParseRate(opts.Rate); err != nil {
			return usageError("--rate: %v", err)
		}
	}
	if _, err := os.Stat(opts.Report); err != nil {
		return runError(fmt.Errorf("read report: %w", err))
	}
	rt, err := newTransport(&SendOptions{Concurrency: opts.Concurrency, Insecure: opts.Insecure, CACert: opts.CACert})
	if err != nil {
		return err
	}
	// Every value the templates read with env is a secret to mask, as in
	// send; the reads happen during the run, once m is set.
	var m *masker
	vopts := *opts
	vopts.Getenv = func(k string) string {
		v := ""
		if opts.Getenv != nil {
			v = opts.Getenv(k)
		}
		if m != nil {
			m.Add(v)
		}
		return v
	}
	vendor, auth, err := statusVendor(&vopts, rt)
	if err != nil {
		return err
	}
	m = newMasker(auth.Secrets, opts.SecretHeaders)
	for _, u := range []string{opts.APIURL, opts.LoginURL, opts.StatusURL} {
		m.AddURL(u)
	}
	if auth.Tokens != nil {
		auth.Tokens.OnToken(func(tok string) { m.Add(tok) })
	}
	if auth.Wrap != nil {
		rt = auth.Wrap(rt)
	}
	lim, closeLim, err := buildLimiter(ctx, "", ratelimit.Config{Rate: rate, Burst: opts.Burst, Adaptive: opts.Rate == "",
		InFlight: opts.Concurrency}, opts.IO.ErrOut, opts.Quiet)
	if err != nil {
		return err
	}
	defer closeLim()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := make(chan struct{})
	watchStatusSignals(runCtx, opts, stop, cancel)
	dopts := delivery.Options{
		Report: opts.Report, Vendor: vendor, Redact: m.mask,
		Engine: sender.Config{Client: sender.RoundTripDoer{RoundTripper: rt}, Limiter: lim,
			Concurrency: opts.Concurrency, Timeout: opts.Timeout, MaxRetries: engineRetries(opts.MaxRetries), MaxWait: opts.MaxWait, Now: opts.Now},
		Watch: opts.Watch, Interval: opts.Interval, MaxTime: opts.MaxTime,
	}
	if !opts.Quiet {
		dopts.OnPass = func(pass, rows int) {
			fmt.Fprintf(opts.IO.ErrOut, "bulksend: pass %d: asking about %s\n", pass, count(rows, "row"))
		}
	}
	res, runErr := delivery.Run(runCtx, stop, dopts)
	if res == nil {
		return statusError(runErr, m)
	}
	out := summarizeStatus(opts, res, runErr)
	if opts.JSON {
		if err := writeJSON(opts.IO.Out, out); err != nil {
			return runError(err)
		}
	}
	if !opts.Quiet {
		printStatusSummary(opts.IO.ErrOut, out)
	}
	if out.ExitCode == ExitError {
		return statusError(runErr, m)
	}
	return silentExit(out.ExitCode)
}

// statusError is a run error as the user sees it, secrets masked, exit 1
// (or 130 for an interruption).
func statusError(err error, m *masker) error {
	if errors.Is(err, sender.ErrInterrupted) {
		return silentExit(ExitInterrupted)
	}
	return runError(errors.New(m.mask(err.Error())))
}

// statusVendor builds the preset's lookups and authentication.
func statusVendor(opts *StatusOptions, rt http.RoundTripper) (delivery.Vendor, *preset.Auth, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	generic := opts.StatusURL != "" || len(opts.Headers) > 0 || opts.StatusErrorField != ""
	switch opts.Preset {
	case "twilio", "genesys":
		if generic {
			return nil, nil, usageError("--status-url, --header and --status-error-field are for the generic preset")
		}
	case "generic", "":
		if opts.APIURL != "" || opts.LoginURL != "" || opts.Region != "" {
			return nil, nil, usageError("--api-url, --login-url and --region are for --preset genesys or twilio")
		}
	}
	switch opts.Preset {
	case "twilio":
		auth, err := preset.TwilioAuth(preset.TwilioConfig{APIURL: opts.APIURL,
			AccountSID: getenv("TWILIO_ACCOUNT_SID"), AuthToken: getenv("TWILIO_AUTH_TOKEN"),
			APIKey: getenv("TWILIO_API_KEY"), APISecret: getenv("TWILIO_API_SECRET")})
		if err != nil {
			return nil, nil, usageError("%v", err)
		}
		return delivery.Twilio{API: auth.APIURL, Account: auth.Account}, auth, nil
	case "genesys":
		auth, err := preset.GenesysAuth(preset.GenesysConfig{
			Region: cmp.Or(opts.Region, getenv("GENESYSCLOUD_REGION")), APIURL: opts.APIURL, LoginURL: opts.LoginURL,
			ClientID: getenv("GENESYSCLOUD_OAUTHCLIENT_ID"), ClientSecret: getenv("GENESYSCLOUD_OAUTHCLIENT_SECRET"),
			HTTPClient: &http.Client{Transport: rt, Timeout: opts.Timeout}})
		if err != nil {
			return nil, nil, usageError("%v", err)
		}
		return delivery.Genesys{API: auth.APIURL}, auth, nil
	case "generic", "":
		if opts.StatusURL == "" {
			return nil, nil, usageError("--status-url is required (or use --preset genesys|twilio)")
		}
		g, err := delivery.NewGeneric(delivery.GenericConfig{URL: opts.StatusURL, Headers: opts.Headers,
			StatusField: opts.StatusField, ErrorField: opts.StatusErrorField, Env: getenv})
		if err != nil {
			return nil, nil, usageError("%v", err)
		}
		return g, &preset.Auth{}, nil
	}
	return nil, nil, usageError("--preset %q: use generic, genesys or twilio", opts.Preset)
}

// watchStatusSignals: the first SIGINT/SIGTERM lets the lookups on the
// wire finish and saves them; the second cancels them.
func watchStatusSignals(ctx context.Context, opts *StatusOptions, stop chan struct{}, cancel context.CancelFunc) {
	if opts.Signal == nil {
		return
	}
	go func() {
		select {
		case <-opts.Signal:
		case <-ctx.Done():
			return
		}
		close(stop)
		if !opts.Quiet {
			fmt.Fprintln(opts.IO.ErrOut, "\nbulksend: interrupted; saving the answers in flight, Ctrl-C again to quit now")
		}
		select {
		case <-opts.Signal:
			cancel()
		case <-ctx.Done():
		}
	}()
}

// statusSummary is the end of a status run, printed on stderr and, with
// --json, as JSON on stdout.
type statusSummary struct {
	Report         string             `json:"report"`
	Rows           int                `json:"rows"`
	Delivered      int                `json:"delivered"`
	Undelivered    int                `json:"undelivered"`
	Pending        int                `json:"pending"`
	NotSent        int                `json:"not_sent"`
	Counts         map[string]int     `json:"by_status"`
	Failures       []delivery.Failure `json:"undelivered_rows"`
	Passes         int                `json:"passes"`
	Lookups        int                `json:"lookups"`
	Requests       int                `json:"requests"`
	Throttled      int                `json:"throttled"`
	PerSecond      float64            `json:"lookups_per_second"`
	ElapsedSeconds float64            `json:"elapsed_seconds"`
	Unasked        int                `json:"not_looked_up"`
	Why            string             `json:"not_looked_up_because,omitempty"`
	TimedOut       bool               `json:"timed_out"`
	Watch          bool               `json:"-"`
	Stopped        string             `json:"stopped,omitempty"`
	ExitCode       int                `json:"exit_code"`
}

func summarizeStatus(opts *StatusOptions, res *delivery.Result, runErr error) *statusSummary {
	out := &statusSummary{Report: opts.Report, Rows: res.Rows, Delivered: res.Delivered, Undelivered: res.Undelivered,
		Pending: res.Pending, NotSent: res.Counts[delivery.NotSent], Counts: res.Counts, Failures: res.Failures,
		Passes: res.Passes, Lookups: res.Asked, Requests: res.Requests, Throttled: res.Throttled,
		ElapsedSeconds: round2(res.Elapsed.Seconds()), TimedOut: res.TimedOut, Watch: opts.Watch,
		Unasked: res.Unasked, Why: res.Why}
	if out.Failures == nil {
		out.Failures = []delivery.Failure{}
	}
	if s := res.Elapsed.Seconds(); s > 0 {
		out.PerSecond = round2(float64(res.Asked) / s)
	}
	switch {
	case errors.Is(runErr, sender.ErrInterrupted):
		out.Stopped, out.ExitCode = "interrupted", ExitInterrupted
	case runErr != nil:
		out.Stopped, out.ExitCode = "error", ExitError
	case res.AllDelivered():
		out.ExitCode = ExitOK
	default:
		out.ExitCode = ExitIncomplete
	}
	return out
}

// maxShownFailures is how many undelivered rows the summary lists; the
// report has them all.
const maxShownFailures = 10

func printStatusSummary(w io.Writer, s *statusSummary) {
	var b strings.Builder
	fmt.Fprintf(&b, "bulksend: %s in %.1fs: delivered %d, undelivered %d, pending %d, not sent %d\n",
		count(s.Rows, "row"), s.ElapsedSeconds, s.Delivered, s.Undelivered, s.Pending, s.NotSent)
	keys := slices.Sorted(maps.Keys(s.Counts))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", redact.TerminalText(k), s.Counts[k]))
	}
	fmt.Fprintf(&b, "  by status: %s\n", strings.Join(parts, ", "))
	fmt.Fprintf(&b, "  %s in %s, %.1f/s; throttled %s\n", count(s.Lookups, "lookup"), count(s.Passes, "pass", "passes"),
		s.PerSecond, times(s.Throttled))
	for i, f := range s.Failures {
		if i == maxShownFailures {
			fmt.Fprintf(&b, "  ... and %d more in the report\n", s.Undelivered-maxShownFailures)
			break
		}
		fmt.Fprintf(&b, "  line %d (id %s): %s %s\n", f.Line, redact.TerminalText(f.ID), redact.TerminalText(f.Status), redact.TerminalText(f.Error))
	}
	if s.Unasked > 0 {
		fmt.Fprintf(&b, "  %s could not be looked up; the first: %s\n", count(s.Unasked, "sent row"), redact.TerminalText(s.Why))
	}
	fmt.Fprintf(&b, "  report: %s\n", redact.TerminalText(s.Report))
	switch {
	case s.Stopped == "interrupted":
		b.WriteString("  interrupted: run again to ask about the rest\n")
	case s.TimedOut:
		fmt.Fprintf(&b, "  --max-time reached with %s not final: run again to go on\n", count(s.Pending, "row"))
	case s.Pending > 0 && !s.Watch:
		fmt.Fprintf(&b, "  %s not final yet: run again later, or with --watch\n", count(s.Pending, "row"))
	}
	io.WriteString(w, b.String())
}
