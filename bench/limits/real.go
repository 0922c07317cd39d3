package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bulksend/bulksend/bench/internal/benchcli"
	"github.com/bulksend/bulksend/internal/limiters"
	"github.com/bulksend/bulksend/internal/testkit/sandboxtest"
	"github.com/bulksend/bulksend/sandbox"
	"github.com/bulksend/bulksend/sender"
)

// The modes of the real-limiter table (-real).
const (
	// modeDefault is the adaptive run as a user first types it, without
	// --concurrency: bulksend's own pool, not pinned
	// (ratelimit.Config.InFlightPinned false); a row's :conc=N does not
	// apply.
	modeDefault = "default"
	modePinned  = "pinned" // bulksend with the flags the adaptive run's summary suggested
	modeCurl    = "curl"   // xargs -P 8 curl --retry 5, one curl per row
)

// realModes are the modes -real knows; defaultRealModes those it runs
// unless -modes says otherwise.
var (
	realModes        = []string{modeAdaptive, modeDefault, modePinned, modeCurl, modeProbe}
	defaultRealModes = []string{modeAdaptive, modePinned, modeCurl}
)

// realSendTimeout bounds one run against a real limiter: slow adaptive
// runs are what the table is for, so it is well above the worst seen (77 s).
const realSendTimeout = 180 * time.Second

// sendConcurrency is bulksend's --concurrency in the real table, and
// curlWorkers xargs's -P: the same for both.
const (
	sendConcurrency = 8
	curlWorkers     = sendConcurrency
)

// The limiter algorithms, which decide the ideal time and the targets.
const (
	algoLeaky   = "leaky bucket"
	algoBucket  = "token bucket"
	algoFixed   = "fixed window"
	algoSliding = "sliding window"
)

// realScenario is one real limiter configuration: Limit requests per
// Window (a bucket: Burst, refilled at Limit/Window per second).
type realScenario struct {
	Name          string  `json:"name"`
	Kind          string  `json:"kind"` // a limiters.Kind, or "sandbox"
	Algorithm     string  `json:"algorithm"`
	Limit         int     `json:"limit"`
	WindowSeconds float64 `json:"window_seconds"`
	Burst         int     `json:"burst,omitempty"`
	NoBurst       bool    `json:"no_burst,omitempty"`    // nginx without a burst clause
	Queue         bool    `json:"queue,omitempty"`       // nginx's burst queued (no nodelay): limiters.Config.Queue
	Delay         int     `json:"delay,omitempty"`       // nginx's two-stage delay=N: limiters.Config.Delay
	Status        int     `json:"status,omitempty"`      // nginx's limit_req_status, HAProxy's deny_status; 0: 429
	Style         string  `json:"style,omitempty"`       // the sandbox's or the limiter's header style (limiters.Config.Style)
	Rows          int     `json:"rows,omitempty"`        // rows sent through it; 0: -rows
	Concurrency   int     `json:"concurrency,omitempty"` // bulksend's --concurrency for it; 0: sendConcurrency
	// LatencySeconds is how long the backend behind the limiter takes to
	// answer what it lets through (limiters.Config.Latency); 0: at once.
	LatencySeconds float64 `json:"latency_seconds,omitempty"`
	// WireSeconds is how much longer every round trip to the limiter is
	// (a delaying proxy in front of it: wire.go); 0: loopback.
	WireSeconds float64 `json:"wire_seconds,omitempty"`
	// AfterSeconds is how long after the limiter started the job does:
	// where its windows are aligned to its start (httprate), how far into
	// a window the first request comes (its phase, a process start
	// later). 0: as soon as it listens.
	AfterSeconds float64 `json:"after_seconds,omitempty"`
	Notes        string  `json:"notes"`
}

// rows is how many rows go through sc: its own count, else def (-rows).
func (sc realScenario) rows(def int) int {
	if sc.Rows > 0 {
		return sc.Rows
	}
	return def
}

// sendArgs is bulksend's command line in mode (adaptive, default or
// pinned) through sc: the sandbox table's adaptive one, the pool's size
// but in the default mode, then flags (pinned: the suggested ones).
func (sc realScenario) sendArgs(mode, input, base, report string, flags []string) []string {
	args := sendArgs(modeAdaptive, input, base, report)
	if mode != modeDefault {
		args = append(args, "--concurrency", fmt.Sprint(sc.concurrency()))
	}
	return append(args, flags...)
}

// concurrency is the --concurrency the adaptive and pinned runs through
// sc use.
func (sc realScenario) concurrency() int {
	if sc.Concurrency > 0 {
		return sc.Concurrency
	}
	return sendConcurrency
}

func (sc realScenario) window() time.Duration {
	return time.Duration(sc.WindowSeconds * float64(time.Second))
}

