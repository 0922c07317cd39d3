package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
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

// TestTwilioLookupUnderFaults: the Twilio preset against a sandbox that, as
// Twilio, has no idempotency key, and loses 5% of its acknowledgements,
// answers 5% with a 502 after taking the message and 5% later than
// --timeout, cuts 3% before taking them, and fails 3% of sends and of list
// pages with a 5xx, over 1,000 rows. Every row
// whose answer was lost is settled through the Message list: it arrives
// once, its row is sent with the sid of the message Twilio holds, and the
// run exits 0.
func TestTwilioLookupUnderFaults(t *testing.T) {
	const rows = 1000
	dir := t.TempDir()
	writeRows(t, dir, "rows.csv", rows)
	srv, base := sandboxtest.Start(t, sandbox.Config{FailRate: 0.03, CutBefore: 0.03, CutAfter: 0.05, FailAfter: 0.05,
		Late: 0.05, LateBy: 400 * time.Millisecond, Seed: 31})
	p := testkit.Start(t, testkit.Cmd{Bin: testkit.Bulksend(t), Dir: dir, Timeout: runTimeout, Stdout: io.Discard,
		Env: []string{"NO_COLOR=1", "TWILIO_ACCOUNT_SID=" + sandbox.DefaultAccountSID, "TWILIO_AUTH_TOKEN=" + sandbox.DefaultAuthToken},
		Args: []string{"send", "rows.csv", "--preset", "twilio", "--api-url", base, "--from", "+15550000000",
			"--rate", "0", "--concurrency", "32", "--timeout", "150ms", "--quiet"}})
	if code := p.Wait(t); code != 0 {
		t.Fatalf("exit %d, want 0\n%s", code, p.Stderr)
	}
	st := srv.Stats()
	t.Logf("sandbox %+v", st)
	checkDelivered(t, srv, rows)
	if st.CutAfter == 0 || st.FailedAfter == 0 || st.Late == 0 || st.ListReads == 0 || st.Failed == 0 {
		t.Fatalf("no lost answer, or none looked up: %+v", st)
	}
	j := checkReport(t, filepath.Join(dir, "rows.csv.report.csv"), rows)
	if n := j.count[sender.StatusSent]; n != rows {
		t.Errorf("%d rows sent, want %d: %v", n, rows, j.count)
	}
	// The report's sid for each row is the one Twilio holds for its
	// recipient (every row has its own): the settled rows too.
	for line, r := range j.last {
		to := fmt.Sprintf("+1555%07d", line-1)
		if got, want := r.MessageID, listedSID(t, base, to); got != want {
			t.Errorf("line %d: message id %q, but the Message list has %q for %s", line, got, want, to)
		}
	}
}

// listedSID is the sid of the one message the sandbox's Twilio list has for
// to, asked again past the sandbox's injected 5xx.
func listedSID(t *testing.T, base, to string) string {
	t.Helper()
	var page struct {
		Messages []struct{ SID string }
	}
	for try := 1; ; try++ {
		req, err := http.NewRequest(http.MethodGet, base+"/2010-04-01/Accounts/"+sandbox.DefaultAccountSID+"/Messages.json?To="+url.QueryEscape(to), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(sandbox.DefaultAccountSID, sandbox.DefaultAuthToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if resp.StatusCode >= 500 && try < 10 {
			continue
		}
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("list for %s: HTTP %d, %v", to, resp.StatusCode, err)
		}
		break
	}
	if len(page.Messages) != 1 {
		var sids []string
		for _, m := range page.Messages {
			sids = append(sids, m.SID)
		}
		t.Fatalf("the list has %d messages for %s (%s), want 1", len(page.Messages), to, strings.Join(sids, ", "))
	}
	return page.Messages[0].SID
}

// TestTwilioResumeSettles: rows an earlier run left in flight (as a kill -9
// right after their requests left would) are looked up first by --resume
// through the Message list. With the sent_at the journal recorded, each is
// found, sent with the sid Twilio holds, and not sent again; without one,
// when the request left is not known, so a look-alike may be older than
// it, and the row stays unknown, never resent.
func TestTwilioResumeSettles(t *testing.T) {
	const rows = 40
	tests := []struct {
		name     string
		keepTime bool
		wantExit int
		want     sender.Status
	}{
		{"the journal's sent_at: found", true, 0, sender.StatusSent},
		{"no sent_at: unknown, not resent", false, 3, sender.StatusUnknown},
	}
	testkit.Bulksend(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeRows(t, dir, "rows.csv", rows)
			srv, base := sandboxtest.Start(t, sandbox.Config{})
			twilio := func(extra ...string) int {
				p := testkit.Start(t, testkit.Cmd{Bin: testkit.Bulksend(t), Dir: dir, Timeout: runTimeout, Stdout: io.Discard,
					Env: []string{"NO_COLOR=1", "TWILIO_ACCOUNT_SID=" + sandbox.DefaultAccountSID, "TWILIO_AUTH_TOKEN=" + sandbox.DefaultAuthToken},
					Args: append([]string{"send", "rows.csv", "--preset", "twilio", "--api-url", base, "--from", "+15550000000",
						"--rate", "0", "--max-retries", "1", "--quiet"}, extra...)})
				return p.Wait(t)
			}
			if code := twilio(); code != 0 {
				t.Fatalf("first run: exit %d", code)
			}
			path := filepath.Join(dir, "rows.csv.report.csv")
			unsettle(t, path, tt.keepTime)
			if code := twilio("--resume"); code != tt.wantExit {
				t.Fatalf("--resume: exit %d, want %d", code, tt.wantExit)
			}
			checkDelivered(t, srv, rows)
			j := checkReport(t, path, rows)
			if n := j.count[tt.want]; n != rows {
				t.Fatalf("%d rows %s, want %d: %v", n, tt.want, rows, j.count)
			}
			if st := srv.Stats(); st.ListReads < rows {
				t.Errorf("%d list reads, want one at least per row", st.ListReads)
			}
			if tt.want != sender.StatusSent {
				return
			}
			for line, r := range j.last {
				if want := listedSID(t, base, fmt.Sprintf("+1555%07d", line-1)); r.MessageID != want {
					t.Errorf("line %d: message id %q, want the listed %q", line, r.MessageID, want)
				}
			}
		})
	}
}

