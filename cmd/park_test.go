package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulksend/bulksend/internal/testkit/sandboxtest"
	"github.com/bulksend/bulksend/sandbox"
)

// TestSendWindowParks: at Saturday 7 March 2026, 21:00 in New York, the
// night before clocks spring forward, rows in New York are outside
// 'Mon-Sun 09:00-20:00' and rows in Tokyo (11:00 Sunday there) are inside.
// The Tokyo rows are sent; the run parks until 09:00 New York time, given
// in that zone, and never sends a New York row.
func TestSendWindowParks(t *testing.T) {
	now := time.Date(2026, 3, 8, 2, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		rows      string
		wantSent  int
		wantAfter string
	}{
		{name: "closed for every row: parked before any request",
			rows:     "id,to,tz\n1,+15550000001,America/New_York\n2,+15550000002,\n",
			wantSent: 0, wantAfter: "2026-03-08T09:00:00-04:00"},
		{name: "open rows go on",
			rows:     "id,to,tz\n1,+15550000001,America/New_York\n2,+15550000002,Asia/Tokyo\n3,+15550000003,Asia/Tokyo\n",
			wantSent: 2, wantAfter: "2026-03-08T09:00:00-04:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, base := sandboxtest.Start(t, sandbox.Config{})
			ios, in, out, errOut := TestStreams()
			in.WriteString(tt.rows)
			c := NewCmdSend(ios, nil, nil, func(o *SendOptions) error {
				o.Now = func() time.Time { return now }
				return sendRun(context.Background(), o)
			})
			c.SetArgs([]string{"-", "--url", base + "/send", "--body", `{"to": {{json .to}}}`, "--json", "--quiet",
				"--report", filepath.Join(t.TempDir(), "r.csv"),
				"--send-window", "Mon-Sun 09:00-20:00", "--tz", "America/New_York", "--tz-field", "tz"})
			c.SilenceErrors, c.SilenceUsage = true, true
			if code := exitCode(c.Execute()); code != ExitParked {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, ExitParked, errOut)
			}
			var sum runSummary
			if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
				t.Fatal(err)
			}
			if sum.ResumeAfter != tt.wantAfter || sum.Sent != tt.wantSent || !strings.HasSuffix(sum.ResumeCommand, " --resume") {
				t.Errorf("resume_after %q, sent %d, command %q; want %q, %d", sum.ResumeAfter, sum.Sent, sum.ResumeCommand, tt.wantAfter, tt.wantSent)
			}
			if got := srv.Stats().Requests; got != int64(tt.wantSent) {
				t.Errorf("the server saw %d requests, want %d", got, tt.wantSent)
			}
		})
	}
}

func TestSendWindowFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "a bad window", args: []string{"--send-window", "Mon-Fry 09:00-20:00"}, wantErr: "--send-window"},
		{name: "an unknown zone", args: []string{"--send-window", "09:00-20:00", "--tz", "Mars/Olympus"}, wantErr: "--tz"},
		{name: "a zone without a window", args: []string{"--tz", "Europe/Paris"}, wantErr: "give a window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCmdSend(&IOStreams{}, nil, nil, func(o *SendOptions) error { _, err := newPlan(o); return err })
			c.SetArgs(append([]string{"rows.csv", "--url", "http://127.0.0.1/"}, tt.args...))
			c.SilenceErrors, c.SilenceUsage = true, true
			err := c.Execute()
			if exitCode(err) != ExitUsage || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v (exit %d), want a usage error about %s", err, exitCode(err), tt.wantErr)
			}
		})
	}
}

func TestSplitRates(t *testing.T) {
	tests := []struct {
		name     string
		in       []string
		wantPace string
		wantCaps []string
	}{
		{name: "none", in: nil},
		{name: "one", in: []string{"5/s"}, wantPace: "5/s"},
		{name: "the shortest period paces", in: []string{"10000/24h", "50/s"}, wantPace: "50/s", wantCaps: []string{"10000/24h"}},
		{name: "a bad one is the pace, to be reported", in: []string{"50/s", "fast"}, wantPace: "fast", wantCaps: []string{"50/s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pace, caps := splitRates(tt.in)
			if pace != tt.wantPace || strings.Join(caps, " ") != strings.Join(tt.wantCaps, " ") {
				t.Errorf("splitRates(%q) = %q, %q; want %q, %q", tt.in, pace, caps, tt.wantPace, tt.wantCaps)
			}
		})
	}
}

// TestDryRunProjectsWindows: --dry-run projects when the file is done from
// the rate, the caps and the windows. At Monday 2 March 2026, 11:30 UTC,
// ten rows at one an hour in 'Mon-Fri 09:00-12:00' go 1 on Monday and 3 a
// day after: the last on Thursday at 11:00, in 4 windows.
func TestDryRunProjectsWindows(t *testing.T) {
	now := time.Date(2026, 3, 2, 11, 30, 0, 0, time.UTC)
	var rows strings.Builder
	rows.WriteString("id,to,text\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&rows, "%d,+1555000%04d,hi\n", i, i)
	}
	tests := []struct {
		name     string
		args     []string
		wantProj string
		wantAt   string
	}{
		{name: "windows", args: []string{"--rate", "1/h", "--send-window", "Mon-Fri 09:00-12:00", "--tz", "UTC"},
			wantProj: "finishes Thu 11:00 UTC, in 4 windows", wantAt: "2026-03-05T11:00:00Z"},
		{name: "a daily cap", args: []string{"--rate", "10/s", "--rate", "4/24h", "--tz", "UTC", "--send-window", "00:00-24:00"},
			// 4 at once, then one every 6 hours: the 10th 36 hours later.
			wantProj: "finishes Tue 23:30 UTC, in 1 window", wantAt: "2026-03-03T23:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, in, out, errOut := TestStreams()
			in.WriteString(rows.String())
			c := NewCmdSend(ios, nil, nil, func(o *SendOptions) error {
				o.Now = func() time.Time { return now }
				return sendRun(context.Background(), o)
			})
			c.SetArgs(append([]string{"-", "--url", "http://127.0.0.1:9/send", "--body", "{}", "--dry-run", "--json", "--quiet"}, tt.args...))
			c.SilenceErrors, c.SilenceUsage = true, true
			if err := c.Execute(); exitCode(err) != ExitOK {
				t.Fatalf("exit %d: %v; stderr:\n%s", exitCode(err), err, errOut)
			}
			var s dryRunSummary
			if err := json.Unmarshal(out.Bytes(), &s); err != nil {
				t.Fatal(err)
			}
			if s.Projection != tt.wantProj || s.FinishesAt != tt.wantAt {
				t.Errorf("projection %q finishing %s, want %q finishing %s", s.Projection, s.FinishesAt, tt.wantProj, tt.wantAt)
			}
		})
	}
}