// allRealScenarios are issue 11's table: every real limiter at 15 per
// 150ms and 100 per second (nginx: burst 15, 100/s), and the token bucket
// whose RateLimit-Limit is its refill rate, which the sandbox plays.
func allRealScenarios() []realScenario {
	return []realScenario{
		{Name: "nginx", Kind: string(limiters.Nginx), Algorithm: algoLeaky, Limit: 15, WindowSeconds: 0.15, Burst: 15,
			Notes: "limit_req rate=100r/s burst=15 nodelay, bare 429"},
		{Name: "nginx-503", Kind: string(limiters.Nginx), Algorithm: algoLeaky, Limit: 15, WindowSeconds: 0.15, Burst: 15, Status: 503,
			Notes: "limit_req rate=100r/s burst=15 nodelay, bare 503 (nginx's default limit_req_status)"},
		{Name: "nginx-noburst", Kind: string(limiters.Nginx), Algorithm: algoLeaky, Limit: 15, WindowSeconds: 0.15, NoBurst: true,
			Notes: "limit_req rate=100r/s without a burst (nginx's default): any two requests closer than 10ms refused, bare 429"},
		{Name: "haproxy-150ms", Kind: string(limiters.HAProxy), Algorithm: algoSliding, Limit: 15, WindowSeconds: 0.15,
			Notes: "http_req_rate(150ms) > 15, bare 429, refused requests count"},
		{Name: "haproxy-1s", Kind: string(limiters.HAProxy), Algorithm: algoSliding, Limit: 100, WindowSeconds: 1,
			Notes: "http_req_rate(1000ms) > 100, bare 429, refused requests count"},
		{Name: "express-150ms", Kind: string(limiters.Express), Algorithm: algoFixed, Limit: 15, WindowSeconds: 0.15,
			Notes: "express-rate-limit 8, draft-8 + legacy headers, window from the first request"},
		{Name: "express-1s", Kind: string(limiters.Express), Algorithm: algoFixed, Limit: 100, WindowSeconds: 1,
			Notes: "express-rate-limit 8, draft-8 + legacy headers, window from the first request"},
		{Name: "express-ra-150ms", Kind: string(limiters.Express), Algorithm: algoFixed, Limit: 15, WindowSeconds: 0.15, Style: limiters.StyleRetryAfter,
			Notes: "express-rate-limit 8, headers off, Retry-After (whole seconds) on 429 only, window from the first request"},
		{Name: "express-ra-1s", Kind: string(limiters.Express), Algorithm: algoFixed, Limit: 100, WindowSeconds: 1, Style: limiters.StyleRetryAfter,
			Notes: "express-rate-limit 8, headers off, Retry-After (whole seconds) on 429 only, window from the first request"},
		{Name: "httprate-150ms", Kind: string(limiters.HTTPRate), Algorithm: algoSliding, Limit: 15, WindowSeconds: 0.15,
			Notes: "go-chi/httprate sliding window counter, X-RateLimit-*, Retry-After"},
		{Name: "httprate-1s", Kind: string(limiters.HTTPRate), Algorithm: algoSliding, Limit: 100, WindowSeconds: 1,
			Notes: "go-chi/httprate sliding window counter, X-RateLimit-*, Retry-After"},
		{Name: "fastify-150ms", Kind: string(limiters.Fastify), Algorithm: algoFixed, Limit: 15, WindowSeconds: 0.15,
			Notes: "@fastify/rate-limit 11, x-ratelimit-* (reset in whole seconds rounded up), retry-after in whole seconds, window from the first request"},
		{Name: "fastify-1s", Kind: string(limiters.Fastify), Algorithm: algoFixed, Limit: 100, WindowSeconds: 1,
			Notes: "@fastify/rate-limit 11, x-ratelimit-* (reset in whole seconds rounded up), retry-after in whole seconds, window from the first request"},
		{Name: "flexible-150ms", Kind: string(limiters.Flexible), Algorithm: algoFixed, Limit: 15, WindowSeconds: 0.15,
			Notes: "rate-limiter-flexible 11 RateLimiterMemory, README headers: Retry-After in fractional seconds, X-RateLimit-Reset in Unix seconds rounded up, window from the first request"},
		{Name: "flexible-1s", Kind: string(limiters.Flexible), Algorithm: algoFixed, Limit: 100, WindowSeconds: 1,
			Notes: "rate-limiter-flexible 11 RateLimiterMemory, README headers: Retry-After in fractional seconds, X-RateLimit-Reset in Unix seconds rounded up, window from the first request"},
		{Name: "flexible-iso-1s", Kind: string(limiters.Flexible), Algorithm: algoFixed, Limit: 100, WindowSeconds: 1, Style: limiters.StyleFlexibleISO,
			Notes: "rate-limiter-flexible 11 RateLimiterMemory, X-RateLimit-Reset toISOString() (to the millisecond), Retry-After in fractional seconds"},
		{Name: "flexible-date-150ms", Kind: string(limiters.Flexible), Algorithm: algoFixed, Limit: 15, WindowSeconds: 0.15, Style: limiters.StyleFlexibleDate,
			Notes: "rate-limiter-flexible 11 RateLimiterMemory, X-RateLimit-Reset a JavaScript Date (whole seconds, truncated), Retry-After in fractional seconds"},
		{Name: "flexible-date-1s", Kind: string(limiters.Flexible), Algorithm: algoFixed, Limit: 100, WindowSeconds: 1, Style: limiters.StyleFlexibleDate,
			Notes: "rate-limiter-flexible 11 RateLimiterMemory, X-RateLimit-Reset a JavaScript Date (whole seconds, truncated), Retry-After in fractional seconds"},
		{Name: "ulule-150ms", Kind: string(limiters.ULule), Algorithm: algoFixed, Limit: 15, WindowSeconds: 0.15,
			Notes: "ulule/limiter v3 memory store, window from the first request, refused count, X-RateLimit-Reset in truncated Unix seconds, bare 429"},
		{Name: "ulule-1s", Kind: string(limiters.ULule), Algorithm: algoFixed, Limit: 100, WindowSeconds: 1,
			Notes: "ulule/limiter v3 memory store, window from the first request, refused count, X-RateLimit-Reset in truncated Unix seconds, bare 429"},
		{Name: "throttled-150ms", Kind: string(limiters.Throttled), Algorithm: algoBucket, Limit: 15, WindowSeconds: 0.15, Burst: 15,
			Notes: "throttled v2 GCRA MaxBurst 14: a bucket of 15, X-RateLimit-Reset seconds to full (rounded up), Retry-After whole seconds"},
		{Name: "throttled-1s", Kind: string(limiters.Throttled), Algorithm: algoBucket, Limit: 100, WindowSeconds: 1, Burst: 100,
			Notes: "throttled v2 GCRA MaxBurst 99: a bucket of 100, X-RateLimit-Reset seconds to full (rounded up), Retry-After whole seconds"},
		{Name: "golimiter-150ms", Kind: string(limiters.GoLimiter), Algorithm: algoFixed, Limit: 15, WindowSeconds: 0.15,
			Notes: "sethvargo/go-limiter memorystore: windows from the first request on, X-RateLimit-Reset and Retry-After RFC 1123 dates in UTC"},
		{Name: "golimiter-1s", Kind: string(limiters.GoLimiter), Algorithm: algoFixed, Limit: 100, WindowSeconds: 1,
			Notes: "sethvargo/go-limiter memorystore: windows from the first request on, X-RateLimit-Reset and Retry-After RFC 1123 dates in UTC"},
		{Name: "tollbooth-150ms", Kind: string(limiters.Tollbooth), Algorithm: algoBucket, Limit: 15, WindowSeconds: 0.15, Burst: 15,
			Notes: "tollbooth v7 x/time/rate bucket of 15 at 100/s: RateLimit-Limit 100 (the rate), RateLimit-Reset 1 always, bare 429"},
		{Name: "tollbooth-1s", Kind: string(limiters.Tollbooth), Algorithm: algoBucket, Limit: 100, WindowSeconds: 1, Burst: 100,
			Notes: "tollbooth v7 x/time/rate bucket of 100 at 100/s: RateLimit-Limit 100, RateLimit-Reset 1 always, bare 429"},
		{Name: "sandbox-refill", Kind: kindSandbox, Algorithm: algoBucket, Limit: 15, WindowSeconds: 0.15, Burst: 15, Style: sandbox.StyleRateLimitRefill,
			Notes: "the sandbox's token bucket answering RateLimit-Limit: 100 (its refill rate per second, not its size) and RateLimit-Reset: 1 (--style ratelimit-refill)"},
	}
}