// unsettle rewrites the report at path as a journal whose every row was in
// flight when its run was killed: status inflight, no answer, and sent_at
// kept or not.
func unsettle(t *testing.T, path string, keepTime bool) {
	t.Helper()
	rewriteReport(t, path, func(col map[string]int, rec []string) {
		for name, v := range map[string]string{"status": "inflight", "http_status": "", "attempts": "", "message_id": "", "latency_ms": "", "response": ""} {
			if i, ok := col[name]; ok {
				rec[i] = v
			}
		}
		if !keepTime {
			rec[col["sent_at"]] = ""
		}
	})
}

// TestTwilioKilledUnderFaults: the Twilio preset under lost
// acknowledgements, 502s after the message was taken and late answers,
// killed (kill -9) at 8 random points, each followed by --resume. The rows
// each kill leaves in flight are settled through the Message list from
// their recorded sent_at: no message arrives twice, and the last run ends
// with every row sent, exit 0.
func TestTwilioKilledUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and resumes real processes: skipped with -short")
	}
	const rows, kills = 300, 8
	dir := t.TempDir()
	writeRows(t, dir, "rows.csv", rows)
	srv, base := sandboxtest.Start(t, sandbox.Config{CutAfter: 0.05, FailAfter: 0.05, Late: 0.05,
		LateBy: 300 * time.Millisecond, Latency: 2 * time.Millisecond, Seed: 23})
	cmd := testkit.Cmd{Bin: testkit.Bulksend(t), Dir: dir, Timeout: runTimeout, Stdout: io.Discard,
		Env: []string{"NO_COLOR=1", "TWILIO_ACCOUNT_SID=" + sandbox.DefaultAccountSID, "TWILIO_AUTH_TOKEN=" + sandbox.DefaultAuthToken},
		Args: []string{"send", "rows.csv", "--preset", "twilio", "--api-url", base, "--from", "+15550000000",
			"--rate", "0", "--concurrency", "8", "--timeout", "150ms", "--quiet", "--resume"}}
	reportPath := filepath.Join(dir, "rows.csv.report.csv")
	rnd := rand.New(rand.NewPCG(5, 77)) // the kill points, the same every run
	at := 0
	for k := range kills {
		at += 10 + rnd.IntN(20)
		before := finalOnDisk(t, reportPath)
		p := testkit.Start(t, cmd)
		waitJournal(t, p, reportPath, grownTo(before, at))
		if err := p.Cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		p.Wait(t)
		if st := srv.Stats(); st.Duplicates != 0 {
			t.Fatalf("kill %d: the sandbox delivered %d messages twice", k+1, st.Duplicates)
		}
	}
	p := testkit.Start(t, cmd)
	if code := p.Wait(t); code != 0 {
		t.Fatalf("the last --resume: exit %d, want 0\n%s", code, p.Stderr)
	}
	j := checkReport(t, reportPath, rows)
	st := srv.Stats()
	t.Logf("after %d kills: report %v; sandbox %+v", kills, j.count, st)
	checkDelivered(t, srv, rows)
	if j.count[sender.StatusSent] != rows {
		t.Errorf("report %v, want all %d sent", j.count, rows)
	}
	if st.ListReads == 0 {
		t.Error("no list read: nothing was settled through the Message list")
	}
	for line, r := range j.last {
		if want := listedSID(t, base, fmt.Sprintf("+1555%07d", line-1)); r.MessageID != want {
			t.Errorf("line %d: message id %q, want the listed %q", line, r.MessageID, want)
		}
	}
}

