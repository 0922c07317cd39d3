package cmd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/bulksend/bulksend/internal/buildinfo"
	"github.com/bulksend/bulksend/internal/redact"
	"github.com/bulksend/bulksend/preset"
	"github.com/bulksend/bulksend/probe"
	"github.com/bulksend/bulksend/ratelimit"
	"github.com/bulksend/bulksend/sender"
)

// ProbeOptions is what `bulksend probe` was asked to measure.
type ProbeOptions struct {
	IO     *IOStreams
	Signal <-chan os.Signal
	Getenv env

	URL           string
	Method        string
	Headers       []string
	Body          string
	SecretHeaders []string
	MaxRequests   int
	MaxTime       time.Duration
	Timeout       time.Duration
	Insecure      bool
	JSON          bool

	// adjust, when set, changes the probe's configuration before it runs:
	// tests put the probe and an in-process sandbox on one simulated
	// clock, so what the probe finds does not depend on how busy the
	// machine is.
	adjust func(*probe.Config)
}

// NewCmdProbe builds `bulksend probe`. runF replaces probeRun in tests that
// only check flag parsing.
func NewCmdProbe(ios *IOStreams, sig <-chan os.Signal, getenv env, runF func(*ProbeOptions) error) *cobra.Command {
	opts := &ProbeOptions{IO: ios, Signal: sig, Getenv: getenv}
	c := &cobra.Command{
		Use:   "probe URL",
		Short: "Measure an endpoint's burst, sustained rate, reset header and clock skew",
		Long: `Send at most --max-requests requests to URL and report what its rate limit
is: how many requests it accepts in a burst, how many per second it
sustains, which header its 429 answers use to say when to retry and in
which unit, how far its clock is from this machine's, and the send flags
that match.

Requests go out as fast as a few in flight allow until the first 429; then
paced probes keep the limiter empty and count what it lets through. Every
accepted request is a real one: probe a GET endpoint under the same quota,
or give a send request (--method, --header, --body) to a test recipient.
--header and --body are templates like send's, with env and json but no
row fields; Authorization and --secret-header values are never printed.`,
		Example: `  bulksend probe https://api.example.com/v1/status \
    --header 'Authorization: Bearer {{env "API_TOKEN"}}'

  bulksend probe http://127.0.0.1:8080/send --json`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError("probe needs exactly one URL, got %d arguments\nRun '%s --help' for usage.", len(args), c.CommandPath())
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			opts.URL = args[0]
			if runF != nil {
				return runF(opts)
			}
			return probeRun(c.Context(), opts)
		},
	}
	c.SetHelpTemplate(c.HelpTemplate() + exitStatusHelp(
		"0    the limit was measured",
		"1    could not reach the endpoint, it refused the request, or no limit was found within the budget",
		"2    usage error",
		"130  interrupted; what was seen is still printed"))
	f := c.Flags()
	f.SortFlags = false
	f.StringVar(&opts.Method, "method", http.MethodGet, "HTTP method")
	f.StringArrayVarP(&opts.Headers, "header", "H", nil, "request header 'Name: value' (template; repeatable)")
	f.StringVar(&opts.Body, "body", "", "request body (template); a json function quotes a value, env reads a variable")
	f.StringArrayVar(&opts.SecretHeaders, "secret-header", nil, "header whose value is masked in all output, like Authorization (repeatable)")
	f.IntVar(&opts.MaxRequests, "max-requests", probe.DefaultMaxRequests, "most requests to send (0: as many as the measurement needs within --max-time)")
	f.DurationVar(&opts.MaxTime, "max-time", probe.DefaultMaxDuration, "longest the probe may take")
	f.DurationVar(&opts.Timeout, "timeout", probe.DefaultTimeout, "timeout of one request")
	f.BoolVar(&opts.Insecure, "insecure", false, "skip TLS certificate verification (never for production)")
	f.BoolVar(&opts.JSON, "json", false, "print the result as JSON")
	completeValues(c, map[string][]string{"method": methods})
	return c
}