func realScenarioNames(s []realScenario) []string {
	names := make([]string, len(s))
	for i, sc := range s {
		names[i] = sc.Name
	}
	return names
}

// idealSeconds is the least time rows can take through sc (issue 11's
// formulas): a bucket sends its burst at once and the rest at its rate; a
// fixed window of L per W starts the window the last row fits in after
// (ceil(N/L)-1) windows; a sliding window sends L at once and the rest at
// L/W.
func (sc realScenario) idealSeconds(rows int) float64 {
	n, l, w := float64(rows), float64(sc.Limit), sc.WindowSeconds
	switch sc.Algorithm {
	case algoFixed:
		return (math.Ceil(n/l) - 1) * w
	case algoSliding:
		return max(n-l, 0) / (l / w)
	}
	return max(n-sc.atOnce(), 0) / (l / w)
}

// atOnce is how many requests a bucket answers at once, for the ideal: its
// burst; one for nginx without a burst (it serves one request at a time)
// and for nginx queueing its burst (it holds the excess and answers it at
// the rate), delay+1 for the two-stage queue.
func (sc realScenario) atOnce() float64 {
	switch {
	case sc.NoBurst || sc.Queue && sc.Delay == 0:
		return 1
	case sc.Delay > 0:
		return float64(sc.Delay + 1)
	}
	return float64(sc.Burst)
}

// target is what issue 11 asks of mode on sc's algorithm; judged is false
// for curl, the baseline.
func (sc realScenario) target(mode string) (tg target, judged bool) {
	switch mode {
	case modeAdaptive, modeDefault:
		return target{MinEfficiency: 0.85, MaxThrottledShare: 0.03}, true
	case modePinned:
		if sc.Algorithm == algoFixed {
			return target{MinEfficiency: 0.9, MaxThrottledShare: 1}, true
		}
		return target{MinEfficiency: 0.95, MaxThrottledShare: 0}, true
	}
	return target{}, false
}

