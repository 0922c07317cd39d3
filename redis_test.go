//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulksend/bulksend/internal/testkit"
	"github.com/bulksend/bulksend/internal/testkit/sandboxtest"
	"github.com/bulksend/bulksend/sandbox"
	"github.com/bulksend/bulksend/sender"
)

// These tests run several real bulksend processes on one quota through a
// real redis-server (SPEC.md "Scale"): the shards of one file share one
// pace, a throttle seen by one process pauses the others, and losing Redis
// mid-run holds every process instead of letting it send unpaced. As in
// resume_test.go, the server's counts are the ground truth and time only
// bounds waits or is checked from below.

// runSummary is the part of send's --json summary these tests read.
type runSummary struct {
	Sent      int `json:"sent"`
	Requests  int `json:"requests"`
	Throttled int `json:"throttled"`
	Pauses    int `json:"throttle_pauses"`
	ExitCode  int `json:"exit_code"`
}

// runJSON runs bulksend with --json and returns its summary.
func runJSON(t *testing.T, dir string, args ...string) runSummary {
	t.Helper()
	code, out, stderr := testkit.Run(t, testkit.Cmd{Bin: testkit.Bulksend(t), Args: append(args, "--json", "--quiet"), Dir: dir})
	var s runSummary
	if jerr := json.Unmarshal([]byte(out), &s); jerr != nil {
		t.Fatalf("bulksend %s: exit %d; no summary: %v\n%s", strings.Join(args, " "), code, jerr, stderr)
	}
	return s
}

func TestRedisShardsShareOneQuota(t *testing.T) {
	const (
		rows      = 150
		burst     = 15
		perSecond = 100.0
	)
	rds := testkit.RedisT(t)
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d processes", n), func(t *testing.T) {
			srv, base := sandboxtest.Start(t, sandbox.Config{Burst: burst, Rate: perSecond, Style: sandbox.StyleResetUnixMS})
			dir := t.TempDir()
			writeRows(t, dir, "rows.csv", rows)
			began := time.Now()
			var procs []*testkit.Proc
			for i := 1; i <= n; i++ {
				procs = append(procs, start(t, dir, sendArgs(base, "--shard", fmt.Sprintf("%d/%d", i, n),
					"--limiter", rds.URL(t.Name()), "--rate", "100/s", "--burst", strconv.Itoa(burst),
					"--report", fmt.Sprintf("s%d.csv", i), "--quiet")...))
			}
			for i, p := range procs {
				if code := p.Wait(t); code != 0 {
					t.Fatalf("shard %d/%d: exit %d\n%s", i+1, n, code, p.Stderr.String())
				}
			}
			wall := time.Since(began)

			st := srv.Stats()
			if st.Distinct != rows || st.Delivered != rows || st.Duplicates != 0 {
				t.Errorf("server delivered %d (%d distinct, %d duplicates), want each of %d once",
					st.Delivered, st.Distinct, st.Duplicates, rows)
			}
			// Unshared, n processes at 100/s each would meet a 429 for most
			// requests past the first second.
			if share := float64(st.Throttled) / float64(st.Requests); share > 0.05 {
				t.Errorf("%d of %d requests throttled (%.1f%%), want at most 5%%", st.Throttled, st.Requests, 100*share)
			}
			if least := time.Duration(float64(rows-burst) / perSecond * float64(time.Second)); wall < least*95/100 {
				t.Errorf("%d rows took %v, faster than one shared pace of 100/s allows (%v)", rows, wall, least)
			}
			for i := 1; i <= n; i++ {
				for _, r := range readJournal(t, filepath.Join(dir, fmt.Sprintf("s%d.csv", i))).last {
					if got := sender.Shard(r.ID, n); got != i {
						t.Errorf("shard %d reported line %d (%s), which is shard %d's", i, r.Line, r.ID, got)
					}
				}
			}
			args := []string{"report", "merge", "all.csv"}
			for i := 1; i <= n; i++ {
				args = append(args, fmt.Sprintf("s%d.csv", i))
			}
			mustRun(t, 0, dir, args...)
			if j := checkReport(t, filepath.Join(dir, "all.csv"), rows); j.count[sender.StatusSent] != rows {
				t.Errorf("merged report: %v, want %d sent", j.count, rows)
			}
			t.Logf("%d processes: %d rows in %v, %d of %d requests throttled", n, rows, wall.Round(time.Millisecond), st.Throttled, st.Requests)
		})
	}
}

// TestRedisSharesCaps: two processes with --rate 100/s --rate 20/24h on
// one --limiter key send 20 messages between them, not 20 each; both park
// (exit 5) with the rest pending, and no request was refused to find out.
func TestRedisSharesCaps(t *testing.T) {
	const rows, daily = 60, 20
	rds := testkit.RedisT(t)
	srv, base := sandboxtest.Start(t, sandbox.Config{Burst: rows, Rate: 1000})
	dir := t.TempDir()
	writeRows(t, dir, "rows.csv", rows)
	var procs []*testkit.Proc
	for i := 1; i <= 2; i++ {
		procs = append(procs, start(t, dir, sendArgs(base, "--shard", fmt.Sprintf("%d/2", i),
			"--limiter", rds.URL(t.Name()), "--rate", "100/s", "--rate", fmt.Sprintf("%d/24h", daily),
			"--report", fmt.Sprintf("s%d.csv", i), "--quiet")...))
	}
	for i, p := range procs {
		if code := p.Wait(t); code != 5 {
			t.Fatalf("shard %d/2: exit %d, want 5 (parked)\n%s", i+1, code, p.Stderr.String())
		}
	}
	if st := srv.Stats(); st.Delivered != daily || st.Requests != daily || st.Duplicates != 0 {
		t.Errorf("server: %d requests, %d delivered, %d duplicates; want %d, %d, 0", st.Requests, st.Delivered, st.Duplicates, daily, daily)
	}
	sent, pending := 0, 0
	for i := 1; i <= 2; i++ {
		j := readJournal(t, filepath.Join(dir, fmt.Sprintf("s%d.csv", i)))
		sent += j.count[sender.StatusSent]
		pending += j.count[sender.StatusPending]
	}
	if sent != daily || pending != rows-daily {
		t.Errorf("reports: %d sent, %d pending; want %d and %d", sent, pending, daily, rows-daily)
	}
}

