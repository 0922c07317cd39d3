package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulksend/bulksend/sender"
)

// TestUpdateDelivery: UpdateDelivery adds the delivery columns to a CSV
// report (after segments when it has them) or the delivery keys to a JSONL
// one, keeps every other column and the file's mode, guards a formula in
// the error, and the columns survive reading, appending and compaction.
func TestUpdateDelivery(t *testing.T) {
	sent := func(line int) *sender.Result {
		return &sender.Result{Line: line, ID: "r" + string(rune('0'+line)), Status: sender.StatusSent, HTTPStatus: 201,
			Attempts: 1, MessageID: "SM" + string(rune('0'+line)), SentAt: time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC), Segments: 1}
	}
	tests := []struct {
		name     string
		file     string
		segments bool
		wantHead string
		wantRow2 string
	}{
		{name: "csv", file: "r.csv",
			wantHead: "line,id,status,http_status,attempts,throttled,error,message_id,latency_ms,sent_at,response,fingerprint,delivery_status,delivery_error,delivery_at\n",
			wantRow2: "2,r2,sent,201,1,0,,SM2,0,2026-12-03T14:00:00.000Z,,,undelivered,'=30003: x,2026-12-03T14:00:05.000Z\n"},
		{name: "csv with segments", file: "r.csv", segments: true,
			wantHead: "line,id,status,http_status,attempts,throttled,error,message_id,latency_ms,sent_at,response,segments,fingerprint,delivery_status,delivery_error,delivery_at\n",
			wantRow2: "2,r2,sent,201,1,0,,SM2,0,2026-12-03T14:00:00.000Z,,1,,undelivered,'=30003: x,2026-12-03T14:00:05.000Z\n"},
		{name: "jsonl", file: "r.jsonl",
			wantRow2: `"segments":1,"delivery_status":"undelivered","delivery_error":"=30003: x","delivery_at":"2026-12-03T14:00:05.000Z"}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.file)
			format := FormatFromName(path)
			w, err := Create(path, Options{Segments: tt.segments, CommitDelay: -1})
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range []int{2, 3} {
				if err := w.Record(sent(line)); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			err = UpdateDelivery(path, format, func(r *Row) {
				if r.Line == 2 {
					r.DeliveryStatus, r.DeliveryError, r.DeliveryAt = "undelivered", "=30003: x", "2026-12-03T14:00:05.000Z"
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(path)
			lines := strings.SplitAfter(string(b), "\n")
			if tt.wantHead != "" && lines[0] != tt.wantHead {
				t.Errorf("header %q, want %q", lines[0], tt.wantHead)
			}
			if !strings.Contains(string(b), tt.wantRow2) {
				t.Errorf("report has no %q:\n%s", tt.wantRow2, b)
			}
			if info, _ := os.Stat(path); info.Mode().Perm() != reportPerm {
				t.Errorf("mode %v, want %v", info.Mode().Perm(), os.FileMode(reportPerm))
			}
			// --resume appends in the file's columns; compaction keeps them.
			w, err = Append(path, Options{CommitDelay: -1})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Record(sent(4)); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w.Compact(); err != nil {
				t.Fatal(err)
			}
			got := map[int]Row{}
			if err := readFile(path, format, func(r Row) error { got[r.Line] = r; return nil }); err != nil {
				t.Fatal(err)
			}
			r2 := got[2]
			if r2.DeliveryStatus != "undelivered" || r2.DeliveryError != "=30003: x" || r2.DeliveryAt != "2026-12-03T14:00:05.000Z" ||
				r2.MessageID != "SM2" {
				t.Errorf("line 2 read back as %+v", r2)
			}
			if len(got) != 3 || got[3].DeliveryStatus != "" || got[4].Status != sender.StatusSent {
				t.Errorf("rows read back: %+v", got)
			}
		})
	}
}
