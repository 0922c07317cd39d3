package sender

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"
	_ "time/tzdata" // the test's zones, whatever the machine has

	"github.com/bulksend/bulksend/ratelimit"
	"github.com/bulksend/bulksend/sandbox"
	"github.com/bulksend/bulksend/sendwindow"
)

// TestRunSendWindows: with the clock at Saturday 7 March 2026, 21:00 in
// New York (02:00 UTC, the night before clocks spring forward), and a
// window of 09:00-20:00 in each row's zone, the rows in Tokyo (11:00
// there) are sent, the rows in New York are left pending without a
// request, and the run parks until their window opens: 09:00 EDT, which is
// 13:00 UTC, not the 14:00 UTC it would be in winter.
func TestRunSendWindows(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	schedule, err := sendwindow.ParseSchedule([]string{"09:00-20:00"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 8, 2, 0, 0, 0, time.UTC)
	opens := time.Date(2026, 3, 8, 13, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		zones    []*time.Location
		wantSent int
	}{
		{name: "closed now for every row: parked before any request", zones: []*time.Location{ny, ny, ny}},
		{name: "the others go on", zones: []*time.Location{ny, tokyo, ny, tokyo, tokyo}, wantSent: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := sandbox.New(sandbox.Config{})
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			msgs := newMessages(len(tt.zones), ts.URL+"/send")
			for i, loc := range tt.zones {
				msgs[i].Window = schedule.In(loc)
			}
			j := newMemJournal()
			cfg := Config{Client: newClient(t), Journal: j, Limiter: ratelimit.New(ratelimit.Config{}),
				Now: func() time.Time { return now }}
			sum, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: msgs}, 10*time.Second)
			var parked *ParkedError
			if !errors.As(err, &parked) {
				t.Fatalf("Run: %v, want a *ParkedError", err)
			}
			if !parked.Until.Equal(opens) || parked.Until.Location() != ny {
				t.Errorf("parked until %v, want %v in New York time", parked.Until, opens.In(ny))
			}
			st := srv.Stats()
			if st.Requests != int64(tt.wantSent) || sum.Counts[StatusSent] != tt.wantSent {
				t.Errorf("%d requests, %d sent; want %d of each", st.Requests, sum.Counts[StatusSent], tt.wantSent)
			}
			for i, loc := range tt.zones {
				r := j.result(i + 2)
				want := StatusSent
				if loc == ny {
					want = StatusPending
				}
				if r == nil || r.Status != want {
					t.Fatalf("line %d: %+v, want %s", i+2, r, want)
				}
				if want == StatusPending && r.Error != "not sent: outside its send window, which opens 2026-03-08T09:00:00-04:00" {
					t.Errorf("line %d: error %q", i+2, r.Error)
				}
			}
			j.check(t)
		})
	}
}

// opensAt is a window closed until a time, then open for good.
type opensAt time.Time

func (o opensAt) Next(t time.Time) (time.Time, bool) {
	if t.Before(time.Time(o)) {
		return time.Time(o), true
	}
	return t, true
}

// TestRunWaitsForAWindowWithinMaxWait: a row whose window opens sooner
// than MaxWait waits in the queue while the rows behind it go on, and is
// sent once it opens; the run does not park.
func TestRunWaitsForAWindowWithinMaxWait(t *testing.T) {
	srv := &recordingServer{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	msgs := newMessages(3, ts.URL)
	msgs[0].Window = opensAt(time.Now().Add(50 * time.Millisecond))
	j := newMemJournal()
	cfg := Config{Client: newClient(t), Journal: j, Concurrency: 1, Limiter: ratelimit.New(ratelimit.Config{})}
	sum, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: msgs}, 10*time.Second)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if sum.Counts[StatusSent] != 3 {
		t.Fatalf("counts %v, want 3 sent", sum.Counts)
	}
	srv.mu.Lock()
	got := srv.order
	srv.mu.Unlock()
	if len(got) != 3 || got[2] != 2 {
		t.Errorf("lines sent in the order %v, want line 2 last: the others go on while it waits", got)
	}
}

// never is a window that never opens.
type never struct{}

func (never) Next(time.Time) (time.Time, bool) { return time.Time{}, false }

// TestRunWindowNeverOpens: a row whose window never opens is skipped
// without a request, unless an earlier run may have delivered it: that row
// is unknown, not skipped.
func TestRunWindowNeverOpens(t *testing.T) {
	srv := &recordingServer{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	msgs := newMessages(2, ts.URL)
	for _, m := range msgs {
		m.Window = never{}
	}
	msgs[1].Settle, msgs[1].Lookup = true, &Lookup{URL: ts.URL + "/lookup"}
	j := newMemJournal()
	cfg := Config{Client: newClient(t), Journal: j, Concurrency: 1, Limiter: ratelimit.New(ratelimit.Config{})}
	if _, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: msgs}, 10*time.Second); err != nil {
		t.Fatalf("Run: %v", err)
	}
	srv.mu.Lock()
	requests := len(srv.order)
	srv.mu.Unlock()
	if requests != 0 {
		t.Errorf("%d requests, want none", requests)
	}
	for line, want := range map[int]Status{2: StatusSkipped, 3: StatusUnknown} {
		if r := j.result(line); r == nil || r.Status != want {
			t.Errorf("line %d: %+v, want %s", line, r, want)
		}
	}
	j.check(t)
}
