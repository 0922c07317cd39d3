package probe_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulksend/bulksend/internal/testkit"
	"github.com/bulksend/bulksend/probe"
	"github.com/bulksend/bulksend/ratelimit"
	"github.com/bulksend/bulksend/sandbox"
)

// handlerTransport answers every request in-process from h, no sockets.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, r)
	return w.Result(), nil
}

// roundTripFunc is a RoundTripper from a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// simulated runs a probe against an in-process sandbox on a fake clock.
func simulated(t *testing.T, sc sandbox.Config, pc probe.Config) *probe.Result {
	t.Helper()
	// The clock only moves when the prober waits: a timer fires at once,
	// having moved the clock by its duration. With one request in flight the
	// prober only waits when nothing is in flight, so the probe is
	// deterministic and takes no real time.
	clock := testkit.NewJumpClock(time.Date(2025, 3, 1, 12, 0, 0, 123e6, time.UTC))
	sc.Now = clock.Now
	srv, err := sandbox.New(sc)
	if err != nil {
		t.Fatal(err)
	}
	pc.URL = "http://sandbox.test/send"
	pc.Client = &http.Client{Transport: handlerTransport{srv}}
	pc.Clock = clock
	pc.Concurrency = 1
	res, err := probe.Run(context.Background(), pc)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := srv.Stats().Requests; got != int64(res.Requests) {
		t.Errorf("sandbox saw %d requests, probe says %d", got, res.Requests)
	}
	return res
}

// bucketFlags are the flags that pin a bucket of 15 refilled 20 a second.
var bucketFlags = regexp.MustCompile(`^--rate (1[89]|2[01])(\.\d+)?/s --burst 1[3-7]$`)

// TestRunStyles probes the sandbox in every header style: the burst and
// rate are measured, the reset header and its unit are named as send reads
// them, and the skewed server clock is found.
func TestRunStyles(t *testing.T) {
	tests := []struct {
		style, header, unit string
		quota               string // Quota.Header, "" for none
	}{
		{sandbox.StyleResetUnix, "X-RateLimit-Reset", ratelimit.UnitUnix, "X-RateLimit"},
		{sandbox.StyleRetryAfter, "Retry-After", ratelimit.UnitSeconds, ""},
		{sandbox.StyleRetryAfterDate, "Retry-After", ratelimit.UnitHTTPDate, ""},
		{sandbox.StyleRateLimit, "RateLimit", ratelimit.UnitSeconds, "RateLimit"},
		{sandbox.StyleRateLimitOld, "RateLimit-Reset", ratelimit.UnitSeconds, "RateLimit"},
		{sandbox.StyleResetAfter, "X-RateLimit-Reset-After", ratelimit.UnitSeconds, "X-RateLimit"},
		{sandbox.StyleInin, "inin-ratelimit-reset", ratelimit.UnitSeconds, "inin-ratelimit"},
		{sandbox.StyleResetUnixMS, "X-RateLimit-Reset", ratelimit.UnitUnixMS, "X-RateLimit"},
		{sandbox.StyleResetSeconds, "X-RateLimit-Reset", ratelimit.UnitSeconds, "X-RateLimit"},
		{sandbox.StyleResetISO, "X-RateLimit-Reset", ratelimit.UnitISO8601, "X-RateLimit"},
		{sandbox.StyleResetDuration, "X-RateLimit-Reset", ratelimit.UnitDuration, "X-RateLimit"},
		{sandbox.StyleResetJSDate, "X-RateLimit-Reset", ratelimit.UnitJSDate, "X-RateLimit"},
		{sandbox.StyleResetRFC1123, "Retry-After", ratelimit.UnitHTTPDate, "X-RateLimit"},
		{sandbox.StyleNone, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.style, func(t *testing.T) {
			res := simulated(t, sandbox.Config{Burst: 15, Rate: 20, Style: tt.style, Skew: 90 * time.Second}, probe.Config{})
			checkMeasured(t, res, 15, 20)
			if res.Reset.Header != tt.header || res.Reset.Unit != tt.unit {
				t.Errorf("reset header %q unit %q, want %q %q", res.Reset.Header, res.Reset.Unit, tt.header, tt.unit)
			}
			if res.QuotaOK != (tt.quota != "") || res.Quota.Header != tt.quota {
				t.Errorf("quota %+v ok=%v, want family %q", res.Quota, res.QuotaOK, tt.quota)
			}
			if tt.quota != "" && res.Quota.Limit != 15 {
				t.Errorf("quota limit %d, want 15", res.Quota.Limit)
			}
			if !res.ClockSkewKnown || math.Abs(res.ClockSkew.Seconds()-90) > 0.05 || res.ClockSkewMargin > 50*time.Millisecond {
				t.Errorf("skew %v ±%v (known %v), want 90s to 0.05s", res.ClockSkew, res.ClockSkewMargin, res.ClockSkewKnown)
			}
			// The model and the flags, which the probe script reads on the
			// real clock only loosely: a loaded machine's stalls can make
			// this bucket look like a sliding log of 15 per 750ms there.
			if !res.ModelOK || res.Model.Model != ratelimit.ModelBucket {
				t.Errorf("model %+v (ok %v), want a bucket", res.Model, res.ModelOK)
			}
			if f := res.SuggestedFlags(); !bucketFlags.MatchString(f) {
				t.Errorf("suggested flags %q, want %v", f, bucketFlags)
			}
		})
	}
}

