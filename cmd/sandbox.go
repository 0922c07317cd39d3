package cmd

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bulksend/bulksend/ratelimit"
	"github.com/bulksend/bulksend/sandbox"
)

// SandboxOptions is what `bulksend sandbox` serves.
type SandboxOptions struct {
	IO     *IOStreams
	Signal <-chan os.Signal
	Getenv env

	Listen   string
	AddrFile string
	Config   sandbox.Config
	Rate     string
}

// NewCmdSandbox builds `bulksend sandbox`.
func NewCmdSandbox(ios *IOStreams, sig <-chan os.Signal, getenv env, runF func(*SandboxOptions) error) *cobra.Command {
	opts := &SandboxOptions{IO: ios, Signal: sig, Getenv: getenv}
	c := &cobra.Command{
		Use:   "sandbox",
		Short: "Run the built-in rate-limited messaging API, for trying bulksend out and for tests",
		Long: `Run a real HTTP server on loopback that behaves like a rate-limited
messaging API: a generic POST /send, Genesys Cloud's /oauth/token and
/api/v2/conversations/messages/agentless, and Twilio's
/2010-04-01/Accounts/{sid}/Messages.json. GET /messages/{id} answers
whether a /send message whose JSON body has that "id" was delivered (200
with its answer, or 404): a lookup to settle a lost answer. GET /stats
reports deliveries, duplicates and 429s as JSON.

The Genesys and Twilio endpoints accept the credentials in
GENESYSCLOUD_OAUTHCLIENT_ID/GENESYSCLOUD_OAUTHCLIENT_SECRET and
TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN (or the API key
TWILIO_API_KEY/TWILIO_API_SECRET) when set, else sandbox-client /
sandbox-secret and ACsandbox / sandbox-token (or SKsandbox /
sandbox-key-secret). They answer in the vendors' published shapes and
ignore Idempotency-Key, as the vendors do. Each message they take can be
read back, as bulksend status does, at Twilio's
/2010-04-01/Accounts/{sid}/Messages/{MessageSid}.json and Genesys's
/api/v2/conversations/messages/{conversationId}/messages/{messageId}; it
moves one status every --delivery-step (queued, sending, sent, delivered
for Twilio; queued, sent, delivery-success for Genesys), and the
--undelivered share ends undelivered with an error code (30003, 30005,
30007, 21610; Genesys's matching reason). GET on Twilio's Messages.json is
its Message list, newest first, filtered by To, From and DateSent (=, <, >;
a message not yet sent has no date_sent, so no DateSent filter keeps it),
PageSize at a time (default 50, at most 1000) with a next_page_uri: how
the twilio preset settles a lost answer. Lookups and list pages count
against the limit; the --fail-rate share of list pages fail with a 5xx.

Limiter models (--model):
  bucket       token bucket: --burst tokens refilled at --rate (the default)
  leaky        leaky bucket as nginx limit_req burst nodelay: --burst+1 at once,
               then one every 1/--rate
  fixed        --burst requests per --window, the window opening at the first
               request after the last one closed, or with --aligned on the clock
  sliding      --burst requests in any --window: --sliding log keeps every
               request's time, --sliding counter weighs the previous aligned
               window (go-chi/httprate), --sliding counter-first the same with
               windows from the first request, rounding down (HAProxy
               http_req_rate)
  concurrency  at most --burst requests in flight (use --latency)
--refused-count makes refused requests count against the quota.

Header styles (--style): ` + strings.Join(sandbox.Styles(), ", "),
		Example: `  bulksend sandbox --burst 15 --rate 100/s --style x-ratelimit-reset --skew 5m
  bulksend sandbox --model fixed --burst 15 --window 150ms --aligned --style ratelimit
  bulksend sandbox --model sliding --sliding counter --burst 100 --window 1s --refused-count --style none`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return sandboxRun(c.Context(), opts)
		},
	}
	c.SetHelpTemplate(c.HelpTemplate() + exitStatusHelp("0    stopped by SIGINT/SIGTERM", "1    could not listen", "2    usage error"))
	f := c.Flags()
	f.SortFlags = false
	f.StringVar(&opts.Listen, "listen", "127.0.0.1:8080", "address to listen on (port 0 picks a free one)")
	f.StringVar(&opts.AddrFile, "addr-file", "", "write the server's base URL to this file once it listens")
	sandboxLimitFlags(f, opts)
	sandboxFaultFlags(f, &opts.Config)
	completeValues(c, sandboxCompletions())
	return c
}

