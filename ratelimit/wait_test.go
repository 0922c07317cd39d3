package ratelimit

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testNow is the client clock in these tests; a whole second, as Date
// headers are.
var testNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// header builds an http.Header from name, value pairs, adding (not
// setting) so a name may repeat.
func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func unixText(t time.Time) string   { return strconv.FormatInt(t.Unix(), 10) }
func unixMSText(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
func httpDate(t time.Time) string   { return t.UTC().Format(http.TimeFormat) }

func TestParseWait(t *testing.T) {
	in := func(d time.Duration) time.Time { return testNow.Add(d) }
	tests := []struct {
		name   string
		h      http.Header
		ok     bool
		wait   time.Duration
		header string
		unit   string
	}{
		{"no headers", header(), false, 0, "", ""},
		{"unrelated headers", header("Content-Type", "text/plain"), false, 0, "", ""},

		{"retry-after seconds", header("Retry-After", "120"), true, 120 * time.Second, "Retry-After", UnitSeconds},
		{"retry-after zero", header("Retry-After", "0"), true, 0, "Retry-After", UnitSeconds},
		{"retry-after fraction", header("Retry-After", "0.25"), true, 250 * time.Millisecond, "Retry-After", UnitSeconds},
		{"retry-after spaces", header("Retry-After", " 5 "), true, 5 * time.Second, "Retry-After", UnitSeconds},
		{"retry-after IMF-fixdate", header("Retry-After", httpDate(in(30*time.Second))), true, 30 * time.Second, "Retry-After", UnitHTTPDate},
		{"retry-after RFC 850", header("Retry-After", in(30*time.Second).Format(time.RFC850)), true, 30 * time.Second, "Retry-After", UnitHTTPDate},
		{"retry-after asctime", header("Retry-After", in(30*time.Second).Format(time.ANSIC)), true, 30 * time.Second, "Retry-After", UnitHTTPDate},
		// sethvargo/go-limiter writes time.RFC1123 in UTC ("UTC", not
		// "GMT"), truncated: its window ends later in that second.
		{"retry-after RFC 1123 in UTC", header("Retry-After", in(30*time.Second).UTC().Format(time.RFC1123)), true, 30 * time.Second, "Retry-After", UnitHTTPDate},
		{"retry-after RFC 1123 numeric zone", header("Retry-After", in(30*time.Second).In(time.FixedZone("", 2*3600)).Format(time.RFC1123Z)), true, 30 * time.Second, "Retry-After", UnitHTTPDate},
		{"retry-after date of the same second as Date (go-limiter) is no wait", header("Date", httpDate(testNow), "Retry-After", testNow.UTC().Format(time.RFC1123)), false, 0, "", ""},
		{"retry-after date this second (go-limiter) falls to the next header", header("Date", httpDate(testNow.Add(400*time.Millisecond)), "Retry-After", testNow.Add(900*time.Millisecond).UTC().Format(time.RFC1123), "X-RateLimit-Reset", testNow.Add(900*time.Millisecond).UTC().Format(time.RFC1123), "X-RateLimit-Reset-After", "0.5"), true, 500 * time.Millisecond, "X-RateLimit-Reset-After", UnitSeconds},
		{"retry-after RFC 1123 other zone name is skipped", header("Retry-After", strings.Replace(httpDate(in(30*time.Second)), "GMT", "PST", 1)), false, 0, "", ""},
		{"retry-after date in the past is no wait", header("Retry-After", httpDate(in(-time.Hour))), false, 0, "", ""},
		{"retry-after huge saturates", header("Retry-After", "99999999999999999999"), true, math.MaxInt64, "Retry-After", UnitSeconds},
		{"retry-after overlong saturates", header("Retry-After", strings.Repeat("9", 400)), true, math.MaxInt64, "Retry-After", UnitSeconds},
		{"retry-after negative is skipped", header("Retry-After", "-5"), false, 0, "", ""},
		{"retry-after exponent is skipped", header("Retry-After", "1e400"), false, 0, "", ""},
		{"retry-after garbage is skipped", header("Retry-After", "soon"), false, 0, "", ""},
		{"retry-after bad date is skipped", header("Retry-After", "Wed, 32 Oct 2015 07:28:00 GMT"), false, 0, "", ""},
		{"retry-after empty is skipped", header("Retry-After", ""), false, 0, "", ""},
		{"retry-after second value used when first is junk", header("Retry-After", "junk", "Retry-After", "7"), true, 7 * time.Second, "Retry-After", UnitSeconds},
		{"malformed retry-after falls through", header("Retry-After", "-1", "X-RateLimit-Reset-After", "3"), true, 3 * time.Second, "X-RateLimit-Reset-After", UnitSeconds},

		{"structured ratelimit", header("RateLimit", `"default";r=0;t=30`, "RateLimit-Policy", `"default";q=100;w=60`), true, 30 * time.Second, "RateLimit", UnitSeconds},
		{"structured token name", header("RateLimit", `default;r=0;t=12`), true, 12 * time.Second, "RateLimit", UnitSeconds},
		{"structured exhausted item wins", header("RateLimit", `"burst";r=5;t=1, "day";r=0;t=3600`), true, time.Hour, "RateLimit", UnitSeconds},
		{"structured exhausted item wins over longer", header("RateLimit", `"a";r=0;t=10, "b";r=4;t=99`), true, 10 * time.Second, "RateLimit", UnitSeconds},
		{"structured largest exhausted", header("RateLimit", `"a";r=0;t=10, "b";r=0;t=20`), true, 20 * time.Second, "RateLimit", UnitSeconds},
		{"structured none exhausted: largest t", header("RateLimit", `"a";r=3;t=10, "b";r=1;t=20`), true, 20 * time.Second, "RateLimit", UnitSeconds},
		{"structured on two field lines", header("RateLimit", `"a";r=3;t=10`, "RateLimit", `"b";r=0;t=5`), true, 5 * time.Second, "RateLimit", UnitSeconds},
		{"structured quoted comma", header("RateLimit", `"a,b";r=0;t=9`), true, 9 * time.Second, "RateLimit", UnitSeconds},
		{"structured spaces and case", header("RateLimit", ` "x" ; R=0 ; T=4 `), true, 4 * time.Second, "RateLimit", UnitSeconds},
		{"structured junk", header("RateLimit", `"default";r=zero;t=abc`), false, 0, "", ""},
		{"structured negative t", header("RateLimit", `"default";r=0;t=-3`), false, 0, "", ""},
		{"structured junk falls to ratelimit-reset", header("RateLimit", `;;;,,"`, "RateLimit-Reset", "5"), true, 5 * time.Second, "RateLimit-Reset", UnitSeconds},
		{"older dictionary form", header("RateLimit", "limit=100, remaining=0, reset=30"), true, 30 * time.Second, "RateLimit", UnitSeconds},
		{"older dictionary junk reset", header("RateLimit", "limit=100, remaining=0, reset=x"), false, 0, "", ""},
		{"ratelimit-reset seconds", header("RateLimit-Reset", "30"), true, 30 * time.Second, "RateLimit-Reset", UnitSeconds},
		// A reset in whole Unix seconds may be truncated: the quota is
		// surely back a second after it.
		{"ratelimit-reset unix", header("RateLimit-Reset", unixText(in(time.Minute))), true, time.Minute + time.Second, "RateLimit-Reset", UnitUnix},

		{"reset-after fraction", header("X-RateLimit-Reset-After", "1.234"), true, 1234 * time.Millisecond, "X-RateLimit-Reset-After", UnitSeconds},
		{"reset-after junk", header("X-RateLimit-Reset-After", "1.2.3"), false, 0, "", ""},
		{"genesys reset", header("inin-ratelimit-reset", "45"), true, 45 * time.Second, "inin-ratelimit-reset", UnitSeconds},

		{"x-ratelimit-reset unix", header("X-RateLimit-Reset", unixText(in(time.Minute))), true, time.Minute + time.Second, "X-RateLimit-Reset", UnitUnix},
		{"x-ratelimit-reset fractional unix", header("X-RateLimit-Reset", unixText(in(time.Minute))+".25"), true, time.Minute + 250*time.Millisecond, "X-RateLimit-Reset", UnitUnix},
		{"x-ratelimit-reset unix ms", header("X-RateLimit-Reset", unixMSText(in(1500*time.Millisecond))), true, 1500 * time.Millisecond, "X-RateLimit-Reset", UnitUnixMS},
		{"x-ratelimit-reset seconds", header("X-RateLimit-Reset", "42"), true, 42 * time.Second, "X-RateLimit-Reset", UnitSeconds},
		{"x-ratelimit-reset ISO", header("X-RateLimit-Reset", "2024-05-01T12:01:00Z"), true, time.Minute, "X-RateLimit-Reset", UnitISO8601},
		{"x-ratelimit-reset ISO offset", header("X-RateLimit-Reset", "2024-05-01T14:01:00.5+02:00"), true, 60500 * time.Millisecond, "X-RateLimit-Reset", UnitISO8601},
		{"x-ratelimit-reset duration", header("X-RateLimit-Reset", "6m0s"), true, 6 * time.Minute, "X-RateLimit-Reset", UnitDuration},
		// A JavaScript Date prints to the second, truncated: the quota is
		// surely back a second after it.
		{"x-ratelimit-reset JavaScript Date", header("X-RateLimit-Reset", "Wed May 01 2024 12:01:00 GMT+0000 (Coordinated Universal Time)"), true, time.Minute + time.Second, "X-RateLimit-Reset", UnitJSDate},
		{"x-ratelimit-reset HTTP date", header("X-RateLimit-Reset", httpDate(in(time.Minute))), true, time.Minute, "X-RateLimit-Reset", UnitHTTPDate},
		{"x-ratelimit-reset in the past", header("X-RateLimit-Reset", unixText(in(-time.Minute))), true, 0, "X-RateLimit-Reset", UnitUnix},
		{"x-rate-limit-reset", header("X-Rate-Limit-Reset", "9"), true, 9 * time.Second, "X-Rate-Limit-Reset", UnitSeconds},
		{"x-ratelimit-reset past year 9999", header("X-RateLimit-Reset", "999999999999999999"), false, 0, "", ""},
		{"x-ratelimit-reset junk then x-rate-limit-reset", header("X-RateLimit-Reset", "tomorrow", "X-Rate-Limit-Reset", "8"), true, 8 * time.Second, "X-Rate-Limit-Reset", UnitSeconds},

		{"retry-after beats everything", header("Retry-After", "1", "RateLimit", `"d";r=0;t=2`, "X-RateLimit-Reset-After", "3", "inin-ratelimit-reset", "4", "X-RateLimit-Reset", "5"), true, time.Second, "Retry-After", UnitSeconds},
		{"ratelimit beats reset-after", header("RateLimit", `"d";r=0;t=2`, "X-RateLimit-Reset-After", "3", "inin-ratelimit-reset", "4", "X-RateLimit-Reset", "5"), true, 2 * time.Second, "RateLimit", UnitSeconds},
		{"reset-after beats genesys", header("X-RateLimit-Reset-After", "3", "inin-ratelimit-reset", "4", "X-RateLimit-Reset", "5"), true, 3 * time.Second, "X-RateLimit-Reset-After", UnitSeconds},
		{"bucket4j retry-after seconds", header("X-Rate-Limit-Retry-After-Seconds", "10"), true, 10 * time.Second, "X-Rate-Limit-Retry-After-Seconds", UnitSeconds},
		{"reset-after beats bucket4j", header("X-RateLimit-Reset-After", "3", "X-Rate-Limit-Retry-After-Seconds", "4"), true, 3 * time.Second, "X-RateLimit-Reset-After", UnitSeconds},
		{"bucket4j beats genesys", header("X-Rate-Limit-Retry-After-Seconds", "4", "inin-ratelimit-reset", "5"), true, 4 * time.Second, "X-Rate-Limit-Retry-After-Seconds", UnitSeconds},
		{"x-retry-in duration", header("X-Retry-In", "9.876ms"), true, 9876 * time.Microsecond, "X-Retry-In", UnitDuration},
		{"x-retry-in seconds", header("X-Retry-In", "0.5"), true, 500 * time.Millisecond, "X-Retry-In", UnitSeconds},
		{"x-retry-in negative is skipped", header("X-Retry-In", "-1s"), false, 0, "", ""},
		{"genesys beats x-retry-in", header("inin-ratelimit-reset", "4", "X-Retry-In", "3s"), true, 4 * time.Second, "inin-ratelimit-reset", UnitSeconds},
		// Retry-After in whole seconds made precise by a header that says
		// the same instant more finely (Traefik rounds its delay up).
		{"retry-after refined by x-retry-in", header("Retry-After", "1", "X-Retry-In", "9.876ms"), true, 9876 * time.Microsecond, "X-Retry-In", UnitDuration},
		{"retry-after refined by reset-after", header("Retry-After", "2", "X-RateLimit-Reset-After", "1.25"), true, 1250 * time.Millisecond, "X-RateLimit-Reset-After", UnitSeconds},
		{"retry-after refined by reset in ms", header("Retry-After", "1", "X-RateLimit-Reset", unixMSText(in(400*time.Millisecond))), true, 400 * time.Millisecond, "X-RateLimit-Reset", UnitUnixMS},
		{"a finer hint more than a second below is not the same instant", header("Retry-After", "5", "X-Retry-In", "1.5s"), true, 5 * time.Second, "Retry-After", UnitSeconds},
		{"a finer hint past retry-after is not taken", header("Retry-After", "1", "X-Retry-In", "1.5s"), true, time.Second, "Retry-After", UnitSeconds},
		{"a whole-second hint adds nothing", header("Retry-After", "2", "RateLimit", `"d";r=0;t=2`), true, 2 * time.Second, "Retry-After", UnitSeconds},
		{"a fractional retry-after is already precise", header("Retry-After", "0.5", "X-Retry-In", "200ms"), true, 500 * time.Millisecond, "Retry-After", UnitSeconds},
		{"retry-after 0 is not refined", header("Retry-After", "0", "X-Retry-In", "200ms"), true, 0, "Retry-After", UnitSeconds},
		{"genesys beats x-ratelimit-reset", header("inin-ratelimit-reset", "4", "X-RateLimit-Reset", "5"), true, 4 * time.Second, "inin-ratelimit-reset", UnitSeconds},

		{"invalid date header uses client clock", header("Date", "yesterday", "X-RateLimit-Reset", unixText(in(time.Minute))), true, time.Minute + time.Second, "X-RateLimit-Reset", UnitUnix},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig, ok := ParseWait(tt.h, testNow)
			if ok != tt.ok {
				t.Fatalf("ParseWait ok = %v (%+v), want %v", ok, sig, tt.ok)
			}
			if !ok {
				if sig != (Signal{}) {
					t.Fatalf("not ok but signal %+v", sig)
				}
				return
			}
			if sig.Wait != tt.wait || sig.Header != tt.header || sig.Unit != tt.unit {
				t.Fatalf("ParseWait = {Wait: %v, Header: %q, Unit: %q}, want {%v, %q, %q}", sig.Wait, sig.Header, sig.Unit, tt.wait, tt.header, tt.unit)
			}
			if sig.Value == "" {
				t.Fatalf("signal without the raw value: %+v", sig)
			}
		})
	}
}