// probeReport is the probe's result as printed: a table, or JSON with
// --json. Durations are in seconds; clock_skew_seconds is null without a
// Date header.
type probeReport struct {
	Method                 string   `json:"method"`
	URL                    string   `json:"url"`
	Requests               int      `json:"requests"`
	Accepted               int      `json:"accepted"`
	Throttled              int      `json:"throttled"`
	ElapsedSeconds         float64  `json:"elapsed_seconds"`
	Limited                bool     `json:"limited"`
	Burst                  int      `json:"burst"`
	AcceptedBeforeThrottle int      `json:"accepted_before_throttle"`
	SustainedPerSecond     float64  `json:"sustained_per_second"`
	Model                  string   `json:"model"`
	ModelVariant           string   `json:"model_variant,omitempty"`
	WindowSeconds          float64  `json:"window_seconds"`
	LimitPerWindow         int      `json:"limit_per_window"`
	RefusedCount           bool     `json:"refused_count"`
	Confidence             float64  `json:"confidence"`
	Rounds                 int      `json:"rounds"`
	Explained              string   `json:"explained,omitempty"`
	SustainedCounted       int      `json:"sustained_accepted_counted"`
	SustainedOverSeconds   float64  `json:"sustained_over_seconds"`
	SustainedLowerBound    bool     `json:"sustained_lower_bound,omitempty"`
	SustainedFromQuota     bool     `json:"sustained_from_quota,omitempty"`
	QuotaHeader            string   `json:"quota_header,omitempty"`
	QuotaLimit             int      `json:"quota_limit,omitempty"`
	ResetHeader            string   `json:"reset_header"`
	ResetUnit              string   `json:"reset_unit"`
	ResetValue             string   `json:"reset_value,omitempty"`
	ResetWaitSeconds       float64  `json:"reset_wait_seconds"`
	ClockSkewSeconds       *float64 `json:"clock_skew_seconds"`
	ClockSkewMargin        float64  `json:"clock_skew_margin_seconds,omitempty"`
	SuggestedFlags         string   `json:"suggested_flags"`
	Note                   string   `json:"note,omitempty"`
	ExitCode               int      `json:"exit_code"`
}

func probeRun(ctx context.Context, opts *ProbeOptions) error {
	switch {
	case opts.MaxRequests != 0 && opts.MaxRequests < 2:
		return usageError("--max-requests must be 0 (as many as needed) or at least 2 (one burst and one throttle answer), got %d", opts.MaxRequests)
	case opts.Timeout <= 0:
		return usageError("--timeout must be longer than zero")
	case opts.MaxTime <= 0:
		return usageError("--max-time must be longer than zero")
	}
	m, mk, err := probeRequest(opts)
	if err != nil {
		return err
	}
	t := probeTransport(opts.Insecure)
	defer t.CloseIdleConnections()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	interrupted := cancelOnSignal(ctx, cancel, opts.Signal)

	target := mk.mask(m.URL)
	budget := "as many requests as needed"
	if opts.MaxRequests > 0 {
		budget = fmt.Sprintf("at most %d requests", opts.MaxRequests)
	}
	fmt.Fprintf(opts.IO.ErrOut, "bulksend probe: %s %s, %s in %s\n", m.Method, target, budget, opts.MaxTime)
	cfg := probe.Config{
		Client: &http.Client{Transport: &buildinfo.Transport{Base: t, UserAgent: build().UserAgent()}}, Method: m.Method, URL: m.URL, Header: m.Header, Body: m.Body,
		MaxRequests: opts.MaxRequests, Timeout: opts.Timeout, MaxDuration: opts.MaxTime,
	}
	if opts.adjust != nil {
		opts.adjust(&cfg)
	}
	res, runErr := probe.Run(ctx, cfg)
	rep := newProbeReport(m.Method, target, res)
	var exit error
	select {
	case <-interrupted:
		rep.ExitCode, rep.Note = ExitInterrupted, "interrupted"
		exit = silentExit(ExitInterrupted)
	default:
		exit = probeVerdict(rep, res, runErr, mk, opts.MaxRequests, opts.MaxTime)
	}
	if len(res.Events) == 0 && !opts.JSON {
		return exit // nothing was seen: the error says it all
	}
	if opts.JSON {
		if err := writeJSON(opts.IO.Out, rep); err != nil {
			return runError(err)
		}
		return exit
	}
	printProbeReport(opts.IO.Out, rep, res)
	return exit
}

