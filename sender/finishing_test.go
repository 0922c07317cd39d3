package sender

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/bulksend/bulksend/ratelimit"
)

// finishingCounter is a Limiter that records when it was told the run's
// last messages are the workers': how many answers had come by then.
type finishingCounter struct {
	mu        sync.Mutex
	successes int
	told      []int // successes at each Finishing
}

func (f *finishingCounter) Wait(context.Context) error { return nil }

func (f *finishingCounter) Throttle(time.Time, time.Duration, bool) time.Duration { return 0 }

func (f *finishingCounter) Success(time.Time, ratelimit.Quota, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.successes++
}

func (f *finishingCounter) Finishing() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.told = append(f.told, f.successes)
}

// TestRunTellsFinishing: once the input is read and every message left is
// a worker's, the limiter is told so, once: by then all but the workers'
// messages have been answered.
func TestRunTellsFinishing(t *testing.T) {
	ts := httptest.NewServer(&statusServer{status: 200})
	defer ts.Close()
	const rows, workers = 40, 4
	lim := &finishingCounter{}
	sum, err := runGuarded(t, context.Background(), nil, Config{Client: newClient(t), Limiter: lim, Journal: newMemJournal(), Concurrency: workers},
		&sliceSource{msgs: newMessages(rows, ts.URL)}, 10*time.Second)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if sum.Counts[StatusSent] != rows {
		t.Fatalf("counts %v, want %d sent", sum.Counts, rows)
	}
	if len(lim.told) != 1 || lim.told[0] < rows-workers {
		t.Errorf("Finishing after %v answers, want once after at least %d", lim.told, rows-workers)
	}
}
