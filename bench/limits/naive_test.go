package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestNaiveWait(t *testing.T) {
	unix := func(d time.Duration) string { return strconv.FormatInt(testNow.Add(d).Unix(), 10) }
	tests := []struct {
		name   string
		header map[string]string
		want   time.Duration
	}{
		{"no header", nil, 0},
		{"unix seconds ahead", map[string]string{"X-RateLimit-Reset": unix(3 * time.Second)}, 3 * time.Second},
		{"unix seconds past", map[string]string{"X-RateLimit-Reset": unix(-3 * time.Second)}, 0},
		{"unix seconds far ahead is capped", map[string]string{"X-RateLimit-Reset": unix(5 * time.Minute)}, naiveMaxSleep},
		{"delta seconds read as 1970", map[string]string{"Retry-After": "2"}, 0},
		{"unix ms read as seconds is capped", map[string]string{"X-RateLimit-Reset": strconv.FormatInt(testNow.UnixMilli(), 10)}, naiveMaxSleep},
		{"http date does not parse", map[string]string{"Retry-After": testNow.Add(time.Minute).Format(http.TimeFormat)}, 0},
		{"duration does not parse", map[string]string{"X-RateLimit-Reset": "6m0s"}, 0},
		{"fractional reset-after", map[string]string{"X-RateLimit-Reset-After": "0.250"}, 0},
		{"inin seconds", map[string]string{"inin-ratelimit-reset": "1"}, 0},
		{"ratelimit-reset", map[string]string{"RateLimit-Reset": unix(2 * time.Second)}, 2 * time.Second},
		{"first header wins", map[string]string{"X-RateLimit-Reset": "1", "Retry-After": unix(4 * time.Second)}, 0},
		{"later header when first absent", map[string]string{"Retry-After": unix(4 * time.Second)}, 4 * time.Second},
		{"NaN", map[string]string{"X-RateLimit-Reset": "NaN"}, 0},
		{"Inf", map[string]string{"X-RateLimit-Reset": "+Inf"}, 0},
		{"huge", map[string]string{"X-RateLimit-Reset": "1e300"}, naiveMaxSleep},
		{"spaces", map[string]string{"X-RateLimit-Reset": "  " + unix(time.Second) + " "}, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			if got := naiveWait(h, testNow); got != tt.want {
				t.Errorf("naiveWait = %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzNaiveWait(f *testing.F) {
	for _, s := range []string{"", "0", "1", "1772366400", "1772366400123", "0.010", "-5", "NaN", "1e400", "Sun, 01 Mar 2026 12:00:00 GMT", "6m0s"} {
		f.Add("X-RateLimit-Reset", s)
		f.Add("Retry-After", s)
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		h := http.Header{}
		h.Set(name, value)
		if d := naiveWait(h, testNow); d < 0 || d > naiveMaxSleep {
			t.Errorf("naiveWait(%q: %q) = %v, outside [0, %v]", name, value, d, naiveMaxSleep)
		}
	})
}

// TestNaiveDeliver checks the retry loop without waiting: the sleeps it
// asks for are recorded, not slept.
func TestNaiveDeliver(t *testing.T) {
	tests := []struct {
		name       string
		answers    []int // status per attempt; the last repeats
		reset      string
		wantOK     bool
		wantPosts  int
		wantSleeps []time.Duration
	}{
		{"first try", []int{200}, "", true, 1, nil},
		{"two 429s then accepted", []int{429, 429, 202}, strconv.FormatInt(testNow.Unix()+5, 10), true, 3, []time.Duration{5 * time.Second, 5 * time.Second}},
		{"delta seconds mean no sleep", []int{429, 200}, "1", true, 2, []time.Duration{0}},
		{"dropped after three 429s", []int{429}, strconv.FormatInt(testNow.Unix()+1, 10), false, 3, []time.Duration{time.Second, time.Second}},
		{"5xx spends tries without sleeping", []int{503}, "", false, 3, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var posts atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := int(posts.Add(1)) - 1
				status := tt.answers[min(i, len(tt.answers)-1)]
				if tt.reset != "" {
					w.Header().Set("X-RateLimit-Reset", tt.reset)
				}
				w.WriteHeader(status)
			}))
			defer srv.Close()
			var mu sync.Mutex
			var sleeps []time.Duration
			n := &naive{
				client: srv.Client(),
				url:    srv.URL,
				now:    func() time.Time { return testNow },
				sleep: func(_ context.Context, d time.Duration) error {
					mu.Lock()
					defer mu.Unlock()
					sleeps = append(sleeps, d)
					return nil
				},
			}
			ok := n.deliver(t.Context(), row{ID: "a", To: "+15550000001"})
			if ok != tt.wantOK {
				t.Errorf("deliver = %v, want %v", ok, tt.wantOK)
			}
			if got := int(posts.Load()); got != tt.wantPosts {
				t.Errorf("posts = %d, want %d", got, tt.wantPosts)
			}
			if len(sleeps) != len(tt.wantSleeps) {
				t.Fatalf("sleeps = %v, want %v", sleeps, tt.wantSleeps)
			}
			for i := range sleeps {
				if sleeps[i] != tt.wantSleeps[i] {
					t.Errorf("sleep %d = %v, want %v", i, sleeps[i], tt.wantSleeps[i])
				}
			}
		})
	}
}

// TestSendAllUnlimited runs the naive pool against a server with no limit:
// every row must arrive exactly once.
func TestSendAllUnlimited(t *testing.T) {
	rows := makeRows(150)
	var posts, dup atomic.Int64
	var seen sync.Map
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		body, _ := io.ReadAll(r.Body)
		if _, loaded := seen.LoadOrStore(string(body), true); loaded {
			dup.Add(1)
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer hs.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: naiveWorkers}
	defer tr.CloseIdleConnections()
	n := &naive{client: &http.Client{Transport: tr}, url: hs.URL, now: time.Now, sleep: sleepCtx}
	if got := n.sendAll(t.Context(), rows); got != len(rows) {
		t.Errorf("acked %d rows, want %d", got, len(rows))
	}
	if posts.Load() != int64(len(rows)) || dup.Load() != 0 {
		t.Errorf("server saw %d posts, %d duplicates; want %d, 0", posts.Load(), dup.Load(), len(rows))
	}
}

// TestRunNaiveAgainstSandbox checks what holds however the timing falls:
// naive never delivers twice, and what it acked is what the sandbox counted.
// x-ratelimit-reset-after reads as "no sleep", so the run is short.
func TestRunNaiveAgainstSandbox(t *testing.T) {
	const rows = 60
	tr, err := runNaive(t.Context(), scenario{Name: "t", Style: "x-ratelimit-reset-after"}, makeRows(rows))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Server.Duplicates != 0 || int64(tr.Acked) != tr.Server.Distinct || tr.Acked+tr.Dropped != rows {
		t.Errorf("acked %d, dropped %d, server %+v", tr.Acked, tr.Dropped, tr.Server)
	}
	if tr.Server.Requests < rows || tr.Server.Requests > rows*naiveTries {
		t.Errorf("server saw %d requests, want %d..%d", tr.Server.Requests, rows, rows*naiveTries)
	}
	if tr.ExitCode != nil || tr.Summary != nil {
		t.Errorf("naive trial has bulksend fields: %+v", tr)
	}
}
