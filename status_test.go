//go:build unix

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/bulksend/bulksend/cmd"
	"github.com/bulksend/bulksend/delivery"
	"github.com/bulksend/bulksend/internal/testkit"
	"github.com/bulksend/bulksend/internal/testkit/sandboxtest"
	"github.com/bulksend/bulksend/sandbox"
	"github.com/bulksend/bulksend/sender"
)

// TestStatusResumesAfterKill is issue 13's "done when" for bulksend
// status: against a sandbox that allows 400 requests/s, a status run over
// 1,000 Twilio rows is killed (-9) once part of its answers are in the
// report; the rerun asks exactly the rows the report does not have final,
// every row ends with its delivery columns, and the undelivered ones carry
// Twilio's error codes. The kill is triggered by what the report holds,
// never by a sleep.
func TestStatusResumesAfterKill(t *testing.T) {
	const n = 1000
	dir := t.TempDir()
	srv, base := sandboxtest.Start(t, sandbox.Config{Burst: 20, Rate: 400, Undelivered: 0.1, DeliveryStep: time.Millisecond, Seed: 13})
	writeRows(t, dir, "rows.csv", n)
	env := []string{"NO_COLOR=1", "TWILIO_ACCOUNT_SID=" + sandbox.DefaultAccountSID, "TWILIO_AUTH_TOKEN=" + sandbox.DefaultAuthToken}
	bulksend := func(args ...string) *testkit.Proc {
		return testkit.Start(t, testkit.Cmd{Bin: testkit.Bulksend(t), Args: args, Dir: dir, Env: env, Timeout: runTimeout})
	}
	p := bulksend("send", "rows.csv", "--preset", "twilio", "--from", "+15550000000", "--api-url", base, "--rate", "400/s", "--quiet")
	if code := p.Wait(t); code != 0 {
		t.Fatalf("send: exit %d\n%s", code, p.Stderr)
	}
	reportPath := filepath.Join(dir, "rows.csv.report.csv")
	status := []string{"status", "rows.csv.report.csv", "--preset", "twilio", "--api-url", base, "--rate", "400/s"}

	p = bulksend(status...)
	var filled int
	for deadline := time.Now().Add(runTimeout); ; time.Sleep(pollEvery) {
		if filled = finalRows(t, reportPath); filled >= n/5 {
			break
		}
		if p.Exited() || time.Now().After(deadline) {
			t.Fatalf("status ended (or hung) before the report had %d answers (%d)\n%s", n/5, filled, p.Stderr)
		}
	}
	if err := p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.Wait(t)
	filled = finalRows(t, reportPath) // the report as the kill left it
	if filled == n {
		t.Skip("the run finished before the kill landed; nothing to resume")
	}
	// Lookups the killed process had on the wire may still be reaching the
	// server: count from when its counter stands still.
	lookups := settledLookups(srv)
	throttled := srv.Stats().Throttled

	p = bulksend(append(status, "--json")...)
	if code := p.Wait(t); code != cmd.ExitIncomplete {
		t.Fatalf("rerun: exit %d, want 3 (some undelivered)\n%s", code, p.Stderr)
	}
	var out struct {
		Rows, Delivered, Undelivered, Pending, Lookups int
		Failures                                       []delivery.Failure `json:"undelivered_rows"`
	}
	if err := json.Unmarshal([]byte(p.Stdout.String()), &out); err != nil {
		t.Fatalf("--json: %v\n%s", err, p.Stdout)
	}
	if asked := regexp.MustCompile(`pass 1: asking about (\d+) rows`).FindStringSubmatch(p.Stderr.String()); asked == nil || asked[1] != strconv.Itoa(n-filled) {
		t.Errorf("the rerun asked %v, want the %d rows without a final status\n%s", asked, n-filled, p.Stderr)
	}
	// A lookup answered 429 is counted by the sandbox and asked again.
	st := srv.Stats()
	if got := st.Lookups - lookups - (st.Throttled - throttled); got != int64(n-filled) {
		t.Errorf("the rerun made %d lookups not throttled, want %d", got, n-filled)
	}
	if out.Rows != n || out.Delivered+out.Undelivered != n || out.Pending != 0 || out.Undelivered == 0 {
		t.Errorf("summary %+v", out)
	}
	code := regexp.MustCompile(`^(30003|30005|30007|21610): \w`)
	for _, f := range out.Failures {
		if !code.MatchString(f.Error) {
			t.Errorf("undelivered row %+v without a Twilio code", f)
		}
	}
	if got := finalRows(t, reportPath); got != n {
		t.Errorf("%d rows final after the rerun, want %d", got, n)
	}
	if info, err := os.Stat(reportPath); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("report mode %v, %v", info.Mode(), err)
	}
}

// finalRows counts the sent rows of the report whose delivery status is
// final.
func finalRows(t *testing.T, path string) int {
	t.Helper()
	j := readJournal(t, path)
	n := 0
	for _, r := range j.last {
		if r.Status == sender.StatusSent && delivery.OutcomeOf(r.DeliveryStatus).Final() {
			n++
		}
	}
	return n
}

// settledLookups is the sandbox's lookup count once no request of a killed
// client is still arriving: unchanged over a few polls.
func settledLookups(srv *sandbox.Server) int64 {
	last, still := srv.Stats().Lookups, 0
	for still < 20 {
		time.Sleep(pollEvery)
		if now := srv.Stats().Lookups; now != last {
			last, still = now, 0
			continue
		}
		still++
	}
	return last
}
