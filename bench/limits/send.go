package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bulksend/bulksend/sandbox"

	"github.com/bulksend/bulksend/bench/internal/benchcli"
)

// bodyTemplate is the --body every bulksend run renders.
const bodyTemplate = `{"id": {{json .id}}, "to": {{json .to}}}`

// trial is one measured send of every row, by bulksend or the naive client.
type trial struct {
	Mode string `json:"mode"`
	// Command is the exact bulksend command line (with this run's
	// temporary paths and port); empty for naive.
	Command        string  `json:"command,omitempty"`
	WallSeconds    float64 `json:"wall_seconds"` // measured by the harness, process start to exit
	Efficiency     float64 `json:"efficiency"`   // ideal / wall
	ThrottledShare float64 `json:"throttled_share"`
	TimedOut       bool    `json:"timed_out,omitempty"`
	Error          string  `json:"error,omitempty"`
	// ExitCode is bulksend's; nil for naive, and -1 when it was killed.
	ExitCode *int `json:"exit_code,omitempty"`
	// Acked is, for bulksend, the rows its report says were sent; for
	// naive, the rows that got a 2xx (the rest were dropped).
	Acked int `json:"acked"`
	// Dropped is, for naive, the rows it gave up on (or never reached).
	Dropped       int         `json:"dropped,omitempty"`
	Delivered     string      `json:"delivered"` // "400/400" or "397/400 (2 dup)"
	DeliveredOnce bool        `json:"delivered_once"`
	Summary       *summary    `json:"summary,omitempty"`
	Server        serverStats `json:"server"`
	// Kept is the run's report kept by -keep (its .json and .err beside it).
	Kept string `json:"kept,omitempty"`
	// The real table's second measure: BestSeconds is the server's best
	// for this trial (see bestSeconds), EfficiencyVsBest best / wall, and
	// PhaseSeconds, where windows are aligned to the limiter's start, how
	// far into its window the first request came.
	BestSeconds      float64  `json:"best_seconds,omitempty"`
	EfficiencyVsBest float64  `json:"efficiency_vs_best,omitempty"`
	PhaseSeconds     *float64 `json:"phase_seconds,omitempty"`
	// firstSent is the run's first request, from the report (or, for
	// curl, when xargs started).
	firstSent time.Time
}

