package main

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bulksend/bulksend/bench/internal/benchcli"
)

// The targets.
const (
	// targetRatio: bulksend sends at least this share of the minimal
	// client's messages per second.
	targetRatio = 0.9
	// targetRSSMiB bounds the peak RSS of the largest send and dry run.
	targetRSSMiB = 64
	// flatFactor: "flat" means the largest file's peak RSS is at most this
	// many times the smallest's.
	flatFactor = 1.5
)

// Verdicts of a check.
// check is one target and how the run fared against it.
type check struct {
	What    string `json:"what"`
	Value   string `json:"value"`
	Verdict string `json:"verdict"`
}

func newCheck(what, value string, ok bool) check {
	c := check{What: what, Value: value, Verdict: benchcli.Pass}
	if !ok {
		c.Verdict = benchcli.Miss
	}
	return c
}

// result is everything a benchmark run found; -json prints it as is.
type result struct {
	Command        string            `json:"command"`
	Machine        string            `json:"machine"`
	Date           string            `json:"date"`
	Bin            string            `json:"bin"`
	RSSSource      string            `json:"rss_source"` // rssFromTime or rssFromRusage
	Throughput     *throughputResult `json:"throughput,omitempty"`
	Memory         *memoryResult     `json:"memory,omitempty"`
	Startup        *startupResult    `json:"startup,omitempty"`
	ElapsedSeconds float64           `json:"elapsed_seconds"`
}

func newResult(o options, bin string) *result {
	return &result{
		Command: benchcli.ShellJoin(append([]string{"go", "run", "./bench/throughput"}, o.args...)...),
		Machine: fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version()),
		Date:    time.Now().Format(time.DateOnly),
		Bin:     bin,
	}
}

// misses lists every missed target.
func (r *result) misses() []string {
	var out []string
	var checks []check
	if r.Throughput != nil {
		checks = append(checks, r.Throughput.Checks...)
	}
	if r.Memory != nil {
		checks = append(checks, r.Memory.Checks...)
	}
	for _, c := range checks {
		if c.Verdict == benchcli.Miss {
			out = append(out, c.What+": "+c.Value)
		}
	}
	return out
}

// markdown is the report: one table per section, then how it was made.
func (r *result) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %s; %s. Command: `%s` (%.0f s).\n", r.Machine, r.Date, r.Command, r.ElapsedSeconds)
	if r.RSSSource == rssFromRusage {
		b.WriteString("Peak RSS from rusage: no GNU time was found, so each figure includes the harness's own RSS at exec (Linux carries it over); read them as upper bounds.\n")
	}
	b.WriteString("\n")
	if r.Throughput != nil {
		r.Throughput.markdown(&b)
	}
	if r.Memory != nil {
		r.Memory.markdown(&b)
	}
	if r.Startup != nil {
		r.Startup.markdown(&b)
	}
	return b.String()
}

// clientCell is one throughput client: its trials and their medians.
type clientCell struct {
	Client string `json:"client"`
	// Skipped says why the client was not run (vegeta unavailable).
	Skipped string `json:"skipped,omitempty"`
	// Medians over the trials, each taken on its own.
	WallRate    float64 `json:"wall_msgs_per_second"`
	ServerRate  float64 `json:"server_msgs_per_second"`
	ClientCPU   float64 `json:"client_cpu_us_per_msg"`
	ServerCPU   float64 `json:"server_cpu_us_per_msg"`
	ClientRSSKB int64   `json:"client_max_rss_kb"`
	// DeliveredOnce: every trial delivered every row, none twice, no error.
	DeliveredOnce bool    `json:"delivered_once"`
	Trials        []trial `json:"trials"`
}

func (c *clientCell) settle(rows int) {
	if len(c.Trials) == 0 {
		return
	}
	med := func(f func(trial) float64) float64 {
		v := make([]float64, len(c.Trials))
		for i, t := range c.Trials {
			v[i] = f(t)
		}
		slices.Sort(v)
		return median(v)
	}
	c.WallRate = math.Round(med(trial.wallRate))
	c.ServerRate = math.Round(med(trial.serverRate))
	c.ClientCPU = round(med(trial.clientCPU), 1)
	c.ServerCPU = round(med(trial.serverCPU), 1)
	c.ClientRSSKB = int64(med(func(t trial) float64 { return float64(t.ClientProc.MaxRSSKB) }))
	c.DeliveredOnce = true
	for _, t := range c.Trials {
		if t.Delivered != int64(rows) || t.Duplicates > 0 || t.Error != "" {
			c.DeliveredOnce = false
		}
	}
}

// throughputResult is the throughput section.
type throughputResult struct {
	Rows        int               `json:"rows"`
	Concurrency int               `json:"concurrency"`
	Repeat      int               `json:"repeat"`
	Commands    map[string]string `json:"commands"`
	Clients     []clientCell      `json:"clients"`
	// RatioWall and RatioServer are bulksend's messages per second over
	// the minimal client's, on each measure; 0 when either was not run.
	RatioWall   float64 `json:"ratio_wall"`
	RatioServer float64 `json:"ratio_server"`
	Checks      []check `json:"checks,omitempty"`
}

