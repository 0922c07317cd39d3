package cmd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/bulksend/bulksend/csvinput"
	"github.com/bulksend/bulksend/dupindex"
	"github.com/bulksend/bulksend/preset"
	"github.com/bulksend/bulksend/ratelimit"
	"github.com/bulksend/bulksend/report"
	"github.com/bulksend/bulksend/sender"
)

// SendOptions is everything `bulksend send` was asked to do.
type SendOptions struct {
	IO     *IOStreams
	Signal <-chan os.Signal
	Getenv env

	Input  string // path or "-"
	Format string

	// The request.
	Preset         string
	URL            string
	Method         string
	Headers        []string
	Body           string
	BodyTemplate   string
	IDField        string
	RecipientField string
	From           string
	ToField        string
	TextField      string
	Text           string
	MessengerType  string
	TemplateID     string
	TemplateParams []string
	MessagingSvc   string
	APIURL         string
	LoginURL       string
	Region         string
	SecretHeaders  []string
	Insecure       bool

	// Pacing and retries.
	Rate              string
	Burst             int
	Concurrency       int
	Timeout           time.Duration
	MaxRetries        int
	MaxWait           time.Duration
	MaxErrors         string
	RecipientInterval time.Duration
	IdempotencyHeader string
	NoIdempotency     bool

	// Several senders on one quota (cmd/scale.go).
	Limiter string // redis:// URL of the limiter shared with other processes
	Shard   string // "i/n": send only shard i of n

	// Report and safety.
	Report           string
	Resume           bool
	RetryFailed      bool
	Force            bool
	DryRun           bool
	JSON             bool
	Quiet            bool
	ProgressInterval time.Duration

	// GracePeriod is how long in-flight requests may take to finish after
	// the first interrupt.
	GracePeriod time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// NewCmdSend builds `bulksend send`. runF replaces sendRun in tests that
// only check flag parsing.
func NewCmdSend(ios *IOStreams, sig <-chan os.Signal, getenv env, runF func(*SendOptions) error) *cobra.Command {
	opts := &SendOptions{IO: ios, Signal: sig, Getenv: getenv}
	c := &cobra.Command{
		Use:   "send [FILE|-]",
		Short: "Send one request per row of a CSV or JSONL file",
		Long: `Send one HTTP request per row of FILE (CSV with a header row, or JSONL),
or of standard input with "-". Requests are rendered from Go templates over
the row's fields (--url, --header, --body), or by a vendor preset.

One limiter paces the whole process: --rate is the total rate, and without
it the rate adapts to what the server allows. A 429 (or a 503 with a wait
hint) pauses every worker until the server's reset, then sending resumes at
the paced rate. Every row gets one line in the report, which is written as
results arrive and is the journal --resume continues from.`,
		Example: `  # send to a generic JSON API at 5 requests per second
  bulksend send recipients.csv --url https://api.example.com/messages \
    --header 'Authorization: Bearer {{env "API_TOKEN"}}' \
    --body '{"to": {{json .to}}, "text": {{json .text}}}' --rate 5/s

  # continue after a crash or Ctrl-C, without sending anything twice
  bulksend send recipients.csv --url ... --body ... --resume`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Input = "-"
			if len(args) == 1 {
				opts.Input = args[0]
			}
			if opts.Input == "-" && opts.IO.InTTY {
				return usageError("no input: give a FILE, or pipe rows into 'bulksend send -'")
			}
			if runF != nil {
				return runF(opts)
			}
			return sendRun(c.Context(), opts)
		},
	}
	c.SetHelpTemplate(c.HelpTemplate() + exitStatusHelp(
		"0    every row sent (now or in an earlier run)",
		"1    could not run: unreadable input, auth failure, server unreachable, report locked",
		"2    usage error, or the report exists (use --resume or --force)",
		"3    finished with some rows failed, invalid or unknown",
		"4    stopped by --max-errors",
		"130  interrupted; the report can be continued with --resume"))
	f := c.Flags()
	f.SortFlags = false
	f.StringVar(&opts.Format, "format", "", "input format: csv or jsonl (default: by extension, sniffed on stdin)")
	f.StringVar(&opts.Preset, "preset", "generic", "request builder: generic, genesys or twilio")
	f.StringVar(&opts.URL, "url", "", "request URL (template)")
	f.StringVar(&opts.Method, "method", "POST", "HTTP method")
	f.StringArrayVarP(&opts.Headers, "header", "H", nil, "request header 'Name: value' (template; repeatable)")
	f.StringVar(&opts.Body, "body", "", "request body (template); a json function quotes a value, env reads a variable")
	f.StringVar(&opts.BodyTemplate, "body-template", "", "read the body template from this file")
	f.StringVar(&opts.IDField, "id-field", "", `field that identifies a row (default "id" when present, else the line number)`)
	f.StringVar(&opts.RecipientField, "recipient-field", "", "field naming the recipient, for --recipient-interval")
	f.StringVar(&opts.From, "from", "", "sender address (presets)")
	f.StringVar(&opts.ToField, "to-field", "to", "field with the recipient address (presets)")
	f.StringVar(&opts.TextField, "text-field", "text", "field with the message text (presets)")
	f.StringVar(&opts.Text, "text", "", "message text template, instead of --text-field (presets)")
	f.StringVar(&opts.MessengerType, "messenger-type", "sms", "genesys: sms, whatsapp or open")
	f.StringVar(&opts.TemplateID, "template-id", "", "genesys: WhatsApp messaging template responseId")
	f.StringArrayVar(&opts.TemplateParams, "template-param", nil, "genesys: field whose value is the next template parameter (repeatable)")
	f.StringVar(&opts.MessagingSvc, "messaging-service", "", "twilio: MessagingServiceSid instead of --from")
	f.StringVar(&opts.APIURL, "api-url", "", "presets: API base URL (default from the region / vendor)")
	f.StringVar(&opts.LoginURL, "login-url", "", "genesys: OAuth base URL (default from the region)")
	f.StringVar(&opts.Region, "region", "", "genesys: region such as mypurecloud.com (default $GENESYSCLOUD_REGION)")
	f.StringArrayVar(&opts.SecretHeaders, "secret-header", nil, "header whose value is masked in all output, like Authorization (repeatable)")
	f.BoolVar(&opts.Insecure, "insecure", false, "skip TLS certificate verification (never for production)")
	f.StringVar(&opts.Rate, "rate", "", "total request rate: 5/s, 300/m, 10000/h, 1/2s, 0 for none (default: adaptive)")
	f.IntVar(&opts.Burst, "burst", 0, "requests that may leave at once (default 1 with --rate)")
	f.StringVar(&opts.Limiter, "limiter", "", "share the rate and throttle pauses with other processes: redis://[user:pass@]host:port/db?key=NAME (needs --rate)")
	f.StringVar(&opts.Shard, "shard", "", "send only shard i of n of the rows, by a hash of the row id, e.g. 1/3")
	f.IntVar(&opts.Concurrency, "concurrency", sender.DefaultConcurrency, "requests in flight at once")
	f.DurationVar(&opts.Timeout, "timeout", sender.DefaultTimeout, "timeout of one request")
	f.IntVar(&opts.MaxRetries, "max-retries", sender.DefaultMaxRetries, "retries of a transient failure (5xx, network); throttling does not count")
	f.DurationVar(&opts.MaxWait, "max-wait", sender.DefaultMaxWait, "longest server-requested wait to honour; past it the row fails")
	f.StringVar(&opts.MaxErrors, "max-errors", "", "stop (resumably) after N failed rows, or P% of the last 100")
	f.DurationVar(&opts.RecipientInterval, "recipient-interval", 0, "least time between two messages to one recipient (needs --recipient-field or a preset)")
	f.StringVar(&opts.IdempotencyHeader, "idempotency-header", sender.DefaultIdempotencyHeader, "header carrying each message's idempotency key")
	f.BoolVar(&opts.NoIdempotency, "no-idempotency", false, "send no idempotency key (then a request that may have arrived is never resent)")
	f.StringVar(&opts.Report, "report", "", "report file, .csv or .jsonl, - for stdout (default <input>.report.csv)")
	f.BoolVar(&opts.Resume, "resume", false, "continue from the report: rows already sent are not sent again")
	f.BoolVar(&opts.RetryFailed, "retry-failed", false, "with --resume, also resend failed and unknown rows")
	f.BoolVar(&opts.Force, "force", false, "overwrite an existing report (rows in it may be sent again)")
	f.BoolVar(&opts.DryRun, "dry-run", false, "render every row, print the first requests, send nothing")
	f.BoolVar(&opts.JSON, "json", false, "print the summary as JSON on stdout")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress and no summary on stderr")
	f.DurationVar(&opts.ProgressInterval, "progress-interval", 10*time.Second, "how often to print a progress line when stderr is not a terminal")
	return c
}