// sandboxLimitFlags registers how the sandbox limits requests and says so in its headers.
func sandboxLimitFlags(f *pflag.FlagSet, opts *SandboxOptions) {
	cfg := &opts.Config
	f.StringVar(&cfg.Model, "model", "", "limiter model: "+strings.Join(sandbox.Models(), ", ")+" (default bucket, or fixed with --window)")
	f.IntVar(&cfg.Burst, "burst", 15, "bucket size; requests per window (fixed, sliding); requests in flight (concurrency)")
	f.StringVar(&opts.Rate, "rate", "100/s", "bucket refill rate, as for send --rate; 0 with --burst 0 for no limit")
	f.DurationVar(&cfg.Window, "window", 0, "window length (fixed, sliding); alone it means --model fixed")
	f.BoolVar(&cfg.Aligned, "aligned", false, "fixed windows start on the clock (multiples of --window), not at the first request")
	f.StringVar(&cfg.Sliding, "sliding", "", "how a sliding window counts: log (default), counter or counter-first")
	f.BoolVar(&cfg.RefusedCount, "refused-count", false, "refused requests count against the quota")
	f.StringVar(&cfg.Style, "style", sandbox.StyleRetryAfter, "rate-limit header style of the answers")
	f.DurationVar(&cfg.Skew, "skew", 0, "shift the server's clock (Date and absolute reset times), e.g. 5m or -5m")
	f.BoolVar(&cfg.Penalty, "penalty", false, "requests made while limited extend the lockout")
	f.IntVar(&cfg.Quota, "quota", 0, "a long limit on top of the model, e.g. a daily cap: requests per --quota-window (a second RateLimit policy)")
	f.DurationVar(&cfg.QuotaWindow, "quota-window", 0, "the --quota's window, e.g. 24h")
}

// sandboxFaultFlags registers the faults, vendor behaviour and randomness of the sandbox.
func sandboxFaultFlags(f *pflag.FlagSet, cfg *sandbox.Config) {
	f.Float64Var(&cfg.FailRate, "fail-rate", 0, "share of requests answered 5xx, not delivered")
	f.Float64Var(&cfg.CutBefore, "cut-before", 0, "share of connections cut before answering, not delivered")
	f.Float64Var(&cfg.CutAfter, "cut-after", 0, "share of connections cut after delivering (a lost acknowledgement)")
	f.Float64Var(&cfg.FailAfter, "fail-after", 0, "share of requests answered 502 after delivering")
	f.Float64Var(&cfg.Late, "late", 0, "share of answers held --late-by after delivering")
	f.DurationVar(&cfg.LateBy, "late-by", 0, "how late a --late answer comes (0: 2s)")
	f.DurationVar(&cfg.Latency, "latency", 0, "added latency per answer")
	f.DurationVar(&cfg.LatencyJitter, "latency-jitter", 0, "random extra latency up to this much")
	f.DurationVar(&cfg.SpamWindow, "spam-window", 0, "refuse a second message to one recipient within this window")
	f.StringArrayVar(&cfg.OptOut, "opt-out", nil, "a recipient who unsubscribed: the Twilio endpoint answers 21610 (repeatable)")
	f.DurationVar(&cfg.TokenLifetime, "token-lifetime", time.Hour, "lifetime of Genesys OAuth tokens")
	f.DurationVar(&cfg.DeliveryStep, "delivery-step", 0, "how long a vendor message stays in each delivery status before the next (0: "+sandbox.DefaultDeliveryStep.String()+")")
	f.Float64Var(&cfg.Undelivered, "undelivered", 0, "share of vendor messages that end undelivered, with an error code")
	f.BoolVar(&cfg.NoIdempotency, "no-idempotency", false, "ignore Idempotency-Key (replays are delivered again)")
	f.Int64Var(&cfg.Seed, "seed", 1, "seed for fault injection and jitter")
}