func (r *throughputResult) cell(client string) *clientCell {
	for i := range r.Clients {
		if r.Clients[i].Client == client && len(r.Clients[i].Trials) > 0 {
			return &r.Clients[i]
		}
	}
	return nil
}

// judge checks bulksend against the minimal client. The target is judged
// on process wall time, which charges bulksend for everything a user waits
// for (reading and rendering rows, the report, its compaction); the
// server-span ratio is shown beside it.
func (r *throughputResult) judge() {
	bs, mc := r.cell(clientBulksend), r.cell(clientMinimal)
	if bs != nil {
		r.Checks = append(r.Checks, newCheck("bulksend delivered every row once, every run",
			fmt.Sprintf("%t", bs.DeliveredOnce), bs.DeliveredOnce))
	}
	if bs == nil || mc == nil {
		return
	}
	r.RatioWall = round(ratio(bs.WallRate, mc.WallRate), 3)
	r.RatioServer = round(ratio(bs.ServerRate, mc.ServerRate), 3)
	r.Checks = append(r.Checks, newCheck(fmt.Sprintf("bulksend ≥ %.2f × minimal client msgs/s (process wall)", targetRatio),
		fmt.Sprintf("%.2f", r.RatioWall), r.RatioWall >= targetRatio))
}

var clientNames = map[string]string{
	clientBulksend: "bulksend send, report on",
	clientMinimal:  "minimal Go client",
	clientVegeta:   "vegeta attack -rate 0",
}

func (r *throughputResult) markdown(b *strings.Builder) {
	fmt.Fprintf(b, "### Throughput\n\n%s rows to an unlimited sandbox on 127.0.0.1 (`bulksend sandbox --burst 0 --rate 0`, a fresh process per run), %d requests in flight, same rendered bodies and idempotency keys for every client; median of %d runs per client, interleaved.\n\n",
		thousands(r.Rows), r.Concurrency, r.Repeat)
	b.WriteString("| client | msgs/s (process wall) | msgs/s (server span) | client CPU / msg | sandbox CPU / msg | client peak RSS | delivered once |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, c := range r.Clients {
		if c.Skipped != "" {
			fmt.Fprintf(b, "| %s | not run: %s | | | | | |\n", clientNames[c.Client], escape(c.Skipped))
			continue
		}
		delivered := "yes"
		if !c.DeliveredOnce {
			delivered = "**no**: " + escape(deliveryProblem(c, r.Rows))
		}
		fmt.Fprintf(b, "| %s | %s | %s | %.1f µs | %.1f µs | %s | %s |\n", clientNames[c.Client],
			thousands(int(c.WallRate)), thousands(int(c.ServerRate)), c.ClientCPU, c.ServerCPU, mib(c.ClientRSSKB), delivered)
	}
	b.WriteString("\nProcess wall: rows ÷ client process start to exit. Server span: rows ÷ the sandbox's first to last delivery. CPU: user + system of the process ÷ rows (on a 2-core machine client and sandbox share the CPUs, so the client's CPU per message is what sets the pace).\n\n")
	if r.RatioWall > 0 {
		fmt.Fprintf(b, "bulksend ÷ minimal client: **%.2f** on process wall, %.2f on server span.\n\n", r.RatioWall, r.RatioServer)
	}
	writeChecks(b, r.Checks)
	for _, c := range allClients {
		if cmd, ok := r.Commands[c]; ok {
			fmt.Fprintf(b, "- %s: `%s`\n", c, cmd)
		}
	}
	b.WriteString("\n")
}

// deliveryProblem says what went wrong in the first trial that failed.
func deliveryProblem(c clientCell, rows int) string {
	for _, t := range c.Trials {
		switch {
		case t.Error != "":
			return t.Error
		case t.Delivered != int64(rows) || t.Duplicates > 0:
			return fmt.Sprintf("%d/%d delivered, %d duplicates", t.Delivered, rows, t.Duplicates)
		}
	}
	return ""
}

// memoryResult is the memory section.
type memoryResult struct {
	SendSizes     []int    `json:"send_sizes"`
	DrySizes      []int    `json:"dry_run_sizes"`
	Concurrency   int      `json:"concurrency"`
	SendCommand   string   `json:"send_command"`
	DryRunCommand string   `json:"dry_run_command"`
	Runs          []memRun `json:"runs"`
	Checks        []check  `json:"checks,omitempty"`
}

func (m *memoryResult) run(mode string, rows int) *memRun {
	for i := range m.Runs {
		if m.Runs[i].Mode == mode && m.Runs[i].Rows == rows {
			return &m.Runs[i]
		}
	}
	return nil
}

