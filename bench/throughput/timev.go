package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// Where a peak RSS figure comes from.
const (
	rssFromTime   = "GNU time -v"
	rssFromRusage = "rusage"
)

// findTime returns a GNU time that understands -v and -o, or "". Peak RSS
// is read through it rather than from the rusage the harness gets back:
// Linux carries the peak RSS of the process that execs into the new
// program, and Go starts children by vfork from the harness itself, so
// rusage would report at least the harness's own (tens of MiB) for every
// child. GNU time is a small C program; what it inherits is negligible.
func findTime(ctx context.Context, flagPath string) string {
	if flagPath == "" {
		return ""
	}
	out, err := os.CreateTemp("", "timev-probe-*")
	if err != nil {
		return ""
	}
	out.Close()
	defer os.Remove(out.Name())
	self, err := os.Executable()
	if err != nil {
		return ""
	}
	// The harness itself, with a flag it rejects, is a child that surely
	// exists; only time's report matters.
	_ = exec.CommandContext(ctx, flagPath, "-v", "-o", out.Name(), self, "-help").Run()
	f, err := os.Open(out.Name())
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := parseTimeV(f); err != nil {
		return ""
	}
	return flagPath
}

// measure runs name like runProc, and reads the child's peak RSS through
// GNU time when the harness has one.
func (e *env) measure(ctx context.Context, stdout io.Writer, name string, args ...string) (procStats, string, error) {
	if e.timeBin == "" {
		return runProc(ctx, stdout, name, args...)
	}
	out, err := os.CreateTemp(e.dir, "timev-*")
	if err != nil {
		return procStats{}, "", fmt.Errorf("measure: %w", err)
	}
	out.Close()
	defer os.Remove(out.Name())
	ps, tail, err := runProc(ctx, stdout, e.timeBin, append([]string{"-v", "-o", out.Name(), name}, args...)...)
	if err != nil {
		return ps, tail, err
	}
	f, err := os.Open(out.Name())
	if err != nil {
		return ps, tail, fmt.Errorf("measure: %w", err)
	}
	defer f.Close()
	if ps.MaxRSSKB, err = parseTimeV(f); err != nil {
		return ps, tail, fmt.Errorf("measure: %w", err)
	}
	return ps, tail, nil
}

// timeRSSLabel is the line of GNU time -v's report that holds the peak RSS.
const timeRSSLabel = "Maximum resident set size (kbytes):"

// parseTimeV reads the peak RSS, in KiB, out of a GNU time -v report.
func parseTimeV(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), timeRSSLabel)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("time -v report: bad peak RSS %q", strings.TrimSpace(v))
		}
		return n, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("time -v report: %w", err)
	}
	return 0, errors.New("time -v report: no peak RSS line")
}
