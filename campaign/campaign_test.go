package campaign

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulksend/bulksend/internal/testkit"
	"github.com/bulksend/bulksend/preset"
	"github.com/bulksend/bulksend/ratelimit"
	"github.com/bulksend/bulksend/report"
	"github.com/bulksend/bulksend/sender"
)

// server is a messaging API that accepts every message and counts them by
// the id in the body.
type server struct{ *testkit.Server }

func newServer(t *testing.T) *server {
	t.Helper()
	return &server{testkit.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct{ ID string }
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"id":"msg-%s"}`, m.ID)
	}))}
}

// requests returns how many messages arrived and, for each, the row id.
func (s *server) requests() (int, map[string]int) {
	n, got := 0, make(map[string]int)
	for _, r := range s.Requests() {
		var m struct{ ID string }
		if json.NewDecoder(bytes.NewReader(r.Body)).Decode(&m) == nil {
			n++
			got[m.ID]++
		}
	}
	return n, got
}

// writeInput writes n rows r1..rn to dir/rows.csv.
func writeInput(t *testing.T, dir string, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,to\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "r%d,+1555000%04d\n", i, i)
	}
	path := filepath.Join(dir, "rows.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// options sends input to srv, unpaced, with its report at rep.
func options(t *testing.T, srv *server, input, rep string) Options {
	t.Helper()
	pr, err := preset.NewGeneric(preset.GenericConfig{
		URL: srv.URL + "/send", Method: "POST", Body: `{"id": {{json .id}}, "to": {{json .to}}}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	return Options{
		Input:  Input{Path: input},
		Preset: pr,
		Report: Report{Path: rep},
		Engine: sender.Config{Limiter: ratelimit.New(ratelimit.Config{}), Concurrency: 4},
	}
}