// TestRunLimits probes limits of other shapes and sizes.
func TestRunLimits(t *testing.T) {
	tests := []struct {
		name      string
		sandbox   sandbox.Config
		probe     probe.Config
		burst     int
		perSecond float64
	}{
		{"small and slow", sandbox.Config{Burst: 5, Rate: 2}, probe.Config{}, 5, 2},
		{"big and fast", sandbox.Config{Burst: 40, Rate: 500}, probe.Config{}, 40, 500},
		{"one at a time", sandbox.Config{Burst: 1, Rate: 10}, probe.Config{}, 1, 10},
		{"fixed window", sandbox.Config{Burst: 10, Window: time.Second}, probe.Config{}, 10, 10},
		{"clock behind", sandbox.Config{Burst: 15, Rate: 20, Skew: -3 * time.Minute}, probe.Config{}, 15, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := simulated(t, tt.sandbox, tt.probe)
			checkMeasured(t, res, tt.burst, tt.perSecond)
			// A probe over in less than a second knows the skew to within
			// the margin it gives; a longer one to a few milliseconds.
			want, margin := tt.sandbox.Skew.Seconds(), res.ClockSkewMargin.Seconds()
			if !res.ClockSkewKnown || math.Abs(res.ClockSkew.Seconds()-want) > margin+0.001 || margin > 0.5 ||
				res.Elapsed > 2*time.Second && margin > 0.1 {
				t.Errorf("skew %v ±%v (known %v) after %v, want %vs", res.ClockSkew, res.ClockSkewMargin, res.ClockSkewKnown, res.Elapsed, want)
			}
		})
	}
}

func checkMeasured(t *testing.T, res *probe.Result, burst int, perSecond float64) {
	t.Helper()
	if !res.Limited || res.Burst != burst {
		t.Errorf("limited %v burst %d (raw %d), want %d", res.Limited, res.Burst, res.AcceptedBeforeThrottle, burst)
	}
	if res.Rate.LowerBound || math.Abs(res.Rate.PerSecond-perSecond) > perSecond*0.08 {
		t.Errorf("rate %+v, want %v/s ±8%%", res.Rate, perSecond)
	}
	if res.Requests > 400 || res.Accepted+res.Throttled != res.Requests {
		t.Errorf("%d requests: %d accepted, %d throttled", res.Requests, res.Accepted, res.Throttled)
	}
	if res.SuggestedFlags() == "" {
		t.Errorf("no suggested flags")
	}
}

