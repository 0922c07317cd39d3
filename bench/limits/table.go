package main

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/bulksend/bulksend/bench/internal/benchcli"
)

// target is what issue 3 asks of a bulksend mode.
type target struct {
	MinEfficiency     float64 `json:"min_efficiency"`
	MaxThrottledShare float64 `json:"max_throttled_share"`
}

// targets has no naive entry: the naive client is the baseline, not judged.
var targets = map[string]target{
	modeAdaptive: {MinEfficiency: 0.9, MaxThrottledShare: 0.05},
	modeFixed:    {MinEfficiency: 0.97, MaxThrottledShare: 0.01},
}

// Verdicts of a cell.
// cell is one (scenario, mode): its trials and what they add up to.
type cell struct {
	Mode string `json:"mode"`
	// Efficiency is the median over the trials; Representative indexes
	// the trial at the median, whose other numbers the table shows.
	Efficiency     float64 `json:"efficiency"`
	Representative int     `json:"representative"`
	// DeliveredOnce holds only if every trial delivered every row once.
	DeliveredOnce bool     `json:"delivered_once"`
	Verdict       string   `json:"verdict,omitempty"` // "" for naive
	Misses        []string `json:"misses,omitempty"`  // why a MISS
	Trials        []trial  `json:"trials"`
}

// settle computes the median, delivery across trials and the verdict
// against the sandbox table's target for the cell's mode.
func (c *cell) settle(rows int) {
	tg, judged := targets[c.Mode]
	c.settleAgainst(rows, tg, judged)
}

