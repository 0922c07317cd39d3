package sender

import (
	"context"
	"errors"
	"maps"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bulksend/bulksend/ratelimit"
)

// recordFailingJournal takes Begin and fails every Record.
type recordFailingJournal struct{ err error }

func (recordFailingJournal) Begin(*Message) error   { return nil }
func (j recordFailingJournal) Record(*Result) error { return j.err }

func TestSettler(t *testing.T) {
	diskFull := errors.New("no space left on device")
	sent := func(line int, lat time.Duration) *Result {
		return &Result{Line: line, Status: StatusSent, Attempts: 1, Latency: lat}
	}
	row := func(line int, st Status) *Result { return &Result{Line: line, Status: st} }
	tests := []struct {
		name        string
		journalErr  error
		dropped     []*job    // left without a result first
		record      []*Result // this run's results
		earlier     []*Result // rows an earlier run settled
		wantCounts  map[Status]int
		wantWritten int
		wantDone    int64
		wantSent    int64
		wantFailed  int64 // failed, invalid and unknown
		wantLatency int64 // samples
		wantUnfin   int
	}{
		{name: "this run's rows are written and counted",
			record:      []*Result{sent(2, time.Millisecond), row(3, StatusFailed), row(4, StatusInvalid), row(5, StatusUnknown), row(6, StatusDuplicate), row(7, StatusSkipped)},
			wantCounts:  map[Status]int{StatusSent: 1, StatusFailed: 1, StatusInvalid: 1, StatusUnknown: 1, StatusDuplicate: 1, StatusSkipped: 1},
			wantWritten: 6, wantDone: 6, wantSent: 1, wantFailed: 3, wantLatency: 1},
		{name: "earlier rows are counted, not written, not timed",
			earlier:    []*Result{row(2, StatusSent), row(3, StatusFailed)},
			wantCounts: map[Status]int{StatusSent: 1, StatusFailed: 1}, wantDone: 2, wantSent: 1, wantFailed: 1},
		{name: "a journal failure is returned, the row still counted",
			journalErr: diskFull, record: []*Result{sent(2, time.Millisecond)},
			wantCounts: map[Status]int{StatusSent: 1}, wantDone: 1, wantSent: 1, wantLatency: 1},
		{name: "a job the run leaves is pending, or unknown when it may have arrived",
			dropped: []*job{{m: &Message{Line: 2}, begun: true, attempts: 1}, {m: &Message{Line: 3}},
				{m: &Message{Line: 4}, begun: true, attempts: 2, maybe: true}},
			wantCounts:  map[Status]int{StatusPending: 2, StatusUnknown: 1},
			wantWritten: 3, wantDone: 1, wantFailed: 1},
		{name: "an unsent row an earlier run may have delivered is unknown, not pending",
			dropped: []*job{newJob(&Message{Line: 2, Settle: true, Lookup: &Lookup{URL: "http://x/m/2"}}, time.Time{}),
				newJob(&Message{Line: 3}, time.Time{})},
			wantCounts:  map[Status]int{StatusUnknown: 1, StatusPending: 1},
			wantWritten: 2, wantDone: 1, wantFailed: 1},
		{name: "a begun job the journal cannot settle is unfinished",
			journalErr: diskFull,
			dropped:    []*job{{m: &Message{Line: 2}, begun: true, attempts: 1}, {m: &Message{Line: 3}}},
			wantCounts: map[Status]int{StatusPending: 2}, wantUnfin: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := newMemJournal()
			var journal Journal = mem
			if tt.journalErr != nil {
				journal = recordFailingJournal{tt.journalErr}
			}
			progress := new(Progress)
			counts := make(map[Status]int)
			s := newSettler(journal, progress, counts)
			for _, j := range tt.dropped {
				if err := s.leave(j); !errors.Is(err, tt.journalErr) {
					t.Errorf("leave line %d: %v, want %v", j.m.Line, err, tt.journalErr)
				}
			}
			for _, r := range tt.record {
				if err := s.record(r); !errors.Is(err, tt.journalErr) {
					t.Errorf("record line %d: %v, want %v", r.Line, err, tt.journalErr)
				}
			}
			for _, r := range tt.earlier {
				s.earlier(r)
			}
			if !maps.Equal(counts, tt.wantCounts) {
				t.Errorf("counts %v, want %v", counts, tt.wantCounts)
			}
			if got := len(mem.results()); got != tt.wantWritten {
				t.Errorf("%d rows written, want %d", got, tt.wantWritten)
			}
			if progress.Done.Load() != tt.wantDone || progress.Sent.Load() != tt.wantSent || progress.Failed.Load() != tt.wantFailed {
				t.Errorf("progress done %d sent %d failed %d, want %d %d %d", progress.Done.Load(), progress.Sent.Load(),
					progress.Failed.Load(), tt.wantDone, tt.wantSent, tt.wantFailed)
			}
			if s.lat.n != tt.wantLatency {
				t.Errorf("%d latency samples, want %d", s.lat.n, tt.wantLatency)
			}
			if s.unfinished != tt.wantUnfin {
				t.Errorf("%d rows unfinished, want %d", s.unfinished, tt.wantUnfin)
			}
		})
	}
}

// beginFailingJournal refuses every Begin and keeps every Record.
type beginFailingJournal struct{ *memJournal }

func (beginFailingJournal) Begin(*Message) error { return errors.New("no space left on device") }

// TestRunBeginFails: a journal that cannot record a row in flight ends the
// run before its request; the row is failed, or unknown when an earlier
// run may have delivered it.
func TestRunBeginFails(t *testing.T) {
	for _, settle := range []bool{false, true} {
		srv := &recordingServer{}
		ts := httptest.NewServer(srv)
		msgs := newMessages(1, ts.URL)
		want := StatusFailed
		if settle {
			msgs[0].Settle, msgs[0].Lookup, want = true, &Lookup{URL: ts.URL + "/lookup"}, StatusUnknown
		}
		j := newMemJournal()
		cfg := Config{Client: newClient(t), Journal: beginFailingJournal{j}, Concurrency: 1, Limiter: ratelimit.New(ratelimit.Config{})}
		if _, err := runGuarded(t, context.Background(), nil, cfg, &sliceSource{msgs: msgs}, 10*time.Second); err == nil {
			t.Errorf("settle %v: Run succeeded, want the journal's error", settle)
		}
		ts.Close()
		if r := j.result(2); r == nil || r.Status != want || !strings.Contains(r.Error, "journal: ") {
			t.Errorf("settle %v: %+v, want %s for the journal's error", settle, r, want)
		}
		srv.mu.Lock()
		if len(srv.order) != 0 {
			t.Errorf("settle %v: %d requests, want none", settle, len(srv.order))
		}
		srv.mu.Unlock()
	}
}