// TestRunNoLimit: a budget spent without a throttle answer says so, with
// the pace reached as a lower bound.
func TestRunNoLimit(t *testing.T) {
	tests := []struct {
		name    string
		sandbox sandbox.Config
		probe   probe.Config
	}{
		{"no limit at all", sandbox.Config{}, probe.Config{MaxRequests: 30}},
		{"burst above the budget", sandbox.Config{Burst: 200, Rate: 1}, probe.Config{MaxRequests: 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := simulated(t, tt.sandbox, tt.probe)
			want := tt.probe.MaxRequests
			if res.Limited || res.Requests != want || res.Accepted != want || res.Burst != 0 || res.SuggestedFlags() != "" {
				t.Errorf("result %+v", res)
			}
		})
	}
}

// TestRunBudgets: the request and time budgets end a probe, with what could
// be measured.
func TestRunBudgets(t *testing.T) {
	t.Run("few requests", func(t *testing.T) {
		res := simulated(t, sandbox.Config{Burst: 15, Rate: 20}, probe.Config{MaxRequests: 20})
		if res.Requests != 20 || !res.Limited || res.Burst != 15 {
			t.Errorf("result %d requests, limited %v, burst %d", res.Requests, res.Limited, res.Burst)
		}
	})
	t.Run("window longer than the probe", func(t *testing.T) {
		res := simulated(t, sandbox.Config{Burst: 60, Window: time.Minute, Style: sandbox.StyleRateLimit}, probe.Config{})
		if !res.Limited || res.Burst != 60 || !res.Rate.FromQuota || res.Rate.PerSecond != 1 || res.SuggestedFlags() != "--rate 1/s --burst 60" {
			t.Errorf("result limited %v, burst %d, rate %+v, flags %q", res.Limited, res.Burst, res.Rate, res.SuggestedFlags())
		}
	})
	t.Run("short time", func(t *testing.T) {
		res := simulated(t, sandbox.Config{Burst: 3, Rate: 0.1}, probe.Config{MaxDuration: 5 * time.Second})
		if !res.Limited || res.Burst != 3 || res.Rate.PerSecond != 0 || res.Elapsed > 5*time.Second {
			t.Errorf("result limited %v, burst %d, rate %+v, elapsed %v", res.Limited, res.Burst, res.Rate, res.Elapsed)
		}
	})
}

// TestRunFailures: what stops a probe, and that it says what it saw.
func TestRunFailures(t *testing.T) {
	refused := errors.New("connection refused")
	answer := func(status int, header http.Header) roundTripFunc {
		return func(*http.Request) (*http.Response, error) {
			w := httptest.NewRecorder()
			for k, v := range header {
				w.Header()[k] = v
			}
			w.WriteHeader(status)
			return w.Result(), nil
		}
	}
	tests := []struct {
		name      string
		url       string
		rt        roundTripFunc
		want      error
		requests  int
		throttled int
	}{
		{"unreachable", "", func(*http.Request) (*http.Response, error) { return nil, refused }, refused, 1, 0},
		{"not found", "", answer(404, nil), probe.ErrRejected, 1, 0},
		{"5xx without a hint", "", answer(502, nil), probe.ErrRejected, 1, 0},
		{"bad URL", "http://a b/", answer(200, nil), nil, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := tt.url
			if url == "" {
				url = "http://api.test/send"
			}
			res, err := probe.Run(context.Background(), probe.Config{
				URL: url, Client: &http.Client{Transport: tt.rt}, Clock: testkit.NewJumpClock(time.Time{}), Concurrency: 1,
			})
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if res == nil || res.Requests != tt.requests || res.Throttled != tt.throttled {
				t.Errorf("result %+v", res)
			}
		})
	}
}

