package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/bulksend/bulksend/bench/internal/benchcli"
)

// The memory section's modes.
const (
	memSend   = "send"
	memDryRun = "dry-run"
)

// memRun is one bulksend process over a file of Rows rows.
type memRun struct {
	Mode  string    `json:"mode"`
	Rows  int       `json:"rows"`
	Proc  procStats `json:"proc"`
	Sent  int       `json:"sent,omitempty"` // send: rows the summary says were sent
	Error string    `json:"error,omitempty"`
}

// dryRunArgs renders every row and sends nothing; the URL is never used.
func dryRunArgs(rows string) []string {
	return []string{"send", rows, "--url", "http://127.0.0.1:9/send", "--body", bodyTemplate, "--dry-run", "--quiet"}
}

// measureMemory runs bulksend over growing files, sends and dry runs, and
// records each process's peak RSS. Every size's file is written once.
func measureMemory(ctx context.Context, e *env) (*memoryResult, error) {
	res := &memoryResult{SendSizes: e.o.sendSizes, DrySizes: e.o.drySizes, Concurrency: e.o.concurrency,
		SendCommand: benchcli.ShellJoin(append([]string{"/usr/bin/time", "-v", "bulksend"},
			bulksendSendArgs("rows.csv", "$SANDBOX", "rows.report.csv", strconv.Itoa(e.o.concurrency))...)...),
		DryRunCommand: benchcli.ShellJoin(append([]string{"/usr/bin/time", "-v", "bulksend"}, dryRunArgs("rows.csv")...)...),
	}
	sizes := slices.Sorted(slices.Values(append(slices.Clone(e.o.sendSizes), e.o.drySizes...)))
	for _, n := range slices.Compact(sizes) {
		rows := filepath.Join(e.dir, fmt.Sprintf("rows-%d.csv", n))
		if err := writeRows(rows, n); err != nil {
			return nil, err
		}
		if slices.Contains(e.o.sendSizes, n) {
			r, err := memSendRun(ctx, e, rows, n)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(e.log, "memory: %s\n", r.line())
			res.Runs = append(res.Runs, r)
		}
		if slices.Contains(e.o.drySizes, n) {
			r := memRun{Mode: memDryRun, Rows: n}
			ps, tail, err := e.measure(ctx, io.Discard, e.bin, dryRunArgs(rows)...)
			if err != nil {
				return nil, err
			}
			r.Proc = ps
			if ps.ExitCode != 0 {
				r.Error = fmt.Sprintf("exit %d: %s", ps.ExitCode, tail)
			}
			fmt.Fprintf(e.log, "memory: %s\n", r.line())
			res.Runs = append(res.Runs, r)
		}
		os.Remove(rows)
	}
	res.judge()
	return res, nil
}

// memSendRun sends the n rows of rows to a fresh sandbox, report on.
func memSendRun(ctx context.Context, e *env, rows string, n int) (memRun, error) {
	r := memRun{Mode: memSend, Rows: n}
	sb, err := startSandbox(ctx, e.bin, e.dir)
	if err != nil {
		return r, err
	}
	defer sb.stop()
	report := filepath.Join(e.dir, "memory.report.csv")
	defer os.Remove(report)
	var stdout bytes.Buffer
	ps, tail, err := e.measure(ctx, &stdout, e.bin, bulksendSendArgs(rows, sb.base, report, strconv.Itoa(e.o.concurrency))...)
	if err != nil {
		return r, err
	}
	r.Proc = ps
	var s sendSummary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		r.Error = fmt.Sprintf("read summary: %v", err)
	}
	r.Sent = s.Sent
	if ps.ExitCode != 0 {
		r.Error = fmt.Sprintf("exit %d: %s", ps.ExitCode, tail)
	} else if r.Sent != n && r.Error == "" {
		r.Error = fmt.Sprintf("sent %d of %d", r.Sent, n)
	}
	return r, nil
}

func (r memRun) line() string {
	s := fmt.Sprintf("%s of %d rows: peak RSS %s in %.2f s", r.Mode, r.Rows, mib(r.Proc.MaxRSSKB), r.Proc.WallSeconds)
	if r.Error != "" {
		s += "; error: " + r.Error
	}
	return s
}