// plan is a validated SendOptions, ready to run.
type plan struct {
	opts     *SendOptions
	name     string // input name for messages
	format   csvinput.Format
	preset   *preset.Preset
	tokens   *preset.TokenSource
	rate     ratelimit.Rate
	adaptive bool
	maxErr   int
	maxShare float64
	report   string
	masker   *masker
}

func sendRun(ctx context.Context, opts *SendOptions) error {
	p, err := newPlan(opts)
	if err != nil {
		return err
	}
	if opts.DryRun {
		return dryRun(ctx, p)
	}
	return p.send(ctx)
}

func newPlan(opts *SendOptions) (*plan, error) {
	p := &plan{opts: opts, name: opts.Input}
	if opts.Input == "-" {
		p.name = "stdin"
	}
	var err error
	if p.format, err = csvinput.ParseFormat(opts.Format); err != nil {
		return nil, usageError("--format: %v", err)
	}
	if p.format == csvinput.FormatAuto && opts.Input != "-" {
		p.format = csvinput.FormatFromName(opts.Input)
	}
	if opts.Rate != "" {
		if p.rate, err = ratelimit.ParseRate(opts.Rate); err != nil {
			return nil, usageError("--rate: %v", err)
		}
	} else {
		p.adaptive = true
	}
	if err := checkScale(opts.Limiter, opts.Shard, p.adaptive); err != nil {
		return nil, err
	}
	if opts.Burst < 0 || opts.Concurrency < 1 || opts.MaxRetries < 0 {
		return nil, usageError("--burst and --max-retries must not be negative, --concurrency at least 1")
	}
	if p.maxErr, p.maxShare, err = parseMaxErrors(opts.MaxErrors); err != nil {
		return nil, usageError("--max-errors: %v", err)
	}
	if opts.RetryFailed && !opts.Resume {
		return nil, usageError("--retry-failed needs --resume")
	}
	if opts.Resume && opts.Force {
		return nil, usageError("--resume and --force contradict each other: pick one")
	}
	p.report = opts.Report
	if p.report == "" {
		base := "stdin"
		if opts.Input != "-" {
			base = filepath.Base(opts.Input)
		}
		p.report = base + ".report.csv"
	}
	if p.report == "-" && opts.Resume {
		return nil, usageError("--resume needs a report file, not -")
	}
	if p.report == "-" && opts.JSON {
		return nil, usageError("--json and --report - both write to stdout: give --report a file")
	}
	if p.preset, p.tokens, err = buildPreset(opts, p.name); err != nil {
		return nil, err
	}
	p.masker = newMasker(p.preset.Secrets, opts.SecretHeaders)
	return p, nil
}

