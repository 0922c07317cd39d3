// Command throughput is the performance benchmark of issue 6. It builds
// bulksend, then measures, strictly one run at a time:
//
//   - throughput: 30,000 rows sent with --rate 0 --concurrency 32 and the
//     report on, to an unlimited sandbox on 127.0.0.1, beside two baselines
//     sending the same rendered requests to the same kind of sandbox: a
//     minimal Go client (N goroutines POSTing with keep-alive, built into
//     this harness) and vegeta at its maximum rate;
//   - memory: peak RSS of sends and dry runs of growing files;
//   - startup: `bulksend version` and a 1-row send, in milliseconds;
//
// and prints markdown tables with PASS or MISS against the targets.
//
// Usage:
//
//	go run ./bench/throughput [-rows 30000] [-concurrency 32] [-repeat 3]
//	    [-sections throughput,memory,startup] [-clients bulksend,minimal,vegeta]
//	    [-send-sizes 10k,100k,200k,1M] [-dry-sizes 10k,100k,1M] [-startup-runs 20]
//	    [-bin PATH] [-vegeta PATH] [-json] [-out FILE]
//
// Every client, the sandbox included, is a separate process, so the CPU time
// and peak RSS of each are measured on their own (rusage of the child, the
// figures /usr/bin/time -v prints) and no two share a Go runtime. A fresh
// sandbox serves each throughput and memory run, so no run pays for the
// state (idempotency store, delivered set) an earlier one left.
//
// The process exits 0 whatever the numbers are, unless -strict is given
// (then a MISS exits 1); 2 means bad flags, 1 a harness failure.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/bulksend/bulksend/bench/internal/benchcli"
)

// The sections a run can measure, in table order.
const (
	sectionThroughput = "throughput"
	sectionMemory     = "memory"
	sectionStartup    = "startup"
)

var allSections = []string{sectionThroughput, sectionMemory, sectionStartup}

func main() {
	// The harness runs itself as the minimal client, so that client is a
	// process of its own like the other two.
	if len(os.Args) > 1 && os.Args[1] == minimalClientCmd {
		os.Exit(minimalClientMain(os.Args[2:], os.Stdout, os.Stderr))
	}
	benchcli.Main(run)
}

// options are the parsed flags.
type options struct {
	bin         string
	vegeta      string
	timeBin     string
	rows        int
	concurrency int
	repeat      int
	sections    []string
	clients     []string
	sendSizes   []int
	drySizes    []int
	startupRuns int
	out         string
	json        bool
	strict      bool
	args        []string // as given, for the "command line used" line
}

func (o options) has(section string) bool { return slices.Contains(o.sections, section) }

