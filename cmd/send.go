package cmd

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bulksend/bulksend/campaign"
	"github.com/bulksend/bulksend/csvinput"
	"github.com/bulksend/bulksend/internal/buildinfo"
	"github.com/bulksend/bulksend/internal/redact"
	"github.com/bulksend/bulksend/preset"
	"github.com/bulksend/bulksend/ratelimit"
	"github.com/bulksend/bulksend/sender"
)

// SendOptions is everything `bulksend send` was asked to do.
type SendOptions struct {
	IO     *IOStreams
	Signal <-chan os.Signal
	Getenv env

	Input    string // path or "-"
	Format   string
	Encoding string // --input-encoding

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
	// Genesys template parameters as ID=COLUMN, and the active conversation.
	BodyParams, HeaderParams, ButtonURLParams []string
	UseExistingConversation                   bool
	MessagingSvc                              string
	// Twilio's optional parameters.
	MediaURLFields   []string
	ContentSID       string
	ContentVariables []string // NAME=COLUMN
	StatusCallback   string
	ValidityPeriod   time.Duration
	// PricePerSegment prices the dry run's SMS segment count.
	PricePerSegment float64
	APIURL          string
	LoginURL        string
	Region          string
	SecretHeaders   []string
	Insecure        bool
	CACert          string // PEM file of CAs to trust besides the system's

	// Pacing and retries.
	Rate              string
	Burst             int
	Window            string // "fixed": --rate is a fixed window's quota
	Concurrency       int
	ConcurrencyGiven  bool // --concurrency was given: the user knows the server's limit in flight
	Timeout           time.Duration
	MaxRetries        int
	MaxWait           time.Duration
	WaitParked        bool
	MaxErrors         string
	RecipientInterval time.Duration
	IdempotencyHeader string
	NoIdempotency     bool
	IdempotentServer  bool
	LookupURL         string
	LookupMethod      string

	// Long campaigns (cmd/park.go): send windows, in which zone, and the
	// opt-out list.
	// Rates are the --rate flags: the one of the shortest period is Rate,
	// the pace, the others Caps, long limits that park the run when spent.
	Rates          []string
	Caps           []string
	SendWindows    []string
	TZ             string
	TZField        string
	Suppress       string
	SuppressUpdate bool

	// Several senders on one quota (cmd/scale.go).
	Limiter string // redis:// URL of the limiter shared with other processes
	Shard   string // "i/n": send only shard i of n

	// Report and safety.
	Report           string
	Resume           bool
	RetryFailed      bool
	ResendUnknown    bool
	Force            bool
	DryRun           bool
	JSON             bool
	Quiet            bool
	ProgressInterval time.Duration

	// Flags are the flags given on the command line, for the start line a
	// log gets ("--rate=5/s"); secrets are masked when it is printed.
	Flags []string

	// ResumeCommand is the command line that continues this run: its own
	// flags, with --resume. A parked run prints it.
	ResumeCommand string

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
			opts.Flags = givenFlags(c.Flags())
			opts.ConcurrencyGiven = c.Flags().Changed("concurrency")
			opts.ResumeCommand = resumeCommand(c, opts.Input)
			opts.Rate, opts.Caps = splitRates(opts.Rates)
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
		"5    parked: a quota or send window closed; --resume after the resume_after the summary gives",
		"130  interrupted; the report can be continued with --resume"))
	c.Flags().SortFlags = false
	addRequestFlags(c, opts)
	addPresetFlags(c, opts)
	addVendorFlags(c, opts)
	addPacingFlags(c, opts)
	addReportFlags(c, opts)
	completeValues(c, sendCompletions())
	return c
}

// addRequestFlags registers the input and the generic request's flags.
func addRequestFlags(c *cobra.Command, opts *SendOptions) {
	f := c.Flags()
	f.StringVar(&opts.Format, "format", "", "input format: csv or jsonl (default: by extension, sniffed on stdin)")
	f.StringVar(&opts.Encoding, "input-encoding", "utf-8", "input character encoding: utf-8, latin1 or windows-1252")
	f.StringVar(&opts.Preset, "preset", "generic", "request builder: generic, genesys or twilio")
	f.StringVar(&opts.URL, "url", "", "request URL (template)")
	f.StringVar(&opts.Method, "method", "POST", "HTTP method")
	f.StringArrayVarP(&opts.Headers, "header", "H", nil, "request header 'Name: value' (template; repeatable)")
	f.StringVar(&opts.Body, "body", "", "request body (template); a json function quotes a value, env reads a variable")
	f.StringVar(&opts.BodyTemplate, "body-template", "", "read the body template from this file")
	f.StringVar(&opts.IDField, "id-field", "", `field that identifies a row (default "id" when present, else the line number)`)
	f.StringVar(&opts.RecipientField, "recipient-field", "", "field naming the recipient, for --recipient-interval")
}

