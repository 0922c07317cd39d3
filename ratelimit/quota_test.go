package ratelimit

import (
	"net/http"
	"testing"
	"time"
)

func TestParseQuota(t *testing.T) {
	unknown := Quota{Remaining: -1}
	tests := []struct {
		name string
		h    http.Header
		ok   bool
		want Quota
	}{
		{"no headers", header(), false, unknown},
		{"unrelated headers", header("Content-Type", "text/plain"), false, unknown},

		{"x-ratelimit trio", header("X-RateLimit-Limit", "100", "X-RateLimit-Remaining", "42", "X-RateLimit-Reset", "30"), true,
			Quota{Limit: 100, Remaining: 42, Reset: 30 * time.Second, Header: "X-RateLimit"}},
		{"x-ratelimit unix reset", header("X-RateLimit-Limit", "100", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", unixText(testNow.Add(time.Minute))), true,
			Quota{Limit: 100, Remaining: 0, Reset: time.Minute, Header: "X-RateLimit", ResetSecond: true, ResetFine: time.Minute}},
		{"x-ratelimit unix ms reset", header("X-RateLimit-Remaining", "3", "X-RateLimit-Reset", unixMSText(testNow.Add(2500*time.Millisecond))), true,
			Quota{Remaining: 3, Reset: 2500 * time.Millisecond, Header: "X-RateLimit"}},
		{"x-ratelimit RFC 1123 UTC reset (go-limiter)", header("X-RateLimit-Limit", "15", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", testNow.Add(2*time.Second).Format(time.RFC1123)), true,
			Quota{Limit: 15, Remaining: 0, Reset: 2 * time.Second, Header: "X-RateLimit", ResetSecond: true, ResetFine: 2 * time.Second}},
		{"x-ratelimit limit only", header("X-RateLimit-Limit", "15"), true,
			Quota{Limit: 15, Remaining: -1, Header: "X-RateLimit"}},
		{"x-ratelimit limit with policies", header("X-RateLimit-Limit", "10, 10;w=1, 500;w=3600"), true,
			Quota{Limit: 10, Remaining: -1, Header: "X-RateLimit"}},
		{"x-ratelimit limit with window", header("X-RateLimit-Limit", "100;window=60"), true,
			Quota{Limit: 100, Remaining: -1, Window: time.Minute, Header: "X-RateLimit"}},
		{"x-ratelimit fraction truncated", header("X-RateLimit-Remaining", "4.0"), true,
			Quota{Remaining: 4, Header: "X-RateLimit"}},
		{"x-ratelimit reset in the past", header("X-RateLimit-Remaining", "5", "X-RateLimit-Reset", unixText(testNow.Add(-time.Hour))), true,
			Quota{Remaining: 5, Header: "X-RateLimit", ResetSecond: true, ResetFine: -time.Hour}},
		{"x-ratelimit partly malformed", header("X-RateLimit-Limit", "lots", "X-RateLimit-Remaining", "-1", "X-RateLimit-Reset", "20"), true,
			Quota{Remaining: -1, Reset: 20 * time.Second, Header: "X-RateLimit"}},
		{"x-ratelimit all malformed", header("X-RateLimit-Limit", "lots", "X-RateLimit-Remaining", "-1", "X-RateLimit-Reset", "1e400"), false, unknown},
		{"x-ratelimit huge count", header("X-RateLimit-Limit", "99999999999999999999"), false, unknown},
		{"x-rate-limit trio", header("X-Rate-Limit-Limit", "60", "X-Rate-Limit-Remaining", "59", "X-Rate-Limit-Reset", "2024-05-01T12:00:10Z"), true,
			Quota{Limit: 60, Remaining: 59, Reset: 10 * time.Second, Header: "X-Rate-Limit", ResetSecond: true, ResetFine: 10 * time.Second}},

		{"structured with policy", header("RateLimit", `"default";r=50;t=30`, "RateLimit-Policy", `"default";q=100;w=60`), true,
			Quota{Limit: 100, Remaining: 50, Reset: 30 * time.Second, Window: time.Minute, Header: "RateLimit"}},
		{"structured without policy", header("RateLimit", `"default";r=0;t=5`), true,
			Quota{Remaining: 0, Reset: 5 * time.Second, Header: "RateLimit"}},
		{"structured tightest item and its policy", header(
			"RateLimit", `"second";r=9;t=1, "day";r=2;t=7200`,
			"RateLimit-Policy", `"second";q=10;w=1, "day";q=1000;w=86400`), true,
			Quota{Limit: 1000, Remaining: 2, Reset: 2 * time.Hour, Window: 24 * time.Hour, Header: "RateLimit"}},
		{"structured tie goes to longer reset", header("RateLimit", `"a";r=0;t=1, "b";r=0;t=9`), true,
			Quota{Remaining: 0, Reset: 9 * time.Second, Header: "RateLimit"}},
		{"structured unnamed policy used", header("RateLimit", `"x";r=1;t=2`, "RateLimit-Policy", `"y";q=5;w=10`), true,
			Quota{Limit: 5, Remaining: 1, Reset: 2 * time.Second, Window: 10 * time.Second, Header: "RateLimit"}},
		{"structured junk params", header("RateLimit", `"default";r=many;t=soon`), false, unknown},
		{"older dictionary", header("RateLimit", "limit=100, remaining=7, reset=30"), true,
			Quota{Limit: 100, Remaining: 7, Reset: 30 * time.Second, Header: "RateLimit"}},
		{"older separate headers", header("RateLimit-Limit", "100", "RateLimit-Remaining", "1", "RateLimit-Reset", "12"), true,
			Quota{Limit: 100, Remaining: 1, Reset: 12 * time.Second, Header: "RateLimit"}},
		{"older separate headers with older policy", header("RateLimit-Remaining", "1", "RateLimit-Policy", "100;w=60"), true,
			Quota{Limit: 100, Remaining: 1, Window: time.Minute, Header: "RateLimit"}},
		{"policy only", header("RateLimit-Policy", `"default";q=100;w=60`), true,
			Quota{Limit: 100, Remaining: -1, Window: time.Minute, Header: "RateLimit-Policy"}},
		{"policy junk", header("RateLimit-Policy", `"default";q=x;w=y`), false, unknown},
		// express-rate-limit 8's draft-8 headers name the policy
		// "<limit>-in-<window>" with the window as windowMs/1000 gives it;
		// w= is the window in whole seconds, rounded up.
		{"express draft-8, window in the policy's name", header(
			"RateLimit", `"50-in-0.5sec"; r=49; t=1`,
			"RateLimit-Policy", `"50-in-0.5sec"; q=50; w=1; pk=:e3b0c44298fc:`), true,
			Quota{Limit: 50, Remaining: 49, Reset: time.Second, Window: 500 * time.Millisecond, Header: "RateLimit", WindowNamed: true}},
		{"express draft-8, 15 per 150ms", header(
			"RateLimit", `"15-in-0.15sec"; r=0; t=1`,
			"RateLimit-Policy", `"15-in-0.15sec"; q=15; w=1; pk=:e3b0c44298fc:`), true,
			Quota{Limit: 15, Remaining: 0, Reset: time.Second, Window: 150 * time.Millisecond, Header: "RateLimit", WindowNamed: true}},
		{"express draft-8, minutes", header("RateLimit-Policy", `"100-in-1.5min"; q=100; w=90`), true,
			Quota{Limit: 100, Remaining: -1, Window: 90 * time.Second, Header: "RateLimit-Policy", WindowNamed: true}},
		{"policy name against w=", header("RateLimit-Policy", `"50-in-2sec"; q=50; w=1`), true,
			Quota{Limit: 50, Remaining: -1, Window: time.Second, Header: "RateLimit-Policy"}},
		{"policy name with another count", header("RateLimit-Policy", `"49-in-0.5sec"; q=50; w=1`), true,
			Quota{Limit: 50, Remaining: -1, Window: time.Second, Header: "RateLimit-Policy"}},
		{"policy name, no w=", header("RateLimit-Policy", `"50-in-0.5sec"; q=50`), true,
			Quota{Limit: 50, Remaining: -1, Window: 500 * time.Millisecond, Header: "RateLimit-Policy", WindowNamed: true}},

		{"genesys", header("inin-ratelimit-count", "12", "inin-ratelimit-allowed", "300", "inin-ratelimit-reset", "40"), true,
			Quota{Limit: 300, Remaining: 288, Reset: 40 * time.Second, Header: "inin-ratelimit"}},
		{"genesys over the limit", header("inin-ratelimit-count", "301", "inin-ratelimit-allowed", "300"), true,
			Quota{Limit: 300, Remaining: 0, Header: "inin-ratelimit"}},
		{"genesys without count", header("inin-ratelimit-allowed", "300"), true,
			Quota{Limit: 300, Remaining: -1, Header: "inin-ratelimit"}},
		{"genesys count alone says nothing", header("inin-ratelimit-count", "12"), false, unknown},
		{"genesys junk", header("inin-ratelimit-allowed", "x", "inin-ratelimit-reset", "-4"), false, unknown},

		{"ietf beats x-ratelimit", header("RateLimit", `"d";r=1;t=2`, "X-RateLimit-Remaining", "9"), true,
			Quota{Remaining: 1, Reset: 2 * time.Second, Header: "RateLimit"}},
		{"malformed ietf falls to x-ratelimit", header("RateLimit", "junk", "X-RateLimit-Remaining", "9"), true,
			Quota{Remaining: 9, Header: "X-RateLimit"}},
		{"x-ratelimit beats genesys", header("X-RateLimit-Remaining", "9", "inin-ratelimit-allowed", "300"), true,
			Quota{Remaining: 9, Header: "X-RateLimit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, ok := ParseQuota(tt.h, testNow)
			if ok != tt.ok || q != tt.want {
				t.Fatalf("ParseQuota = %+v, %v; want %+v, %v", q, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseQuotaLowerCaseNames(t *testing.T) {
	h := http.Header{}
	h.Set("x-ratelimit-limit", "100")
	h.Set("x-ratelimit-remaining", "5")
	h.Set("x-ratelimit-reset", "30")
	want := Quota{Limit: 100, Remaining: 5, Reset: 30 * time.Second, Header: "X-RateLimit"}
	if q, ok := ParseQuota(h, testNow); !ok || q != want {
		t.Fatalf("ParseQuota = %+v, %v; want %+v", q, ok, want)
	}
}

func TestNamedWindow(t *testing.T) {
	tests := []struct {
		name  string
		quota int
		want  time.Duration
		ok    bool
	}{
		{"50-in-0.5sec", 50, 500 * time.Millisecond, true},
		{"15-in-0.15sec", 15, 150 * time.Millisecond, true},
		{"100-in-1sec", 100, time.Second, true},
		{"100-in-15min", 100, 15 * time.Minute, true},
		{"5-in-1hr", 5, time.Hour, true},
		{"5-in-2hrs", 5, 2 * time.Hour, true},
		{"1000-in-1day", 1000, 24 * time.Hour, true},
		{"1000-in-7days", 1000, 7 * 24 * time.Hour, true},
		{"50-in-0.5sec", 49, 0, false},   // the count is not the quota
		{"50-in-0.5sec", 0, 0, false},    // no quota to check it against
		{"50-in-0.5s", 50, 0, false},     // not a unit express writes
		{"50-in-sec", 50, 0, false},      // no number
		{"50-in-0sec", 50, 0, false},     // no window
		{"50-in-1.2.3sec", 50, 0, false}, // not a number
		{"50-in--1sec", 50, 0, false},
		{"default", 50, 0, false},
		{"", 50, 0, false},
		{"50-in-1e9days", 50, 0, false}, // not a decimal
		{"50-in-99999999999999999999days", 50, 0, false},
	}
	for _, tt := range tests {
		got, ok := namedWindow(tt.name, tt.quota)
		if got != tt.want || ok != tt.ok {
			t.Errorf("namedWindow(%q, %d) = %v, %v; want %v, %v", tt.name, tt.quota, got, ok, tt.want, tt.ok)
		}
	}
}