// parseMaxErrors reads "N" or "P%".
func parseMaxErrors(s string) (count int, share float64, err error) {
	if s == "" {
		return 0, 0, nil
	}
	if pct, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(pct, 64)
		if err != nil || v <= 0 || v > 100 {
			return 0, 0, fmt.Errorf("%q is not a share between 0%% and 100%%", s)
		}
		return 0, v / 100, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, 0, fmt.Errorf("%q is not a count of 1 or more, or a share like 10%%", s)
	}
	return n, 0, nil
}

// buildPreset turns the request flags into a preset.
func buildPreset(opts *SendOptions, source string) (*preset.Preset, *preset.TokenSource, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	switch opts.Preset {
	case "generic", "":
		body := opts.Body
		bodyName := "--body"
		if opts.BodyTemplate != "" {
			if opts.Body != "" {
				return nil, nil, usageError("give --body or --body-template, not both")
			}
			b, err := os.ReadFile(opts.BodyTemplate)
			if err != nil {
				return nil, nil, runError(fmt.Errorf("read body template: %w", err))
			}
			body, bodyName = string(b), opts.BodyTemplate
		}
		if opts.URL == "" {
			return nil, nil, usageError("--url is required (or use --preset genesys|twilio)")
		}
		pr, err := preset.NewGeneric(preset.GenericConfig{
			Source: source, URL: opts.URL, Method: opts.Method, Headers: opts.Headers,
			Body: body, BodyName: bodyName, IDField: opts.IDField,
			RecipientField: opts.RecipientField, Env: getenv,
		})
		if err != nil {
			return nil, nil, usageError("%v", err)
		}
		return pr, nil, nil
	case "genesys":
		region := opts.Region
		if region == "" {
			region = getenv("GENESYSCLOUD_REGION")
		}
		pr, ts, err := preset.NewGenesys(preset.GenesysConfig{
			Source: source, IDField: opts.IDField, From: opts.From, ToField: opts.ToField,
			TextField: opts.TextField, Text: opts.Text, MessengerType: opts.MessengerType,
			TemplateID: opts.TemplateID, TemplateParams: opts.TemplateParams,
			Region: region, APIURL: opts.APIURL, LoginURL: opts.LoginURL,
			ClientID:     getenv("GENESYSCLOUD_OAUTHCLIENT_ID"),
			ClientSecret: getenv("GENESYSCLOUD_OAUTHCLIENT_SECRET"),
			HTTPClient:   &http.Client{Transport: transport(opts), Timeout: opts.Timeout},
		})
		if err != nil {
			return nil, nil, usageError("%v", err)
		}
		return pr, ts, nil
	case "twilio":
		pr, err := preset.NewTwilio(preset.TwilioConfig{
			Source: source, IDField: opts.IDField, From: opts.From, MessagingService: opts.MessagingSvc,
			ToField: opts.ToField, TextField: opts.TextField, Text: opts.Text, APIURL: opts.APIURL,
			AccountSID: getenv("TWILIO_ACCOUNT_SID"), AuthToken: getenv("TWILIO_AUTH_TOKEN"),
		})
		if err != nil {
			return nil, nil, usageError("%v", err)
		}
		return pr, nil, nil
	}
	return nil, nil, usageError("--preset %q: use generic, genesys or twilio", opts.Preset)
}