// TestRunThrottle503: a 503 with a wait hint is a throttle, as send reads it.
func TestRunThrottle503(t *testing.T) {
	n := 0
	rt := roundTripFunc(func(*http.Request) (*http.Response, error) {
		n++
		w := httptest.NewRecorder()
		if n > 3 {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		return w.Result(), nil
	})
	res, err := probe.Run(context.Background(), probe.Config{
		URL: "http://api.test/", Client: &http.Client{Transport: rt}, Clock: testkit.NewJumpClock(time.Time{}), Concurrency: 1, MaxRequests: 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Limited || res.Burst != 3 || res.Reset.Header != "Retry-After" || res.Reset.Wait != 7*time.Second {
		t.Errorf("result %+v", res)
	}
}

// status503 answers 503 where h answers 429, as nginx's limit_req does by
// default (limit_req_status 503).
type status503 struct{ http.ResponseWriter }

func (w status503) WriteHeader(code int) {
	if code == http.StatusTooManyRequests {
		code = http.StatusServiceUnavailable
	}
	w.ResponseWriter.WriteHeader(code)
}

// TestRunBare503: a bare 503 from a server that has taken the probe's
// requests is its rate limit, as send reads it (nginx's limit_req answers
// 503 by default); one before any was taken refuses the request, as a
// server that is down does.
func TestRunBare503(t *testing.T) {
	clock := testkit.NewJumpClock(time.Date(2025, 3, 1, 12, 0, 0, 123e6, time.UTC))
	srv, err := sandbox.New(sandbox.Config{Model: sandbox.ModelLeaky, Burst: 15, Rate: 100, Style: sandbox.StyleNone, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { srv.ServeHTTP(status503{w}, r) })
	res, err := probe.Run(context.Background(), probe.Config{
		URL: "http://sandbox.test/send", Client: &http.Client{Transport: handlerTransport{h}}, Clock: clock, Concurrency: 1,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if f := res.Model; !res.ModelOK || f.Model != ratelimit.ModelBucket || f.Limit != 16 || math.Abs(f.Period.Seconds()-0.16) > 0.16*0.2 {
		t.Errorf("model %+v (ok %v), want a bucket of 16 per 160ms", f, res.ModelOK)
	}

	down := roundTripFunc(func(*http.Request) (*http.Response, error) {
		w := httptest.NewRecorder()
		w.WriteHeader(http.StatusServiceUnavailable)
		return w.Result(), nil
	})
	res, err = probe.Run(context.Background(), probe.Config{
		URL: "http://api.test/", Client: &http.Client{Transport: down}, Clock: testkit.NewJumpClock(time.Time{}), Concurrency: 1,
	})
	if !errors.Is(err, probe.ErrRejected) || res.Requests != 1 {
		t.Errorf("a server answering only 503: err %v after %d requests, want ErrRejected after 1", err, res.Requests)
	}
}

// TestRunCancel: ending ctx stops the probe with ctx's error and what was seen.
func TestRunCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	rt := roundTripFunc(func(*http.Request) (*http.Response, error) {
		if n++; n == 5 {
			cancel()
		}
		return httptest.NewRecorder().Result(), nil
	})
	res, err := probe.Run(ctx, probe.Config{URL: "http://api.test/", Client: &http.Client{Transport: rt}, Clock: testkit.NewJumpClock(time.Time{}), Concurrency: 1})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res.Accepted < 4 || res.Requests > 6 {
		t.Errorf("result: %d requests, %d accepted", res.Requests, res.Accepted)
	}
}

// TestRunSendsTheRequest: method, headers and body reach the server, on
// every request, and the caller's header is left alone.
func TestRunSendsTheRequest(t *testing.T) {
	var mu sync.Mutex
	var bad []string
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		buf := make([]byte, 64)
		k, _ := r.Body.Read(buf)
		mu.Lock()
		if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer tok" || string(buf[:k]) != `{"to":"+1555"}` {
			bad = append(bad, r.Method+" "+r.Header.Get("Authorization")+" "+string(buf[:k]))
		}
		mu.Unlock()
		return httptest.NewRecorder().Result(), nil
	})
	h := http.Header{"Authorization": {"Bearer tok"}}
	_, err := probe.Run(context.Background(), probe.Config{
		Method: http.MethodPost, URL: "http://api.test/send", Header: h, Body: []byte(`{"to":"+1555"}`),
		Client: &http.Client{Transport: rt}, MaxRequests: 8,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Errorf("requests differ from the one asked for: %q", bad)
	}
	if len(h) != 1 {
		t.Errorf("caller's header changed: %v", h)
	}
}

// TestRunBusyQuota: a limiter someone else just emptied shows no burst, but
// the rate is still measured, at the usual cost (a fit of a limit of one
// is weak, but another round would not make it stronger), and nothing
// suggests a burst that was never seen.
func TestRunBusyQuota(t *testing.T) {
	clock := testkit.NewJumpClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	srv, err := sandbox.New(sandbox.Config{Burst: 15, Rate: 20, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	for range 15 {
		srv.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/send", nil))
	}
	res, err := probe.Run(context.Background(), probe.Config{
		URL: "http://sandbox.test/send", Client: &http.Client{Transport: handlerTransport{srv}}, Clock: clock, Concurrency: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Limited || res.AcceptedBeforeThrottle != 0 || res.Requests > 80 || res.Rounds != 1 ||
		math.Abs(res.Rate.PerSecond-20) > 20*0.08 || !strings.HasPrefix(res.SuggestedFlags(), "--rate ") ||
		regexp.MustCompile(`--burst ([2-9]|\d\d)`).MatchString(res.SuggestedFlags()) {
		t.Errorf("result: %d requests, burst %d, rate %+v, flags %q", res.Requests, res.Burst, res.Rate, res.SuggestedFlags())
	}
}

// TestRunModels probes every limiter model of the sandbox on a simulated
// clock: the model, its limit within 10% and its period within 20%, and
// suggested flags that send no faster than the server allows.
func TestRunModels(t *testing.T) {
	w := 150 * time.Millisecond
	tests := []struct {
		name    string
		cfg     sandbox.Config
		model   string
		variant string // "" for a bucket
		limit   int
		period  time.Duration
	}{
		{"token bucket", sandbox.Config{Burst: 15, Rate: 100}, ratelimit.ModelBucket, "", 15, w},
		{"leaky bucket", sandbox.Config{Model: sandbox.ModelLeaky, Burst: 15, Rate: 100}, ratelimit.ModelBucket, "", 16, 160 * time.Millisecond},
		{"fixed window", sandbox.Config{Model: sandbox.ModelFixed, Burst: 15, Window: w}, ratelimit.ModelFixedWindow, probe.VariantFromFirst, 15, w},
		{"fixed window of 100 per second", sandbox.Config{Model: sandbox.ModelFixed, Burst: 100, Window: time.Second}, ratelimit.ModelFixedWindow, probe.VariantFromFirst, 100, time.Second},
		{"sliding log", sandbox.Config{Model: sandbox.ModelSliding, Burst: 15, Window: w}, ratelimit.ModelSlidingWindow, probe.VariantLog, 15, w},
		{"sliding counter counting refusals", sandbox.Config{Model: sandbox.ModelSliding, Sliding: sandbox.SlidingCounter, Burst: 15, Window: w, RefusedCount: true},
			ratelimit.ModelSlidingWindow, probe.VariantCounter, 15, w},
		{"sliding counter from the first request counting refusals (HAProxy)",
			sandbox.Config{Model: sandbox.ModelSliding, Sliding: sandbox.SlidingCounterFirst, Burst: 15, Window: w, RefusedCount: true},
			ratelimit.ModelSlidingWindow, probe.VariantCounterFirst, 15, w},
		{"sliding counter from the first request of 100 per second",
			sandbox.Config{Model: sandbox.ModelSliding, Sliding: sandbox.SlidingCounterFirst, Burst: 100, Window: time.Second, RefusedCount: true},
			ratelimit.ModelSlidingWindow, probe.VariantCounterFirst, 100, time.Second},
		{"bucket counting refusals", sandbox.Config{Burst: 15, Rate: 100, RefusedCount: true}, ratelimit.ModelBucket, "", 15, w},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := simulated(t, tt.cfg, probe.Config{})
			f := res.Model
			if !res.ModelOK || f.Model != tt.model {
				t.Fatalf("model %+v, want %s", f, tt.model)
			}
			if f.Variant != tt.variant {
				t.Errorf("variant %q, want %q", f.Variant, tt.variant)
			}
			if math.Abs(float64(f.Limit-tt.limit)) > 0.1*float64(tt.limit) || math.Abs(f.Period.Seconds()-tt.period.Seconds()) > 0.2*tt.period.Seconds() {
				t.Errorf("%d per %v, want %d per %v", f.Limit, f.Period, tt.limit, tt.period)
			}
			if truth := float64(tt.limit) / tt.period.Seconds(); res.Rate.PerSecond*0.97 > truth*1.001 || res.SuggestedFlags() == "" {
				t.Errorf("rate %v/s, flags %q: faster than the server's %v/s", res.Rate.PerSecond, res.SuggestedFlags(), truth)
			}
		})
	}
}

// TestRunLimitOfOne: a limiter that holds one request (nginx's limit_req
// without a burst) is a bucket, a window and a log alike; those are one
// limiter, not rivals, so the fit is confident and says no weak fit.
func TestRunLimitOfOne(t *testing.T) {
	res := simulated(t, sandbox.Config{Burst: 1, Rate: 100}, probe.Config{})
	f := res.Model
	if !res.ModelOK || f.Model != ratelimit.ModelBucket || f.Limit != 1 || math.Abs(f.Period.Seconds()-0.01) > 0.002 {
		t.Fatalf("model %+v (ok %v), want a bucket of 1 per 10ms", f, res.ModelOK)
	}
	if f.Confidence < probe.DefaultMinConfidence || res.Rounds != 1 {
		t.Errorf("confidence %.2f after %d rounds, want at least %.2f after 1", f.Confidence, res.Rounds, probe.DefaultMinConfidence)
	}
}

// TestRunRounds: a fit below Config.MinConfidence makes the probe take
// another round, twice the evidence, rather than report a weak fit; it
// stops when the fit is confident, when a round did not raise the
// confidence, or when the budget is spent.
func TestRunRounds(t *testing.T) {
	haproxy := sandbox.Config{Model: sandbox.ModelSliding, Sliding: sandbox.SlidingCounterFirst, Burst: 15, Window: 150 * time.Millisecond, RefusedCount: true}
	tests := []struct {
		name          string
		sandbox       sandbox.Config
		probe         probe.Config
		rounds        int
		minConfidence float64
		maxConfidence float64
	}{
		// One round of HAProxy's counter leaves a fixed window nearly as
		// good (confidence 0.5); the second tells them apart.
		{"weak fit, another round", haproxy, probe.Config{}, 2, 0.9, 1},
		{"settling for less", haproxy, probe.Config{MinConfidence: 0.4}, 1, 0.4, 0.89},
		{"confident at once", sandbox.Config{Model: sandbox.ModelLeaky, Burst: 15, Rate: 100}, probe.Config{}, 1, 0.9, 1},
		// A bucket of one and a window of one decide alike: they are
		// one limiter, and another round would add nothing.
		{"nothing to gain", sandbox.Config{Burst: 1, Rate: 10}, probe.Config{}, 1, 0.9, 1},
		// The second round would end at about 120 requests.
		{"the budget ends it", haproxy, probe.Config{MinConfidence: 2, MaxRequests: 100}, 2, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := simulated(t, tt.sandbox, tt.probe)
			if c := res.Model.Confidence; !res.ModelOK || res.Rounds != tt.rounds || c < tt.minConfidence || c > tt.maxConfidence {
				t.Errorf("%d rounds, confidence %.2f (model %v), want %d rounds, %.2f-%.2f", res.Rounds, c, res.ModelOK, tt.rounds, tt.minConfidence, tt.maxConfidence)
			}
			if tt.probe.MaxRequests > 0 && res.Requests != tt.probe.MaxRequests {
				t.Errorf("%d requests, want the budget's %d", res.Requests, tt.probe.MaxRequests)
			}
		})
	}
}