// addPresetFlags registers the vendor presets' flags, and those of every
// request's secrets and TLS.
func addPresetFlags(c *cobra.Command, opts *SendOptions) {
	f := c.Flags()
	f.StringVar(&opts.From, "from", "", "sender address (presets)")
	f.StringVar(&opts.ToField, "to-field", "to", "field with the recipient address (presets)")
	f.StringVar(&opts.TextField, "text-field", "text", "field with the message text (presets)")
	f.StringVar(&opts.Text, "text", "", "message text template, instead of --text-field (presets)")
	f.StringVar(&opts.MessengerType, "messenger-type", "sms", "genesys: sms, whatsapp or open")
	f.StringVar(&opts.TemplateID, "template-id", "", "genesys: WhatsApp messaging template responseId")
	f.StringArrayVar(&opts.TemplateParams, "template-param", nil, "genesys: field whose value is the next template body parameter, its id the field's name (repeatable)")
	f.StringVar(&opts.MessagingSvc, "messaging-service", "", "twilio: MessagingServiceSid, instead of or with --from")
	f.StringVar(&opts.APIURL, "api-url", "", "presets: API base URL (default from the region / vendor)")
	f.StringVar(&opts.LoginURL, "login-url", "", "genesys: OAuth base URL (default from the region)")
	f.StringVar(&opts.Region, "region", "", "genesys: region such as mypurecloud.com (default $GENESYSCLOUD_REGION)")
	f.StringArrayVar(&opts.SecretHeaders, "secret-header", nil, "header whose value is masked in all output, like Authorization (repeatable)")
	f.StringVar(&opts.CACert, "cacert", "", "also trust the CA certificates in this PEM file (a private CA); SSL_CERT_FILE replaces the system's")
	f.BoolVar(&opts.Insecure, "insecure", false, "skip TLS certificate verification (never for production)")
}

// addVendorFlags registers the Genesys and Twilio options beyond sender,
// recipient and text, and the dry run's SMS pricing.
func addVendorFlags(c *cobra.Command, opts *SendOptions) {
	f := c.Flags()
	f.StringArrayVar(&opts.BodyParams, "body-param", nil, "genesys: template body parameter ID=COLUMN (repeatable)")
	f.StringArrayVar(&opts.HeaderParams, "header-param", nil, "genesys: template header parameter ID=COLUMN (repeatable)")
	f.StringArrayVar(&opts.ButtonURLParams, "button-url-param", nil, "genesys: template button URL parameter ID=COLUMN (repeatable)")
	f.BoolVar(&opts.UseExistingConversation, "use-existing-conversation", false, "genesys: send in the recipient's active conversation, if any (useExistingActiveConversation)")
	f.StringArrayVar(&opts.MediaURLFields, "media-url-field", nil, "twilio: field with a media URL, sent as MediaUrl (MMS; repeatable, empty values skipped)")
	f.StringVar(&opts.ContentSID, "content-sid", "", "twilio: content template HX... (ContentSid); the text is then sent only with --text")
	f.StringArrayVar(&opts.ContentVariables, "content-variable", nil, "twilio: content template variable NAME=COLUMN (ContentVariables; repeatable)")
	f.StringVar(&opts.StatusCallback, "status-callback", "", "twilio: URL Twilio posts each message's status changes to")
	f.DurationVar(&opts.ValidityPeriod, "validity-period", 0, "twilio: drop a message still queued at Twilio after this long (1s to 10h)")
	f.Float64Var(&opts.PricePerSegment, "price-per-segment", 0, "dry run: price of one SMS segment, for a cost estimate")
}