// transport is the HTTP transport of every request: keep-alive connections
// for the whole pool, TLS verification on unless --insecure.
func transport(opts *SendOptions) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 0
	t.MaxIdleConnsPerHost = max(opts.Concurrency, 2)
	if opts.Insecure {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it
	}
	return t
}

// openRows opens the input and its row reader; close the returned closer.
func (p *plan) openRows() (*csvinput.Reader, io.Closer, error) {
	var in io.ReadCloser = io.NopCloser(p.opts.IO.In)
	if p.opts.Input != "-" {
		f, err := os.Open(p.opts.Input)
		if err != nil {
			return nil, nil, runError(fmt.Errorf("open input: %w", err))
		}
		in = f
	}
	rows, err := csvinput.NewReader(in, p.name, p.format)
	if err != nil {
		in.Close()
		return nil, nil, runError(err)
	}
	return rows, in, nil
}

// findRepeats is the duplicate pre-pass: it reads the input file once more
// to find the rows whose id may repeat, so the run remembers only their ids
// and memory stays flat. runIn is the input as the run opened it. stdin, a
// pipe or a device can be read only once, and a builder that cannot name
// ids without rendering has no pre-pass: then the set is nil and the run
// keeps a hash of every id, about 35 bytes each.
func (p *plan) findRepeats(ctx context.Context, runIn io.Closer) (sender.RepeatSet, func(), error) {
	id, ok := p.preset.Builder.(sender.RowIdentifier)
	runFile, isFile := runIn.(*os.File)
	if p.opts.Input == "-" || !ok || !isFile {
		return nil, func() {}, nil
	}
	runInfo, err := runFile.Stat()
	if err != nil || !runInfo.Mode().IsRegular() {
		return nil, func() {}, nil
	}
	rows, in, err := p.openRows()
	if err != nil {
		return nil, nil, err
	}
	defer in.Close()
	// The same file, not whatever the name points at now: one renamed into
	// its place since the run opened it would be checked instead.
	if info, err := in.(*os.File).Stat(); err != nil || !os.SameFile(runInfo, info) {
		return nil, nil, runError(fmt.Errorf("input %s was replaced while the run started; run again", p.name))
	}
	x, err := dupindex.Build(ctx, rows, id, dupindex.Options{})
	if err != nil {
		return nil, nil, runError(err)
	}
	// Close only removes a temp file the system has already unlinked where
	// it can; there is nothing to report to the user.
	return x, func() { _ = x.Close() }, nil
}