// pickRealScenarios keeps the named scenarios in table order.
func pickRealScenarios(names []string) ([]realScenario, error) {
	all := allRealScenarios()
	if len(names) == 0 {
		return all, nil
	}
	picked, err := benchcli.PickList("-limiters", "limiter", realScenarioNames(all), names)
	if err != nil {
		return nil, err
	}
	var out []realScenario
	for _, sc := range all {
		if slices.Contains(picked, sc.Name) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// startReal starts a fresh server for sc: a real limiter in dir, or the
// sandbox. stop ends it.
func startReal(ctx context.Context, sc realScenario, dir string, bins prebuilt) (ep endpoint, desc string, stop func(), err error) {
	if sc.Kind == kindSandbox {
		return startSandboxEndpoint(ctx, sc)
	}
	s, err := limiters.Start(ctx, limiters.Config{
		Kind: limiters.Kind(sc.Kind), Limit: sc.Limit, Window: sc.window(), Burst: sc.Burst, NoBurst: sc.NoBurst, Queue: sc.Queue, Delay: sc.Delay, Status: sc.Status, Style: sc.Style,
		Latency: time.Duration(sc.LatencySeconds * float64(time.Second)),
		Dir:     dir, HTTPRateBin: bins.httprate, GoLimitersBin: bins.golimiters,
	})
	if err != nil {
		return ep, "", nil, err
	}
	ep = endpoint{base: s.URL, stats: func() serverStats {
		st := s.Stats()
		return serverStats{Requests: st.Requests, Delivered: st.Delivered, Distinct: st.Distinct, Duplicates: st.Duplicates, Throttled: st.Throttled, Failed: st.Failed}
	}}
	if sc.WireSeconds <= 0 {
		return ep, s.Desc, func() { _ = s.Close() }, nil
	}
	p, base, err := startWire(s.URL, time.Duration(sc.WireSeconds*float64(time.Second)))
	if err != nil {
		_ = s.Close()
		return ep, "", nil, err
	}
	ep.base = base
	return ep, s.Desc, func() { _ = p.Close(); _ = s.Close() }, nil
}

// prebuilt are the Go limiter binaries built once per benchmark.
type prebuilt struct {
	httprate   string // limiters.BuildHTTPRate
	golimiters string // limiters.BuildGoLimiters
}

// kindSandbox marks a realScenario served by the in-process sandbox.
const kindSandbox = "sandbox"

// realRun is one trial of every mode asked: pinned uses the flags the
// adaptive run of the same trial suggested.
func realRun(ctx context.Context, o options, sc realScenario, bin, input, bodies, dir string, bins prebuilt, rows int) (map[string]trial, error) {
	ideal := sc.idealSeconds(rows)
	out := map[string]trial{}
	// start starts a fresh limiter; began is just before it did, the
	// earliest its windows can be aligned to (httprate aligns them to its
	// start; the process listens within limiters' 20 ms poll after that).
	start := func() (ep endpoint, began time.Time, stop func(), err error) {
		run, err := os.MkdirTemp(dir, "limiter-*")
		if err != nil {
			return endpoint{}, began, nil, fmt.Errorf("make temp dir: %w", err)
		}
		began = time.Now()
		ep, _, stop, err = startReal(ctx, sc, run, bins)
		if err != nil {
			return endpoint{}, began, nil, err
		}
		if sc.AfterSeconds > 0 {
			t := time.NewTimer(time.Until(began.Add(time.Duration(sc.AfterSeconds * float64(time.Second)))))
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
				stop()
				return endpoint{}, began, nil, ctx.Err()
			}
		}
		return ep, began, stop, nil
	}
	send := func(mode string, flags []string) error {
		ep, began, stop, err := start()
		if err != nil {
			return err
		}
		defer stop()
		t, err := sendOnce(ctx, bin, ep, mode, input, rows, realSendTimeout, ideal, o.keep, func(report string) []string {
			return sc.sendArgs(mode, input, ep.base, report, flags)
		})
		if err != nil {
			return err
		}
		sc.measureBest(&t, rows, began)
		out[mode] = t
		return nil
	}
	if slices.Contains(o.modes, modeAdaptive) {
		if err := send(modeAdaptive, nil); err != nil {
			return nil, err
		}
	}
	if slices.Contains(o.modes, modeDefault) {
		if err := send(modeDefault, nil); err != nil {
			return nil, err
		}
	}
	if slices.Contains(o.modes, modePinned) {
		var flags string
		if s := out[modeAdaptive].Summary; s != nil {
			flags = s.SuggestedFlags
		}
		if flags == "" {
			out[modePinned] = trial{Mode: modePinned, Error: "the adaptive run suggested no flags"}
		} else if err := send(modePinned, strings.Fields(flags)); err != nil {
			return nil, err
		}
	}
	if slices.Contains(o.modes, modeCurl) {
		ep, began, stop, err := start()
		if err != nil {
			return nil, err
		}
		t, err := runCurl(ctx, ep, bodies, rows, ideal)
		stop()
		if err != nil {
			return nil, err
		}
		sc.measureBest(&t, rows, began)
		out[modeCurl] = t
	}
	return out, nil
}

// curlArgs is the baseline: xargs runs one curl per line of the bodies
// file, 8 at a time, each retrying up to 5 times (curl retries a 429 and
// honours Retry-After, else backs off 1 s, 2 s, 4 s...). The answers go to
// stdout, which the harness discards: with -o /dev/null curl gives up on
// the first retry, failing to truncate the file (error 23).
func curlArgs(url string) []string {
	return []string{"xargs", "-d", `\n`, "-P", fmt.Sprint(curlWorkers), "-I{}",
		"curl", "-sS", "--retry", "5", "-H", "Content-Type: application/json", "--data-raw", "{}", url}
}

// runCurl sends every body through ep with curlArgs.
func runCurl(ctx context.Context, ep endpoint, bodies string, rows int, ideal float64) (trial, error) {
	t := trial{Mode: modeCurl}
	argv := curlArgs(ep.base + "/send")
	t.Command = benchcli.ShellJoin(argv...) + " < bodies.jsonl > /dev/null"
	in, err := os.Open(bodies)
	if err != nil {
		return t, fmt.Errorf("open bodies: %w", err)
	}
	defer in.Close()
	tctx, cancel := context.WithTimeout(ctx, realSendTimeout)
	defer cancel()
	cmd := exec.CommandContext(tctx, argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = in, io.Discard, &stderr
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	runErr := cmd.Run()
	wall := time.Since(start)
	t.firstSent = start // curl keeps no report: its first request goes out as xargs starts
	if err := ctx.Err(); err != nil {
		return t, fmt.Errorf("interrupted: %w", err)
	}
	t.TimedOut = errors.Is(tctx.Err(), context.DeadlineExceeded)
	if cmd.ProcessState != nil {
		code := cmd.ProcessState.ExitCode()
		t.ExitCode = &code
	} else {
		t.Error = fmt.Sprintf("run xargs: %v", runErr)
	}
	if code := t.ExitCode; code != nil && *code != 0 {
		t.Error = "curl: " + benchcli.LastLine(stderr.String())
	}
	t.Server = ep.stats()
	t.Acked = int(t.Server.Distinct) // curl keeps no report
	t.finish(rows, wall, ideal)
	return t, nil
}

// writeBodies writes the JSON body of every row, one a line, for curl;
// the same bodies bulksend renders from bodyTemplate.
func writeBodies(path string, rows []row) error {
	var b bytes.Buffer
	for _, r := range rows {
		line, err := json.Marshal(struct {
			ID string `json:"id"`
			To string `json:"to"`
		}{r.ID, r.To})
		if err != nil {
			return fmt.Errorf("write bodies: %w", err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write bodies: %w", err)
	}
	return nil
}

// realCell is one (scenario, mode) of the real table.
type realCell struct {
	cell
	Target *target `json:"target,omitempty"`
	// NotRun says why each trial left out did not run.
	NotRun []string `json:"not_run,omitempty"`
	// The second verdict: the same target judged against the server's
	// best (bestSeconds) instead of issue 11's ideal. BestSeconds is the
	// server's best in the trial at the median of EfficiencyVsBest.
	BestSeconds      float64  `json:"best_seconds,omitempty"`
	EfficiencyVsBest float64  `json:"efficiency_vs_best,omitempty"`
	VerdictVsBest    string   `json:"verdict_vs_best,omitempty"`
	MissesVsBest     []string `json:"misses_vs_best,omitempty"`
	bestRep          int
}

// newRealCell settles the trials of one mode that ran. A pinned trial does
// not run when its adaptive run suggested no flags; if none ran, the cell
// says so and, judged, misses: the summary owes the user flags to pin.
func newRealCell(mode string, trials []trial, rows int, tg target, judged bool) realCell {
	c := realCell{cell: cell{Mode: mode}}
	if judged {
		c.Target = &tg
	}
	for _, t := range trials {
		if t.ran() {
			c.Trials = append(c.Trials, t)
		} else {
			c.NotRun = append(c.NotRun, t.Error)
		}
	}
	if len(c.Trials) > 0 {
		c.settleAgainst(rows, tg, judged)
		c.settleVsBest(rows, tg, judged)
		return c
	}
	if judged {
		c.Verdict, c.Misses = benchcli.Miss, []string{"not run"}
	}
	return c
}

// settleVsBest judges the cell's trials as settleAgainst does, measured
// against the server's best instead of issue 11's ideal; it leaves the
// second verdict out unless every trial has a best.
func (c *realCell) settleVsBest(rows int, tg target, judged bool) {
	alt := cell{Mode: c.Mode, Trials: slices.Clone(c.Trials)}
	for i := range alt.Trials {
		if alt.Trials[i].BestSeconds <= 0 {
			return
		}
		alt.Trials[i].Efficiency = alt.Trials[i].EfficiencyVsBest
	}
	alt.settleAgainst(rows, tg, judged)
	c.bestRep = alt.Representative
	c.BestSeconds = alt.Trials[alt.Representative].BestSeconds
	c.EfficiencyVsBest, c.VerdictVsBest, c.MissesVsBest = alt.Efficiency, alt.Verdict, alt.Misses
}

// measureBest fills in t's server's best and its efficiency against it;
// began is when the limiter was started, for a server whose windows are
// aligned to its start (phaseMatters). Without the run's first request
// such a trial has no best.
func (sc realScenario) measureBest(t *trial, rows int, began time.Time) {
	var phase time.Duration
	if sc.phaseMatters() {
		if t.firstSent.IsZero() || began.IsZero() {
			return
		}
		w := sc.window()
		phase = t.firstSent.Sub(began) % w
		if phase < 0 {
			phase += w
		}
		p := round(phase.Seconds(), 3)
		t.PhaseSeconds = &p
	}
	t.BestSeconds = round(sc.bestSeconds(rows, phase), 3)
	if t.WallSeconds > 0 {
		t.EfficiencyVsBest = round(t.BestSeconds/t.WallSeconds, 3)
	}
}

// ran tells a trial that was measured from one that was skipped.
func (t trial) ran() bool { return t.Server.Requests > 0 || t.ExitCode != nil || t.TimedOut }

// realScenarioResult is one scenario's rows.
type realScenarioResult struct {
	realScenario
	Desc         string     `json:"desc"`
	IdealSeconds float64    `json:"ideal_seconds"`
	Cells        []realCell `json:"cells"`
	Probes       []probeRun `json:"probes,omitempty"`
}

// realResult is what -real measured; -json prints it as is.
type realResult struct {
	Command        string               `json:"command"`
	Bin            string               `json:"bin,omitempty"`
	Rows           int                  `json:"rows"`
	Repeat         int                  `json:"repeat"`
	Concurrency    int                  `json:"concurrency"` // the default; a scenario's own (:conc=N) is its concurrency
	Modes          []string             `json:"modes"`
	Scenarios      []realScenarioResult `json:"scenarios"`
	Pass           int                  `json:"pass"`
	Miss           int                  `json:"miss"`
	PassVsBest     int                  `json:"pass_vs_best"`
	MissVsBest     int                  `json:"miss_vs_best"`
	ElapsedSeconds float64              `json:"elapsed_seconds"`
}

// benchReal runs the real-limiter table: per scenario, Repeat trials of
// every mode, each on a freshly started limiter.
func benchReal(ctx context.Context, o options, progress io.Writer) (*realResult, error) {
	began := time.Now()
	build := slices.ContainsFunc(o.modes, func(m string) bool { return m != modeCurl })
	dir, bin, cleanup, err := benchcli.Workspace(ctx, "limits", o.bin, build, progress)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	var bins prebuilt
	for _, sc := range o.real {
		if sc.Kind != kindSandbox {
			if err := limiters.Available(limiters.Kind(sc.Kind), ""); err != nil {
				return nil, err
			}
		}
		if sc.Kind == string(limiters.HTTPRate) && bins.httprate == "" {
			fmt.Fprintln(progress, "limits: building the httprate limiter")
			if bins.httprate, err = limiters.BuildHTTPRate(ctx, "", dir); err != nil {
				return nil, err
			}
		}
		if limiters.IsGoLimiter(limiters.Kind(sc.Kind)) && bins.golimiters == "" {
			fmt.Fprintln(progress, "limits: building the Go limiters")
			if bins.golimiters, err = limiters.BuildGoLimiters(ctx, "", dir); err != nil {
				return nil, err
			}
		}
	}
	res := &realResult{
		Command: benchcli.ShellJoin(append([]string{"go", "run", "./bench/limits"}, o.args...)...),
		Bin:     bin, Rows: o.rows, Repeat: o.repeat, Concurrency: sendConcurrency, Modes: o.modes,
	}
	total, done := len(o.real)*o.repeat, 0
	for _, sc := range o.real {
		n := sc.rows(o.rows)
		input, bodies, err := writeInputs(dir, n)
		if err != nil {
			return nil, err
		}
		sr := realScenarioResult{realScenario: sc, IdealSeconds: round(sc.idealSeconds(n), 3)}
		trials := map[string][]trial{}
		for range o.repeat {
			got, err := realRun(ctx, o, sc, bin, input, bodies, dir, bins, n)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", sc.Name, err)
			}
			done++
			for _, m := range sendModes(o.modes) {
				trials[m] = append(trials[m], got[m])
				fmt.Fprintf(progress, "[%d/%d] %s %s: %s\n", done, total, sc.Name, m, got[m].line())
			}
			if slices.Contains(o.modes, modeProbe) {
				p, err := probeOnce(ctx, sc, bin, dir, bins)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", sc.Name, err)
				}
				sr.Probes = append(sr.Probes, p)
				fmt.Fprintf(progress, "[%d/%d] %s probe: %s in %.2f s; %s\n", done, total, sc.Name, p.summary(), p.WallSeconds, strings.Join(p.Misses, ", "))
			}
		}
		for _, m := range sendModes(o.modes) {
			tg, judged := sc.target(m)
			c := newRealCell(m, trials[m], n, tg, judged)
			switch c.Verdict {
			case benchcli.Pass:
				res.Pass++
			case benchcli.Miss:
				res.Miss++
			}
			switch c.VerdictVsBest {
			case benchcli.Pass:
				res.PassVsBest++
			case benchcli.Miss:
				res.MissVsBest++
			}
			sr.Cells = append(sr.Cells, c)
		}
		sr.Desc = describeReal(sc)
		res.Scenarios = append(res.Scenarios, sr)
	}
	res.ElapsedSeconds = round(time.Since(began).Seconds(), 1)
	return res, nil
}

// writeInputs writes n rows for bulksend and their bodies for curl into
// dir, once per n.
func writeInputs(dir string, n int) (input, bodies string, err error) {
	input, bodies = filepath.Join(dir, fmt.Sprintf("rows-%d.csv", n)), filepath.Join(dir, fmt.Sprintf("bodies-%d.jsonl", n))
	if _, err := os.Stat(input); err == nil {
		return input, bodies, nil
	}
	rows := makeRows(n)
	if err := writeRows(input, rows); err != nil {
		return "", "", err
	}
	if err := writeBodies(bodies, rows); err != nil {
		return "", "", err
	}
	return input, bodies, nil
}

// describeReal names sc's configuration for the table.
func describeReal(sc realScenario) string {
	var d string
	switch {
	case sc.NoBurst:
		d = fmt.Sprintf("%s: no burst, %g/s", sc.Name, float64(sc.Limit)/sc.WindowSeconds)
	case sc.Delay > 0:
		d = fmt.Sprintf("%s: burst %d queued past %d, %g/s", sc.Name, sc.Burst, sc.Delay, float64(sc.Limit)/sc.WindowSeconds)
	case sc.Queue:
		d = fmt.Sprintf("%s: burst %d queued, %g/s", sc.Name, sc.Burst, float64(sc.Limit)/sc.WindowSeconds)
	case sc.Algorithm == algoLeaky || sc.Algorithm == algoBucket:
		d = fmt.Sprintf("%s: burst %d, %g/s", sc.Name, sc.Burst, float64(sc.Limit)/sc.WindowSeconds)
	default:
		d = fmt.Sprintf("%s: %d per %s", sc.Name, sc.Limit, sc.window())
	}
	if sc.Rows > 0 {
		d += fmt.Sprintf(", %d rows", sc.Rows)
	}
	if sc.Concurrency > 0 {
		d += fmt.Sprintf(", --concurrency %d", sc.Concurrency)
	}
	if sc.LatencySeconds > 0 {
		d += fmt.Sprintf(", backend %v", time.Duration(sc.LatencySeconds*float64(time.Second)))
	}
	if sc.WireSeconds > 0 {
		d += fmt.Sprintf(", every round trip %v longer", time.Duration(sc.WireSeconds*float64(time.Second)))
	}
	if sc.AfterSeconds > 0 {
		d += fmt.Sprintf(", the job %v after the limiter started", time.Duration(sc.AfterSeconds*float64(time.Second)))
	}
	return d
}

// markdown is the real-limiter table, then how it was made.
func (r *realResult) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Real limiters on loopback (internal/limiters), each started fresh per run; %d rows, --concurrency %d (unless a row says otherwise); median of %d by efficiency.\n",
		r.Rows, r.Concurrency, r.Repeat)
	b.WriteString("ideal: bucket (N - burst)/rate; fixed window (ceil(N/L) - 1) x W; sliding window (N - L)/(L/W). eff = ideal / wall. ")
	b.WriteString("429s = answers 429 (share of all requests). Targets (issue 11): adaptive eff >= 0.85 and <= 3% 429s; ")
	b.WriteString("pinned (the flags the adaptive run's summary suggested) eff >= 0.95 and no 429 on buckets and sliding windows, eff >= 0.9 on fixed windows; every row delivered once.\n")
	b.WriteString("best s: the server's best, the least time a client with no round trip and unlimited concurrency needs through a model of the real limiter (sliding counters: each request at the first moment the counter admits it; httprate's windows follow its start, so the best depends on the phase, how far into its window the first request came); eff vs best = best / wall, judged on the same targets.\n\n")
	b.WriteString("| limiter | algorithm | mode | delivered once | dup | 429s | wall s | ideal s | eff | verdict | best s | eff vs best | verdict vs best | flags, learned |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, sr := range r.Scenarios {
		for _, c := range sr.Cells {
			fmt.Fprintf(&b, "| %s | %s | %s |%s| %.2f | %s | %s |%s| %s |\n", sr.Desc, sr.Algorithm, c.Mode, c.columns(), sr.IdealSeconds, c.effText(), c.verdictText(), c.bestColumns(), c.detail(sr.concurrency()))
		}
		if len(sr.Probes) > 0 {
			b.WriteString(probeRow(sr))
		}
	}
	fmt.Fprintf(&b, "\n%d PASS, %d MISS against issue 11's ideal (%d PASS, %d MISS against the server's best); benchmark took %.0f s.\n\n",
		r.Pass, r.Miss, r.PassVsBest, r.MissVsBest, r.ElapsedSeconds)
	b.WriteString("Command line: `" + r.Command + "`\n\n")
	adaptive := append(sendArgs(modeAdaptive, "$ROWS", "$URL", "$REPORT"), "--concurrency", fmt.Sprint(sendConcurrency))
	b.WriteString("- adaptive: `" + benchcli.ShellJoin(append([]string{"bulksend"}, adaptive...)...) + "` (a row's own --concurrency in its place)\n")
	if slices.Contains(r.Modes, modeDefault) {
		b.WriteString("- default: the same without `--concurrency` (bulksend's own pool of " + fmt.Sprint(sender.DefaultConcurrency) + ", not pinned), a row's own too\n")
	}
	b.WriteString("- pinned: the adaptive command plus the adaptive run's `suggested_flags`\n")
	b.WriteString("- curl: `" + benchcli.ShellJoin(curlArgs("$URL/send")...) + " < bodies.jsonl > /dev/null`\n")
	if slices.Contains(r.Modes, modeProbe) {
		b.WriteString("- probe: `bulksend probe $URL/send --json`, default flags; right when it names the model, a window's limit within 10% and length within 20% (a bucket's rate within 10%); the row shows the first run that was wrong\n")
	}
	for _, sr := range r.Scenarios {
		fmt.Fprintf(&b, "- %s: %s\n", sr.Name, sr.Notes)
	}
	return b.String()
}

