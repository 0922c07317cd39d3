//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bulksend/bulksend/internal/testkit"
	"github.com/bulksend/bulksend/internal/testkit/sandboxtest"
	"github.com/bulksend/bulksend/report"
	"github.com/bulksend/bulksend/sandbox"
	"github.com/bulksend/bulksend/sender"
)

// These tests prove the promise of SPEC.md's "report, resume and safety":
// whatever stops a run (kill -9, Ctrl-C, a lock held by another run,
// permanent failures), no message is lost and none is delivered twice. They
// drive the real binary against an in-process sandbox, whose Stats count
// every delivery, so "exactly once" is measured by the server, not assumed.
//
// Timing only bounds how long a test waits: every kill and signal is
// triggered by what the report already holds, never by a sleep.

// Generous bounds for a loaded 2-core machine running race-instrumented
// binaries, where 3 s is not generous; a healthy run takes a fraction of each.
// The two exit bounds stay under the 10 s grace after a first SIGINT, so a
// run that waited the grace out instead of exiting would still show.
const (
	runTimeout  = 60 * time.Second // one bulksend process, start to exit
	pollEvery   = 5 * time.Millisecond
	maxDrain    = 8 * time.Second // SIGINT to exit, requests on the wire included
	maxHardExit = 8 * time.Second // second SIGINT to exit
)

