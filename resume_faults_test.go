package main

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulksend/bulksend/internal/testkit"
	"github.com/bulksend/bulksend/internal/testkit/sandboxtest"
	"github.com/bulksend/bulksend/sandbox"
	"github.com/bulksend/bulksend/sender"
)

// TestResumeKilledUnderFaults: 20 kill -9 at random points, each followed
// by --resume, against a server that ignores idempotency keys and loses 5%
// of its acknowledgements, answers 5% with a 502 after taking the message
// and 5% later than --timeout. No message arrives twice and the final
// report has one row per input row: with --lookup-url every row ends sent;
// without it the rows that may have arrived end unknown, never resent.
func TestResumeKilledUnderFaults(t *testing.T) {
	const rows, kills = 300, 20
	tests := []struct {
		name   string
		lookup bool
	}{
		{"with a lookup", true},
		{"without a lookup", false},
	}
	testkit.Bulksend(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeRows(t, dir, "rows.csv", rows)
			srv, base := sandboxtest.Start(t, sandbox.Config{NoIdempotency: true, CutAfter: 0.05, FailAfter: 0.05,
				Late: 0.05, LateBy: 3 * time.Second, Latency: 2 * time.Millisecond, Seed: int64(7 + i)})
			args := sendArgs(base, "--concurrency", "8", "--rate", "0", "--quiet", "--timeout", "1s", "--resume")
			if tt.lookup {
				args = append(args, "--lookup-url", base+"/messages/{{.id}}")
			}
			reportPath := filepath.Join(dir, "rows.csv.report.csv")
			rnd := rand.New(rand.NewPCG(uint64(i), 42)) // the kill points, the same every run
			at := 0
			for k := range kills {
				at += 2 + rnd.IntN(9) // a few rows more each time: 20 kills stay short of the end
				p := start(t, dir, args...)
				waitJournal(t, p, reportPath, func(j journal) bool { return len(j.last) > 0 && j.final() >= at })
				if err := p.Cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
				p.Wait(t)
				// The journal may end in a row the kill cut short; the
				// next --resume drops it. The server's count is the check.
				if st := srv.Stats(); st.Duplicates != 0 {
					t.Fatalf("kill %d: the sandbox delivered %d messages twice", k+1, st.Duplicates)
				}
			}

			want := 0
			if !tt.lookup {
				want = 3 // the rows that may have arrived stay unknown
			}
			mustRun(t, want, dir, args...)
			got := checkReport(t, reportPath, rows)
			st := srv.Stats()
			t.Logf("after %d kills: report %v; sandbox %+v", kills, got.count, st)
			if st.Duplicates != 0 {
				t.Errorf("the sandbox delivered %d messages twice", st.Duplicates)
			}
			if n := got.count[sender.StatusInFlight] + got.count[sender.StatusPending]; n != 0 {
				t.Errorf("%d rows in flight or pending after the final run", n)
			}
			for line, r := range got.last {
				if r.ID != fmt.Sprintf("r%05d", line-1) {
					t.Errorf("line %d has id %q", line, r.ID)
				}
			}
			if tt.lookup {
				if got.count[sender.StatusSent] != rows {
					t.Errorf("report %v, want all %d sent", got.count, rows)
				}
				checkDelivered(t, srv, rows)
				return
			}
			if got.count[sender.StatusUnknown] == 0 || got.count[sender.StatusSent]+got.count[sender.StatusUnknown] != rows {
				t.Errorf("report %v, want every row sent or unknown, some unknown", got.count)
			}
		})
	}
}
