// Command limits is the end-to-end rate-limit benchmark of issue 3. For every
// scenario (each sandbox header style, skewed server clocks, a penalty box)
// it starts a fresh in-process sandbox with a token bucket of burst 15 and
// 100 requests/s, runs the real bulksend binary against it in adaptive and
// fixed-rate modes, runs a naive hand-written retry loop beside it, and
// prints a markdown table of delivery, efficiency and 429 share with PASS or
// MISS against the targets.
//
// With -real it measures issue 11's table instead: real rate limiters
// (nginx, HAProxy, express-rate-limit, go-chi/httprate, @fastify/rate-limit,
// rate-limiter-flexible, ulule/limiter, throttled, sethvargo/go-limiter,
// tollbooth, started through
// internal/limiters) at 15 per 150ms and 100 per second, bulksend adaptive
// and pinned to the flags its summary suggests, beside xargs -P 8 curl
// --retry 5; -modes default adds bulksend as first typed, without
// --concurrency (its own pool, the first request alone).
//
// Usage:
//
//	go run ./bench/limits [-bin PATH] [-rows 400] [-scenarios a,b] [-modes adaptive,fixed,naive]
//	                      [-repeat N] [-out FILE] [-json] [-strict]
//	go run ./bench/limits -real [-limiters a,b] [-custom KIND:LIMIT/WINDOW[:opt...],...] [-modes adaptive,default,pinned,curl] [-repeat 3] ...
//
// Runs are strictly sequential, because timing is what is measured. The
// process exits 0 whatever the numbers are, unless -strict is given (then a
// MISS exits 1); 2 means bad flags, 1 a harness failure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bulksend/bulksend/bench/internal/benchcli"
)

// The sandbox's quota in every scenario, and what "ideal" is measured from.
const (
	serverBurst = 15
	serverRate  = 100.0 // requests per second
)

// sendTimeout bounds one send (bulksend or naive), so a stuck client shows
// up as "timeout" instead of stalling the whole benchmark.
const sendTimeout = 60 * time.Second

// The modes a scenario is run in.
const (
	modeAdaptive = "adaptive" // bulksend with no --rate
	modeFixed    = "fixed"    // bulksend --rate 100/s --burst 15
	modeNaive    = "naive"    // the harness's own naive client
)

var allModes = []string{modeAdaptive, modeFixed, modeNaive}

func main() { benchcli.Main(run) }