// summary is the part of bulksend's --json summary the benchmark reads.
type summary struct {
	Sent           int     `json:"sent"`
	Failed         int     `json:"failed"`
	Requests       int     `json:"requests"`
	Throttled      int     `json:"throttled"`
	Pauses         int     `json:"throttle_pauses"`
	PausedSeconds  float64 `json:"paused_seconds"`
	Retries        int     `json:"retries"`
	LearnedBurst   int     `json:"learned_burst"`
	LearnedRate    float64 `json:"learned_rate_per_second"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	LearnedModel   string  `json:"learned_model,omitempty"`
	LearnedWindow  float64 `json:"learned_window_seconds,omitempty"`
	SuggestedFlags string  `json:"suggested_flags,omitempty"`
	Stopped        string  `json:"stopped,omitempty"`
	ExitCode       int     `json:"exit_code"`
}

// serverStats is what the sandbox saw: the ground truth of a run.
type serverStats struct {
	Requests   int64 `json:"requests"`
	Delivered  int64 `json:"delivered"`
	Distinct   int64 `json:"distinct"`
	Duplicates int64 `json:"duplicates"`
	Throttled  int64 `json:"throttled"`
	// Failed are the other answers outside 2xx, and for a real limiter
	// the requests its tap could not pass on (answered 502).
	Failed int64 `json:"failed,omitempty"`
}

func statsOf(s sandbox.Stats) serverStats {
	return serverStats{Requests: s.Requests, Delivered: s.Delivered, Distinct: s.Distinct, Duplicates: s.Duplicates, Throttled: s.Throttled, Failed: s.Failed}
}

// idealSeconds is the least time rows can take: the burst leaves at once,
// the rest at the server's rate.
func idealSeconds(rows int) float64 {
	return float64(rows-serverBurst) / serverRate
}

// finish fills in what follows from the measurements; ideal is the least
// time the server allows for rows, in seconds.
func (t *trial) finish(rows int, wall time.Duration, ideal float64) {
	t.WallSeconds = round(wall.Seconds(), 3)
	if wall > 0 {
		t.Efficiency = round(ideal/wall.Seconds(), 3)
	}
	if t.Server.Requests > 0 {
		t.ThrottledShare = round(float64(t.Server.Throttled)/float64(t.Server.Requests), 4)
	}
	t.Delivered = fmt.Sprintf("%d/%d", t.Server.Distinct, rows)
	if t.Server.Duplicates > 0 {
		t.Delivered += fmt.Sprintf(" (%d dup)", t.Server.Duplicates)
	}
	if t.Mode == modeNaive || t.Mode == modeCurl {
		t.Dropped = rows - t.Acked
	} else if int64(t.Acked) != t.Server.Distinct {
		t.Delivered += fmt.Sprintf(", report says %d sent", t.Acked)
	}
	t.DeliveredOnce = t.Server.Distinct == int64(rows) && t.Server.Duplicates == 0 && t.Acked == rows
}

// sendArgs is the bulksend command line for mode; base is the sandbox URL.
func sendArgs(mode, input, base, report string) []string {
	args := []string{"send", input, "--url", base + "/send", "--body", bodyTemplate, "--report", report, "--json", "--quiet"}
	if mode == modeFixed {
		args = append(args, "--rate", strconv.FormatFloat(serverRate, 'f', -1, 64)+"/s", "--burst", strconv.Itoa(serverBurst))
	}
	return args
}

// runSend runs bulksend once against a fresh sandbox. Its error is the
// harness's own failure; whatever bulksend does is recorded in the trial.
func runSend(ctx context.Context, bin string, sc scenario, mode, input string, rows int, keep *keeper) (trial, error) {
	srv, base, stop, err := startSandbox(ctx, sc)
	if err != nil {
		return trial{Mode: mode}, err
	}
	defer stop()
	ep := endpoint{base: base, stats: func() serverStats { return statsOf(srv.Stats()) }}
	return sendOnce(ctx, bin, ep, mode, input, rows, sendTimeout, idealSeconds(rows), keep, func(report string) []string {
		return sendArgs(mode, input, base, report)
	})
}

// endpoint is a running server a trial sends to: its base URL and its
// counts, the ground truth of the trial.
type endpoint struct {
	base  string
	stats func() serverStats
}

// sendOnce runs bulksend with args(report) against ep, within timeout, and
// measures it against ideal seconds; keep, if not nil, keeps its report,
// summary and stderr. Its error is the harness's own failure; whatever
// bulksend does is recorded in the trial.
func sendOnce(ctx context.Context, bin string, ep endpoint, mode, input string, rows int, timeout time.Duration, ideal float64, keep *keeper,
	args func(report string) []string) (trial, error) {
	t := trial{Mode: mode}
	dir, err := os.MkdirTemp("", "bench-limits-run-*")
	if err != nil {
		return t, fmt.Errorf("make temp dir: %w", err)
	}
	defer os.RemoveAll(dir)

	report := filepath.Join(dir, "r.csv")
	argv := args(report)
	t.Command = benchcli.ShellJoin(append([]string{bin}, argv...)...)
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(tctx, bin, argv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second // the pipes may outlive a killed process

	start := time.Now()
	runErr := cmd.Run()
	wall := time.Since(start)
	if err := ctx.Err(); err != nil {
		return t, fmt.Errorf("interrupted: %w", err)
	}
	t.Server = ep.stats()
	t.TimedOut = errors.Is(tctx.Err(), context.DeadlineExceeded)
	var problems []string
	if cmd.ProcessState != nil {
		code := cmd.ProcessState.ExitCode()
		t.ExitCode = &code
	} else {
		problems = append(problems, fmt.Sprintf("run bulksend: %v", runErr))
	}
	if !t.TimedOut && cmd.ProcessState != nil {
		var s summary
		if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
			problems = append(problems, fmt.Sprintf("read summary: %v (stderr: %q)", err, benchcli.LastLine(stderr.String())))
		} else {
			t.Summary = &s
		}
	}
	if f, err := os.Open(report); err == nil {
		facts, err := readReport(f)
		f.Close()
		t.Acked, t.firstSent = facts.Sent, facts.First
		if err != nil {
			problems = append(problems, err.Error())
		}
	} else if !t.TimedOut {
		problems = append(problems, fmt.Sprintf("open report: %v", err))
	}
	if keep != nil {
		if t.Kept, err = keep.keep(mode, report, stdout.Bytes(), stderr.Bytes()); err != nil {
			problems = append(problems, err.Error())
		}
	}
	t.Error = strings.Join(problems, "; ")
	t.finish(rows, wall, ideal)
	return t, nil
}

// keeper keeps each run's files for -keep, numbered in the order run.
type keeper struct {
	dir string
	n   int
}

// keep copies the report (if any) and writes the summary and stderr as
// dir/NNN-mode.csv, .json and .err; it returns the report's path.
func (k *keeper) keep(mode, report string, stdout, stderr []byte) (string, error) {
	if err := os.MkdirAll(k.dir, 0o755); err != nil {
		return "", fmt.Errorf("keep: %w", err)
	}
	k.n++
	base := filepath.Join(k.dir, fmt.Sprintf("%03d-%s", k.n, mode))
	files := map[string][]byte{".json": stdout, ".err": stderr}
	if b, err := os.ReadFile(report); err == nil {
		files[".csv"] = b
	}
	for ext, b := range files {
		if err := os.WriteFile(base+ext, b, 0o644); err != nil {
			return "", fmt.Errorf("keep: %w", err)
		}
	}
	return base + ".csv", nil
}

// reportFacts is what the harness reads from bulksend's report: the rows
// sent, and the earliest sent_at, the run's first request as near as the
// report tells it (zero if no row has one).
type reportFacts struct {
	Sent  int
	First time.Time
}

// readReport reads a report's facts. It reads the status and sent_at
// columns by name, so the report may add or move columns; a sent_at it
// cannot read (RFC 3339) is left out.
func readReport(r io.Reader) (reportFacts, error) {
	var f reportFacts
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return f, fmt.Errorf("read report header: %w", err)
	}
	col, at := -1, -1
	for i, h := range header {
		switch strings.TrimPrefix(h, "\ufeff") {
		case "status":
			if col < 0 {
				col = i
			}
		case "sent_at":
			if at < 0 {
				at = i
			}
		}
	}
	if col < 0 {
		return f, errors.New("read report: no status column")
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return f, nil
		}
		if err != nil {
			return f, fmt.Errorf("read report: %w", err)
		}
		if col < len(rec) && rec[col] == "sent" {
			f.Sent++
		}
		if at >= 0 && at < len(rec) && rec[at] != "" {
			if t, err := time.Parse(time.RFC3339Nano, rec[at]); err == nil && (f.First.IsZero() || t.Before(f.First)) {
				f.First = t
			}
		}
	}
}
