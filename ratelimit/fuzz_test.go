package ratelimit

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

var knownUnits = map[string]bool{
	UnitSeconds: true, UnitUnix: true, UnitUnixMS: true, UnitHTTPDate: true, UnitISO8601: true, UnitDuration: true,
	UnitJSDate: true,
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{
		"5/s", "300/m", "10000/h", "1/2s", "2.5/s", "5/sec", "300/minute", "10/hour", "1/500ms",
		"3/1m30s", "100", "0", "unlimited", " 5 / s ", "5/x", "5/", "/s", "-5/s", "1e400/s", "1/1ns", "0.0000001/h",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err != nil {
			if r != (Rate{}) {
				t.Fatalf("ParseRate(%q) failed but returned %+v", s, r)
			}
			return
		}
		if ps := r.PerSecond(); ps < 0 || ps > MaxPerSecond || (ps == 0) != r.IsZero() {
			t.Fatalf("ParseRate(%q) = %+v: %v per second out of range", s, r, ps)
		}
		if r.IsZero() != (r == Rate{}) {
			t.Fatalf("ParseRate(%q) = %+v: a zero rate that is not the zero Rate", s, r)
		}
		back, err := ParseRate(r.String())
		if err != nil || back != r {
			t.Fatalf("ParseRate(%q) = %+v; String %q reparses to %+v, %v", s, r, r.String(), back, err)
		}
	})
}

// fuzzHeader fills the headers ParseWait and ParseQuota read.
func fuzzHeader(date, retryAfter, rateLimit, policy, resetAfter, inin, xReset string) http.Header {
	h := http.Header{}
	for name, v := range map[string]string{
		"Date": date, "Retry-After": retryAfter, "RateLimit": rateLimit, "RateLimit-Policy": policy,
		"RateLimit-Reset": resetAfter, "X-RateLimit-Reset-After": resetAfter, "inin-ratelimit-reset": inin,
		"inin-ratelimit-count": inin, "inin-ratelimit-allowed": policy, "X-RateLimit-Reset": xReset,
		"X-RateLimit-Remaining": xReset, "X-RateLimit-Limit": rateLimit, "X-Rate-Limit-Reset": xReset,
		"X-Retry-In": resetAfter, "X-Rate-Limit-Retry-After-Seconds": inin,
	} {
		if v != "" {
			h.Set(name, v)
		}
	}
	return h
}