// writeRows writes n rows to dir/name: ids r00001..., a distinct number and
// text each, so every row renders to a distinct message. Then it repeats
// rows 1..twins verbatim: the same id, so each repeat must be reported
// duplicate and never sent.
func writeRows(t *testing.T, dir, name string, n int, twins ...int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,to,text\n")
	row := func(i int) {
		fmt.Fprintf(&b, "r%05d,+1555%07d,\"Hi, \"\"friend\"\" %d\"\n", i, i, i)
	}
	for i := 1; i <= n; i++ {
		row(i)
	}
	for _, i := range twins {
		row(i)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// sendArgs is a generic JSON send of dir/rows.csv to base's /send.
func sendArgs(base string, extra ...string) []string {
	return append([]string{"send", "rows.csv", "--url", base + "/send",
		"--header", "Content-Type: application/json",
		"--body", `{"id": {{json .id}}, "to": {{json .to}}, "text": {{json .text}}}`}, extra...)
}

// start runs bulksend with args in dir. The process is killed if it outlives
// runTimeout or the test.
func start(t *testing.T, dir string, args ...string) *testkit.Proc {
	t.Helper()
	return testkit.Start(t, testkit.Cmd{Bin: testkit.Bulksend(t), Args: args, Dir: dir,
		Env: []string{"NO_COLOR=1"}, Timeout: runTimeout, Stdout: io.Discard})
}

// run runs bulksend to the end and returns its exit code and stderr.
func run(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	p := start(t, dir, args...)
	code := p.Wait(t)
	return code, p.Stderr.String()
}

// mustRun runs bulksend and fails the test unless it exits with want.
func mustRun(t *testing.T, want int, dir string, args ...string) string {
	t.Helper()
	code, stderr := run(t, dir, args...)
	if code != want {
		t.Fatalf("bulksend %s: exit %d, want %d\n%s", strings.Join(args, " "), code, want, stderr)
	}
	return stderr
}

// journal is what a report (or a journal cut short by a kill) says: the
// latest row of each line, as --resume reads it, and how many rows each
// line has.
type journal struct {
	last  map[int]report.Row
	rows  map[int]int
	count map[sender.Status]int
}

// readJournal reads the report at path. A damaged last row, as a kill may
// leave, is ignored the way --resume ignores it.
func readJournal(t *testing.T, path string) journal {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	j, err := parseJournal(data, path)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func parseJournal(data []byte, path string) (journal, error) {
	j := journal{last: make(map[int]report.Row), rows: make(map[int]int), count: make(map[sender.Status]int)}
	err := report.Read(bytes.NewReader(data), path, report.FormatFromName(path), func(r report.Row) error {
		if old, ok := j.last[r.Line]; ok {
			j.count[old.Status]--
		}
		j.last[r.Line] = r
		j.rows[r.Line]++
		j.count[r.Status]++
		return nil
	})
	return j, err
}

// final is the number of lines whose latest row is a final status.
func (j journal) final() int { return len(j.last) - j.count[sender.StatusInFlight] }

// finalOnDisk is how many rows of the report at path are final (not in
// flight), 0 when there is no report yet: what a run found on disk.
func finalOnDisk(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	j, err := parseJournal(data, path)
	if err != nil {
		return 0 // a header alone, or a first row half written
	}
	return j.final()
}

// grownTo is a kill point for waitJournal: the report holds at least at
// final rows and more than before, the count on disk when this run started
// (finalOnDisk). Without the second condition a --resume was killed at once
// when earlier runs had already reached at, before it sent anything.
func grownTo(before, at int) func(journal) bool {
	return func(j journal) bool { return len(j.last) > 0 && j.final() > before && j.final() >= at }
}

// waitJournal polls the report at path until ready says so, and fails the
// test if the process ends first: a kill or signal is triggered by what the
// journal holds, never by a sleep.
func waitJournal(t *testing.T, p *testkit.Proc, path string, ready func(journal) bool) journal {
	t.Helper()
	deadline := time.Now().Add(runTimeout)
	for time.Now().Before(deadline) {
		if p.Exited() {
			t.Fatalf("bulksend exited before the journal got there:\n%s", p.Stderr.String())
		}
		if data, err := os.ReadFile(path); err == nil {
			// The header alone, or a first row half written: not yet.
			if j, err := parseJournal(data, path); err == nil && ready(j) {
				return j
			}
		}
		time.Sleep(pollEvery) // test harness polling, not production code
	}
	t.Fatalf("journal %s never got there", path)
	return journal{}
}

// checkReport checks a finished report: exactly one row for each of the
// input's n rows (CSV lines 2..n+1), and returns the count per status.
func checkReport(t *testing.T, path string, n int) journal {
	t.Helper()
	j := readJournal(t, path)
	for line := 2; line <= n+1; line++ {
		if got := j.rows[line]; got != 1 {
			t.Errorf("report has %d rows for line %d, want 1", got, line)
		}
	}
	if len(j.rows) != n {
		t.Errorf("report has rows for %d lines, want %d", len(j.rows), n)
	}
	return j
}

// checkDelivered is the server's side of "never lose a message, never send
// one twice": distinct deliveries, and no duplicate at all.
func checkDelivered(t *testing.T, srv *sandbox.Server, distinct int64) {
	t.Helper()
	st := srv.Stats()
	if st.Distinct != distinct || st.Duplicates != 0 {
		t.Errorf("sandbox: distinct %d, duplicates %d (delivered %d, replays %d); want distinct %d, duplicates 0",
			st.Distinct, st.Duplicates, st.Delivered, st.Replays, distinct)
	}
}

// checkJournalCovers checks a stopped run's journal against the server: every
// message the server delivered is in the journal as sent, in flight or
// unknown (none lost), every sent row was delivered, and nothing was
// delivered twice.
func checkJournalCovers(t *testing.T, srv *sandbox.Server, j journal) {
	t.Helper()
	st := srv.Stats()
	sent := int64(j.count[sender.StatusSent])
	maybe := int64(j.count[sender.StatusInFlight] + j.count[sender.StatusUnknown])
	if st.Distinct < sent || st.Distinct > sent+maybe || st.Duplicates != 0 {
		t.Errorf("after the stop: sandbox distinct %d duplicates %d; journal %v: a delivered message is missing from the journal, or a sent row was never delivered",
			st.Distinct, st.Duplicates, j.count)
	}
}

// inFlight lists the lines whose latest row is in flight.
func (j journal) inFlight() []int {
	var lines []int
	for line, r := range j.last {
		if r.Status == sender.StatusInFlight {
			lines = append(lines, line)
		}
	}
	slices.Sort(lines)
	return lines
}

// TestResumeAfterKill kills a 400-row send with SIGKILL at several points
// (and, in the last cases, kills the resumed run again) and resumes it to
// the end: the server ends with every message delivered exactly once.
// Without idempotency keys, the rows in flight at a kill may or may not
// have arrived: resume reports them unknown and never resends them.
func TestResumeAfterKill(t *testing.T) {
	const rows = 400
	tests := []struct {
		name string
		// kills are the final rows in the journal at each kill; 0 means as
		// soon as one row is in flight. Each kill after the first stops a
		// --resume run.
		kills         []int
		noIdempotency bool
	}{
		{name: "idempotent/at-0", kills: []int{0}},
		{name: "idempotent/at-50", kills: []int{50}},
		{name: "idempotent/at-200", kills: []int{200}},
		{name: "idempotent/at-50-then-250", kills: []int{50, 250}},
		{name: "no-idempotency/at-0", kills: []int{0}, noIdempotency: true},
		{name: "no-idempotency/at-50", kills: []int{50}, noIdempotency: true},
		{name: "no-idempotency/at-200", kills: []int{200}, noIdempotency: true},
		{name: "no-idempotency/at-50-then-250", kills: []int{50, 250}, noIdempotency: true},
	}
	testkit.Bulksend(t) // once, before the cases start together
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each case is paced at 200/s and mostly waits: running them
			// together saves a dozen seconds, and nothing here is timed.
			t.Parallel()
			dir := t.TempDir()
			writeRows(t, dir, "rows.csv", rows)
			srv, base := sandboxtest.Start(t, sandbox.Config{Latency: 20 * time.Millisecond})
			args := sendArgs(base, "--concurrency", "8", "--rate", "200/s", "--quiet")
			if tt.noIdempotency {
				args = append(args, "--no-idempotency")
			} else {
				// The sandbox's /send drops a request whose key it has
				// seen, and the run is told so.
				args = append(args, "--idempotent-server")
			}
			reportPath := filepath.Join(dir, "rows.csv.report.csv")

			// Lines in flight at some kill: without keys, exactly these
			// end up unknown.
			maybe := make(map[int]bool)
			for i, at := range tt.kills {
				runArgs := args
				if i > 0 {
					runArgs = append(args[:len(args):len(args)], "--resume")
				}
				before := finalOnDisk(t, reportPath)
				p := start(t, dir, runArgs...)
				waitJournal(t, p, reportPath, grownTo(before, at))
				if err := p.Cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
				if code := p.Wait(t); code != -1 {
					t.Fatalf("killed run exited %d, want killed by SIGKILL", code)
				}
				killed := readJournal(t, reportPath)
				checkJournalCovers(t, srv, killed)
				if _, err := os.Stat(reportPath + ".lock"); err != nil {
					t.Errorf("a killed run leaves its lock file behind (harmless: the OS dropped the lock): %v", err)
				}
				for _, line := range killed.inFlight() {
					maybe[line] = true
				}
				t.Logf("kill %d: journal %v; sandbox distinct %d replays %d", i+1, killed.count, srv.Stats().Distinct, srv.Stats().Replays)
			}

			want := 0
			if tt.noIdempotency && len(maybe) > 0 {
				want = 3 // unknown rows
			}
			mustRun(t, want, dir, append(args, "--resume")...)

			got := checkReport(t, reportPath, rows)
			for line, r := range got.last {
				if r.ID != fmt.Sprintf("r%05d", line-1) {
					t.Errorf("line %d has id %q", line, r.ID)
				}
			}
			if !tt.noIdempotency {
				checkDelivered(t, srv, rows)
				if got.count[sender.StatusSent] != rows {
					t.Errorf("report counts %v, want %d sent", got.count, rows)
				}
				return
			}
			// Rows in flight at a kill come back unknown, all the others
			// sent; the server has every sent one and maybe unknown ones.
			if got.count[sender.StatusUnknown] != len(maybe) || got.count[sender.StatusSent] != rows-len(maybe) {
				t.Errorf("report counts %v, want %d sent and %d unknown", got.count, rows-len(maybe), len(maybe))
			}
			for line, r := range got.last {
				if (r.Status == sender.StatusUnknown) != maybe[line] {
					t.Errorf("line %d is %s; in flight at a kill: %v", line, r.Status, maybe[line])
				}
			}
			st := srv.Stats()
			if st.Duplicates != 0 || st.Distinct < int64(rows-len(maybe)) || st.Distinct > rows {
				t.Errorf("sandbox distinct %d duplicates %d, want between %d and %d distinct, no duplicate",
					st.Distinct, st.Duplicates, rows-len(maybe), rows)
			}
		})
	}
}

