package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bulksend/bulksend/campaign"
	"github.com/bulksend/bulksend/internal/redact"
	"github.com/bulksend/bulksend/segments"
	"github.com/bulksend/bulksend/sender"
)

// dryRunShow is how many requests --dry-run prints in full, and
// dryRunInvalid how many invalid rows it lists.
const (
	dryRunShow    = 3
	dryRunInvalid = 20
)

type dryRunSummary struct {
	Input            string      `json:"input"`
	Rows             int         `json:"rows"`
	Valid            int         `json:"valid"`
	Invalid          int         `json:"invalid"`
	Duplicate        int         `json:"duplicate"`
	ProjectedSeconds float64     `json:"projected_seconds,omitempty"`
	Projection       string      `json:"projection"`
	SMS              *smsSummary `json:"sms,omitempty"`
	// FinishesAt and Windows project a run with send windows or --rate
	// caps: when the last row would go, and in how many openings.
	FinishesAt string `json:"finishes_at,omitempty"`
	Windows    int    `json:"windows,omitempty"`
	ExitCode   int    `json:"exit_code"`
	zones      zoneCounts
}

// smsSummary is what the rows to send cost as SMS.
type smsSummary struct {
	Rows     int `json:"rows"`
	GSM7     int `json:"gsm7_rows"`
	UCS2     int `json:"ucs2_rows"`
	Segments int `json:"segments"`
	// UCS2Examples are the first rows that fell into UCS-2, with the
	// character that did it.
	UCS2Examples    []ucs2Row `json:"ucs2_examples,omitempty"`
	PricePerSegment float64   `json:"price_per_segment,omitempty"`
	EstimatedCost   float64   `json:"estimated_cost,omitempty"`
}

type ucs2Row struct {
	Line      int    `json:"line"`
	ID        string `json:"id"`
	Character string `json:"character"`
	Position  int    `json:"position"`
	Segments  int    `json:"segments"`
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
	if p.preset.SMS != nil {
		s.SMS = &smsSummary{PricePerSegment: p.opts.PricePerSegment}
	}
	err := campaign.Preview(ctx, p.campaignOptions(nil, nil), func(m *sender.Message) {
		p.preview(&s, out, m)
	})
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			fmt.Fprintln(p.opts.IO.ErrOut, "bulksend: interrupted")
			return silentExit(ExitInterrupted)
		}
		if errors.Is(err, campaign.ErrMissingColumns) {
			return usageError("%v", err)
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
		s.zones.add(m.Window)
		if s.Valid <= dryRunShow {
			p.printRequest(out, m)
		}
		if s.SMS != nil {
			p.countSMS(s.SMS, m)
		}
	}
}

// countSMS adds m's segments to the dry run's SMS totals and names the
// first rows that fell into UCS-2, with the character that did it.
func (p *plan) countSMS(s *smsSummary, m *sender.Message) {
	c, ok := p.preset.SMS(m)
	if !ok {
		return
	}
	s.Rows++
	s.Segments += c.Segments
	if c.Encoding == segments.GSM7 {
		s.GSM7++
		return
	}
	s.UCS2++
	if s.UCS2 > dryRunInvalid {
		return
	}
	r := ucs2Row{Line: m.Line, ID: m.ID, Character: fmt.Sprintf("%U", c.Culprit), Position: c.CulpritAt + 1, Segments: c.Segments}
	s.UCS2Examples = append(s.UCS2Examples, r)
	if !p.opts.Quiet {
		// The character is quoted: it comes from the row, as does the id.
		fmt.Fprintf(p.opts.IO.ErrOut, "ucs-2: line %d, id %q: %s %s at character %d makes it UCS-2, %d segment(s)\n",
			r.Line, p.masker.mask(r.ID), strconv.QuoteRune(c.Culprit), r.Character, r.Position, r.Segments)
	}
}

// smsLine is the dry run's SMS total and cost, for the summary.
func smsLine(s *smsSummary) string {
	line := fmt.Sprintf("SMS: %d rows, %d segments (%d rows GSM-7, %d rows UCS-2)", s.Rows, s.Segments, s.GSM7, s.UCS2)
	if s.PricePerSegment > 0 {
		line += fmt.Sprintf("; at %s a segment about %s", strconv.FormatFloat(s.PricePerSegment, 'f', -1, 64),
			strconv.FormatFloat(s.EstimatedCost, 'f', -1, 64))
	}
	return line
}

// finishDryRun prints the end of a dry run and returns its exit status.
func (p *plan) finishDryRun(s *dryRunSummary) error {
	errOut := p.opts.IO.ErrOut
	if s.Invalid > dryRunInvalid && !p.opts.Quiet {
		fmt.Fprintf(errOut, "... and %s more invalid\n", count(s.Invalid-dryRunInvalid, "row"))
	}
	s.Projection, s.ProjectedSeconds = p.project(s.Valid)
	if p.windows != nil || len(p.caps) > 0 {
		p.projectLong(s)
	}
	if s.SMS != nil {
		if s.SMS.UCS2 > dryRunInvalid && !p.opts.Quiet {
			fmt.Fprintf(errOut, "... and %d more UCS-2 rows\n", s.SMS.UCS2-dryRunInvalid)
		}
		// Segment prices have several decimals (0.0079): keep six.
		s.SMS.EstimatedCost = math.Round(float64(s.SMS.Segments)*s.SMS.PricePerSegment*1e6) / 1e6
	}
	if s.Invalid > 0 {
		s.ExitCode = ExitIncomplete
	}
	if p.opts.JSON {
		if err := writeJSON(p.opts.IO.Out, s); err != nil {
			return runError(err)
		}
	}
	if !p.opts.Quiet {
		fmt.Fprintf(errOut, "dry run: %s, %d to send, %d invalid, %d duplicate; %s; nothing was sent\n",
			count(s.Rows, "row"), s.Valid, s.Invalid, s.Duplicate, s.Projection)
		if s.SMS != nil {
			fmt.Fprintln(errOut, smsLine(s.SMS))
		}
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
	if m.IdempotencyKey != "" && !p.opts.NoIdempotency && !p.preset.NoKeyHeader {
		fmt.Fprintf(&b, "%s: %s\n", p.opts.IdempotencyHeader, m.IdempotencyKey)
	}
	if _, ok := m.Header["User-Agent"]; !ok {
		fmt.Fprintf(&b, "User-Agent: %s\n", build().UserAgent())
	}
	fmt.Fprintf(&b, "\n%s\n\n", redact.TerminalText(p.masker.mask(string(m.Body))))
	io.WriteString(w, b.String())
}
