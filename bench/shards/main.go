// Command shards is the benchmark of issue 7: n bulksend processes, each
// sending one shard of one file (--shard i/n), share one Redis limiter
// (--limiter, --rate 100/s --burst 15) against a sandbox that allows a
// burst of 15 and 100 requests/s. It prints a markdown table of delivery,
// efficiency and 429 share per header style and process count, with PASS
// or MISS against the targets: every row delivered exactly once,
// efficiency >= 0.85 of the ideal (rows-15)/100 s, at most 5% of requests
// throttled.
//
// Usage:
//
//	go run ./bench/shards [-bin PATH] [-rows 600] [-procs 2,3] [-styles retry-after,x-ratelimit-reset-ms]
//	                      [-repeat N] [-out FILE] [-strict]
//
// It needs redis-server on $PATH, which it starts on a free loopback port
// with nothing saved to disk. Runs are sequential, since timing is what is
// measured; exit 0 whatever the numbers, unless -strict (a MISS exits 1).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bulksend/bulksend/bench/internal/benchcli"
	"github.com/bulksend/bulksend/internal/testkit"
	"github.com/bulksend/bulksend/internal/testkit/sandboxtest"
	"github.com/bulksend/bulksend/report"
	"github.com/bulksend/bulksend/sandbox"
	"github.com/bulksend/bulksend/sender"
)

// The quota and the targets.
const (
	serverBurst   = 15
	serverRate    = 100.0
	minEfficiency = 0.85
	maxThrottled  = 0.05
	// runTimeout bounds one trial, so a stuck process shows as a MISS
	// instead of stalling the benchmark.
	runTimeout = 90 * time.Second
)

func main() { benchcli.Main(run) }

type options struct {
	bin    string
	rows   int
	procs  []int
	styles []string
	repeat int
	out    string
	strict bool
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	o := options{}
	fs := flag.NewFlagSet("shards", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var procs, styles string
	fs.StringVar(&o.bin, "bin", "", "bulksend binary (default: go build the module into a temp dir)")
	fs.IntVar(&o.rows, "rows", 600, "rows in the input file")
	fs.StringVar(&procs, "procs", "2,3", "comma-separated process counts")
	fs.StringVar(&styles, "styles", sandbox.StyleRetryAfter+","+sandbox.StyleResetUnixMS, "comma-separated sandbox header styles")
	fs.IntVar(&o.repeat, "repeat", 1, "runs per cell")
	fs.StringVar(&o.out, "out", "", "also write the table to this file")
	fs.BoolVar(&o.strict, "strict", false, "exit 1 when a run misses a target")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.rows <= serverBurst || o.repeat < 1 {
		return o, fmt.Errorf("-rows must be over %d and -repeat at least 1", serverBurst)
	}
	for _, p := range strings.Split(procs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 {
			return o, fmt.Errorf("-procs: %q is not a process count", p)
		}
		o.procs = append(o.procs, n)
	}
	for _, s := range strings.Split(styles, ",") {
		if s = strings.TrimSpace(s); !slices.Contains(sandbox.Styles(), s) {
			return o, fmt.Errorf("-styles: unknown style %q (want some of %s)", s, strings.Join(sandbox.Styles(), ", "))
		}
		o.styles = append(o.styles, s)
	}
	return o, nil
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return benchcli.Run(ctx, "shards", args, stdout, stderr, parseOptions,
		func(ctx context.Context, o options, progress io.Writer) (benchcli.Output, error) {
			table, miss, err := bench(ctx, o, progress)
			if err != nil {
				return benchcli.Output{}, err
			}
			out := benchcli.Output{Table: table, Out: o.out, Strict: o.strict}
			if miss > 0 {
				out.Misses = []string{fmt.Sprintf("%d runs", miss)}
			}
			return out, nil
		})
}

// trial is one measured run of n processes.
type trial struct {
	style     string
	procs     int
	wall      time.Duration
	stats     sandbox.Stats
	sent      int // rows the merged report says were sent
	failures  []string
	exitCodes []int
}

func (t trial) efficiency(rows int) float64 {
	return float64(rows-serverBurst) / serverRate / t.wall.Seconds()
}

func (t trial) throttled() float64 {
	if t.stats.Requests == 0 {
		return 0
	}
	return float64(t.stats.Throttled) / float64(t.stats.Requests)
}

func (t trial) pass(rows int) bool {
	return len(t.failures) == 0 && t.stats.Distinct == int64(rows) && t.stats.Duplicates == 0 && t.sent == rows &&
		t.efficiency(rows) >= minEfficiency && t.throttled() <= maxThrottled
}

func bench(ctx context.Context, o options, progress io.Writer) (table string, miss int, err error) {
	began := time.Now()
	dir, bin, cleanup, err := benchcli.Workspace(ctx, "shards", o.bin, true, progress)
	if err != nil {
		return "", 0, err
	}
	defer cleanup()
	rds, err := testkit.StartRedis(ctx, dir)
	if err != nil {
		return "", 0, err
	}
	defer rds.Stop()
	input := filepath.Join(dir, "rows.csv")
	if err := writeRows(input, o.rows); err != nil {
		return "", 0, err
	}

	var b strings.Builder
	fmt.Fprintf(&b, "Sandbox: token bucket, burst %d, %g requests/s, fresh per run; %d rows split by --shard i/n; "+
		"every process: --limiter redis://... --rate 100/s --burst 15; ideal %.2f s = (%d-%d)/%g.\n",
		serverBurst, serverRate, o.rows, float64(o.rows-serverBurst)/serverRate, o.rows, serverBurst, serverRate)
	fmt.Fprintf(&b, "Targets: every row delivered once, eff >= %.2f, <= %.0f%% 429s. "+
		"eff = ideal / wall time from the first process's start to the last one's exit.\n\n", minEfficiency, 100*maxThrottled)
	b.WriteString("| style | processes | result | delivered | wall | eff | 429s | exit codes |\n|---|---|---|---|---|---|---|---|\n")
	key := 0
	for _, style := range o.styles {
		for _, n := range o.procs {
			for range o.repeat {
				key++
				t, err := runTrial(ctx, bin, dir, input, rds.Addr(), fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), key), style, n)
				if err != nil {
					return "", 0, err
				}
				verdict := benchcli.Pass
				if !t.pass(o.rows) {
					verdict, miss = "**"+benchcli.Miss+"**", miss+1
				}
				line := fmt.Sprintf("| %s | %d | %s | %d/%d (%d dup), report %d sent | %.2f s | %.2f | %.1f%% (%d/%d) | %v |",
					style, n, verdict, t.stats.Distinct, o.rows, t.stats.Duplicates, t.sent, t.wall.Seconds(),
					t.efficiency(o.rows), 100*t.throttled(), t.stats.Throttled, t.stats.Requests, t.exitCodes)
				if len(t.failures) > 0 {
					line += " " + strings.Join(t.failures, "; ")
				}
				fmt.Fprintln(progress, line)
				b.WriteString(line + "\n")
			}
		}
	}
	fmt.Fprintf(&b, "\nCommand: `go run ./bench/shards %s` (took %.0f s).\n",
		strings.Join(commandArgs(o), " "), time.Since(began).Seconds())
	return b.String(), miss, nil
}