// TestResumeTruncatedJournal cuts the journal of a killed run in the middle
// of a row, as a crash during a write could, and resumes: the damaged row
// is dropped and everything is delivered exactly once. A cut inside a
// quoted CSV field (the response column) leaves an open quote that
// swallows the rest of the file: the reader must still see it as a cut
// last row, not as damage to refuse.
func TestResumeTruncatedJournal(t *testing.T) {
	const rows = 200
	tests := []struct {
		name   string
		report string
		// cut returns where to cut the journal data.
		cut func(data []byte) int
	}{
		{"csv/mid-row", "out.csv", cutMidLastRow},
		{"jsonl/mid-row", "out.jsonl", cutMidLastRow},
		{"csv/in-quoted-field", "out.csv", func(data []byte) int {
			// Just inside the quoted response of the last sent row; later
			// rows go too.
			return bytes.LastIndex(data, []byte(`"{""id""`)) + 4
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeRows(t, dir, "rows.csv", rows)
			srv, base := sandboxtest.Start(t, sandbox.Config{Latency: 20 * time.Millisecond})
			args := sendArgs(base, "--concurrency", "8", "--rate", "200/s", "--quiet", "--report", tt.report, "--idempotent-server")
			reportPath := filepath.Join(dir, tt.report)

			p := start(t, dir, args...)
			waitJournal(t, p, reportPath, func(j journal) bool { return j.final() >= 50 })
			if err := p.Cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			p.Wait(t)

			data, err := os.ReadFile(reportPath)
			if err != nil {
				t.Fatal(err)
			}
			cut := tt.cut(data)
			if cut < 4 || cut >= len(data) || data[cut-1] == '\n' {
				t.Fatalf("cut at %d of %d does not land inside a row", cut, len(data))
			}
			if err := os.Truncate(reportPath, int64(cut)); err != nil {
				t.Fatal(err)
			}
			from := bytes.LastIndexByte(data[:cut], '\n') + 1
			t.Logf("journal now ends %q", data[from:cut])

			mustRun(t, 0, dir, append(args, "--resume")...)
			got := checkReport(t, reportPath, rows)
			if got.count[sender.StatusSent] != rows {
				t.Errorf("report counts %v, want %d sent", got.count, rows)
			}
			checkDelivered(t, srv, rows)
		})
	}
}