// probeRequest renders the one request the probe repeats, from templates
// that may use env and json but no row fields, and the masker that hides
// its secrets (the configured ones and the values of its secret headers).
func probeRequest(opts *ProbeOptions) (*sender.Message, *masker, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	pr, err := preset.NewGeneric(preset.GenericConfig{
		Source: "probe", URL: opts.URL, Method: opts.Method, Headers: opts.Headers, Body: opts.Body, Env: getenv,
	})
	if err != nil {
		return nil, nil, usageError("%v", err)
	}
	m := pr.Builder.Build(sender.Row{Line: 1, Fields: map[string]string{}})
	mk := newMasker(pr.Secrets, opts.SecretHeaders)
	if m.Invalid != nil {
		reason := m.Invalid
		if inner := errors.Unwrap(reason); inner != nil {
			reason = inner // drop the "probe:1:" row prefix: there are no rows
		}
		return nil, nil, usageError("request: %s (templates may use env and json, not row fields)", mk.mask(reason.Error()))
	}
	// The values of the secret headers, and the credential of an
	// "Authorization: Scheme credential", are masked even where they turn
	// up in an error.
	mk.Add(mk.HeaderValues(m.Header)...)
	mk.AddURL(opts.URL) // its password, and the Basic credential made of it
	return m, mk, nil
}

// probeTransport is the probe's own transport: enough idle connections for
// the requests it keeps in flight, and no certificate check with --insecure.
func probeTransport(insecure bool) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = probe.MaxConcurrency
	if insecure {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it
	}
	return t
}

// probeVerdict sets rep's exit code and note for a probe that ran to its
// end, and returns the error that carries the code: 1 when the endpoint
// could not be probed or no limit was measured within the budget.
func probeVerdict(rep *probeReport, res *probe.Result, runErr error, mk *masker, maxRequests int, maxTime time.Duration) error {
	raise, spent := budgetSpent(res, maxRequests, maxTime)
	switch {
	case runErr != nil:
		rep.ExitCode, rep.Note = ExitError, mk.mask(runErr.Error())
	case !res.Limited:
		rep.ExitCode = ExitError
		rep.Note = fmt.Sprintf("no 429 in %d requests over %.1fs: the limit is above %s/s or the burst above %d; %s to look further",
			res.Requests, res.Elapsed.Seconds(), formatRate(res.Rate.PerSecond), res.Accepted, raise)
	case rep.SustainedPerSecond == 0 && rep.Model != probe.ModelConcurrency:
		rep.ExitCode = ExitError
		rep.Note = fmt.Sprintf("burst found, but the sustained rate could not be measured in %d requests and %.1fs: %s",
			res.Requests, res.Elapsed.Seconds(), raise)
	}
	if rep.ExitCode == ExitOK {
		if spent && rep.Model != "" && rep.Confidence < probe.DefaultMinConfidence {
			rep.Note = "a weak fit within the budget: " + raise + " to let the probe take another round"
		}
		return nil
	}
	return &exitError{code: rep.ExitCode, err: errors.New(rep.Note)}
}

// budgetSpent says whether the probe ran out of its budget, and the flag
// to raise for more: --max-requests when it sent that many (or, at 0, the
// probe's own cap, which more time does not lift), else --max-time.
func budgetSpent(res *probe.Result, maxRequests int, maxTime time.Duration) (raise string, spent bool) {
	switch {
	case maxRequests > 0 && res.Requests >= maxRequests:
		return fmt.Sprintf("raise --max-requests (now %d)", maxRequests), true
	case maxRequests == 0 && res.Requests >= probe.AutoMaxRequests:
		return fmt.Sprintf("set --max-requests above %d (0 stops there)", probe.AutoMaxRequests), true
	}
	// The last answers come in a little after the deadline, or a little
	// before it when the last request left just in time.
	return fmt.Sprintf("raise --max-time (now %s)", maxTime), res.Elapsed >= maxTime*95/100
}