// settleAgainst is settle with the target given; judged false gives no
// verdict.
func (c *cell) settleAgainst(rows int, tg target, judged bool) {
	order := make([]int, len(c.Trials))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmpFloat(c.Trials[a].Efficiency, c.Trials[b].Efficiency)
	})
	n := len(order)
	c.Representative = order[(n-1)/2]
	c.Efficiency = c.Trials[order[(n-1)/2]].Efficiency
	if n%2 == 0 {
		c.Efficiency = round((c.Efficiency+c.Trials[order[n/2]].Efficiency)/2, 3)
	}
	c.DeliveredOnce = true
	worst := c.Representative
	for i, t := range c.Trials {
		if !t.DeliveredOnce {
			c.DeliveredOnce = false
			if c.Trials[worst].DeliveredOnce || t.Server.Distinct < c.Trials[worst].Server.Distinct {
				worst = i
			}
		}
	}
	if !judged {
		return
	}
	rep := c.Trials[c.Representative]
	if !c.DeliveredOnce {
		c.Misses = append(c.Misses, "delivered "+c.Trials[worst].Delivered)
	}
	if rep.TimedOut {
		c.Misses = append(c.Misses, "timeout")
	}
	if c.Efficiency < tg.MinEfficiency {
		c.Misses = append(c.Misses, fmt.Sprintf("efficiency %.2f < %.2f", c.Efficiency, tg.MinEfficiency))
	}
	if rep.ThrottledShare > tg.MaxThrottledShare {
		c.Misses = append(c.Misses, fmt.Sprintf("429s %s > %s", percent(rep.ThrottledShare), percent(tg.MaxThrottledShare)))
	}
	c.Verdict = benchcli.Pass
	if len(c.Misses) > 0 {
		c.Verdict = benchcli.Miss
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// text is the cell as the markdown table shows it.
func (c *cell) text() string {
	t := c.Trials[c.Representative]
	var parts []string
	if c.Verdict != "" {
		parts = append(parts, "**"+c.Verdict+"**")
	}
	delivered := t.Delivered
	if !c.DeliveredOnce && t.DeliveredOnce { // another trial failed: show it
		for _, o := range c.Trials {
			if !o.DeliveredOnce {
				delivered = o.Delivered + " in one run"
				break
			}
		}
	}
	parts = append(parts, delivered)
	if t.Dropped > 0 {
		parts = append(parts, fmt.Sprintf("%d dropped", t.Dropped))
	}
	if t.TimedOut {
		parts = append(parts, fmt.Sprintf("timeout after %.0f s", t.WallSeconds))
	}
	timing := fmt.Sprintf("eff %.2f (%.2f s", c.Efficiency, t.WallSeconds)
	if t.Summary != nil {
		timing += fmt.Sprintf("; summary %.2f s", t.Summary.ElapsedSeconds)
	}
	parts = append(parts, timing+")")
	parts = append(parts, "429s "+percent(t.ThrottledShare))
	if t.ExitCode != nil {
		parts = append(parts, fmt.Sprintf("exit %d", *t.ExitCode))
	}
	if s := t.Summary; s != nil {
		if s.LearnedRate > 0 {
			parts = append(parts, fmt.Sprintf("learned %.1f/s burst %d", s.LearnedRate, s.LearnedBurst))
		}
		if s.Pauses > 0 {
			parts = append(parts, fmt.Sprintf("%d pauses %.1f s", s.Pauses, s.PausedSeconds))
		}
	}
	if t.Error != "" {
		parts = append(parts, "error: "+t.Error)
	}
	if len(c.Trials) > 1 {
		parts = append(parts, fmt.Sprintf("median of %d", len(c.Trials)))
	}
	return strings.ReplaceAll(strings.Join(parts, " · "), "|", `\|`)
}

// scenarioResult is one table row.
type scenarioResult struct {
	scenario
	Cells []cell `json:"cells"`
}

// result is everything a benchmark run found; -json prints it as is.
type result struct {
	Command        string            `json:"command"`
	SendCommands   map[string]string `json:"send_commands"` // per bulksend mode, with placeholders
	Bin            string            `json:"bin,omitempty"`
	Rows           int               `json:"rows"`
	Repeat         int               `json:"repeat"`
	ServerBurst    int               `json:"server_burst"`
	ServerRate     float64           `json:"server_rate_per_second"`
	IdealSeconds   float64           `json:"ideal_seconds"`
	Targets        map[string]target `json:"targets"`
	Modes          []string          `json:"modes"`
	Scenarios      []scenarioResult  `json:"scenarios"`
	Pass           int               `json:"pass"`
	Miss           int               `json:"miss"`
	ElapsedSeconds float64           `json:"elapsed_seconds"`
}

func newResult(o options, bin string) *result {
	r := &result{
		Command:      benchcli.ShellJoin(append([]string{"go", "run", "./bench/limits"}, o.args...)...),
		SendCommands: map[string]string{},
		Bin:          bin,
		Rows:         o.rows,
		Repeat:       o.repeat,
		ServerBurst:  serverBurst,
		ServerRate:   serverRate,
		IdealSeconds: round(idealSeconds(o.rows), 3),
		Targets:      targets,
		Modes:        o.modes,
	}
	for _, m := range o.modes {
		if isBulksend(m) {
			r.SendCommands[m] = benchcli.ShellJoin(append([]string{bin}, sendArgs(m, "$ROWS", "$BASE", "$REPORT")...)...)
		}
	}
	return r
}

func (r *result) add(c cell) {
	switch c.Verdict {
	case benchcli.Pass:
		r.Pass++
	case benchcli.Miss:
		r.Miss++
	}
}

// markdown is the report: the table, then how it was made.
func (r *result) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Sandbox: token bucket, burst %d, %g requests/s, fresh per run; %d rows; ideal %.2f s = (%d-%d)/%g.\n",
		r.ServerBurst, r.ServerRate, r.Rows, r.IdealSeconds, r.Rows, r.ServerBurst, r.ServerRate)
	b.WriteString("Targets: adaptive eff >= 0.90 and <= 5% 429s; fixed eff >= 0.97 and <= 1% 429s; every row delivered once.\n")
	b.WriteString("eff = ideal / wall time of the whole send as the harness measures it (naive: rows it dropped cost it no time, so its eff flatters it); ")
	b.WriteString("429s = sandbox throttled / sandbox requests; delivered = distinct messages the sandbox delivered.\n\n")
	b.WriteString("| scenario |")
	for _, m := range r.Modes {
		b.WriteString(" " + m + " |")
	}
	b.WriteString("\n|---|")
	for range r.Modes {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, sr := range r.Scenarios {
		b.WriteString("| " + sr.Name + " |")
		for _, c := range sr.Cells {
			b.WriteString(" " + c.text() + " |")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\n%d PASS, %d MISS; benchmark took %.0f s.\n\n", r.Pass, r.Miss, r.ElapsedSeconds)
	b.WriteString("Command line: `" + r.Command + "`\n\n")
	for _, m := range r.Modes {
		if c, ok := r.SendCommands[m]; ok {
			fmt.Fprintf(&b, "- %s: `%s`\n", m, c)
		}
	}
	if slices.Contains(r.Modes, modeNaive) {
		fmt.Fprintf(&b, "- naive: %d goroutines share the rows; on a 429 each sleeps (reset - now) reading the first of %s as Unix seconds (capped at %s); a row is dropped after %d tries.\n",
			naiveWorkers, strings.Join(naiveHeaders, ", "), naiveMaxSleep, naiveTries)
	}
	return b.String()
}

func percent(share float64) string {
	return fmt.Sprintf("%.1f%%", share*100)
}

func round(f float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(f*p) / p
}

// line is a trial in one line, for the progress log.
func (t trial) line() string {
	s := fmt.Sprintf("%s in %.2f s (eff %.2f), 429s %s (%d/%d)", t.Delivered, t.WallSeconds, t.Efficiency,
		percent(t.ThrottledShare), t.Server.Throttled, t.Server.Requests)
	if t.ExitCode != nil {
		s += fmt.Sprintf(", exit %d", *t.ExitCode)
	}
	if t.TimedOut {
		s += ", timeout"
	}
	if u := t.Summary; u != nil {
		s += fmt.Sprintf(", summary %.2f s, %d pauses %.1f s, learned %.1f/s burst %d", u.ElapsedSeconds, u.Pauses, u.PausedSeconds, u.LearnedRate, u.LearnedBurst)
		if u.LearnedModel != "" {
			s += ", model " + u.LearnedModel
		}
		if u.SuggestedFlags != "" {
			s += ", suggests " + u.SuggestedFlags
		}
	}
	if t.Dropped > 0 {
		s += fmt.Sprintf(", %d dropped", t.Dropped)
	}
	if t.Server.Failed > 0 {
		s += fmt.Sprintf(", %d answered neither 2xx nor a refusal at the server", t.Server.Failed)
	}
	if t.Kept != "" {
		s += ", kept " + t.Kept
	}
	if t.Error != "" {
		s += ", error: " + t.Error
	}
	return s
}