// columns are delivered once, dup, 429s and wall s of the median trial.
func (c *realCell) columns() string {
	if len(c.Trials) == 0 {
		return " - | - | - | - "
	}
	t := c.Trials[c.Representative]
	once := "yes"
	if !c.DeliveredOnce {
		once = "**no**: " + t.Delivered
		for _, o := range c.Trials {
			if !o.DeliveredOnce {
				once = "**no**: " + o.Delivered
				break
			}
		}
	}
	wall := fmt.Sprintf("%.2f", t.WallSeconds)
	if t.TimedOut {
		wall += " (timeout)"
	}
	return fmt.Sprintf(" %s | %d | %d (%s) | %s ", once, t.Server.Duplicates, t.Server.Throttled, percent(t.ThrottledShare), wall)
}

// bestColumns are best s, eff vs best and verdict vs best.
func (c *realCell) bestColumns() string {
	if c.BestSeconds <= 0 {
		return " - | - | - "
	}
	best := fmt.Sprintf("%.2f", c.BestSeconds)
	if p := c.Trials[c.bestRep].PhaseSeconds; p != nil {
		best += fmt.Sprintf(" (phase %.3f)", *p)
	}
	verdict := "-"
	if c.VerdictVsBest != "" {
		verdict = c.VerdictVsBest
		if len(c.MissesVsBest) > 0 {
			verdict = "**" + c.VerdictVsBest + "**: " + strings.Join(c.MissesVsBest, ", ")
		}
	}
	return fmt.Sprintf(" %s | %.2f | %s ", best, c.EfficiencyVsBest, verdict)
}

