package report

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulksend/bulksend/sender"
)

// TestStateSentAt: for a line whose latest rows are unknown or in flight,
// SentAt is the earliest sent_at among them (a --resume that looked the row
// up and was killed does not move it later); a row that settles the line
// forgets it; a row without a sent_at leaves the earlier one standing.
func TestStateSentAt(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 9, 30, 0, 123_000_000, time.UTC)
	at := func(line int, st sender.Status, d time.Duration) Row {
		row := Row{Line: line, ID: fmt.Sprint("id", line), Status: st}
		if d >= 0 {
			row.SentAt = formatTime(t0.Add(d))
		}
		return row
	}
	const none = -1
	tests := []struct {
		name string
		rows []Row
		want time.Time // of line 2
	}{
		{"in flight, then unknown: the in-flight stamp, taken before the request", journal(at(2, inflight, 0), at(2, unknown, time.Second)), t0},
		{"unknown alone", journal(at(2, unknown, time.Second)), t0.Add(time.Second)},
		{"in flight, killed", journal(at(2, inflight, 0)), t0},
		{"a resume killed while it looked up: the first run's time", journal(at(2, inflight, 0), at(2, unknown, time.Second), at(2, inflight, time.Hour)), t0},
		{"a resume left it unknown without a request", journal(at(2, inflight, 0), at(2, unknown, none)), t0},
		{"unknown without a time: not known", journal(at(2, unknown, none)), time.Time{}},
		{"sent: settled", journal(at(2, inflight, 0), at(2, sent, time.Second)), time.Time{}},
		{"failed, then retried and killed: the retry's time", journal(at(2, inflight, 0), at(2, failed, time.Second), at(2, inflight, time.Minute)), t0.Add(time.Minute)},
		{"pending: settled", journal(at(2, sender.StatusPending, none)), time.Time{}},
		{"another line's rows do not count", journal(at(3, inflight, 0), at(2, inflight, time.Hour), at(3, sent, time.Second)), t0.Add(time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal.csv")
			writeFile(t, path, tt.rows)
			s, err := LoadContext(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := s.SentAt(2); !got.Equal(tt.want) {
				t.Errorf("SentAt(2) = %v, want %v", got, tt.want)
			}
		})
	}
}