func addHeaderSeeds(f *testing.F) {
	now := testNow.Unix()
	f.Add(now, "", "120", "", "", "", "", "")
	f.Add(now, "Wed, 01 May 2024 12:00:00 GMT", "Wed, 01 May 2024 12:00:30 GMT", "", "", "", "", "")
	f.Add(now, "", "", `"default";r=0;t=30`, `"default";q=100;w=60`, "", "", "")
	f.Add(now, "", "", `"a";r=1;t=2, "b";r=0;t=9`, `"a";q=5;w=1, "b";q=50;w=60`, "", "", "")
	f.Add(now, "", "", "limit=100, remaining=0, reset=30", "100;w=60", "30", "", "")
	f.Add(now, "", "", `"50-in-0.5sec"; r=49; t=1`, `"50-in-0.5sec"; q=50; w=1; pk=:e3b0c44298fc:`, "", "", "")
	f.Add(now, "", "", "", "", "1.234", "", "")
	f.Add(now, "", "", "", "", "", "45", "")
	f.Add(now, "Wed, 01 May 2024 12:05:00 GMT", "", "", "", "", "", "1714564860")
	f.Add(now, "", "", "", "", "", "", "1714564860123")
	f.Add(now, "", "", "", "", "", "", "2024-05-01T12:01:00Z")
	f.Add(now, "", "", "", "", "", "", "6m0s")
	f.Add(now, "", "1", "", "", "9.876ms", "", "")
	f.Add(now, "", "2", "", "", "1.5", "", "")
	f.Add(now, "garbage", "-5", `"x";r=;t="`, `;;,,"\`, "1e400", "NaN", "999999999999999999999")
	f.Add(int64(-1<<62), "", "99999999999999999999", "", "", "", "", "")
}

func FuzzParseWait(f *testing.F) {
	addHeaderSeeds(f)
	f.Fuzz(func(t *testing.T, nowUnix int64, date, retryAfter, rateLimit, policy, resetAfter, inin, xReset string) {
		h := fuzzHeader(date, retryAfter, rateLimit, policy, resetAfter, inin, xReset)
		sig, ok := ParseWait(h, time.Unix(nowUnix, 0))
		if sig.Wait < 0 {
			t.Fatalf("negative wait %+v", sig)
		}
		if ok && (sig.Header == "" || !knownUnits[sig.Unit]) {
			t.Fatalf("ok signal without a header or unit: %+v", sig)
		}
		if !ok && sig != (Signal{}) {
			t.Fatalf("not ok but signal %+v", sig)
		}
		// A Retry-After in seconds is only ever made more precise, never
		// longer or more than a second shorter.
		if ra := h.Get("Retry-After"); ra != "" {
			if d, raOK := parseSeconds(ra); raOK && (!ok || sig.Wait > d || (sig.Wait < d && sig.Wait <= d-time.Second)) {
				t.Fatalf("Retry-After %q (%v) read as %+v, %v", ra, d, sig, ok)
			}
		}
	})
}

func FuzzParseResetValue(f *testing.F) {
	ref := testNow.Unix()
	for _, s := range []string{
		"30", "0.5", "1000000000", "1000000001", "1714564860", "1714564860.5", "1714564860123",
		"2024-05-01T12:01:00Z", "2024-05-01T14:01:00+0200", "6m0s", "250ms", "Wed, 01 May 2024 12:01:00 GMT",
		"Wed May 01 2024 12:01:00 GMT+0000 (Coordinated Universal Time)", "Wed May 01 2024 12:01:00 GMT+0000 (",
		"Wed, 01 May 2024 12:01:00 UTC", "Wed, 01 May 2024 14:01:00 +0200", "", "-5", "-5s", "1e400", "inf", "999999999999999999", "2024-05-01T12:01:00",
	} {
		f.Add(s, ref)
	}
	f.Fuzz(func(t *testing.T, v string, refUnix int64) {
		ref := time.Unix(refUnix, 0)
		at, unit, ok := ParseResetValue(v, ref)
		if !ok {
			if unit != "" || !at.IsZero() {
				t.Fatalf("ParseResetValue(%q) not ok but returned %v, %q", v, at, unit)
			}
			return
		}
		if !knownUnits[unit] {
			t.Fatalf("ParseResetValue(%q) unit %q", v, unit)
		}
		// A relative value never lands before ref (unless ref is so near the
		// end of time that adding to it wraps, which no Date header gets to).
		if (unit == UnitSeconds || unit == UnitDuration) && at.Before(ref) && refUnix < 1<<40 {
			t.Fatalf("ParseResetValue(%q) relative value %v before ref %v", v, at, ref)
		}
	})
}

func FuzzParseQuota(f *testing.F) {
	addHeaderSeeds(f)
	f.Fuzz(func(t *testing.T, nowUnix int64, date, retryAfter, rateLimit, policy, resetAfter, inin, xReset string) {
		h := fuzzHeader(date, retryAfter, rateLimit, policy, resetAfter, inin, xReset)
		q, ok := ParseQuota(h, time.Unix(nowUnix, 0))
		if !ok {
			if q != (Quota{Remaining: -1}) {
				t.Fatalf("not ok but quota %+v", q)
			}
			return
		}
		if q.Header == "" || q.Limit < 0 || q.Remaining < -1 || q.Reset < 0 || q.Window < 0 {
			t.Fatalf("ParseQuota = %+v", q)
		}
	})
}

// FuzzNamedWindow: a window read from a policy's name is positive and
// named by the quota; a window of whole milliseconds, named as
// express-rate-limit names it (windowMs/1000 seconds, the number as
// JavaScript prints it), reads back to the millisecond.
func FuzzNamedWindow(f *testing.F) {
	f.Add("50-in-0.5sec", 50, int64(500))
	f.Add("100-in-15min", 100, int64(60000))
	f.Add("5-in-1.5hrs", 5, int64(1))
	f.Add("1-in--0sec", 1, int64(-1))
	f.Fuzz(func(t *testing.T, name string, quota int, ms int64) {
		if d, ok := namedWindow(name, quota); ok && (d <= 0 || !strings.HasPrefix(name, strconv.Itoa(quota)+"-in-")) {
			t.Fatalf("namedWindow(%q, %d) = %v", name, quota, d)
		}
		if ms <= 0 || ms >= 60000 {
			return
		}
		named := strconv.Itoa(max(quota, 1)) + "-in-" + strconv.FormatFloat(float64(ms)/1e3, 'f', -1, 64) + "sec"
		if d, ok := namedWindow(named, max(quota, 1)); !ok || d != time.Duration(ms)*time.Millisecond {
			t.Fatalf("namedWindow(%q) = %v, %v; want %dms", named, d, ok, ms)
		}
	})
}
