package cmd

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/bulksend/bulksend/sandbox"
	"github.com/bulksend/bulksend/sender"
)

// demoRecipients is testdata/recipients.csv (a link to this file).
//
//go:embed demodata/recipients.csv
var demoRecipients []byte

// DemoOptions is what `bulksend demo` runs.
type DemoOptions struct {
	IO     *IOStreams
	Signal <-chan os.Signal
	Getenv env

	Report      string
	Style       string
	ServerBurst int
	ServerRate  string
	JSON        bool
}

// NewCmdDemo builds `bulksend demo`.
func NewCmdDemo(ios *IOStreams, sig <-chan os.Signal, getenv env, runF func(*DemoOptions) error) *cobra.Command {
	opts := &DemoOptions{IO: ios, Signal: sig, Getenv: getenv}
	c := &cobra.Command{
		Use:   "demo",
		Short: "Send the sample recipients through the built-in sandbox and show what happens",
		Long: `Start the sandbox in this process on a free loopback port, limited to a
burst of 15 and 50 requests/s, and send bulksend's built-in sample of 250
recipients (the rows of testdata/recipients.csv) through it without telling
bulksend the limit: watch it get throttled, learn the rate and deliver every
message exactly once. Nothing leaves this machine, and nothing is written
in the current folder: the report goes to the system's temporary folder
unless --report says otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return demoRun(c.Context(), opts)
		},
	}
	c.SetHelpTemplate(c.HelpTemplate() + exitStatusHelp(
		"0    every sample message was delivered",
		"1    the sandbox could not start, or the send could not run",
		"2    usage error",
		"3    some messages were not delivered (see the report)",
		"130  interrupted"))
	f := c.Flags()
	f.StringVar(&opts.Report, "report", "", "where to write the report, overwritten (default bulksend-demo.report.csv in the system's temporary folder)")
	f.StringVar(&opts.Style, "style", sandbox.StyleRetryAfter, "the sandbox's rate-limit header style")
	f.IntVar(&opts.ServerBurst, "server-burst", 15, "the sandbox's burst")
	f.StringVar(&opts.ServerRate, "server-rate", "50/s", "the sandbox's sustained rate")
	f.BoolVar(&opts.JSON, "json", false, "print the send summary as JSON on stdout")
	completeValues(c, map[string][]string{"style": sandbox.Styles()})
	return c
}

func demoRun(ctx context.Context, opts *DemoOptions) error {
	sbOpts := &SandboxOptions{Rate: opts.ServerRate, Config: sandbox.Config{Burst: opts.ServerBurst, Style: opts.Style}}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv, cfg, bound, done, err := startSandbox(ctx, sbOpts, "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer func() { cancel(); <-done }()

	dir, err := os.MkdirTemp("", "bulksend-demo-")
	if err != nil {
		return runError(err)
	}
	defer os.RemoveAll(dir)
	input := filepath.Join(dir, "recipients.csv")
	if err := os.WriteFile(input, demoRecipients, 0o600); err != nil {
		return runError(err)
	}
	fmt.Fprintf(opts.IO.ErrOut, "bulksend demo: sandbox on http://%s allows a burst of %d, then %s; bulksend is not told\n",
		bound, cfg.Burst, opts.ServerRate)
	report := opts.Report
	if report == "" {
		report = filepath.Join(os.TempDir(), "bulksend-demo.report.csv")
	}
	fmt.Fprintf(opts.IO.ErrOut, "sending the built-in sample of 250 recipients (the rows of testdata/recipients.csv) to http://%s/send ...\n", bound)
	sendOpts := &SendOptions{
		IO: opts.IO, Signal: opts.Signal, Getenv: opts.Getenv,
		Input: input, Preset: "generic", URL: "http://" + bound + "/send", Method: "POST",
		Body:        `{"id": {{json .id}}, "to": {{json .to}}, "name": {{json .name}}, "text": {{json .text}}}`,
		Concurrency: sender.DefaultConcurrency, Timeout: sender.DefaultTimeout,
		MaxRetries: sender.DefaultMaxRetries, MaxWait: sender.DefaultMaxWait,
		IdempotencyHeader: sender.DefaultIdempotencyHeader,
		Report:            report, Force: true, JSON: opts.JSON,
		ProgressInterval: time.Second,
	}
	runErr := sendRun(ctx, sendOpts)
	s := srv.Stats()
	fmt.Fprintf(opts.IO.ErrOut, "sandbox saw %d requests: %d delivered (%d distinct, %d duplicates), %d answered 429\n",
		s.Requests, s.Delivered, s.Distinct, s.Duplicates, s.Throttled)
	abs, _ := filepath.Abs(report)
	fmt.Fprintf(opts.IO.ErrOut, "report with one row per recipient: %s\n", abs)
	return runErr
}