func newProbeReport(method, url string, res *probe.Result) *probeReport {
	rep := &probeReport{
		Method: method, URL: url,
		Requests: res.Requests, Accepted: res.Accepted, Throttled: res.Throttled,
		ElapsedSeconds: round2(res.Elapsed.Seconds()),
		Limited:        res.Limited, Burst: res.Burst, AcceptedBeforeThrottle: res.AcceptedBeforeThrottle,
		SustainedCounted:     res.Rate.Accepted,
		SustainedOverSeconds: round2(res.Rate.Span.Seconds()),
		SustainedLowerBound:  res.Limited && res.Rate.LowerBound,
		SustainedFromQuota:   res.Rate.FromQuota,
		ResetHeader:          res.Reset.Header, ResetUnit: res.Reset.Unit, ResetValue: res.Reset.Value,
		ResetWaitSeconds: round2(res.Reset.Wait.Seconds()),
		SuggestedFlags:   res.SuggestedFlags(),
	}
	if res.Limited {
		rep.SustainedPerSecond = round2(res.Rate.PerSecond)
	} else {
		rep.SuggestedFlags = "" // nothing limits the pace: send needs no --rate
	}
	if res.QuotaOK {
		rep.QuotaHeader, rep.QuotaLimit = res.Quota.Header, res.Quota.Limit
	}
	if f := res.Model; res.ModelOK {
		rep.Model, rep.ModelVariant, rep.LimitPerWindow, rep.RefusedCount, rep.Confidence = f.Model, f.Variant, f.Limit, f.RefusedCount, f.Confidence
		rep.Rounds = res.Rounds
		if !f.Unbounded {
			rep.WindowSeconds = math.Round(f.Period.Seconds()*1000) / 1000
		}
		rep.Explained = fmt.Sprintf("%d of %d answers", f.Explained, f.Answers)
	}
	if res.ClockSkewKnown {
		s := math.Round(res.ClockSkew.Seconds()*10) / 10
		rep.ClockSkewSeconds, rep.ClockSkewMargin = &s, math.Round(res.ClockSkewMargin.Seconds()*10)/10
	}
	return rep
}

// unitMeaning says in words how a reset value of each unit is read.
var unitMeaning = map[string]string{
	ratelimit.UnitSeconds:  "seconds from the answer",
	ratelimit.UnitUnix:     "an instant in Unix seconds",
	ratelimit.UnitUnixMS:   "an instant in Unix milliseconds",
	ratelimit.UnitHTTPDate: "an instant as an HTTP date",
	ratelimit.UnitISO8601:  "an instant as an ISO-8601 timestamp",
	ratelimit.UnitDuration: "a Go duration from the answer",
}

// absoluteUnit says whether a unit names an instant, which a skewed client
// clock would misread.
func absoluteUnit(u string) bool {
	return u == ratelimit.UnitUnix || u == ratelimit.UnitUnixMS || u == ratelimit.UnitHTTPDate || u == ratelimit.UnitISO8601
}