func TestParseWaitLowerCaseNames(t *testing.T) {
	tests := []struct {
		name   string
		header string
		value  string
		wait   time.Duration
		report string
	}{
		{"retry-after", "retry-after", "7", 7 * time.Second, "Retry-After"},
		{"ratelimit", "ratelimit", `"d";r=0;t=8`, 8 * time.Second, "RateLimit"},
		{"ratelimit-reset", "ratelimit-reset", "9", 9 * time.Second, "RateLimit-Reset"},
		{"reset-after", "x-ratelimit-reset-after", "1.5", 1500 * time.Millisecond, "X-RateLimit-Reset-After"},
		{"genesys", "ININ-RATELIMIT-RESET", "3", 3 * time.Second, "inin-ratelimit-reset"},
		{"x-ratelimit-reset", "x-ratelimit-reset", "4", 4 * time.Second, "X-RateLimit-Reset"},
		{"x-rate-limit-reset", "x-rate-limit-reset", "5", 5 * time.Second, "X-Rate-Limit-Reset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			h.Set(tt.header, tt.value)
			sig, ok := ParseWait(h, testNow)
			if !ok || sig.Wait != tt.wait || sig.Header != tt.report || sig.Value != tt.value {
				t.Fatalf("ParseWait = %+v, %v; want wait %v from %q", sig, ok, tt.wait, tt.report)
			}
		})
	}
}