// cutMidLastRow cuts the last row in half, newline and all.
func cutMidLastRow(data []byte) int {
	body := bytes.TrimSuffix(data, []byte("\n"))
	last := bytes.LastIndexByte(body, '\n') + 1
	return last + (len(body)-last)/2
}

// TestInterrupt sends SIGINT (or SIGTERM, as cron and systemd do) in the
// middle of a slow run: bulksend finishes the requests on the wire, writes
// the report and exits 130 at once; the journal accounts for every
// delivery, and --resume sends exactly the rest.
func TestInterrupt(t *testing.T) {
	const rows = 300
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			writeRows(t, dir, "rows.csv", rows)
			// 200 ms a request, 8 at a time: the whole run would take 7.5 s.
			srv, base := sandboxtest.Start(t, sandbox.Config{Latency: 200 * time.Millisecond})
			reportPath := filepath.Join(dir, "rows.csv.report.csv")

			p := start(t, dir, sendArgs(base, "--concurrency", "8", "--rate", "0", "--quiet")...)
			waitJournal(t, p, reportPath, func(j journal) bool { return j.final() >= 50 })
			signalled := time.Now()
			if err := p.Cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if code := p.Wait(t); code != 130 {
				t.Fatalf("exit %d after %v, want 130\n%s", code, sig, p.Stderr.String())
			}
			if took := p.ExitedAt.Sub(signalled); took > maxDrain {
				t.Errorf("exited %s after %v, want under %s", took, sig, maxDrain)
			}
			stopped := readJournal(t, reportPath)
			checkJournalCovers(t, srv, stopped)
			for line, n := range stopped.rows {
				if n != 1 {
					t.Errorf("interrupted report has %d rows for line %d: it was not compacted", n, line)
				}
			}
			if n := stopped.count[sender.StatusInFlight]; n != 0 {
				t.Errorf("%d rows still in flight after a soft stop whose requests take 200 ms of a 10 s grace", n)
			}
			if stopped.count[sender.StatusPending] == 0 {
				t.Fatalf("the run finished (%v) before the signal took effect", stopped.count)
			}
			if len(stopped.last) != rows {
				t.Errorf("interrupted report has %d rows, want one for each of the %d input rows", len(stopped.last), rows)
			}
			t.Logf("stopped with journal %v; sandbox distinct %d", stopped.count, srv.Stats().Distinct)

			mustRun(t, 0, dir, append(sendArgs(base, "--concurrency", "64", "--rate", "0", "--quiet"), "--resume")...)
			got := checkReport(t, reportPath, rows)
			if got.count[sender.StatusSent] != rows {
				t.Errorf("report counts %v, want %d sent", got.count, rows)
			}
			checkDelivered(t, srv, rows)
		})
	}
}