// addPacingFlags registers pacing, retries, the error policy and scale.
func addPacingFlags(c *cobra.Command, opts *SendOptions) {
	f := c.Flags()
	f.StringArrayVar(&opts.Rates, "rate", nil, "total request rate: 5/s, 300/m, 10000/h, 1/2s, 0 for none (default: adaptive); repeat for long caps: --rate 50/s --rate 10000/24h")
	f.IntVar(&opts.Burst, "burst", 0, "requests that may leave at once (default 1 with --rate)")
	f.StringVar(&opts.Window, "window", "", `"fixed": send --rate's count at once at the start of each window of its period, as a fixed-window server allows; "sliding": no more than --rate's count in any span of its period, each request's place free a period after its answer, as a sliding log allows`)
	f.StringVar(&opts.Limiter, "limiter", "", "share the rate and throttle pauses with other processes: redis://[user:pass@]host:port/db?key=NAME (needs --rate)")
	f.StringVar(&opts.Shard, "shard", "", "send only shard i of n of the rows, by a hash of the row id, e.g. 1/3")
	f.IntVar(&opts.Concurrency, "concurrency", sender.DefaultConcurrency, "requests in flight at once")
	f.DurationVar(&opts.Timeout, "timeout", sender.DefaultTimeout, "timeout of one request")
	f.IntVar(&opts.MaxRetries, "max-retries", sender.DefaultMaxRetries, "retries of a transient failure (5xx, network); throttling does not count")
	f.DurationVar(&opts.MaxWait, "max-wait", sender.DefaultMaxWait, "longest wait to sleep through; a longer one (a quota, a closed send window) parks the run: exit 5")
	f.BoolVar(&opts.WaitParked, "wait-parked", false, "sleep through a wait longer than --max-wait instead of parking, however long")
	f.StringArrayVar(&opts.SendWindows, "send-window", nil, "send only inside this weekly window, e.g. 'Mon-Fri 09:00-20:00' (repeatable; in --tz or the row's --tz-field zone)")
	f.StringVar(&opts.TZ, "tz", "", "time zone of the send windows, an IANA name like America/New_York (default: local)")
	f.StringVar(&opts.TZField, "tz-field", "", "column with each row's time zone for the send windows (empty: --tz)")
	f.StringVar(&opts.Suppress, "suppress", "", "opt-out list: rows to recipients in FILE (one a line, or a CSV with a recipient column) are skipped")
	f.BoolVar(&opts.SuppressUpdate, "suppress-update", false, "add recipients the vendor reports as opted out or invalid (Twilio 21610, 21211, 21614) to the --suppress FILE")
	f.StringVar(&opts.MaxErrors, "max-errors", "", "stop (resumably) after N failed rows, or P% of the last 100")
	f.DurationVar(&opts.RecipientInterval, "recipient-interval", 0, "least time between two messages to one recipient (needs --recipient-field or a preset)")
	f.StringVar(&opts.IdempotencyHeader, "idempotency-header", sender.DefaultIdempotencyHeader, "header carrying each message's idempotency key")
	f.BoolVar(&opts.NoIdempotency, "no-idempotency", false, "send no idempotency key header")
	f.StringVar(&opts.LookupURL, "lookup-url", "", "template of the URL that says whether a row's message exists (a 2xx with a body yes, 404 no; only an empty body, [], {} or null says neither: point it at an address that answers 404, not a search), to settle a request that may have arrived (generic preset)")
	f.StringVar(&opts.LookupMethod, "lookup-method", "GET", "method of the --lookup-url request")
	f.BoolVar(&opts.IdempotentServer, "idempotent-server", false, "the server drops a request whose --idempotency-header key it has seen, so one that may have arrived can be resent (generic preset)")
}

// addReportFlags registers the report, resume and output flags.
func addReportFlags(c *cobra.Command, opts *SendOptions) {
	f := c.Flags()
	f.StringVar(&opts.Report, "report", "", "report file, .csv or .jsonl, - for stdout (default <input>.report.csv)")
	f.BoolVar(&opts.Resume, "resume", false, "continue from the report: rows already sent are not sent again")
	f.BoolVar(&opts.RetryFailed, "retry-failed", false, "with --resume, also resend failed rows (every attempt proven not taken)")
	f.BoolVar(&opts.ResendUnknown, "resend-unknown", false, "with --resume, resend unknown rows unsettled: they may have arrived, and may arrive twice")
	f.BoolVar(&opts.Force, "force", false, "overwrite an existing report (rows in it may be sent again)")
	f.BoolVar(&opts.DryRun, "dry-run", false, "render every row, print the first requests, send nothing")
	f.BoolVar(&opts.JSON, "json", false, "print the summary as JSON on stdout")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress and no summary on stderr")
	f.DurationVar(&opts.ProgressInterval, "progress-interval", 10*time.Second, "how often to print a progress line when stderr is not a terminal")
}