// TestParseWaitClockSkew checks that an absolute reset gives the same wait
// whether the client clock agrees with the server's Date or is five minutes
// ahead or behind it.
func TestParseWaitClockSkew(t *testing.T) {
	server := testNow
	reset := server.Add(90 * time.Second)
	// A wait for a reset in whole Unix seconds lasts to the end of that
	// second (ParseQuota's Reset is the instant itself).
	values := []struct {
		name   string
		header string
		value  string
		extra  time.Duration
	}{
		{"unix seconds", "X-RateLimit-Reset", unixText(reset), time.Second},
		{"unix milliseconds", "X-RateLimit-Reset", unixMSText(reset), 0},
		{"HTTP date in reset", "X-RateLimit-Reset", httpDate(reset), 0},
		{"ISO-8601", "X-Rate-Limit-Reset", reset.Format(time.RFC3339), 0},
		{"retry-after HTTP date", "Retry-After", httpDate(reset), 0},
		{"ratelimit-reset unix", "RateLimit-Reset", unixText(reset), time.Second},
		{"relative seconds", "X-RateLimit-Reset", "90", 0},
	}
	skews := []struct {
		name string
		skew time.Duration
	}{
		{"no skew", 0},
		{"client 5m ahead", 5 * time.Minute},
		{"client 5m behind", -5 * time.Minute},
	}
	for _, v := range values {
		for _, s := range skews {
			t.Run(v.name+"/"+s.name, func(t *testing.T) {
				h := header("Date", httpDate(server), v.header, v.value)
				sig, ok := ParseWait(h, server.Add(s.skew))
				if want := 90*time.Second + v.extra; !ok || sig.Wait != want {
					t.Fatalf("ParseWait = %+v, %v; want %v", sig, ok, want)
				}
				q, ok := ParseQuota(header("Date", httpDate(server), v.header, v.value), server.Add(s.skew))
				if v.header != "Retry-After" && (!ok || q.Reset != 90*time.Second) {
					t.Fatalf("ParseQuota = %+v, %v; want Reset 1m30s", q, ok)
				}
			})
		}
	}
	// Without a Date header the client clock is all there is.
	sig, ok := ParseWait(header("X-RateLimit-Reset", unixText(reset)), server.Add(-5*time.Minute))
	if !ok || sig.Wait != 6*time.Minute+31*time.Second {
		t.Fatalf("without Date: ParseWait = %+v, %v; want 6m31s", sig, ok)
	}
}