// TestInterruptTwice: a second SIGINT does not wait for the grace period or
// for the requests on the wire; they may have arrived, so the report has
// them as unknown, and the rows never sent as pending.
func TestInterruptTwice(t *testing.T) {
	dir := t.TempDir()
	writeRows(t, dir, "rows.csv", 40)
	// Answers take 20 s: only a hard stop can end the run quickly.
	srv, base := sandboxtest.Start(t, sandbox.Config{Latency: 20 * time.Second})
	reportPath := filepath.Join(dir, "rows.csv.report.csv")

	p := start(t, dir, sendArgs(base, "--concurrency", "4", "--rate", "0", "--progress-interval", "1h")...)
	waitJournal(t, p, reportPath, func(j journal) bool { return j.count[sender.StatusInFlight] >= 4 })
	if err := p.Cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	// The first signal is taken as a soft stop before the second is sent.
	for !strings.Contains(p.Stderr.String(), "interrupted; finishing requests in flight") {
		if p.Exited() {
			t.Fatalf("exited on the first SIGINT with requests still on the wire:\n%s", p.Stderr.String())
		}
		time.Sleep(pollEvery)
	}
	second := time.Now()
	if err := p.Cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := p.Wait(t); code != 130 {
		t.Fatalf("exit %d after two SIGINTs, want 130\n%s", code, p.Stderr.String())
	}
	if took := p.ExitedAt.Sub(second); took > maxHardExit {
		t.Errorf("exited %s after the second SIGINT, want under %s (grace is 10 s)", took, maxHardExit)
	}
	stopped := readJournal(t, reportPath)
	if c := stopped.count; c[sender.StatusUnknown] != 4 || c[sender.StatusPending] != 36 || c[sender.StatusInFlight] != 0 {
		t.Errorf("report counts %v, want the 4 requests on the wire unknown and the other 36 rows pending", c)
	}
	checkJournalCovers(t, srv, stopped)
}

