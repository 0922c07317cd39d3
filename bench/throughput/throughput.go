package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bulksend/bulksend/bench/internal/benchcli"
	"github.com/bulksend/bulksend/internal/testkit"
)

// The throughput clients, in table order.
const (
	clientBulksend = "bulksend"
	clientMinimal  = "minimal"
	clientVegeta   = "vegeta"
)

var allClients = []string{clientBulksend, clientMinimal, clientVegeta}

// vegetaModule is what the harness installs when no vegeta is at hand;
// pinned, so two machines measure the same vegeta.
const vegetaModule = "github.com/tsenart/vegeta/v12@v12.13.0"

// sendSummary is the part of bulksend's --json summary the harness reads.
type sendSummary struct {
	Sent           int     `json:"sent"`
	Requests       int     `json:"requests"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	ExitCode       int     `json:"exit_code"`
}

// trial is one client sending every row once to a fresh sandbox.
type trial struct {
	Client string `json:"client"`
	// Delivered and Duplicates are the sandbox's: distinct messages it
	// delivered, and deliveries of a message it already had.
	Delivered  int64 `json:"delivered"`
	Duplicates int64 `json:"duplicates"`
	// Acked is what the client says went through: bulksend's report
	// summary, the minimal client's 2xx count, -1 for vegeta.
	Acked int `json:"acked"`
	// ServerSeconds is the sandbox's first to last delivery: the sending
	// itself, without process start, input setup or report compaction.
	ServerSeconds float64   `json:"server_seconds"`
	ClientProc    procStats `json:"client_proc"`
	ServerProc    procStats `json:"server_proc"`
	Error         string    `json:"error,omitempty"`
}

// wallRate is messages per second over the client process's lifetime.
func (t trial) wallRate() float64 { return ratio(float64(t.Delivered), t.ClientProc.WallSeconds) }

// serverRate is messages per second over the sandbox's delivery span.
func (t trial) serverRate() float64 { return ratio(float64(t.Delivered), t.ServerSeconds) }

// clientCPU and serverCPU are CPU microseconds per message.
func (t trial) clientCPU() float64 { return ratio(t.ClientProc.CPUSeconds*1e6, float64(t.Delivered)) }
func (t trial) serverCPU() float64 { return ratio(t.ServerProc.CPUSeconds*1e6, float64(t.Delivered)) }

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// measureThroughput runs every client -repeat times, interleaved, so slow
// spells of a shared machine spread over all of them.
func measureThroughput(ctx context.Context, e *env) (*throughputResult, error) {
	rowsPath := filepath.Join(e.dir, "throughput.csv")
	if err := writeRows(rowsPath, e.o.rows); err != nil {
		return nil, err
	}
	defer os.Remove(rowsPath)
	ts, err := renderTargets(rowsPath)
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the harness binary for the minimal client: %w", err)
	}
	res := &throughputResult{Rows: e.o.rows, Concurrency: e.o.concurrency, Repeat: e.o.repeat, Commands: map[string]string{}}
	cells := map[string]*clientCell{}
	for _, c := range e.o.clients {
		cells[c] = &clientCell{Client: c}
		if c == clientVegeta && e.vegeta == "" {
			cells[c].Skipped = e.noVegeta
		}
	}
	for i := range e.o.repeat {
		for _, c := range e.o.clients {
			cell := cells[c]
			if cell.Skipped != "" {
				continue
			}
			t, cmdline, err := runClient(ctx, e, c, self, rowsPath, ts)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c, err)
			}
			res.Commands[c] = cmdline
			cell.Trials = append(cell.Trials, t)
			fmt.Fprintf(e.log, "[%d/%d] %s: %s\n", i+1, e.o.repeat, c, t.line(e.o.rows))
		}
	}
	for _, c := range e.o.clients {
		cells[c].settle(e.o.rows)
		res.Clients = append(res.Clients, *cells[c])
	}
	res.judge()
	return res, nil
}

// runClient makes one trial of client c against a fresh sandbox; cmdline
// is the client's command with the run's paths as placeholders.
func runClient(ctx context.Context, e *env, c, self, rowsPath string, ts []target) (t trial, cmdline string, err error) {
	t = trial{Client: c, Acked: -1}
	sb, err := startSandbox(ctx, e.bin, e.dir)
	if err != nil {
		return t, "", err
	}
	stopped := false
	defer func() {
		if !stopped {
			sb.stop()
		}
	}()
	n := strconv.Itoa(e.o.concurrency)
	url := sb.base + "/send"
	targets := filepath.Join(e.dir, "targets.jsonl")
	report := filepath.Join(e.dir, "throughput.report.csv")
	var (
		name string
		args []string
	)
	switch c {
	case clientBulksend:
		name = e.bin
		args = bulksendSendArgs(rowsPath, sb.base, report, n)
		cmdline = benchcli.ShellJoin(append([]string{"bulksend"}, bulksendSendArgs("rows.csv", "$SANDBOX", "rows.report.csv", n)...)...)
	case clientMinimal, clientVegeta:
		if err := writeTargets(targets, url, ts); err != nil {
			return t, "", err
		}
		defer os.Remove(targets)
		if c == clientMinimal {
			name, args = self, minimalArgs(targets, n)
			cmdline = benchcli.ShellJoin(append([]string{"throughput"}, minimalArgs("targets.jsonl", n)...)...)
		} else {
			name, args = e.vegeta, vegetaArgs(targets, n)
			cmdline = benchcli.ShellJoin(append([]string{"vegeta"}, vegetaArgs("targets.jsonl", n)...)...)
		}
	}
	var stdout bytes.Buffer
	ps, tail, err := e.measure(ctx, &stdout, name, args...)
	if err != nil {
		return t, "", err
	}
	t.ClientProc = ps
	st, err := sb.stats(ctx)
	if err != nil {
		return t, "", err
	}
	t.ServerProc, stopped = sb.stop(), true
	t.Delivered, t.Duplicates = st.Distinct, st.Duplicates
	if !st.FirstAt.IsZero() {
		t.ServerSeconds = st.LastAt.Sub(st.FirstAt).Seconds()
	}
	var problems []string
	switch c {
	case clientBulksend:
		var s sendSummary
		if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
			problems = append(problems, fmt.Sprintf("read summary: %v", err))
		} else {
			t.Acked = s.Sent
		}
		os.Remove(report)
	case clientMinimal:
		var s minimalSummary
		if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
			problems = append(problems, fmt.Sprintf("read summary: %v", err))
		} else {
			t.Acked = s.OK
		}
	}
	if ps.ExitCode != 0 {
		problems = append(problems, fmt.Sprintf("exit %d: %s", ps.ExitCode, tail))
	}
	t.Error = strings.Join(problems, "; ")
	return t, cmdline, nil
}

// bulksendSendArgs is the measured send: unpaced, n in flight, report on.
func bulksendSendArgs(rows, base, report, n string) []string {
	return []string{"send", rows, "--url", base + "/send", "--body", bodyTemplate,
		"--rate", "0", "--concurrency", n, "--report", report, "--force", "--quiet", "--json"}
}

func vegetaArgs(targets, n string) []string {
	// -lazy reads each target once and stops at the end of the file
	// (without it vegeta loops over them until -duration); results go to
	// the null device, since the sandbox counts deliveries.
	return []string{"attack", "-format", "json", "-lazy", "-targets", targets,
		"-rate", "0", "-workers", n, "-max-workers", n, "-output", os.DevNull}
}

// findVegeta returns the vegeta binary to run, or "" and why there is none.
// Without -vegeta it looks on PATH and in GOPATH/bin, then go installs the
// pinned version into dir.
func findVegeta(ctx context.Context, flagPath, dir string, log io.Writer) (path, why string) {
	if flagPath != "" {
		if _, err := os.Stat(flagPath); err != nil {
			return "", fmt.Sprintf("-vegeta %s: %v", flagPath, err)
		}
		return flagPath, ""
	}
	if p, err := exec.LookPath("vegeta"); err == nil {
		return p, ""
	}
	if out, err := exec.CommandContext(ctx, "go", "env", "GOPATH").Output(); err == nil {
		for gp := range strings.SplitSeq(strings.TrimSpace(string(out)), string(os.PathListSeparator)) {
			p := filepath.Join(gp, "bin", testkit.ExeName("vegeta"))
			if _, err := os.Stat(p); err == nil {
				return p, ""
			}
		}
	}
	fmt.Fprintf(log, "throughput: go install %s\n", vegetaModule)
	gobin := filepath.Join(dir, "gobin")
	cmd := exec.CommandContext(ctx, "go", "install", vegetaModule)
	cmd.Env = append(os.Environ(), "GOBIN="+gobin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Sprintf("go install %s failed: %v: %s", vegetaModule, err, benchcli.LastLine(out.String()))
	}
	return filepath.Join(gobin, testkit.ExeName("vegeta")), ""
}

// line is a trial in one line, for the progress log.
func (t trial) line(rows int) string {
	s := fmt.Sprintf("%d/%d delivered", t.Delivered, rows)
	if t.Duplicates > 0 {
		s += fmt.Sprintf(" (%d dup)", t.Duplicates)
	}
	s += fmt.Sprintf(" in %.2f s: %.0f msgs/s wall, %.0f msgs/s server span; client CPU %.1f µs/msg, sandbox %.1f µs/msg, client peak RSS %s",
		t.ClientProc.WallSeconds, t.wallRate(), t.serverRate(), t.clientCPU(), t.serverCPU(), mib(t.ClientProc.MaxRSSKB))
	if t.Error != "" {
		s += "; error: " + t.Error
	}
	return s
}