// send is the real run: lock, journal, engine, summary, exit code.
func (p *plan) send(ctx context.Context) error {
	opts := p.opts
	rows, in, err := p.openRows()
	if err != nil {
		return err
	}
	defer in.Close()
	lim, closeLim, err := buildLimiter(ctx, opts.Limiter,
		ratelimit.Config{Rate: p.rate, Burst: opts.Burst, Adaptive: p.adaptive, InFlight: opts.Concurrency},
		opts.IO.ErrOut, opts.Quiet)
	if err != nil {
		return err
	}
	defer closeLim()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := make(chan struct{})
	interrupted := p.watchSignals(runCtx, stop, cancel)
	// Reading the report for --resume and the duplicate pre-pass send
	// nothing, so the first Ctrl-C ends them at once.
	prepCtx, endPrep := context.WithCancel(runCtx)
	defer endPrep()
	go func() {
		select {
		case <-stop:
			endPrep()
		case <-prepCtx.Done():
		}
	}()
	stoppedEarly := func(err error) error {
		if !interrupted.Load() {
			return err
		}
		fmt.Fprintln(opts.IO.ErrOut, "bulksend: interrupted before sending anything")
		return silentExit(ExitInterrupted)
	}

	var (
		journal *report.Writer
		state   *report.State
		release = func() error { return nil }
	)
	rformat := report.FormatFromName(p.report)
	if p.report == "-" {
		journal = report.NewWriter(opts.IO.Out, report.Options{Format: rformat})
	} else {
		if release, err = report.Lock(p.report); err != nil {
			return runError(err)
		}
		defer func() { _ = release() }()
		exists := false
		if st, err := os.Stat(p.report); err == nil && st.Size() > 0 {
			exists = true
		}
		switch {
		case exists && opts.Resume:
			if state, err = report.LoadContext(prepCtx, p.report); err != nil {
				return stoppedEarly(runError(fmt.Errorf("read report for --resume: %w", err)))
			}
			defer state.Close()
			journal, err = report.Append(p.report, report.Options{Format: rformat})
		case exists && !opts.Force:
			return usageError("report %s exists: --resume continues that run, --force starts over (rows in it may be sent twice)", p.report)
		default:
			journal, err = report.Create(p.report, report.Options{Format: rformat})
		}
		if err != nil {
			return runError(err)
		}
	}
	// Every way out closes the journal (Close is idempotent): an unclosed
	// report would keep its reserved tail.
	defer journal.Close()

	var filter *resumeFilter
	srcOpts := sender.SourceOptions{}
	if state != nil {
		filter = &resumeFilter{state: state, retryFailed: opts.RetryFailed,
			keyed: !opts.NoIdempotency}
		srcOpts.Filter = filter.filter
	}
	repeats, closeRepeats, err := p.findRepeats(prepCtx, in)
	endPrep()
	if err != nil {
		if interrupted.Load() {
			if err := journal.Close(); err != nil {
				return runError(err)
			}
		}
		return stoppedEarly(err)
	}
	defer closeRepeats()
	srcOpts.Repeats = repeats
	src := sender.NewSource(rows, p.preset.Builder, srcOpts)
	if filter != nil {
		src = filter.wrap(src)
	}
	if src, err = shardSource(src, opts.Shard); err != nil {
		return err
	}

	var rt http.RoundTripper = transport(opts)
	if p.preset.Wrap != nil {
		rt = p.preset.Wrap(rt)
	}
	progress := new(sender.Progress)
	cfg := sender.Config{
		Client:            sender.RoundTripDoer{RoundTripper: rt},
		Limiter:           lim,
		Journal:           journal,
		Concurrency:       opts.Concurrency,
		Timeout:           opts.Timeout,
		MaxRetries:        opts.MaxRetries,
		MaxWait:           opts.MaxWait,
		MaxErrors:         p.maxErr,
		MaxErrorShare:     p.maxShare,
		IdempotencyHeader: opts.IdempotencyHeader,
		NoIdempotency:     opts.NoIdempotency,
		RecipientInterval: opts.RecipientInterval,
		ParseResponse:     p.preset.ParseResponse,
		Progress:          progress,
	}
	if opts.MaxRetries == 0 {
		cfg.MaxRetries = -1
	}

	total := int64(-1)
	if x, ok := repeats.(*dupindex.Index); ok && x.Rows() >= 0 {
		total = shardTotal(int64(x.Rows()), opts.Shard) // the pre-pass counted them
	} else if st, err := os.Stat(opts.Input); opts.Input != "-" && err == nil && st.Mode().IsRegular() {
		// A pipe is read once, by the run: counting would eat its rows.
		total = shardTotal(countRows(opts.Input, rows.Format()), opts.Shard)
	}
	display := startProgress(opts, progress, total, lim)
	sum, runErr := sender.Run(runCtx, stop, cfg, src)
	display.stop()

	if err := journal.Close(); err != nil && runErr == nil {
		runErr = err
	}
	if err := journal.Compact(); err != nil && runErr == nil {
		runErr = err
	}
	if interrupted.Load() && runErr == nil {
		runErr = sender.ErrInterrupted
	}
	out := p.summarize(sum, lim.Stats(), runErr)
	if opts.JSON {
		if err := writeJSON(opts.IO.Out, out); err != nil {
			return runError(err)
		}
	}
	if !opts.Quiet {
		printSummary(opts.IO.ErrOut, out)
	} else if out.Stopped != "" && out.Stopped != "interrupted" {
		// --quiet silences progress and the summary, never why a run stopped.
		fmt.Fprintf(opts.IO.ErrOut, "bulksend: stopped: %s\n", out.Stopped)
	}
	return silentExit(out.ExitCode)
}