func parseOptions(args []string, stderr io.Writer) (options, error) {
	o := options{args: args}
	fs := flag.NewFlagSet("throughput", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sections, clients, sendSizes, drySizes string
	fs.StringVar(&o.bin, "bin", "", "bulksend binary to measure (default: go build the module into a temp dir)")
	fs.StringVar(&o.vegeta, "vegeta", "", "vegeta binary (default: vegeta on PATH or in GOPATH/bin, else go install "+vegetaModule+" into a temp dir)")
	fs.StringVar(&o.timeBin, "time", "/usr/bin/time", "GNU time, to read each client's peak RSS (\"\": rusage, which counts the harness's own RSS too)")
	fs.IntVar(&o.rows, "rows", 30000, "rows of the throughput runs")
	fs.IntVar(&o.concurrency, "concurrency", 32, "requests in flight, for every client")
	fs.IntVar(&o.repeat, "repeat", 3, "throughput runs per client, interleaved; the table shows medians")
	fs.StringVar(&sections, "sections", strings.Join(allSections, ","), "comma-separated sections to run")
	fs.StringVar(&clients, "clients", strings.Join(allClients, ","), "comma-separated throughput clients to run")
	fs.StringVar(&sendSizes, "send-sizes", "10k,100k,200k,1M", "row counts of the memory section's sends")
	fs.StringVar(&drySizes, "dry-sizes", "10k,100k,1M", "row counts of the memory section's dry runs")
	fs.IntVar(&o.startupRuns, "startup-runs", 20, "timed runs of each startup command (after 2 untimed ones)")
	fs.StringVar(&o.out, "out", "", "also write the markdown tables to this file")
	fs.BoolVar(&o.json, "json", false, "print the raw results as JSON on stdout instead of the tables")
	fs.BoolVar(&o.strict, "strict", false, "exit 1 when any target is missed")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	switch {
	case o.rows < 1:
		return o, fmt.Errorf("-rows %d: need at least 1", o.rows)
	case o.concurrency < 1:
		return o, fmt.Errorf("-concurrency %d: need at least 1", o.concurrency)
	case o.repeat < 1:
		return o, fmt.Errorf("-repeat %d: need at least 1", o.repeat)
	case o.startupRuns < 1:
		return o, fmt.Errorf("-startup-runs %d: need at least 1", o.startupRuns)
	}
	var err error
	if o.sections, err = benchcli.PickList("-sections", "", allSections, benchcli.SplitList(sections)); err != nil {
		return o, err
	}
	if o.clients, err = benchcli.PickList("-clients", "", allClients, benchcli.SplitList(clients)); err != nil {
		return o, err
	}
	if o.sendSizes, err = parseSizes(sendSizes); err != nil {
		return o, fmt.Errorf("-send-sizes: %w", err)
	}
	if o.drySizes, err = parseSizes(drySizes); err != nil {
		return o, fmt.Errorf("-dry-sizes: %w", err)
	}
	return o, nil
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return benchcli.Run(ctx, "throughput", args, stdout, stderr, parseOptions,
		func(ctx context.Context, o options, progress io.Writer) (benchcli.Output, error) {
			res, err := bench(ctx, o, progress)
			if err != nil {
				return benchcli.Output{}, err
			}
			out := benchcli.Output{Table: res.markdown(), Out: o.out, Strict: o.strict, Misses: res.misses()}
			if o.json {
				out.JSON = res
			}
			return out, nil
		})
}

// env is what every measurement needs: the binaries and a scratch folder.
type env struct {
	o      options
	dir    string
	bin    string
	vegeta string // "" when vegeta could not be had; see noVegeta
	// noVegeta says why vegeta is missing.
	noVegeta string
	// timeBin is GNU time, or "" to read peak RSS from rusage.
	timeBin string
	log     io.Writer
}

// bench runs the sections the options ask for.
func bench(ctx context.Context, o options, progress io.Writer) (*result, error) {
	began := time.Now()
	dir, bin, cleanup, err := benchcli.Workspace(ctx, "throughput", o.bin, true, progress)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	e := &env{o: o, dir: dir, bin: bin, log: progress}
	if o.has(sectionThroughput) && slices.Contains(o.clients, clientVegeta) {
		e.vegeta, e.noVegeta = findVegeta(ctx, o.vegeta, dir, progress)
	}

	e.timeBin = findTime(ctx, o.timeBin)
	res := newResult(o, e.bin)
	res.RSSSource = rssFromRusage
	if e.timeBin != "" {
		res.RSSSource = rssFromTime
	}
	if o.has(sectionThroughput) {
		if res.Throughput, err = measureThroughput(ctx, e); err != nil {
			return nil, fmt.Errorf("throughput: %w", err)
		}
	}
	if o.has(sectionMemory) {
		if res.Memory, err = measureMemory(ctx, e); err != nil {
			return nil, fmt.Errorf("memory: %w", err)
		}
	}
	if o.has(sectionStartup) {
		if res.Startup, err = measureStartup(ctx, e); err != nil {
			return nil, fmt.Errorf("startup: %w", err)
		}
	}
	res.ElapsedSeconds = round(time.Since(began).Seconds(), 1)
	return res, nil
}
