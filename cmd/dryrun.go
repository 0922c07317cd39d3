package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/bulksend/bulksend/campaign"
	"github.com/bulksend/bulksend/internal/redact"
	"github.com/bulksend/bulksend/sender"
)

// dryRunShow is how many requests --dry-run prints in full, and
// dryRunInvalid how many invalid rows it lists.
const (
	dryRunShow    = 3
	dryRunInvalid = 20
)

type dryRunSummary struct {
	Input            string  `json:"input"`
	Rows             int     `json:"rows"`
	Valid            int     `json:"valid"`
	Invalid          int     `json:"invalid"`
	Duplicate        int     `json:"duplicate"`
	ProjectedSeconds float64 `json:"projected_seconds,omitempty"`
	Projection       string  `json:"projection"`
	ExitCode         int     `json:"exit_code"`
}

// dryRun renders every row and prints the first requests, secrets masked,
// and the projected duration. It sends nothing and writes no report.
func dryRun(ctx context.Context, p *plan) error {
	// A dry run sends nothing, so the first Ctrl-C ends it at once.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if p.opts.Signal != nil {
		go func() {
			select {
			case <-p.opts.Signal:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	out := p.opts.IO.Out
	if p.opts.JSON {
		out = io.Discard
	}
	s := dryRunSummary{Input: p.name}
	err := campaign.Preview(ctx, p.campaignOptions(nil, nil), func(m *sender.Message) {
		p.preview(&s, out, m)
	})
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			fmt.Fprintln(p.opts.IO.ErrOut, "bulksend: interrupted")
			return silentExit(ExitInterrupted)
		}
		return runError(err)
	}
	return p.finishDryRun(&s)
}

// preview counts one rendered message, and prints it when it is one of the
// first valid ones or the first invalid ones.
func (p *plan) preview(s *dryRunSummary, out io.Writer, m *sender.Message) {
	s.Rows++
	switch {
	case m.Invalid != nil:
		s.Invalid++
		if s.Invalid <= dryRunInvalid && !p.opts.Quiet {
			fmt.Fprintf(p.opts.IO.ErrOut, "invalid: %s\n", redact.Terminal(p.masker.mask(m.Invalid.Error())))
		}
	case m.Skip != "":
		s.Duplicate++
	default:
		s.Valid++
		if s.Valid <= dryRunShow {
			p.printRequest(out, m)
		}
	}
}

// finishDryRun prints the end of a dry run and returns its exit status.
func (p *plan) finishDryRun(s *dryRunSummary) error {
	errOut := p.opts.IO.ErrOut
	if s.Invalid > dryRunInvalid && !p.opts.Quiet {
		fmt.Fprintf(errOut, "... and %d more invalid rows\n", s.Invalid-dryRunInvalid)
	}
	s.Projection, s.ProjectedSeconds = p.project(s.Valid)
	if s.Invalid > 0 {
		s.ExitCode = ExitIncomplete
	}
	if p.opts.JSON {
		if err := writeJSON(p.opts.IO.Out, s); err != nil {
			return runError(err)
		}
	}
	if !p.opts.Quiet {
		fmt.Fprintf(errOut, "dry run: %d rows, %d to send, %d invalid, %d duplicate; %s; nothing was sent\n",
			s.Rows, s.Valid, s.Invalid, s.Duplicate, s.Projection)
	}
	return silentExit(s.ExitCode)
}

// project estimates how long sending n messages takes.
func (p *plan) project(n int) (string, float64) {
	if p.adaptive {
		return "the rate adapts to the server's limit (give --rate to project a duration)", 0
	}
	if p.rate.IsZero() {
		return "no rate limit (--rate 0): as fast as the server answers", 0
	}
	burst := max(p.opts.Burst, 1)
	secs := math.Max(0, float64(n-burst)) / p.rate.PerSecond()
	d := time.Duration(secs * float64(time.Second)).Round(time.Second)
	return fmt.Sprintf("at --rate %s that takes about %s", p.rate, d), round2(secs)
}

// printRequest writes m as an HTTP request, secrets masked, with exactly
// the headers the real request carries; the row's text cannot drive the
// terminal.
func (p *plan) printRequest(w io.Writer, m *sender.Message) {
	var b strings.Builder
	fmt.Fprintf(&b, "# line %d, id %s\n%s %s\n", m.Line, redact.Terminal(m.ID), m.Method, redact.Terminal(p.masker.mask(m.URL)))
	keys := make([]string, 0, len(m.Header))
	for k := range m.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range m.Header[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, p.masker.header(k, v))
		}
	}
	if p.preset.Wrap != nil {
		b.WriteString("Authorization: *** (added when sending)\n")
	}
	if m.IdempotencyKey != "" && !p.opts.NoIdempotency {
		fmt.Fprintf(&b, "%s: %s\n", p.opts.IdempotencyHeader, m.IdempotencyKey)
	}
	if _, ok := m.Header["User-Agent"]; !ok {
		fmt.Fprintf(&b, "User-Agent: %s\n", build().UserAgent())
	}
	fmt.Fprintf(&b, "\n%s\n\n", redact.TerminalText(p.masker.mask(string(m.Body))))
	io.WriteString(w, b.String())
}