func (c *realCell) effText() string {
	if len(c.Trials) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", c.Efficiency)
}

func (c *realCell) verdictText() string {
	if c.Verdict == "" {
		return "-"
	}
	if len(c.Misses) > 0 {
		return "**" + c.Verdict + "**: " + strings.Join(c.Misses, ", ")
	}
	return c.Verdict
}

// detail is the suggested flags (adaptive), the flags used (pinned) or
// the dropped rows (curl), and any error; conc is the scenario's
// --concurrency, after which a pinned run's command has its flags.
func (c *realCell) detail(conc int) string {
	var parts []string
	if n := len(c.NotRun); n > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d not run: %s", n, n+len(c.Trials), c.NotRun[0]))
	}
	if len(c.Trials) == 0 {
		return strings.Join(parts, "; ")
	}
	t := c.Trials[c.Representative]
	if s := t.Summary; s != nil && (c.Mode == modeAdaptive || c.Mode == modeDefault) {
		if s.LearnedModel != "" {
			learned := "learned " + s.LearnedModel
			if s.LearnedWindow > 0 {
				learned += fmt.Sprintf(" (window %.3gs)", s.LearnedWindow)
			}
			parts = append(parts, learned)
		}
		if s.SuggestedFlags != "" {
			parts = append(parts, "suggests `"+s.SuggestedFlags+"`")
		}
	}
	if c.Mode == modePinned && t.Command != "" {
		if _, f, ok := strings.Cut(t.Command, "--concurrency "+fmt.Sprint(conc)); ok {
			if f = strings.TrimSpace(f); f != "" {
				parts = append(parts, "`"+f+"`")
			}
		}
	}
	if c.Mode == modeCurl && t.Dropped > 0 {
		parts = append(parts, fmt.Sprintf("%d rows never delivered", t.Dropped))
	}
	if t.ExitCode != nil && *t.ExitCode != 0 {
		parts = append(parts, fmt.Sprintf("exit %d", *t.ExitCode))
	}
	if t.Error != "" {
		parts = append(parts, t.Error)
	}
	return strings.ReplaceAll(strings.Join(parts, "; "), "|", `\|`)
}