// TestInterruptDuringThrottlePause: a run paused by a 429 for longer than
// anyone wants to wait (a cron job stuck behind a quota) stops at once on
// SIGINT, not when the server's reset comes; the throttled rows are
// pending (a 429 proves the server did not take them), so --resume sends
// them later.
func TestInterruptDuringThrottlePause(t *testing.T) {
	dir := t.TempDir()
	writeRows(t, dir, "rows.csv", 20)
	// A burst of 5, then one request every 50 s: the 429 says wait ~50 s.
	srv, base := sandboxtest.Start(t, sandbox.Config{Burst: 5, Rate: 0.02})
	reportPath := filepath.Join(dir, "rows.csv.report.csv")

	p := start(t, dir, sendArgs(base, "--concurrency", "4", "--rate", "0", "--quiet")...)
	waitJournal(t, p, reportPath, func(j journal) bool {
		return j.count[sender.StatusSent] == 5 && srv.Stats().Throttled > 0
	})
	signalled := time.Now()
	if err := p.Cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := p.Wait(t); code != 130 {
		t.Fatalf("exit %d after SIGINT, want 130\n%s", code, p.Stderr.String())
	}
	if took := p.ExitedAt.Sub(signalled); took > maxDrain {
		t.Errorf("exited %s after SIGINT during a throttle pause, want under %s", took, maxDrain)
	}
	stopped := readJournal(t, reportPath)
	checkJournalCovers(t, srv, stopped)
	if c := stopped.count; c[sender.StatusInFlight] != 0 || c[sender.StatusPending] != 15 {
		t.Errorf("journal %v: want the 15 rows not sent pending, none in flight", c)
	}
}

// TestLockContention: while one run holds the report, a second run on the
// same report exits 1 naming the lock and the holder's pid, and sends
// nothing. The first run's only request is held on the wire by a gate, so
// it stays alive and sends nothing more however long the refused runs take
// on a loaded machine: any request the server sees meanwhile is theirs.
func TestLockContention(t *testing.T) {
	const rows = 40
	dir := t.TempDir()
	writeRows(t, dir, "rows.csv", rows)
	g, srv, base := newGate(t)
	g.hold["r00001"] = true
	g.holding.Store(true)
	reportPath := filepath.Join(dir, "rows.csv.report.csv")
	args := sendArgs(base, "--concurrency", "1", "--rate", "0", "--quiet")

	// Not --quiet: the test reads when it has taken the SIGINT.
	first := start(t, dir, sendArgs(base, "--concurrency", "1", "--rate", "0", "--progress-interval", "1h")...)
	waitJournal(t, first, reportPath, func(j journal) bool {
		return j.count[sender.StatusInFlight] == 1 && srv.Stats().Delivered == 1
	})
	pid := strconv.Itoa(first.Cmd.Process.Pid)
	if b, err := os.ReadFile(reportPath + ".lock"); err != nil || strings.TrimSpace(string(b)) != pid {
		t.Fatalf("lock file holds %q (%v), want the first run's pid %s", b, err, pid)
	}

	tests := []struct {
		name string
		args []string
	}{
		{"plain", args},
		{"resume", append(args[:len(args):len(args)], "--resume")},
		{"force", append(args[:len(args):len(args)], "--force")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, rowsBefore := srv.Stats().Requests, len(readJournal(t, reportPath).last)
			code, stderr := run(t, dir, tt.args...)
			if code != 1 {
				t.Fatalf("second run exited %d, want 1\n%s", code, stderr)
			}
			if want := "rows.csv.report.csv.lock is held by pid " + pid; !strings.Contains(stderr, want) {
				t.Errorf("stderr %q does not say %q", stderr, want)
			}
			if after := srv.Stats().Requests; after != before {
				t.Errorf("sandbox saw %d requests during the refused run", after-before)
			}
			if n := len(readJournal(t, reportPath).last); n < rowsBefore {
				t.Errorf("the refused run cut the journal from %d lines to %d", rowsBefore, n)
			}
		})
	}
	if first.Exited() {
		t.Fatalf("the first run ended during the test; the contention was not tested:\n%s", first.Stderr.String())
	}

	// The refused runs left the first run's journal alone: stop it, let
	// its held request be answered so it drains at once, and finish with
	// --resume.
	if err := first.Cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(first.Stderr.String(), "interrupted; finishing requests in flight") {
		if first.Exited() {
			t.Fatalf("the first run exited on SIGINT with its request still held:\n%s", first.Stderr.String())
		}
		time.Sleep(pollEvery) // test harness polling
	}
	g.releaseHeld()
	if code := first.Wait(t); code != 130 {
		t.Fatalf("first run exited %d after SIGINT, want 130\n%s", code, first.Stderr.String())
	}
	if _, err := os.Stat(reportPath + ".lock"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a run that ends normally removes its lock file: %v", err)
	}
	mustRun(t, 0, dir, append(sendArgs(base, "--concurrency", "40", "--rate", "0", "--quiet"), "--resume")...)
	got := checkReport(t, reportPath, rows)
	if got.count[sender.StatusSent] != rows {
		t.Errorf("report counts %v, want %d sent", got.count, rows)
	}
	checkDelivered(t, srv, rows)
}