// readReport returns the report's rows by line, failing on a line seen
// twice: a compacted report has exactly one row per line.
func readReport(t *testing.T, path string) map[int]report.Row {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := make(map[int]report.Row)
	err = report.Read(f, path, report.FormatFromName(path), func(r report.Row) error {
		if _, dup := rows[r.Line]; dup {
			return fmt.Errorf("line %d twice: the report was not compacted", r.Line)
		}
		rows[r.Line] = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// writeReport writes a report whose rows r1..rn (lines 2..n+1) have the
// given statuses.
func writeReport(t *testing.T, path string, statuses ...sender.Status) {
	t.Helper()
	w, err := report.Create(path, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range statuses {
		if err := w.Record(&sender.Result{Line: i + 2, ID: fmt.Sprintf("r%d", i+1), Status: st}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRunReportPolicy: what an existing report means, and that every run
// that sends leaves one row per input row.
func TestRunReportPolicy(t *testing.T) {
	const n = 6
	tests := []struct {
		name      string
		earlier   []sender.Status // the report before the run; nil: none
		report    Report
		lockHeld  bool
		wantErr   error
		wantSent  []string // ids the server receives
		wantRows  int      // rows in the report after the run
		wantEarly int      // rows settled by the earlier run
		wantLeft  bool     // rows are left failed
	}{
		{name: "new report", wantSent: ids(1, 6), wantRows: n},
		{name: "existing report refused without resume or force",
			earlier: []sender.Status{sender.StatusSent}, wantErr: ErrReportExists, wantRows: 1},
		{name: "resume skips rows sent, duplicate or skipped",
			earlier: []sender.Status{sender.StatusSent, sender.StatusDuplicate, sender.StatusSkipped, sender.StatusFailed},
			report:  Report{Resume: true}, wantSent: ids(5, 6), wantRows: n, wantEarly: 4, wantLeft: true},
		{name: "resume with retry failed resends failed rows",
			earlier: []sender.Status{sender.StatusSent, sender.StatusFailed},
			report:  Report{Resume: true, RetryFailed: true}, wantSent: ids(2, 6), wantRows: n, wantEarly: 1},
		{name: "force overwrites",
			earlier: []sender.Status{sender.StatusSent, sender.StatusSent},
			report:  Report{Force: true}, wantSent: ids(1, 6), wantRows: n},
		{name: "resume without a report sends everything",
			report: Report{Resume: true}, wantSent: ids(1, 6), wantRows: n},
		{name: "a held lock refuses the run", lockHeld: true, wantErr: report.ErrLocked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			srv := newServer(t)
			input, rep := writeInput(t, dir, n), filepath.Join(dir, "rows.report.csv")
			if tt.earlier != nil {
				writeReport(t, rep, tt.earlier...)
			}
			if tt.lockHeld {
				release, err := report.Lock(rep)
				if err != nil {
					t.Fatal(err)
				}
				defer release()
			}
			opts := options(t, srv, input, rep)
			tt.report.Path = rep
			opts.Report = tt.report
			res, err := Run(context.Background(), opts)
			reqs, got := srv.requests()
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || res != nil || reqs != 0 {
					t.Fatalf("Run = %v, %v after %d requests; want %v before any", res, err, reqs, tt.wantErr)
				}
			} else {
				if err != nil || res.Stopped != nil || res.Incomplete() != tt.wantLeft {
					t.Fatalf("Run = %+v, %v; want rows left failed: %v", res, err, tt.wantLeft)
				}
				counted := 0
				for _, c := range res.Summary.Counts {
					counted += c
				}
				if res.Summary.Earlier != tt.wantEarly || counted != n {
					t.Errorf("summary %+v; want %d earlier, %d counted", res.Summary, tt.wantEarly, n)
				}
			}
			if reqs != len(tt.wantSent) {
				t.Errorf("%d requests, want %d", reqs, len(tt.wantSent))
			}
			for _, id := range tt.wantSent {
				if got[id] != 1 {
					t.Errorf("row %s arrived %d times, want once", id, got[id])
				}
			}
			if tt.lockHeld {
				return
			}
			if rows := readReport(t, rep); len(rows) != tt.wantRows {
				t.Errorf("report has %d rows, want %d", len(rows), tt.wantRows)
			}
		})
	}
}

// ids is r<from>..r<to>.
func ids(from, to int) []string {
	var s []string
	for i := from; i <= to; i++ {
		s = append(s, fmt.Sprintf("r%d", i))
	}
	return s
}

// TestRunCompacts: the journal has an in-flight and a final row per message
// while the run goes; at the end it is one final row per input row, in
// line order.
func TestRunCompacts(t *testing.T) {
	const n = 40
	dir := t.TempDir()
	srv := newServer(t)
	input, rep := writeInput(t, dir, n), filepath.Join(dir, "out.jsonl")
	if _, err := Run(context.Background(), options(t, srv, input, rep)); err != nil {
		t.Fatal(err)
	}
	rows := readReport(t, rep)
	if len(rows) != n {
		t.Fatalf("%d rows, want %d", len(rows), n)
	}
	for line := 2; line <= n+1; line++ {
		if r := rows[line]; r.Status != sender.StatusSent || r.MessageID != "msg-"+r.ID {
			t.Errorf("line %d: %+v, want sent with the server's id", line, r)
		}
	}
	b, err := os.ReadFile(rep)
	if err != nil {
		t.Fatal(err)
	}
	if got := bytes.Count(b, []byte("\n")); got != n {
		t.Errorf("the file has %d lines, want %d (one per row)", got, n)
	}
}

// TestRunShards: two processes on one file, each with its own report, send
// every row exactly once between them, and each report holds only its
// shard's rows.
func TestRunShards(t *testing.T) {
	const n = 60
	dir := t.TempDir()
	srv := newServer(t)
	input := writeInput(t, dir, n)
	reported := 0
	for i := 1; i <= 2; i++ {
		rep := filepath.Join(dir, fmt.Sprintf("shard%d.csv", i))
		opts := options(t, srv, input, rep)
		opts.Shard = Shard{Index: i, Count: 2}
		var total int64
		opts.Progress = func(_ *sender.Progress, t int64) func() { total = t; return func() {} }
		res, err := Run(context.Background(), opts)
		if err != nil || res.Stopped != nil {
			t.Fatalf("shard %d: %v, %v", i, err, res.Stopped)
		}
		rows := readReport(t, rep)
		for _, r := range rows {
			if sender.Shard(r.ID, 2) != i {
				t.Errorf("shard %d reports row %s of shard %d", i, r.ID, sender.Shard(r.ID, 2))
			}
		}
		if len(rows) == 0 || len(rows) == n {
			t.Errorf("shard %d has %d of %d rows", i, len(rows), n)
		}
		if total != n/2 {
			t.Errorf("shard %d: progress total %d, want %d", i, total, n/2)
		}
		reported += len(rows)
	}
	reqs, got := srv.requests()
	if reqs != n || len(got) != n || reported != n {
		t.Errorf("%d requests for %d distinct rows, %d reported; want %d of each", reqs, len(got), reported, n)
	}
}

// TestRunResumeInputChanged: a report written for other rows refuses the
// run before anything is sent, and stays as it was.
func TestRunResumeInputChanged(t *testing.T) {
	dir := t.TempDir()
	srv := newServer(t)
	input, rep := writeInput(t, dir, 3), filepath.Join(dir, "r.csv")
	w, err := report.Create(rep, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Record(&sender.Result{Line: 2, ID: "other", Status: sender.StatusSent}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(rep)
	opts := options(t, srv, input, rep)
	opts.Report.Resume = true
	res, err := Run(context.Background(), opts)
	if res != nil || !errors.Is(err, ErrInputChanged) || !strings.Contains(err.Error(), `rows.csv line 2: id "r1"`) {
		t.Fatalf("Run = %+v, %v; want ErrInputChanged at line 2", res, err)
	}
	if reqs, _ := srv.requests(); reqs != 0 {
		t.Errorf("%d requests, want none", reqs)
	}
	if after, _ := os.ReadFile(rep); !bytes.Equal(before, after) {
		t.Errorf("the report changed:\n%s", after)
	}
}

// TestRunStopped: a Stop closed before the run sends nothing and says so.
func TestRunStopped(t *testing.T) {
	dir := t.TempDir()
	srv := newServer(t)
	opts := options(t, srv, writeInput(t, dir, 20), filepath.Join(dir, "r.csv"))
	stop := make(chan struct{})
	close(stop)
	opts.Stop = stop
	res, err := Run(context.Background(), opts)
	if err == nil && res != nil {
		err = res.Stopped
	}
	if !errors.Is(err, sender.ErrInterrupted) {
		t.Fatalf("Run = %+v, %v; want interrupted", res, err)
	}
	if reqs, _ := srv.requests(); reqs != 0 {
		t.Errorf("%d requests, want none", reqs)
	}
}

// TestRunReportWriter: a report given as a stream (stdout) gets one row
// per message and takes no lock or file.
func TestRunReportWriter(t *testing.T) {
	dir := t.TempDir()
	srv := newServer(t)
	opts := options(t, srv, writeInput(t, dir, 5), "")
	var out bytes.Buffer
	opts.Report = Report{Writer: &out}
	res, err := Run(context.Background(), opts)
	if err != nil || res.Stopped != nil {
		t.Fatalf("Run: %v, %v", err, res.Stopped)
	}
	if got := strings.Count(out.String(), ",sent,"); got != 5 {
		t.Errorf("%d sent rows in the stream, want 5:\n%s", got, out.String())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the run left files beside the input: %v", entries)
	}
}

// TestPreview: a preview renders every row, duplicates marked, sends
// nothing and writes no report.
func TestPreview(t *testing.T) {
	dir := t.TempDir()
	srv := newServer(t)
	input := filepath.Join(dir, "rows.csv")
	if err := os.WriteFile(input, []byte("id,to\na,+1\nb,+2\na,+3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var seen []string
	err := Preview(context.Background(), options(t, srv, input, filepath.Join(dir, "r.csv")), func(m *sender.Message) {
		seen = append(seen, fmt.Sprintf("%d:%s:%s", m.Line, m.ID, m.Skip))
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(seen, " "), "2:a: 3:b: 4:a:duplicate"; got != want {
		t.Errorf("messages %q, want %q", got, want)
	}
	if reqs, _ := srv.requests(); reqs != 0 {
		t.Errorf("%d requests, want none", reqs)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the preview left files: %v", entries)
	}
}
