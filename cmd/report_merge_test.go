package cmd

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bulksend/bulksend/report"
)

// mergeHeader is a CSV report's header; the merge itself is tested in
// package report, these tests check the command around it.
const mergeHeader = "line,id,status,http_status,attempts,throttled,error,message_id,latency_ms,sent_at,response\n"

func TestMergeRun(t *testing.T) {
	s1 := mergeHeader + "1,a,sent,200,1,0,,m-a,12,2026-11-27T12:00:01.000Z,\n3,c,failed,400,1,0,HTTP 400,,0,,\n"
	s2 := mergeHeader + "2,b,sent,200,1,0,,m-b,12,2026-11-27T12:00:02.000Z,\n"
	// s2 as a killed run left it: line 2 settled, line 4 still in flight.
	killed := mergeHeader + "2,b,inflight,0,0,0,,,0,2026-11-27T12:00:02.000Z,\n" +
		"4,d,inflight,0,0,0,,,0,2026-11-27T12:00:02.000Z,\n" + s2[len(mergeHeader):]
	tests := []struct {
		name       string
		files      map[string]string
		out        string
		force      bool
		partial    bool
		lock       string // an input a running send holds
		interrupt  bool   // a signal waits when the merge starts
		wantCode   int
		wantStderr string // in the summary or the error
		wantOut    bool   // OUT holds the merge afterwards
	}{
		{name: "merged, with a one-line summary", files: map[string]string{"s1.csv": s1, "s2.csv": s2}, out: "all.csv",
			wantStderr: "merged 2 reports into all.csv: 3 rows (sent 2, failed 1)", wantOut: true},
		{name: "OUT may be one of the inputs", files: map[string]string{"s1.csv": s1, "s2.csv": s2}, out: "s1.csv",
			wantStderr: "3 rows", wantOut: true},
		{name: "an existing OUT needs --force", files: map[string]string{"s1.csv": s1, "s2.csv": s2, "all.csv": s2}, out: "all.csv",
			wantCode: ExitUsage, wantStderr: "all.csv exists: --force overwrites it"},
		{name: "--force overwrites OUT", files: map[string]string{"s1.csv": s1, "s2.csv": s2, "all.csv": s2}, out: "all.csv", force: true,
			wantStderr: "3 rows", wantOut: true},
		{name: "different rows for one line", files: map[string]string{"s1.csv": s1, "s2.csv": strings.Replace(s2, "2,b", "1,z", 1)}, out: "all.csv",
			wantCode: ExitError, wantStderr: "line 1: "},
		{name: "a missing input", files: map[string]string{"s1.csv": s1}, out: "all.csv",
			wantCode: ExitError, wantStderr: "no such file"},
		{name: "an input in use by a running send", files: map[string]string{"s1.csv": s1, "s2.csv": s2}, out: "all.csv", lock: "s2.csv",
			wantCode: ExitError, wantStderr: "locked"},
		{name: "an unfinished report", files: map[string]string{"s1.csv": s1, "s2.csv": killed}, out: "all.csv",
			wantCode: ExitError, wantStderr: "s2.csv is unfinished (its run was killed before it finished, 1 row in flight): run its send again with --resume"},
		{name: "--partial merges it and says what is missing", files: map[string]string{"s1.csv": s1, "s2.csv": killed}, out: "all.csv", partial: true, wantOut: true,
			wantStderr: "4 rows (sent 2, failed 1, inflight 1)\nbulksend: --partial: s2.csv is unfinished (its run was killed before it finished, 1 row in flight)\n" +
				"bulksend: --partial: 1 row without a result"},
		{name: "interrupted", files: map[string]string{"s1.csv": s1, "s2.csv": s2}, out: "all.csv", interrupt: true,
			wantCode: ExitInterrupted, wantStderr: "interrupted: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, text := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tt.lock != "" {
				release, err := report.Lock(filepath.Join(dir, tt.lock))
				if err != nil {
					t.Fatal(err)
				}
				defer release()
			}
			sig := make(chan os.Signal, 1)
			if tt.interrupt {
				sig <- os.Interrupt
			}
			ios, _, _, errOut := TestStreams()
			opts := &MergeOptions{IO: ios, Signal: sig, Out: filepath.Join(dir, tt.out),
				Inputs: []string{filepath.Join(dir, "s1.csv"), filepath.Join(dir, "s2.csv")}, Force: tt.force, Partial: tt.partial}
			err := mergeRun(t.Context(), opts)
			msg := strings.ReplaceAll(errOut.String(), dir+string(filepath.Separator), "")
			if err != nil {
				msg += strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
			}
			if exitCode(err) != tt.wantCode || !strings.Contains(msg, tt.wantStderr) {
				t.Fatalf("mergeRun: exit %d, %q; want exit %d and %q", exitCode(err), msg, tt.wantCode, tt.wantStderr)
			}
			want := []string{"1,a", "2,b", "3,c"}
			if tt.partial {
				want = append(want, "4,d")
			}
			if got := readMerged(t, opts.Out); tt.wantOut != slices.Equal(got, want) {
				t.Errorf("OUT has %v, want the merge: %v", got, tt.wantOut)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "*.merge-*")); len(left) > 0 {
				t.Errorf("left behind %v", left)
			}
		})
	}
}

// readMerged lists the "line,id" of the rows of the CSV report at path,
// or nil when it cannot be read.
func readMerged(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var rows []string
	err = report.Read(f, path, report.FormatCSV, func(r report.Row) error {
		rows = append(rows, strings.Join([]string{strconv.Itoa(r.Line), r.ID}, ","))
		return nil
	})
	if err != nil {
		return nil
	}
	return rows
}

func TestNewCmdReportMergeArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    *MergeOptions
		wantErr bool
	}{
		{name: "out and inputs", args: []string{"all.csv", "a.csv", "b.csv"},
			want: &MergeOptions{Out: "all.csv", Inputs: []string{"a.csv", "b.csv"}}},
		{name: "force", args: []string{"--force", "all.csv", "a.csv"},
			want: &MergeOptions{Out: "all.csv", Inputs: []string{"a.csv"}, Force: true}},
		{name: "partial", args: []string{"all.csv", "a.csv", "--partial"},
			want: &MergeOptions{Out: "all.csv", Inputs: []string{"a.csv"}, Partial: true}},
		{name: "no input", args: []string{"all.csv"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := TestStreams()
			var got *MergeOptions
			c := NewCmdReportMerge(ios, nil, func(o *MergeOptions) error { got = o; return nil })
			c.SetArgs(tt.args)
			c.SetOut(ios.ErrOut)
			c.SetErr(ios.ErrOut)
			err := c.Execute()
			if tt.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Out != tt.want.Out || !slices.Equal(got.Inputs, tt.want.Inputs) || got.Force != tt.want.Force || got.Partial != tt.want.Partial {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