// judge checks every file of each mode against the RSS bound, and the
// largest against the smallest for flatness.
func (m *memoryResult) judge() {
	for _, mode := range []struct {
		name  string
		sizes []int
	}{{memSend, m.SendSizes}, {memDryRun, m.DrySizes}} {
		var peak, small, large *memRun
		for _, n := range mode.sizes {
			r := m.run(mode.name, n)
			switch {
			case r == nil:
				continue
			case r.Error != "":
				m.Checks = append(m.Checks, newCheck(fmt.Sprintf("%s of %s rows ran", mode.name, thousands(n)), r.Error, false))
				continue
			case r.Proc.MaxRSSKB == 0:
				continue
			}
			if small == nil {
				small = r
			}
			large = r
			if peak == nil || r.Proc.MaxRSSKB > peak.Proc.MaxRSSKB {
				peak = r
			}
		}
		if peak == nil {
			continue
		}
		m.Checks = append(m.Checks, newCheck(fmt.Sprintf("%s: peak RSS ≤ %d MiB at every size", mode.name, targetRSSMiB),
			fmt.Sprintf("at most %s (%s rows)", mib(peak.Proc.MaxRSSKB), thousands(peak.Rows)), peak.Proc.MaxRSSKB <= targetRSSMiB*1024))
		if small != large {
			f := float64(large.Proc.MaxRSSKB) / float64(small.Proc.MaxRSSKB)
			m.Checks = append(m.Checks, newCheck(fmt.Sprintf("%s flat: %s rows ≤ %.1f × %s rows", mode.name, thousands(large.Rows), flatFactor, thousands(small.Rows)),
				fmt.Sprintf("× %.2f", f), f <= flatFactor))
		}
	}
}

func (m *memoryResult) markdown(b *strings.Builder) {
	fmt.Fprintf(b, "### Memory\n\nPeak RSS of the bulksend process (`/usr/bin/time -v`'s \"Maximum resident set size\"); sends go to a fresh unlimited sandbox with --rate 0 --concurrency %d and the report on.\n\n", m.Concurrency)
	b.WriteString("| rows | send: peak RSS | send: time | dry run: peak RSS | dry run: time |\n|---|---|---|---|---|\n")
	sizes := slices.Sorted(slices.Values(append(slices.Clone(m.SendSizes), m.DrySizes...)))
	for _, n := range slices.Compact(sizes) {
		fmt.Fprintf(b, "| %s |", thousands(n))
		for _, mode := range []string{memSend, memDryRun} {
			r := m.run(mode, n)
			switch {
			case r == nil:
				b.WriteString(" | |")
			case r.Error != "":
				fmt.Fprintf(b, " **error**: %s | %.2f s |", escape(r.Error), r.Proc.WallSeconds)
			default:
				fmt.Fprintf(b, " %s | %.2f s |", mib(r.Proc.MaxRSSKB), r.Proc.WallSeconds)
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	writeChecks(b, m.Checks)
	fmt.Fprintf(b, "- send: `%s`\n- dry run: `%s`\n\n", m.SendCommand, m.DryRunCommand)
}

// startupResult is the startup section.
type startupResult struct {
	Runs  int           `json:"runs"`
	Cases []startupCase `json:"cases"`
}

func (s *startupResult) markdown(b *strings.Builder) {
	fmt.Fprintf(b, "### Startup\n\nWall time of the whole process, start to exit, as the harness measures it; %d timed runs after %d untimed ones.\n\n", s.Runs, startupWarmups)
	b.WriteString("| command | median | min | p90 |\n|---|---|---|---|\n")
	for _, c := range s.Cases {
		if c.Error != "" {
			fmt.Fprintf(b, "| %s | **error**: %s | | |\n", c.Name, escape(c.Error))
			continue
		}
		fmt.Fprintf(b, "| %s | %.1f ms | %.1f ms | %.1f ms |\n", c.Name, c.Median, c.Min, c.P90)
	}
	b.WriteString("\n")
	for _, c := range s.Cases {
		fmt.Fprintf(b, "- %s: `%s`\n", c.Name, c.Command)
	}
	b.WriteString("\n")
}

func writeChecks(b *strings.Builder, checks []check) {
	for _, c := range checks {
		fmt.Fprintf(b, "- %s: %s **%s**\n", c.What, escape(c.Value), c.Verdict)
	}
	if len(checks) > 0 {
		b.WriteString("\n")
	}
}

// median of sorted values; 0 for none.
func median(sorted []float64) float64 {
	n := len(sorted)
	switch {
	case n == 0:
		return 0
	case n%2 == 1:
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// mib renders KiB as MiB; "n/a" when the OS did not say.
func mib(kb int64) string {
	if kb <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(kb)/1024)
}

// thousands renders n with comma separators: 30000 -> "30,000".
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// escape keeps a value from breaking a markdown table row.
func escape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}

func round(f float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(f*p) / p
}