func printProbeReport(w io.Writer, rep *probeReport, res *probe.Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	// Header values and the URL come from the server and the user: no
	// control character of theirs reaches the terminal.
	row := func(k, format string, a ...any) {
		fmt.Fprintf(tw, "%s\t%s\n", k, redact.Terminal(fmt.Sprintf(format, a...)))
	}
	row("endpoint", "%s %s", rep.Method, rep.URL)
	row("requests", "%d in %.1fs: %d accepted, %d throttled", rep.Requests, rep.ElapsedSeconds, rep.Accepted, rep.Throttled)
	switch {
	case !rep.Limited:
		row("burst", "not found: every answer was accepted")
	case rep.AcceptedBeforeThrottle == 0:
		row("burst", "unknown: the first request was throttled, so something else (another client, a probe just before) was using the quota; probe again once it has been idle")
	default:
		b := fmt.Sprintf("%d (%d accepted before the first throttle answer", rep.Burst, rep.AcceptedBeforeThrottle)
		if rep.QuotaLimit > 0 {
			b += fmt.Sprintf("; its %s headers say %d", rep.QuotaHeader, rep.QuotaLimit)
		}
		if rep.QuotaLimit > rep.AcceptedBeforeThrottle {
			b += ": was something else using the quota?"
		}
		row("burst", "%s)", b)
	}
	if rep.Model != "" {
		rounds := ""
		if rep.Rounds > 1 {
			rounds = fmt.Sprintf(" after %d rounds", rep.Rounds)
		}
		row("model", "%s (confidence %.2f%s: it explains %s)", describeModel(res.Model), rep.Confidence, rounds, rep.Explained)
		if rep.Confidence < probe.DefaultMinConfidence {
			row("", "a weak fit: another kind of limiter explains these answers nearly as well")
			if rep.Note != "" {
				row("", "%s", rep.Note)
			}
		}
	}
	switch {
	case !rep.Limited && rep.SustainedPerSecond == 0 && res.Rate.PerSecond > 0:
		row("sustained rate", "over %s/s: all that was sent was accepted", formatRate(res.Rate.PerSecond))
	case rep.SustainedPerSecond == 0:
		row("sustained rate", "not measured")
	case rep.SustainedFromQuota:
		row("sustained rate", "%s/s, as its %s headers declare (a window too long to measure)", formatRate(rep.SustainedPerSecond), rep.QuotaHeader)
	case rep.SustainedLowerBound:
		row("sustained rate", "at least %s/s (%d accepted over %.2fs, never throttled again)", formatRate(rep.SustainedPerSecond), rep.SustainedCounted, rep.SustainedOverSeconds)
	default:
		row("sustained rate", "%s/s (%d accepted over %.2fs between throttle answers)", formatRate(rep.SustainedPerSecond), rep.SustainedCounted, rep.SustainedOverSeconds)
	}
	switch {
	case !rep.Limited:
	case rep.ResetHeader == "":
		row("reset header", "none: the throttle answer says nothing about when to retry (send backs off on its own)")
	default:
		row("reset header", "%s, unit %s: %s (%s: %s asked for a wait of %.1fs)",
			rep.ResetHeader, rep.ResetUnit, unitMeaning[rep.ResetUnit], rep.ResetHeader, rep.ResetValue, rep.ResetWaitSeconds)
	}
	switch s := rep.ClockSkewSeconds; {
	case s == nil:
		row("clock skew", "unknown: no Date header")
	default:
		ahead := "the server is ahead"
		if *s < 0 {
			ahead = "the server is behind"
		}
		margin := ""
		if rep.ClockSkewMargin > 0 {
			margin = fmt.Sprintf(" ±%.1fs", rep.ClockSkewMargin)
		}
		skew := fmt.Sprintf("%+.1fs%s (%s)", *s, margin, ahead)
		if *s == 0 {
			skew = "none to a tenth of a second" + margin
		}
		if math.Abs(*s) >= 1 && absoluteUnit(rep.ResetUnit) {
			skew += fmt.Sprintf("; %s read against this machine's clock would be %.0fs off: send reads it against the server's Date", rep.ResetHeader, math.Abs(*s))
		}
		row("clock skew", "%s", skew)
	}
	if rep.SuggestedFlags != "" {
		row("suggested flags", "%s", rep.SuggestedFlags)
	}
	_ = tw.Flush() // a failed write to stdout has nowhere better to be reported
}

// describeModel says what a fitted model is in words: "15 per 150ms fixed
// window (from first request)", "bucket of 16 refilled at 100/s", "at most
// 4 requests in flight".
func describeModel(f probe.Fit) string {
	if f.Model == probe.ModelConcurrency {
		return fmt.Sprintf("concurrency limit: at most %d requests in flight", f.Limit)
	}
	period := f.Period.Round(time.Millisecond).String()
	if f.Unbounded {
		period = "at least " + period
	}
	var s string
	switch f.Model {
	case ratelimit.ModelBucket:
		s = fmt.Sprintf("bucket (token, or leaky answering at once) of %d", f.Limit)
		if !f.Unbounded {
			s += fmt.Sprintf(" refilled at %s/s", formatRate(f.PerSecond()))
		}
	default:
		s = fmt.Sprintf("%d per %s %s (%s)", f.Limit, period, f.Model, f.Variant)
	}
	if f.RefusedCount {
		s += "; refused requests count against it"
	}
	return s
}

// formatRate prints a rate per second with the precision it was measured
// to: whole numbers from 10 up, one decimal below.
func formatRate(ps float64) string {
	if ps >= 10 {
		return fmt.Sprintf("%.0f", ps)
	}
	return fmt.Sprintf("%.1f", ps)
}