func commandArgs(o options) []string {
	var procs []string
	for _, n := range o.procs {
		procs = append(procs, strconv.Itoa(n))
	}
	return []string{"-rows", strconv.Itoa(o.rows), "-procs", strings.Join(procs, ","), "-styles", strings.Join(o.styles, ",")}
}

// runTrial starts n processes at once on a fresh sandbox and quota key,
// waits for all, and merges their reports.
func runTrial(ctx context.Context, bin, dir, input, redisAddr, key, style string, n int) (trial, error) {
	t := trial{style: style, procs: n}
	srv, base, stop, err := sandboxtest.Serve(ctx, sandbox.Config{Burst: serverBurst, Rate: serverRate, Style: style})
	if err != nil {
		return t, err
	}
	defer stop()

	tctx, tcancel := context.WithTimeout(ctx, runTimeout)
	defer tcancel()
	var cmds []*exec.Cmd
	var reports []string
	var stderrs []*bytes.Buffer
	began := time.Now()
	for i := 1; i <= n; i++ {
		rep := filepath.Join(dir, fmt.Sprintf("%s-s%d.csv", key, i))
		reports = append(reports, rep)
		cmd := exec.CommandContext(tctx, bin, "send", input, "--url", base+"/send",
			"--body", `{"id": {{json .id}}, "to": {{json .to}}}`, "--shard", fmt.Sprintf("%d/%d", i, n),
			"--limiter", "redis://"+redisAddr+"/0?key="+key, "--rate", "100/s", "--burst", strconv.Itoa(serverBurst),
			"--report", rep, "--quiet")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		cmd.WaitDelay = 5 * time.Second
		if err := cmd.Start(); err != nil {
			return t, fmt.Errorf("start bulksend: %w", err)
		}
		cmds, stderrs = append(cmds, cmd), append(stderrs, &stderr)
	}
	for i, cmd := range cmds {
		err := cmd.Wait()
		t.exitCodes = append(t.exitCodes, cmd.ProcessState.ExitCode())
		if err != nil {
			t.failures = append(t.failures, fmt.Sprintf("shard %d: %v: %s", i+1, err, strings.TrimSpace(stderrs[i].String())))
		}
	}
	t.wall = time.Since(began)
	if err := ctx.Err(); err != nil {
		return t, err
	}
	t.stats = srv.Stats()
	merged := filepath.Join(dir, key+"-all.csv")
	out, err := exec.CommandContext(ctx, bin, append([]string{"report", "merge", merged}, reports...)...).CombinedOutput()
	if err != nil {
		t.failures = append(t.failures, fmt.Sprintf("report merge: %v: %s", err, strings.TrimSpace(string(out))))
		return t, nil
	}
	f, err := os.Open(merged)
	if err != nil {
		return t, err
	}
	defer f.Close()
	err = report.Read(f, merged, report.FormatCSV, func(r report.Row) error {
		if r.Status == sender.StatusSent {
			t.sent++
		}
		return nil
	})
	return t, err
}

// writeRows writes n rows with distinct ids and numbers.
func writeRows(path string, n int) error {
	var b strings.Builder
	b.WriteString("id,to\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "r%05d,+1555%07d\n", i, i)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