// TestTwilioResumeTwinClaimed: two rows with the same recipient and text; the
// report an earlier run left has the first in flight and the second sent
// with sid X, a message created after the first row's request left, and
// the only one Twilio holds. --resume must not take X for the first row:
// X is the second row's, so the first is absent and is sent again, and no
// two rows of the report end with the same message id.
func TestTwilioResumeTwinClaimed(t *testing.T) {
	const twins = "id,to,text\na,+15550000001,Hello twin\nb,+15550000001,Hello twin\n"
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rows.csv"), []byte(twins), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.csv"), []byte("id,to,text\nb,+15550000001,Hello twin\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	twilio := func(base string, args ...string) {
		t.Helper()
		p := testkit.Start(t, testkit.Cmd{Bin: testkit.Bulksend(t), Dir: dir, Timeout: runTimeout, Stdout: io.Discard,
			Env:  []string{"NO_COLOR=1", "TWILIO_ACCOUNT_SID=" + sandbox.DefaultAccountSID, "TWILIO_AUTH_TOKEN=" + sandbox.DefaultAuthToken},
			Args: append(args, "--preset", "twilio", "--api-url", base, "--from", "+15550000000", "--rate", "0", "--quiet")})
		if code := p.Wait(t); code != 0 {
			t.Fatalf("%v: exit %d", args, code)
		}
	}
	// The earlier run: its report has the rows' fingerprints and a's
	// sent_at, its messages are on a server that is gone.
	_, old := sandboxtest.Start(t, sandbox.Config{})
	twilio(old, "send", "rows.csv")
	// Later, b alone arrives on the server the resume talks to: X.
	_, base := sandboxtest.Start(t, sandbox.Config{})
	twilio(base, "send", "b.csv", "--report", "b.report.csv")
	x := readJournal(t, filepath.Join(dir, "b.report.csv")).last[2].MessageID
	if x == "" {
		t.Fatal("b.csv: no message id")
	}
	path := filepath.Join(dir, "rows.csv.report.csv")
	editReport(t, path, map[int]map[string]string{
		2: {"status": "inflight", "http_status": "", "attempts": "", "message_id": "", "latency_ms": "", "response": ""},
		3: {"message_id": x},
	})
	twilio(base, "send", "rows.csv", "--resume")
	j := checkReport(t, path, 2)
	a, b := j.last[2], j.last[3]
	if a.Status != sender.StatusSent || b.MessageID != x || a.MessageID == "" || a.MessageID == x {
		t.Errorf("after --resume: a %s %q, b %s %q; want a sent with its own message, b %q", a.Status, a.MessageID, b.Status, b.MessageID, x)
	}
	if n := listedCount(t, base, "+15550000001"); n != 2 {
		t.Errorf("the server holds %d messages for the twins, want 2", n)
	}
}

// editReport sets, in the CSV report at path, the named columns of the rows
// of the given lines.
func editReport(t *testing.T, path string, set map[int]map[string]string) {
	t.Helper()
	rewriteReport(t, path, func(col map[string]int, rec []string) {
		for name, v := range set[atoi(t, rec[col["line"]])] {
			rec[col[name]] = v
		}
	})
}

// rewriteReport rewrites each row of the CSV report at path with edit,
// which gets the column of each header name.
func rewriteReport(t *testing.T, path string, edit func(col map[string]int, rec []string)) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, name := range recs[0] {
		col[name] = i
	}
	for _, rec := range recs[1:] {
		edit(col, rec)
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.WriteAll(recs); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// listedCount is how many messages the sandbox's Message list holds for to.
func listedCount(t *testing.T, base, to string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/2010-04-01/Accounts/"+sandbox.DefaultAccountSID+"/Messages.json?To="+url.QueryEscape(to), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(sandbox.DefaultAccountSID, sandbox.DefaultAuthToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct{ Messages []json.RawMessage }
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("list for %s: HTTP %d, %v", to, resp.StatusCode, err)
	}
	return len(page.Messages)
}