// gate stands in front of the sandbox, on one server whose Stats see every
// delivery of every run. While failing is set it answers 500 to the rows
// whose id is in fail, without passing them on: permanent failures (with
// --max-retries 0) that heal before a --retry-failed run. While holding is
// set, the rows whose id is in hold are delivered but never answered, so a
// test knows exactly which requests are on the wire when it kills the run.
type gate struct {
	next    http.Handler
	fail    map[string]bool
	hold    map[string]bool
	failing atomic.Bool
	holding atomic.Bool
	release chan struct{} // closed by releaseHeld, or when the test ends
	// releaseHeld ends every held request, with an empty 200 answer.
	releaseHeld func()
}

func newGate(t *testing.T) (*gate, *sandbox.Server, string) {
	t.Helper()
	srv, err := sandbox.New(sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{next: srv, fail: make(map[string]bool), hold: make(map[string]bool), release: make(chan struct{})}
	g.releaseHeld = sync.OnceFunc(func() { close(g.release) })
	ts := httptest.NewServer(g) // 127.0.0.1, port 0
	t.Cleanup(func() { g.releaseHeld(); ts.Close() })
	return g, srv, ts.URL
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/send" || !(g.failing.Load() || g.holding.Load()) {
		g.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var m struct{ ID string }
	_ = json.Unmarshal(body, &m) // a body without an id passes through
	switch {
	case g.failing.Load() && g.fail[m.ID]:
		http.Error(w, `{"message":"injected failure"}`, http.StatusUnprocessableEntity)
	case g.holding.Load() && g.hold[m.ID]:
		// Delivered, but the answer never comes.
		g.next.ServeHTTP(httptest.NewRecorder(), r)
		select {
		case <-r.Context().Done():
		case <-g.release:
		}
	default:
		g.next.ServeHTTP(w, r)
	}
}

// killHeld starts a send whose first four rows (--concurrency 4) are held
// on the wire by g, waits until the server has delivered all four and the
// journal has them in flight, and kills it.
func killHeld(t *testing.T, g *gate, srv *sandbox.Server, dir, reportPath string, args ...string) journal {
	t.Helper()
	for i := 1; i <= 4; i++ {
		g.hold[fmt.Sprintf("r%05d", i)] = true
	}
	g.holding.Store(true)
	p := start(t, dir, append(args, "--concurrency", "4")...)
	waitJournal(t, p, reportPath, func(j journal) bool {
		return j.count[sender.StatusInFlight] == 4 && srv.Stats().Delivered == 4
	})
	if err := p.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.Wait(t)
	g.holding.Store(false)
	return readJournal(t, reportPath)
}

// TestResumeRetryFailed: failed rows stay failed on a plain --resume, which
// sends nothing; --resume --retry-failed sends exactly those rows again.
func TestResumeRetryFailed(t *testing.T) {
	const rows = 60
	dir := t.TempDir()
	writeRows(t, dir, "rows.csv", rows)
	g, srv, base := newGate(t)
	for i := 5; i <= rows; i += 5 {
		g.fail[fmt.Sprintf("r%05d", i)] = true
	}
	g.failing.Store(true)
	reportPath := filepath.Join(dir, "rows.csv.report.csv")
	args := sendArgs(base, "--concurrency", "8", "--rate", "0", "--quiet", "--max-retries", "0")
	bad := len(g.fail)

	mustRun(t, 3, dir, args...)
	first := checkReport(t, reportPath, rows)
	if first.count[sender.StatusFailed] != bad || first.count[sender.StatusSent] != rows-bad {
		t.Fatalf("first run: report counts %v, want %d failed and %d sent", first.count, bad, rows-bad)
	}
	checkDelivered(t, srv, int64(rows-bad))

	g.failing.Store(false)
	before := srv.Stats().Requests
	mustRun(t, 3, dir, append(args, "--resume")...)
	if got := srv.Stats().Requests; got != before {
		t.Errorf("--resume without --retry-failed made %d requests, want none", got-before)
	}
	again := checkReport(t, reportPath, rows)
	if again.count[sender.StatusFailed] != bad {
		t.Errorf("after --resume: report counts %v, want %d still failed", again.count, bad)
	}

	mustRun(t, 0, dir, append(args, "--resume", "--retry-failed")...)
	if got := srv.Stats().Requests; got != before+int64(bad) {
		t.Errorf("--retry-failed made %d requests, want %d (the failed rows only)", got-before, bad)
	}
	last := checkReport(t, reportPath, rows)
	if last.count[sender.StatusSent] != rows {
		t.Errorf("after --retry-failed: report counts %v, want %d sent", last.count, rows)
	}
	checkDelivered(t, srv, rows)
}

// TestResumeKeepsDuplicates kills an unkeyed run while the first rows are
// delivered but unanswered, before it has read the repeats of their ids at
// the end of the file. On --resume those rows become unknown (they may have
// been delivered), and their repeats must still be reported duplicate, not
// sent: a repeated id is never sent twice, however the run was split.
func TestResumeKeepsDuplicates(t *testing.T) {
	// The engine reads ahead about 4*concurrency+1024 rows plus a channel of
	// 64: the repeats sit past that, so the killed run never reads them.
	const rows = 1500
	dir := t.TempDir()
	writeRows(t, dir, "rows.csv", rows, 1, 2, 3, 4)
	g, srv, base := newGate(t)
	reportPath := filepath.Join(dir, "rows.csv.report.csv")
	args := sendArgs(base, "--rate", "0", "--quiet", "--no-idempotency")

	killed := killHeld(t, g, srv, dir, reportPath, args...)
	if n := killed.count[sender.StatusDuplicate]; n != 0 {
		t.Fatalf("the killed run already reported %d repeats; the test needs them unread", n)
	}

	mustRun(t, 3, dir, append(args, "--resume", "--concurrency", "16")...)
	got := checkReport(t, reportPath, rows+4)
	for line := rows + 2; line <= rows+5; line++ {
		if r := got.last[line]; r.Status != sender.StatusDuplicate {
			t.Errorf("line %d repeats id %s of a row in flight at the kill; it is %s, want duplicate", line, r.ID, r.Status)
		}
	}
	if st := srv.Stats(); st.Duplicates != 0 {
		t.Errorf("sandbox duplicates %d, want 0", st.Duplicates)
	}
}