// plan is a validated SendOptions, ready to run.
type plan struct {
	opts     *SendOptions
	name     string // input name for messages
	format   csvinput.Format
	encoding csvinput.Encoding
	preset   *preset.Preset
	tokens   *preset.TokenSource
	rate     ratelimit.Rate
	// fixedWindow: --window fixed; slidingWindow: --window sliding.
	fixedWindow, slidingWindow bool
	adaptive                   bool
	maxErr                     int
	maxShare                   float64
	report                     string
	shard                      campaign.Shard
	windows                    *campaign.Windows // --send-window; nil: send at any time
	caps                       []ratelimit.Rate  // the --rate flags after the pace
	suppress                   *campaign.Suppress
	masker                     *masker
	// transport carries every request (and the Genesys token requests):
	// TLS as the flags say, bulksend's User-Agent.
	transport http.RoundTripper
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
	if p.encoding, err = csvinput.ParseEncoding(opts.Encoding); err != nil {
		return nil, usageError("--input-encoding: %v", err)
	}
	if err := checkSendFlags(opts); err != nil {
		return nil, err
	}
	if err := p.parsePace(); err != nil {
		return nil, err
	}
	if err := checkScale(opts.Limiter, opts.Shard, p.adaptive); err != nil {
		return nil, err
	}
	if opts.Shard != "" {
		p.shard.Index, p.shard.Count, _ = sender.ParseShard(opts.Shard) // checked above
	}
	if p.caps, err = parseCaps(opts); err != nil {
		return nil, err
	}
	if p.windows, err = sendWindows(opts); err != nil {
		return nil, err
	}
	if p.suppress, err = suppressList(opts); err != nil {
		return nil, err
	}
	if p.maxErr, p.maxShare, err = parseMaxErrors(opts.MaxErrors); err != nil {
		return nil, usageError("--max-errors: %v", err)
	}
	if err := p.parseReport(); err != nil {
		return nil, err
	}
	if p.transport, err = newTransport(opts); err != nil {
		return nil, err
	}
	if p.preset, p.tokens, err = buildPreset(opts, p.name, p.transport); err != nil {
		return nil, err
	}
	p.masker = newRunMasker(opts, p.preset, p.tokens)
	return p, nil
}

// parsePace reads --rate and --window: a fixed pace, a fixed window, or
// the adaptive rate when no --rate is given.
func (p *plan) parsePace() error {
	opts := p.opts
	var err error
	if opts.Rate != "" {
		if p.rate, err = ratelimit.ParseRate(opts.Rate); err != nil {
			return usageError("--rate: %v", err)
		}
	} else {
		p.adaptive = true
	}
	switch opts.Window {
	case "", "none":
	case "fixed", "sliding":
		switch {
		case p.adaptive || p.rate.IsZero():
			return usageError("--window %s needs --rate, the window's quota per its length (e.g. 15/150ms)", opts.Window)
		case p.rate.Count != math.Trunc(p.rate.Count):
			return usageError("--window %s: the quota in --rate %s is not a whole number of requests", opts.Window, p.rate)
		case opts.Burst != 0:
			return usageError("--window %s sends the whole quota at once: leave out --burst", opts.Window)
		case opts.Limiter != "":
			return usageError("--window %s is not supported with --limiter", opts.Window)
		}
		p.fixedWindow, p.slidingWindow = opts.Window == "fixed", opts.Window == "sliding"
	default:
		return usageError("--window %q: want fixed or sliding (or none)", opts.Window)
	}
	return nil
}

// parseReport checks the resume flags and picks the report path.
func (p *plan) parseReport() error {
	opts := p.opts
	if opts.RetryFailed && !opts.Resume {
		return usageError("--retry-failed needs --resume")
	}
	if opts.ResendUnknown && !opts.Resume {
		return usageError("--resend-unknown needs --resume")
	}
	if opts.Resume && opts.Force {
		return usageError("--resume and --force contradict each other: pick one")
	}
	p.report = opts.Report
	if p.report == "" {
		p.report = campaign.DefaultReportPath(opts.Input)
	}
	if p.report == "-" && opts.Resume {
		return usageError("--resume needs a report file, not -")
	}
	if p.report == "-" && opts.JSON {
		return usageError("--json and --report - both write to stdout: give --report a file")
	}
	return nil
}

// checkSendFlags rejects send's numbers, durations and combinations that
// mean nothing, naming the flag.
func checkSendFlags(opts *SendOptions) error {
	if err := checkEngineFlags(opts.Concurrency, opts.Burst, opts.MaxRetries, opts.Timeout, opts.MaxWait); err != nil {
		return err
	}
	switch {
	case opts.ProgressInterval <= 0:
		return usageError("--progress-interval %s: must be positive", opts.ProgressInterval)
	case opts.RecipientInterval < 0:
		return usageError("--recipient-interval %s: must not be negative", opts.RecipientInterval)
	case opts.RecipientInterval > 0 && opts.RecipientField == "" && (opts.Preset == "" || opts.Preset == "generic"):
		return usageError("--recipient-interval needs --recipient-field with the generic preset: name the column that holds the recipient")
	case opts.LookupURL != "" && opts.Preset != "" && opts.Preset != "generic":
		return usageError("--lookup-url is for the generic preset; the %s preset settles what it can itself", opts.Preset)
	case opts.IdempotentServer && opts.NoIdempotency:
		return usageError("--idempotent-server with --no-idempotency: the server cannot deduplicate by a key that is not sent")
	case opts.IdempotentServer && opts.Preset != "" && opts.Preset != "generic":
		return usageError("--idempotent-server: the %s preset sends no idempotency key (its API documents none)", opts.Preset)
	case !opts.NoIdempotency && !validHeaderName(opts.IdempotencyHeader):
		return usageError("--idempotency-header %q: not a header name (use --no-idempotency to send no key)", opts.IdempotencyHeader)
	case opts.PricePerSegment < 0 || math.IsNaN(opts.PricePerSegment) || math.IsInf(opts.PricePerSegment, 0):
		return usageError("--price-per-segment %v: want a price of 0 or more", opts.PricePerSegment)
	}
	return nil
}