// TestRedisThrottlePausesEveryProcess: process A meets a 429 asking for 2 s;
// process B, sending to another, healthy server on the same quota, waits
// out A's pause before its first request.
func TestRedisThrottlePausesEveryProcess(t *testing.T) {
	rds := testkit.RedisT(t)
	// One request, then a token every 2 s: A's second request is told
	// Retry-After: 2.
	strict, strictBase := sandboxtest.Start(t, sandbox.Config{Burst: 1, Rate: 0.5, Style: sandbox.StyleRetryAfter})
	healthy, healthyBase := sandboxtest.Start(t, sandbox.Config{Burst: 1000, Rate: 1000})
	dir := t.TempDir()
	writeRows(t, dir, "rows.csv", 2)
	writeRows(t, dir, "more.csv", 10)
	limiter := []string{"--limiter", rds.URL("pause"), "--rate", "100/s"}

	began := time.Now()
	a := start(t, dir, sendArgs(strictBase, append(limiter, "--report", "a.csv", "--quiet")...)...)
	deadline := time.Now().Add(runTimeout)
	for strict.Stats().Throttled == 0 {
		if a.Exited() || time.Now().After(deadline) {
			t.Fatalf("A was never throttled:\n%s", a.Stderr.String())
		}
		time.Sleep(pollEvery) // test harness polling
	}
	args := append([]string{"send", "more.csv", "--url", healthyBase + "/send", "--body", `{"id": {{json .id}}}`,
		"--report", "b.csv"}, limiter...)
	b := runJSON(t, dir, args...)
	if code := a.Wait(t); code != 0 {
		t.Fatalf("A: exit %d\n%s", code, a.Stderr.String())
	}

	if b.ExitCode != 0 || b.Sent != 10 || b.Throttled != 0 {
		t.Errorf("B: %+v, want 10 sent, none throttled, exit 0", b)
	}
	if b.Pauses < 1 {
		t.Errorf("B saw %d pauses, want A's", b.Pauses)
	}
	// A's pause began after A started and lasted 2 s.
	if first := healthy.Stats().FirstAt; first.Sub(began) < 2*time.Second {
		t.Errorf("B's first delivery %v after A started, inside A's 2 s pause", first.Sub(began))
	}
	if st := strict.Stats(); st.Distinct != 2 || st.Duplicates != 0 {
		t.Errorf("A's server delivered %d distinct, %d duplicates; want 2, 0", st.Distinct, st.Duplicates)
	}
}

// TestRedisLostMidRun: when Redis goes away mid-run the sender holds (only
// requests already on their way finish), says why on stderr, and carries
// on when Redis is back, every row delivered once.
func TestRedisLostMidRun(t *testing.T) {
	const rows, concurrency = 100, 4
	rds := testkit.RedisT(t)
	srv, base := sandboxtest.Start(t, sandbox.Config{Burst: 1000, Rate: 1000})
	dir := t.TempDir()
	writeRows(t, dir, "rows.csv", rows)
	p := start(t, dir, sendArgs(base, "--limiter", rds.URL("lost"), "--rate", "50/s",
		"--concurrency", strconv.Itoa(concurrency), "--report", "r.csv", "--progress-interval", "1h")...)
	report := filepath.Join(dir, "r.csv")
	waitJournal(t, p, report, func(j journal) bool { return j.final() >= 10 })
	rds.Stop()
	held := srv.Stats().Delivered

	deadline := time.Now().Add(runTimeout)
	for !strings.Contains(p.Stderr.String(), "shared limiter:") {
		if p.Exited() || time.Now().After(deadline) {
			t.Fatalf("bulksend never said it lost Redis:\n%s", p.Stderr.String())
		}
		time.Sleep(pollEvery) // test harness polling
	}
	if got := srv.Stats().Delivered; got > held+concurrency {
		t.Errorf("%d deliveries while Redis was down, want at most the %d in flight", got-held, concurrency)
	}
	if p.Exited() {
		t.Fatalf("bulksend gave up without Redis:\n%s", p.Stderr.String())
	}
	if err := rds.Restart(context.Background()); err != nil {
		t.Fatalf("redis-server did not restart: %v", err)
	}
	if code := p.Wait(t); code != 0 {
		t.Fatalf("exit %d after Redis came back\n%s", code, p.Stderr.String())
	}
	// One line for the outage and one when Redis is back, not one per
	// failed call.
	if down, up := strings.Count(p.Stderr.String(), "Redis unreachable"), strings.Count(p.Stderr.String(), "Redis is back"); down != 1 || up != 1 {
		t.Errorf("stderr says Redis unreachable %d times and back %d times, want once each:\n%s", down, up, p.Stderr.String())
	}
	if st := srv.Stats(); st.Distinct != rows || st.Duplicates != 0 {
		t.Errorf("server: %d distinct, %d duplicates; want %d, 0", st.Distinct, st.Duplicates, rows)
	}
	checkReport(t, report, rows)
}