// startSandboxEndpoint serves sc from a fresh in-process sandbox: a token
// bucket of sc.Burst refilled at Limit/Window per second, in sc.Style.
func startSandboxEndpoint(ctx context.Context, sc realScenario) (endpoint, string, func(), error) {
	srv, base, stop, err := sandboxtest.Serve(ctx, sandbox.Config{Burst: sc.Burst, Rate: float64(sc.Limit) / sc.WindowSeconds, Style: sc.Style})
	if err != nil {
		return endpoint{}, "", nil, err
	}
	return endpoint{base: base, stats: func() serverStats { return statsOf(srv.Stats()) }}, "sandbox " + sc.Style, stop, nil
}

// sendModes are the modes that send the rows, in table order.
func sendModes(modes []string) []string {
	var out []string
	for _, m := range modes {
		if m != modeProbe {
			out = append(out, m)
		}
	}
	return out
}

// probeOnce probes a freshly started limiter for sc.
func probeOnce(ctx context.Context, sc realScenario, bin, dir string, bins prebuilt) (probeRun, error) {
	run, err := os.MkdirTemp(dir, "limiter-*")
	if err != nil {
		return probeRun{}, fmt.Errorf("make temp dir: %w", err)
	}
	ep, _, stop, err := startReal(ctx, sc, run, bins)
	if err != nil {
		return probeRun{}, err
	}
	defer stop()
	return runProbe(ctx, bin, ep, sc)
}