func TestParseResetValue(t *testing.T) {
	ref := testNow
	tests := []struct {
		name string
		in   string
		ok   bool
		at   time.Time
		unit string
	}{
		{"seconds", "30", true, ref.Add(30 * time.Second), UnitSeconds},
		{"seconds with spaces", " 30 ", true, ref.Add(30 * time.Second), UnitSeconds},
		{"zero seconds", "0", true, ref, UnitSeconds},
		{"fractional seconds", "0.5", true, ref.Add(500 * time.Millisecond), UnitSeconds},
		{"1e9 is still seconds", "1000000000", true, ref.Add(1e9 * time.Second), UnitSeconds},
		{"just over 1e9 is unix", "1000000001", true, time.Unix(1000000001, 0), UnitUnix},
		{"unix seconds", "1714564860", true, time.Unix(1714564860, 0), UnitUnix},
		{"fractional unix seconds", "1714564860.5", true, time.Unix(1714564860, 5e8), UnitUnix},
		{"unix milliseconds", "1714564860123", true, time.UnixMilli(1714564860123), UnitUnixMS},
		{"fractional unix milliseconds", "1714564860123.5", true, time.UnixMilli(1714564860123).Add(500 * time.Microsecond), UnitUnixMS},
		{"ISO zulu", "2024-05-01T12:01:00Z", true, ref.Add(time.Minute), UnitISO8601},
		{"ISO nanoseconds", "2024-05-01T12:01:00.123456789Z", true, ref.Add(time.Minute + 123456789), UnitISO8601},
		{"ISO offset", "2024-05-01T14:01:00+02:00", true, ref.Add(time.Minute), UnitISO8601},
		{"ISO offset without colon", "2024-05-01T14:01:00+0200", true, ref.Add(time.Minute), UnitISO8601},
		{"ISO with space", "2024-05-01 12:01:00Z", true, ref.Add(time.Minute), UnitISO8601},
		{"Go duration", "6m0s", true, ref.Add(6 * time.Minute), UnitDuration},
		{"Go duration fraction", "1.5s", true, ref.Add(1500 * time.Millisecond), UnitDuration},
		{"Go duration ms", "250ms", true, ref.Add(250 * time.Millisecond), UnitDuration},
		{"HTTP date", "Wed, 01 May 2024 12:01:00 GMT", true, ref.Add(time.Minute), UnitHTTPDate},
		{"JavaScript Date", "Wed May 01 2024 12:01:00 GMT+0000 (Coordinated Universal Time)", true, ref.Add(time.Minute), UnitJSDate},
		{"JavaScript Date with offset", "Wed May 01 2024 14:01:00 GMT+0200 (Central European Summer Time)", true, ref.Add(time.Minute), UnitJSDate},
		{"JavaScript Date without zone name", "Wed May 01 2024 12:01:00 GMT+0000", true, ref.Add(time.Minute), UnitJSDate},
		{"RFC 1123 in UTC (go-limiter)", "Wed, 01 May 2024 12:01:00 UTC", true, ref.Add(time.Minute), UnitHTTPDate},
		{"RFC 1123 numeric zone", "Wed, 01 May 2024 14:01:00 +0200", true, ref.Add(time.Minute), UnitHTTPDate},
		{"RFC 1123 unknown zone name", "Wed, 01 May 2024 12:01:00 PST", false, time.Time{}, ""},

		{"empty", "", false, time.Time{}, ""},
		{"blank", "  ", false, time.Time{}, ""},
		{"garbage", "later", false, time.Time{}, ""},
		{"negative", "-5", false, time.Time{}, ""},
		{"negative duration", "-5s", false, time.Time{}, ""},
		{"exponent", "1e400", false, time.Time{}, ""},
		{"inf", "inf", false, time.Time{}, ""},
		{"NaN", "NaN", false, time.Time{}, ""},
		{"two points", "1.2.3", false, time.Time{}, ""},
		{"unix seconds past 9999", "999999999999", false, time.Time{}, ""},
		{"1e12 as unix seconds is past 9999", "1000000000000", false, time.Time{}, ""},
		{"unix ms past 9999", "999999999999999999", false, time.Time{}, ""},
		{"overlong number", strings.Repeat("9", 400), false, time.Time{}, ""},
		{"ISO without zone", "2024-05-01T12:01:00", false, time.Time{}, ""},
		{"ISO bad day", "2024-02-30T12:01:00Z", false, time.Time{}, ""},
		{"bad HTTP date", "Wed, 01 Foo 2024 12:01:00 GMT", false, time.Time{}, ""},
		{"JavaScript Date without offset", "Wed May 01 2024 12:01:00 (Coordinated Universal Time)", false, time.Time{}, ""},
		{"JavaScript Date with an open zone name", "Wed May 01 2024 12:01:00 GMT+0000 (Coordinated", false, time.Time{}, ""},
		{"JavaScript Invalid Date", "Invalid Date", false, time.Time{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, unit, ok := ParseResetValue(tt.in, ref)
			if ok != tt.ok {
				t.Fatalf("ParseResetValue(%q) ok = %v (%v, %q), want %v", tt.in, ok, at, unit, tt.ok)
			}
			if !at.Equal(tt.at) || unit != tt.unit {
				t.Fatalf("ParseResetValue(%q) = %v, %q; want %v, %q", tt.in, at, unit, tt.at, tt.unit)
			}
		})
	}
}