// options are the parsed flags.
type options struct {
	bin       string
	rows      int
	scenarios []scenario
	modes     []string
	out       string
	repeat    int
	json      bool
	strict    bool
	args      []string // as given, for the "command line used" line
	// realTable is -real: the real-limiter table, of the real scenarios.
	realTable bool
	real      []realScenario
	// keep is -keep: the directory each bulksend run's report, summary
	// and stderr are copied to; nil keeps nothing.
	keep *keeper
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	o := options{args: args}
	fs := flag.NewFlagSet("limits", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var scenarios, modes, limiterNames, custom, keep string
	fs.StringVar(&o.bin, "bin", "", "bulksend binary to run (default: go build the module into a temp dir)")
	fs.IntVar(&o.rows, "rows", 400, "rows in the input file")
	fs.StringVar(&scenarios, "scenarios", "", "comma-separated scenario names to run (default all: "+strings.Join(scenarioNames(allScenarios()), ", ")+")")
	fs.StringVar(&modes, "modes", strings.Join(allModes, ","), "comma-separated modes to run")
	fs.StringVar(&o.out, "out", "", "also write the markdown table to this file")
	fs.IntVar(&o.repeat, "repeat", 1, "runs per cell; the cell shows the median efficiency")
	fs.BoolVar(&o.json, "json", false, "print the raw results as JSON on stdout instead of the table")
	fs.BoolVar(&o.strict, "strict", false, "exit 1 when any cell misses its target")
	fs.BoolVar(&o.realTable, "real", false, "measure the real-limiter table (modes "+strings.Join(realModes, ",")+"; default "+strings.Join(defaultRealModes, ",")+") instead of the sandbox one")
	fs.StringVar(&limiterNames, "limiters", "", "with -real: comma-separated limiter configurations to run (default all: "+strings.Join(realScenarioNames(allRealScenarios()), ", ")+")")
	fs.StringVar(&custom, "custom", "", "with -real: comma-separated configurations of your own, KIND:LIMIT/WINDOW[:burst=N][:noburst][:queue][:delay=N][:status=N][:style=S][:rows=N][:conc=N][:latency=D][:wire=D] (e.g. nginx:20/1s:burst=5,haproxy:50/500ms:conc=32,nginx:5/1s:noburst:latency=150ms,haproxy:100/1s:wire=50ms; latency: the backend's, wire: added to every round trip); run instead of the table unless -limiters names some too")
	fs.StringVar(&keep, "keep", "", "keep each bulksend run's report (NNN-MODE.csv), --json summary (.json) and stderr (.err) in this directory, created if need be; the table's trials name their files")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if keep != "" {
		o.keep = &keeper{dir: keep}
	}
	modesSet := false
	fs.Visit(func(f *flag.Flag) { modesSet = modesSet || f.Name == "modes" })
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if o.rows <= serverBurst {
		return o, fmt.Errorf("-rows %d: need more than the burst of %d for an ideal time", o.rows, serverBurst)
	}
	if o.repeat < 1 {
		return o, fmt.Errorf("-repeat %d: need at least 1", o.repeat)
	}
	var err error
	if o.realTable {
		if !modesSet {
			modes = strings.Join(defaultRealModes, ",")
		}
		if custom == "" || limiterNames != "" {
			if o.real, err = pickRealScenarios(benchcli.SplitList(limiterNames)); err != nil {
				return o, err
			}
		}
		if custom != "" {
			more, err := parseCustom(custom)
			if err != nil {
				return o, err
			}
			o.real = append(o.real, more...)
		}
		if o.modes, err = benchcli.PickList("-modes", "mode", realModes, benchcli.SplitList(modes)); err != nil {
			return o, err
		}
		if slices.Contains(o.modes, modePinned) && !slices.Contains(o.modes, modeAdaptive) {
			return o, errors.New("-modes: pinned uses the flags the adaptive run suggests; name adaptive too")
		}
		return o, nil
	}
	if limiterNames != "" {
		return o, errors.New("-limiters: only with -real")
	}
	if custom != "" {
		return o, errors.New("-custom: only with -real")
	}
	if o.scenarios, err = pickScenarios(allScenarios(), benchcli.SplitList(scenarios)); err != nil {
		return o, err
	}
	if o.modes, err = benchcli.PickList("-modes", "mode", allModes, benchcli.SplitList(modes)); err != nil {
		return o, err
	}
	return o, nil
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return benchcli.Run(ctx, "limits", args, stdout, stderr, parseOptions,
		func(ctx context.Context, o options, progress io.Writer) (benchcli.Output, error) {
			if o.realTable {
				res, err := benchReal(ctx, o, progress)
				if err != nil {
					return benchcli.Output{}, err
				}
				return output(o, res.markdown(), res, res.Miss), nil
			}
			res, err := bench(ctx, o, progress)
			if err != nil {
				return benchcli.Output{}, err
			}
			return output(o, res.markdown(), res, res.Miss), nil
		})
}

// output is how a run ends: table, or res as JSON with -json, and the
// misses for -strict.
func output(o options, table string, res any, misses int) benchcli.Output {
	out := benchcli.Output{Table: table, Out: o.out, Strict: o.strict}
	if o.json {
		out.JSON = res
	}
	if misses > 0 {
		out.Misses = []string{fmt.Sprintf("%d cells", misses)}
	}
	return out
}

// bench runs every (scenario, mode) the options ask for, one after another.
func bench(ctx context.Context, o options, progress io.Writer) (*result, error) {
	began := time.Now()
	dir, bin, cleanup, err := benchcli.Workspace(ctx, "limits", o.bin, slices.ContainsFunc(o.modes, isBulksend), progress)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	rows := makeRows(o.rows)
	input := filepath.Join(dir, "rows.csv")
	if err := writeRows(input, rows); err != nil {
		return nil, err
	}

	res := newResult(o, bin)
	total, done := len(o.scenarios)*len(o.modes)*o.repeat, 0
	for _, sc := range o.scenarios {
		sr := scenarioResult{scenario: sc}
		for _, mode := range o.modes {
			c := cell{Mode: mode}
			for range o.repeat {
				var t trial
				if mode == modeNaive {
					t, err = runNaive(ctx, sc, rows)
				} else {
					t, err = runSend(ctx, bin, sc, mode, input, len(rows), o.keep)
				}
				if err != nil {
					return nil, fmt.Errorf("%s %s: %w", sc.Name, mode, err)
				}
				done++
				fmt.Fprintf(progress, "[%d/%d] %s %s: %s\n", done, total, sc.Name, mode, t.line())
				c.Trials = append(c.Trials, t)
			}
			c.settle(len(rows))
			res.add(c)
			sr.Cells = append(sr.Cells, c)
		}
		res.Scenarios = append(res.Scenarios, sr)
	}
	res.ElapsedSeconds = round(time.Since(began).Seconds(), 1)
	return res, nil
}

func isBulksend(mode string) bool { return mode != modeNaive }