// watchSignals turns the first SIGINT/SIGTERM into a soft stop (nothing new
// is sent, in-flight requests get a grace period) and the second, or the
// end of the grace period, into cancelling every request.
func (p *plan) watchSignals(ctx context.Context, stop chan struct{}, cancel context.CancelFunc) *atomic.Bool {
	interrupted := new(atomic.Bool)
	if p.opts.Signal == nil {
		return interrupted
	}
	grace := p.opts.GracePeriod
	if grace <= 0 {
		grace = 10 * time.Second
	}
	go func() {
		select {
		case <-p.opts.Signal:
		case <-ctx.Done():
			return
		}
		interrupted.Store(true)
		close(stop)
		if !p.opts.Quiet {
			fmt.Fprintf(p.opts.IO.ErrOut, "\nbulksend: interrupted; finishing requests in flight (up to %s), Ctrl-C again to quit now\n", grace)
		}
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-p.opts.Signal:
		case <-t.C:
		case <-ctx.Done():
		}
		cancel()
	}()
	return interrupted
}

// resumeFilter applies an earlier run's report to this one.
type resumeFilter struct {
	state       *report.State
	retryFailed bool
	keyed       bool
	mismatch    error
	// failed is why the state could not answer (rows asked out of line
	// order, or its temp file unreadable): the run stops rather than guess.
	failed error
}