// sandboxConfig completes opts.Config from the rate flag and the environment.
func sandboxConfig(opts *SandboxOptions) (sandbox.Config, error) {
	cfg := opts.Config
	r, err := ratelimit.ParseRate(opts.Rate)
	if err != nil {
		return cfg, usageError("--rate: %v", err)
	}
	cfg.Rate = r.PerSecond()
	if opts.Getenv != nil {
		cfg.ClientID = opts.Getenv("GENESYSCLOUD_OAUTHCLIENT_ID")
		cfg.ClientSecret = opts.Getenv("GENESYSCLOUD_OAUTHCLIENT_SECRET")
		cfg.AccountSID = opts.Getenv("TWILIO_ACCOUNT_SID")
		cfg.AuthToken = opts.Getenv("TWILIO_AUTH_TOKEN")
		cfg.APIKey = opts.Getenv("TWILIO_API_KEY")
		cfg.APISecret = opts.Getenv("TWILIO_API_SECRET")
	}
	return cfg, nil
}

// startSandbox builds the sandbox of opts and serves it on addr until ctx
// ends; done delivers the server's end.
func startSandbox(ctx context.Context, opts *SandboxOptions, addr string) (srv *sandbox.Server, cfg sandbox.Config, bound string, done <-chan error, err error) {
	if cfg, err = sandboxConfig(opts); err != nil {
		return nil, cfg, "", nil, err
	}
	if srv, err = sandbox.New(cfg); err != nil {
		return nil, cfg, "", nil, usageError("%v", err)
	}
	if bound, done, err = sandbox.Start(ctx, addr, srv); err != nil {
		return nil, cfg, "", nil, runError(fmt.Errorf("start sandbox: %w", err))
	}
	return srv, cfg, bound, done, nil
}

func sandboxRun(ctx context.Context, opts *SandboxOptions) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv, cfg, bound, done, err := startSandbox(ctx, opts, opts.Listen)
	if err != nil {
		return err
	}
	base := "http://" + bound
	if opts.AddrFile != "" {
		if err := os.WriteFile(opts.AddrFile, []byte(base+"\n"), 0o644); err != nil {
			return runError(fmt.Errorf("write --addr-file: %w", err))
		}
	}
	limit := limitText(cfg, opts.Rate)
	fmt.Fprintf(opts.IO.ErrOut, "bulksend sandbox listening on %s (%s, %s headers)\n", base, limit, styleName(cfg.Style))
	fmt.Fprintf(opts.IO.ErrOut, "  POST %s/send · GET %s/stats · Ctrl-C to stop\n", base, base)
	select {
	case <-opts.Signal:
	case err := <-done:
		if err != nil {
			return runError(err)
		}
	}
	cancel()
	<-done
	s := srv.Stats()
	fmt.Fprintf(opts.IO.ErrOut, "bulksend sandbox: %d requests, %d delivered (%d distinct, %d duplicates), %d throttled\n",
		s.Requests, s.Delivered, s.Distinct, s.Duplicates, s.Throttled)
	return nil
}

// limitText describes the sandbox's limiter for its first line.
func limitText(cfg sandbox.Config, rate string) string {
	model := cfg.Model
	if model == "" && cfg.Window > 0 {
		model = sandbox.ModelFixed
	}
	var s string
	switch model {
	case sandbox.ModelFixed:
		s = fmt.Sprintf("%d requests per %s fixed window", cfg.Burst, cfg.Window)
		if cfg.Aligned {
			s += " on the clock"
		}
	case sandbox.ModelSliding:
		kind := cfg.Sliding
		if kind == "" {
			kind = sandbox.SlidingLog
		}
		s = fmt.Sprintf("%d requests per %s sliding window (%s)", cfg.Burst, cfg.Window, kind)
	case sandbox.ModelConcurrency:
		s = fmt.Sprintf("%d requests in flight", cfg.Burst)
	case sandbox.ModelLeaky:
		s = fmt.Sprintf("leaky bucket, burst %d, drain %s", cfg.Burst, rate)
	default:
		s = fmt.Sprintf("burst %d, refill %s", cfg.Burst, rate)
	}
	if cfg.RefusedCount {
		s += ", refused requests count"
	}
	return s
}

func styleName(s string) string {
	if s == "" {
		return sandbox.StyleRetryAfter
	}
	return s
}
