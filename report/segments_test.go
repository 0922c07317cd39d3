package report

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulksend/bulksend/sender"
)

// TestSegmentsColumn: a report opened with Options.Segments has the
// segments column after response, empty for a row not counted; the column
// survives reading, appending (--resume), compaction and merging, and a
// report without it gets none appended.
func TestSegmentsColumn(t *testing.T) {
	const withCol = "line,id,status,http_status,attempts,throttled,error,message_id,latency_ms,sent_at,response,segments,fingerprint\n"
	const without = "line,id,status,http_status,attempts,throttled,error,message_id,latency_ms,sent_at,response,fingerprint\n"
	sent := func(line, segs int) *sender.Result {
		return &sender.Result{Line: line, ID: "r" + string(rune('0'+line)), Status: sender.StatusSent, HTTPStatus: 201, Attempts: 1,
			MessageID: "SM1", SentAt: time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC), Segments: segs}
	}
	tests := []struct {
		name     string
		segments bool
		header   string
		wantRow2 string
	}{
		{name: "vendor preset", segments: true, header: withCol, wantRow2: "2,r2,sent,201,1,0,,SM1,0,2026-12-03T14:00:00.000Z,,3,\n"},
		{name: "generic", segments: false, header: without, wantRow2: "2,r2,sent,201,1,0,,SM1,0,2026-12-03T14:00:00.000Z,,\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "r.csv")
			w, err := Create(path, Options{Segments: tt.segments, CommitDelay: -1})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range []*sender.Result{sent(2, 3), sent(3, 0)} {
				if err := w.Record(r); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(path)
			if !strings.HasPrefix(string(b), tt.header+tt.wantRow2) {
				t.Fatalf("report:\n%s", b)
			}
			// --resume appends with the file's own columns, whatever it is asked.
			w, err = Append(path, Options{Segments: !tt.segments, CommitDelay: -1})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Record(sent(4, 2)); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := Compact(path, FormatCSV); err != nil {
				t.Fatal(err)
			}
			merged := filepath.Join(dir, "merged.csv")
			if _, err := Merge(context.Background(), MergeOptions{Out: merged, Inputs: []string{path}}); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{path, merged} {
				b, _ := os.ReadFile(p)
				if !strings.HasPrefix(string(b), tt.header) {
					t.Errorf("%s: header lost:\n%s", filepath.Base(p), b)
				}
				var got []int
				err := Read(strings.NewReader(string(b)), p, FormatCSV, func(r Row) error {
					got = append(got, r.Segments)
					return nil
				})
				want := []int{3, 0, 2}
				if !tt.segments {
					want = []int{0, 0, 0}
				}
				if err != nil || len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
					t.Errorf("%s: segments %v, %v; want %v", filepath.Base(p), got, err, want)
				}
			}
		})
	}
}