// checkEngineFlags rejects the engine flags send and status share when they
// mean nothing, naming the flag: a zero --timeout would let a hung server
// hold the run forever.
func checkEngineFlags(concurrency, burst, maxRetries int, timeout, maxWait time.Duration) error {
	switch {
	case concurrency < 1:
		return usageError("--concurrency %d: must be at least 1", concurrency)
	case burst < 0:
		return usageError("--burst %d: must not be negative", burst)
	case maxRetries < 0:
		return usageError("--max-retries %d: must not be negative (0 is no retries)", maxRetries)
	case timeout <= 0:
		return usageError("--timeout %s: must be positive (a request with no timeout can hang the run)", timeout)
	case maxWait <= 0:
		return usageError("--max-wait %s: must be positive", maxWait)
	}
	return nil
}

// engineRetries is --max-retries as sender.Config wants it: the flag's 0
// is no retries, sender's zero is its default.
func engineRetries(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// newRunMasker is the run's masker, fed every secret the run knows: the
// preset's credentials and the Basic credentials built from them, the env
// values the templates read, passwords in the URLs given as flags, and
// each OAuth token as soon as it is fetched. Account and client ids are
// names, not secrets: a dry run shows the URL they are part of.
func newRunMasker(opts *SendOptions, pr *preset.Preset, tokens *preset.TokenSource) *masker {
	m := newMasker(pr.Secrets, opts.SecretHeaders)
	for _, u := range []string{opts.URL, opts.APIURL, opts.LoginURL, opts.Limiter} {
		m.AddURL(u)
	}
	if tokens != nil {
		tokens.OnToken(func(tok string) { m.Add(tok) })
	}
	return m
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

// buildPreset turns the request flags into a preset, and refuses a price
// per segment for one that sends no SMS.
func buildPreset(opts *SendOptions, source string, rt http.RoundTripper) (*preset.Preset, *preset.TokenSource, error) {
	pr, ts, err := presetOf(opts, source, rt)
	if err == nil && opts.PricePerSegment > 0 && pr.SMS == nil {
		err = usageError("--price-per-segment: this preset sends no SMS (use twilio, or genesys with --messenger-type sms)")
	}
	return pr, ts, err
}

// presetOf builds the preset --preset names.
func presetOf(opts *SendOptions, source string, rt http.RoundTripper) (*preset.Preset, *preset.TokenSource, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	switch opts.Preset {
	case "generic", "":
		pr, err := genericPreset(opts, source, getenv)
		return pr, nil, err
	case "genesys":
		return genesysPreset(opts, source, getenv, rt)
	case "twilio":
		pr, err := twilioPreset(opts, source, getenv)
		return pr, nil, err
	}
	return nil, nil, usageError("--preset %q: use generic, genesys or twilio", opts.Preset)
}

// genesysPreset builds the Genesys preset from the flags and environment.
func genesysPreset(opts *SendOptions, source string, getenv env, rt http.RoundTripper) (*preset.Preset, *preset.TokenSource, error) {
	cfg := preset.GenesysConfig{
		Source: source, IDField: opts.IDField, From: opts.From, ToField: opts.ToField,
		TextField: opts.TextField, Text: opts.Text, MessengerType: opts.MessengerType,
		TemplateID: opts.TemplateID, TemplateParams: opts.TemplateParams,
		UseExistingConversation: opts.UseExistingConversation,
		Region:                  cmp.Or(opts.Region, getenv("GENESYSCLOUD_REGION")),
		APIURL:                  opts.APIURL, LoginURL: opts.LoginURL,
		ClientID:     getenv("GENESYSCLOUD_OAUTHCLIENT_ID"),
		ClientSecret: getenv("GENESYSCLOUD_OAUTHCLIENT_SECRET"),
		HTTPClient:   &http.Client{Transport: rt, Timeout: opts.Timeout},
	}
	var err error
	for _, pf := range []struct {
		flag string
		in   []string
		out  *[]preset.TemplateParam
	}{
		{"--body-param", opts.BodyParams, &cfg.BodyParams},
		{"--header-param", opts.HeaderParams, &cfg.HeaderParams},
		{"--button-url-param", opts.ButtonURLParams, &cfg.ButtonURLParams},
	} {
		if *pf.out, err = parseEach(pf.in, preset.ParseTemplateParam); err != nil {
			return nil, nil, usageError("%s: %v", pf.flag, err)
		}
	}
	pr, ts, err := preset.NewGenesys(cfg)
	if err != nil {
		return nil, nil, usageError("%v", err)
	}
	return pr, ts, nil
}

// twilioPreset builds the Twilio preset from the flags and environment.
func twilioPreset(opts *SendOptions, source string, getenv env) (*preset.Preset, error) {
	vars, err := parseEach(opts.ContentVariables, preset.ParseContentVariable)
	if err != nil {
		return nil, usageError("--content-variable: %v", err)
	}
	pr, err := preset.NewTwilio(preset.TwilioConfig{
		Source: source, IDField: opts.IDField, From: opts.From, MessagingService: opts.MessagingSvc,
		ToField: opts.ToField, TextField: opts.TextField, Text: opts.Text, APIURL: opts.APIURL,
		MediaURLFields: opts.MediaURLFields, ContentSID: opts.ContentSID, ContentVariables: vars,
		StatusCallback: opts.StatusCallback, ValidityPeriod: opts.ValidityPeriod,
		AccountSID: getenv("TWILIO_ACCOUNT_SID"), AuthToken: getenv("TWILIO_AUTH_TOKEN"),
		APIKey: getenv("TWILIO_API_KEY"), APISecret: getenv("TWILIO_API_SECRET"),
	})
	if err != nil {
		return nil, usageError("%v", err)
	}
	return pr, nil
}

// parseEach parses every value of a repeatable flag.
func parseEach[T any](in []string, parse func(string) (T, error)) ([]T, error) {
	out := make([]T, 0, len(in))
	for _, s := range in {
		v, err := parse(s)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// genericPreset builds the template preset from --url, --method,
// --header and --body or --body-template.
func genericPreset(opts *SendOptions, source string, getenv env) (*preset.Preset, error) {
	body := opts.Body
	bodyName := "--body"
	if opts.BodyTemplate != "" {
		if opts.Body != "" {
			return nil, usageError("give --body or --body-template, not both")
		}
		b, err := os.ReadFile(opts.BodyTemplate)
		if err != nil {
			return nil, runError(fmt.Errorf("read body template: %w", err))
		}
		body, bodyName = string(b), opts.BodyTemplate
	}
	if opts.URL == "" {
		return nil, usageError("--url is required (or use --preset genesys|twilio)")
	}
	pr, err := preset.NewGeneric(preset.GenericConfig{
		Source: source, URL: opts.URL, Method: opts.Method, Headers: opts.Headers,
		Body: body, BodyName: bodyName, IDField: opts.IDField,
		RecipientField: opts.RecipientField, Env: getenv,
		LookupURL: opts.LookupURL, LookupMethod: opts.LookupMethod,
		SecretHeaders: opts.SecretHeaders,
	})
	if err != nil {
		return nil, usageError("%v", err)
	}
	return pr, nil
}

// idleConnTimeout is how long a kept-alive connection may sit idle and
// still be reused. Servers close idle connections on their own clock
// (Node's http server after 5 s, Apache's 5 s, gunicorn's 2 s); a POST
// written on a connection the server closes at that moment is cut after
// it went out (a reset, no answer), so its row must stay unknown although
// the server never read it, and nothing on the client's side tells the
// two apart (httptrace's WroteRequest fires either way). Go keeps idle
// connections 90 s and does not read Keep-Alive: timeout=N, so a pool
// resuming after a pause of about the server's timeout (a window waited
// out) met that race: 32 connections resumed 5.90 to 5.99 s after idling
// against express (Node 20) lost 21 of 800 POSTs so, reset after they
// were written and never delivered. Closing our side after 1.5 s, under
// any common server's timeout, never reuses a connection the server may
// be closing; a reconnect is the cost after a longer pause. Not 1 s: a
// pause of a whole-second Retry-After would then close the whole pool,
// and the first volley after it, slowed by new handshakes, misleads the
// adaptive rate's round-trip reading.
const idleConnTimeout = 1500 * time.Millisecond

// newTransport is the HTTP transport of every request: keep-alive
// connections for the whole pool (each closed after idleConnTimeout
// idle), TLS verification on unless --insecure (with --cacert's CAs
// trusted too), and bulksend's User-Agent unless a --header sets one.
func newTransport(opts *SendOptions) (http.RoundTripper, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 0
	t.MaxIdleConnsPerHost = max(opts.Concurrency, 2)
	t.IdleConnTimeout = idleConnTimeout
	switch {
	case opts.Insecure && opts.CACert != "":
		return nil, usageError("--insecure and --cacert contradict each other: --cacert verifies against a CA, --insecure verifies nothing")
	case opts.Insecure:
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it
	case opts.CACert != "":
		pool, err := certPool(opts.CACert)
		if err != nil {
			return nil, err
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &buildinfo.Transport{Base: t, UserAgent: build().UserAgent()}, nil
}

// certPool is the system's CAs plus those in the PEM file path.
func certPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, runError(fmt.Errorf("read --cacert: %w", err))
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, usageError("--cacert %s: no PEM certificate in it", path)
	}
	return pool, nil
}

// send is the real run: the limiter, the signals, the campaign, and what
// the user sees of it.
func (p *plan) send(ctx context.Context) error {
	opts := p.opts
	lim, closeLim, err := buildLimiter(ctx, opts.Limiter,
		ratelimit.Config{Rate: p.rate, Burst: opts.Burst, Adaptive: p.adaptive, FixedWindow: p.fixedWindow, SlidingWindow: p.slidingWindow,
			InFlight: opts.Concurrency, InFlightPinned: opts.ConcurrencyGiven, OpeningAlone: true},
		opts.IO.ErrOut, opts.Quiet)
	if err != nil {
		return err
	}
	defer closeLim()
	lim = p.capped(lim)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := make(chan struct{})
	p.watchSignals(runCtx, stop, cancel)

	if !opts.Quiet && !opts.IO.ErrTTY {
		now := opts.Now
		if now == nil {
			now = time.Now
		}
		fmt.Fprintln(opts.IO.ErrOut, p.startLine(now()))
	}
	copts := p.campaignOptions(lim, stop)
	if opts.ResendUnknown {
		copts.Resumed = func(c map[sender.Status]int) {
			// Said even with --quiet: this run may deliver messages twice.
			if n := c[sender.StatusUnknown] + c[sender.StatusInFlight]; n > 0 {
				fmt.Fprintf(opts.IO.ErrOut, "bulksend: warning: --resend-unknown sends %s again that may have arrived already; they may arrive twice\n",
					count(n, "row"))
			}
		}
	}
	copts.Unchecked = p.warnUnchecked
	copts.Progress = func(pr *sender.Progress, total int64) func() {
		return startProgress(opts, pr, total, lim).stop
	}
	res, err := campaign.Run(runCtx, copts)
	if err != nil {
		return p.notStarted(err)
	}
	out := p.summarize(res)
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
		if out.ResumeAfter != "" {
			fmt.Fprintf(opts.IO.ErrOut, "bulksend: parked until %s; then: %s\n", out.ResumeAfter, out.ResumeCommand)
		}
	}
	return silentExit(out.ExitCode)
}

// campaignOptions are the options of the campaign the flags describe. lim
// and stop are nil for a dry run.
func (p *plan) campaignOptions(lim sender.Limiter, stop <-chan struct{}) campaign.Options {
	o := p.opts
	rep := campaign.Report{Path: p.report, Resume: o.Resume, RetryFailed: o.RetryFailed, ResendUnknown: o.ResendUnknown, Force: o.Force, Redact: p.masker.mask,
		Segments: p.preset.SMS != nil}
	if p.report == "-" {
		rep = campaign.Report{Writer: o.IO.Out, Redact: p.masker.mask, Segments: p.preset.SMS != nil}
	}
	maxRetries := engineRetries(o.MaxRetries)
	return campaign.Options{
		Input: campaign.Input{Path: o.Input, Reader: o.IO.In, Name: p.name, Format: p.format, Encoding: p.encoding,
			Columns: append(p.columns(), p.stageColumns()...)},
		Preset:    p.preset,
		Transport: p.transport,
		Report:    rep,
		Shard:     p.shard,
		Windows:   p.windows,
		Suppress:  p.suppress,
		Stop:      stop,
		Engine: sender.Config{
			Limiter:           lim,
			Concurrency:       o.Concurrency,
			Timeout:           o.Timeout,
			MaxRetries:        maxRetries,
			MaxWait:           o.MaxWait,
			WaitParked:        o.WaitParked,
			Now:               o.Now,
			MaxErrors:         p.maxErr,
			MaxErrorShare:     p.maxShare,
			IdempotencyHeader: o.IdempotencyHeader,
			NoIdempotency:     o.NoIdempotency,
			IdempotentServer:  o.IdempotentServer,
			RecipientInterval: o.RecipientInterval,
		},
	}
}

// columns are the input columns every row needs, for the check of the
// input's header before anything is sent: the generic templates' fields,
// and for the vendor presets the recipient, text and template parameter
// columns, and a named --id-field.
func (p *plan) columns() []string {
	o := p.opts
	if cols := preset.Columns(p.preset.Builder); cols != nil {
		return cols
	}
	var cols []string
	if o.IDField != "" {
		cols = append(cols, o.IDField)
	}
	cols = append(cols, o.ToField)
	switch {
	case o.Text != "":
		cols = append(cols, preset.TemplateFields(o.Text)...)
	case o.TemplateID == "":
		cols = append(cols, o.TextField)
	}
	cols = append(cols, o.TemplateParams...)
	for _, ps := range [][]string{o.BodyParams, o.HeaderParams, o.ButtonURLParams} {
		for _, p := range ps {
			if _, col, ok := strings.Cut(p, "="); ok {
				cols = append(cols, col)
			}
		}
	}
	return cols
}

// givenFlags lists the flags set on the command line as --name=value, one
// entry per occurrence of a repeatable flag.
func givenFlags(fs *pflag.FlagSet) []string {
	var out []string
	fs.Visit(func(f *pflag.Flag) {
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				out = append(out, "--"+f.Name+"="+v)
			}
			return
		}
		out = append(out, "--"+f.Name+"="+f.Value.String())
	})
	return out
}

// startLine is the first line of a run's log when stderr is not a terminal
// (cron): when, which bulksend, what it reads and writes, and the flags,
// secrets masked, so a log says what ran.
func (p *plan) startLine(at time.Time) string {
	flags := make([]string, len(p.opts.Flags))
	for i, f := range p.opts.Flags {
		if v, ok := strings.CutPrefix(f, "--header="); ok {
			if name, _, found := strings.Cut(v, ":"); found && p.masker.SecretHeader(strings.TrimSpace(name)) {
				f = "--header=" + strings.TrimSpace(name) + ": ***"
			}
		}
		if v, ok := strings.CutPrefix(f, "-H="); ok {
			f = "--header=" + v
		}
		flags[i] = strconv.Quote(p.masker.mask(f))
	}
	return redact.Terminal(fmt.Sprintf("%s bulksend %s start: input %s, report %s, flags: %s",
		at.Format(time.RFC3339), build(), p.name, p.report, strings.Join(flags, " ")))
}

// notStarted maps why a campaign could not start to what the user sees.
func (p *plan) notStarted(err error) error {
	switch {
	case errors.Is(err, sender.ErrInterrupted):
		fmt.Fprintln(p.opts.IO.ErrOut, "bulksend: interrupted before sending anything")
		return silentExit(ExitInterrupted)
	case errors.Is(err, campaign.ErrMissingColumns):
		return usageError("%v", err)
	case errors.Is(err, campaign.ErrReportExists):
		return usageError("report %s exists: --resume continues that run, --force starts over (rows in it may be sent twice)", p.report)
	case errors.Is(err, campaign.ErrInputChanged):
		return usageError("%s; %s", p.masker.mask(err.Error()), inputChangedFix)
	}
	return runError(err)
}

// inputChangedFix is what to do when --resume meets an input the report
// was not written for.
const inputChangedFix = "nothing was sent: to send this input as a new campaign give it a new --report (a dated name, as in the cron recipes); --force starts this report over and sends every row again"

// warnUnchecked says, once, that a report written by an older bulksend
// has no fingerprints, so whether the input still matches it is checked
// by id only.
func (p *plan) warnUnchecked(rows int) {
	fmt.Fprintf(p.opts.IO.ErrOut, "bulksend: note: %s: %s no fingerprint (written by an older bulksend): --resume compares only the ids of the input's rows with them, not their content\n",
		p.report, count(rows, "row has", "rows have"))
}

// watchSignals turns the first SIGINT/SIGTERM into a soft stop (nothing new
// is sent, in-flight requests get a grace period) and the second, or the
// end of the grace period, into cancelling every request.
func (p *plan) watchSignals(ctx context.Context, stop chan struct{}, cancel context.CancelFunc) {
	if p.opts.Signal == nil {
		return
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
}

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
	case errors.Is(err, sender.ErrParked):
		return ExitParked
	case errors.Is(err, campaign.ErrInputChanged):
		return ExitUsage
	}
	return ExitError
}