// filter is called for rows in input order, so the lines it asks the
// state about only grow, as report.State requires.
func (f *resumeFilter) filter(m *sender.Message) (sender.Status, bool) {
	st, ok := f.state.Status(m.Line)
	if err := f.state.Err(); err != nil {
		if f.failed == nil {
			f.failed = fmt.Errorf("read report for --resume: %w", err)
		}
		return "", true
	}
	if !ok {
		return "", false
	}
	if !f.state.SameID(m.Line, m.ID) {
		if f.mismatch == nil {
			f.mismatch = fmt.Errorf("line %d: id %q is not the id the report has for that line: the input changed since the report was written; use --force to start over", m.Line, m.ID)
		}
		return "", true
	}
	switch st {
	case sender.StatusSent, sender.StatusDuplicate, sender.StatusSkipped:
		return st, false
	case sender.StatusFailed, sender.StatusUnknown:
		if f.retryFailed {
			return "", false
		}
		return st, false
	case sender.StatusInFlight:
		sentKey := f.state.InFlightKey(m.Line)
		if f.retryFailed || (f.keyed && sentKey != "" && sentKey == m.IdempotencyKey) {
			// The same idempotency key makes the resend safe: the server
			// answers a replay without delivering twice.
			return "", false
		}
		m.Skip = sender.StatusUnknown
		if sentKey == "" {
			m.Reason = "was in flight without an idempotency key when an earlier run stopped and may have been delivered; not resent (--retry-failed resends it)"
		} else {
			m.Reason = "was in flight when an earlier run stopped and may have been delivered; its idempotency key differs now (the row or template changed), so a resend could deliver twice (--retry-failed resends it)"
		}
		return "", false
	}
	return "", false
}

// wrap stops the source at the first id mismatch or state failure.
func (f *resumeFilter) wrap(src sender.Source) sender.Source {
	return sourceFunc(func(ctx context.Context) (*sender.Message, error) {
		m, err := src.Next(ctx)
		if f.failed != nil {
			return nil, runError(f.failed)
		}
		if f.mismatch != nil {
			return nil, &exitError{code: ExitUsage, err: f.mismatch}
		}
		return m, err
	})
}

type sourceFunc func(ctx context.Context) (*sender.Message, error)

func (f sourceFunc) Next(ctx context.Context) (*sender.Message, error) { return f(ctx) }

// runErrorCode is the exit code of an error that ended a run.
func runErrorCode(err error) int {
	var ee *exitError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, sender.ErrInterrupted):
		return ExitInterrupted
	case errors.Is(err, sender.ErrMaxErrors):
		return ExitMaxErrors
	}
	return ExitError
}
