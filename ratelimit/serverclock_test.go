package ratelimit

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestServerClock(t *testing.T) {
	local := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	const skew = 5*time.Minute + 370*time.Millisecond
	var c ServerClock
	if _, ok := c.Now(local); ok {
		t.Fatal("Now before any answer")
	}
	// Answers every 37ms over two seconds, each taking 2ms.
	for i := range 60 {
		sent := local.Add(time.Duration(i) * 37 * time.Millisecond)
		received := sent.Add(2 * time.Millisecond)
		server := sent.Add(time.Millisecond).Add(skew)
		h := http.Header{"Date": {server.Truncate(time.Second).Format(http.TimeFormat)}}
		c.Observe(h, sent, received)
	}
	now := local.Add(3 * time.Second)
	got, ok := c.Now(now)
	if !ok {
		t.Fatalf("offset not learned: [%v, %v]", c.lo, c.hi)
	}
	if d := got.Sub(now.Add(skew)); d < -serverClockPrecise || d > serverClockPrecise {
		t.Errorf("server now off by %v", d)
	}

	// A reset in Unix ms 250ms ahead of the server's clock waits 250ms,
	// not up to a second more as against the Date header alone.
	reset := now.Add(skew).Add(250 * time.Millisecond)
	h := http.Header{
		"Date":              {now.Add(skew).Truncate(time.Second).Format(http.TimeFormat)},
		"X-Ratelimit-Reset": {itoa(reset.UnixMilli())},
	}
	sig, ok := c.ParseWaitAt(h, now)
	if !ok || sig.Wait < 150*time.Millisecond || sig.Wait > 350*time.Millisecond {
		t.Errorf("ParseWaitAt = %v, %v; want about 250ms", sig.Wait, ok)
	}
	if h.Get("Date") == "" {
		t.Error("ParseWaitAt changed the caller's header")
	}
	// So does the quota of an accepted answer: its reset, to the
	// millisecond, is 250ms away, where the Date header alone, truncated
	// to the second, would make it up to 1.25s.
	iso := http.Header{
		"Date":              {now.Add(skew).Truncate(time.Second).Format(http.TimeFormat)},
		"X-Ratelimit-Limit": {"100"}, "X-Ratelimit-Remaining": {"40"},
		"X-Ratelimit-Reset": {reset.UTC().Format("2006-01-02T15:04:05.000Z")},
	}
	if q, ok := c.ParseQuotaAt(iso, now); !ok || q.Remaining != 40 || q.Reset < 150*time.Millisecond || q.Reset > 350*time.Millisecond {
		t.Errorf("ParseQuotaAt = %+v, %v; want 40 left and a reset about 250ms away", q, ok)
	}
	// A reset in whole Unix seconds is read against the Date header
	// (Reset), and against the learned clock too (ResetFine): the
	// window model needs the second's instant to tell a server that
	// rounds its end up from one that truncates it.
	second := now.Add(skew).Truncate(time.Second).Add(2 * time.Second)
	unix := http.Header{
		"Date":              {now.Add(skew).Truncate(time.Second).Format(http.TimeFormat)},
		"X-Ratelimit-Limit": {"100"}, "X-Ratelimit-Remaining": {"40"},
		"X-Ratelimit-Reset": {itoa(second.Unix())},
	}
	fine := second.Sub(now.Add(skew))
	if q, ok := c.ParseQuotaAt(unix, now); !ok || q.Reset != 2*time.Second || !q.ResetSecond ||
		q.ResetFine < fine-serverClockPrecise || q.ResetFine > fine+serverClockPrecise {
		t.Errorf("ParseQuotaAt = %+v, %v; want a reset of 2s, and to the whole second about %v away", q, ok, fine)
	}
	if q, ok := c.ParseQuotaAt(iso, now); !ok || q.ResetSecond {
		t.Errorf("ParseQuotaAt = %+v, %v: a reset to the millisecond is no whole second", q, ok)
	}
	if q, ok := c.ParseQuotaAt(http.Header{"Date": iso["Date"]}, now); ok {
		t.Errorf("ParseQuotaAt without a quota header = %+v, true", q)
	}

	// The server's clock jumps: learning starts over.
	c.Observe(http.Header{"Date": {now.Add(time.Hour).Format(http.TimeFormat)}}, now, now)
	if _, ok := c.Now(now); ok {
		t.Error("a jump of an hour should reset the estimate to one answer's second")
	}
	// One answer from a server in step with us: the local clock is used.
	var inStep ServerClock
	inStep.Observe(http.Header{"Date": {now.Truncate(time.Second).Format(http.TimeFormat)}}, now.Add(-time.Millisecond), now)
	if got, ok := inStep.Now(now); !ok || !got.Equal(now) {
		t.Errorf("in-step server: Now = %v, %v; want the local time", got, ok)
	}
	// Malformed or missing Date headers are ignored.
	c.Observe(http.Header{"Date": {"yesterday"}}, now, now)
	c.Observe(http.Header{}, now, now)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
