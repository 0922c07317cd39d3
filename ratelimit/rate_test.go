package ratelimit

import (
	"math"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Rate
		str  string
	}{
		{"per second", "5/s", Rate{5, time.Second}, "5/s"},
		{"per minute", "300/m", Rate{300, time.Minute}, "300/m"},
		{"per hour", "10000/h", Rate{10000, time.Hour}, "10000/h"},
		{"duration period", "1/2s", Rate{1, 2 * time.Second}, "1/2s"},
		{"fractional count", "2.5/s", Rate{2.5, time.Second}, "2.5/s"},
		{"sec", "5/sec", Rate{5, time.Second}, "5/s"},
		{"second", "5/second", Rate{5, time.Second}, "5/s"},
		{"seconds", "5/seconds", Rate{5, time.Second}, "5/s"},
		{"min", "300/min", Rate{300, time.Minute}, "300/m"},
		{"minute", "300/minute", Rate{300, time.Minute}, "300/m"},
		{"hour", "10/hour", Rate{10, time.Hour}, "10/h"},
		{"ms unit", "5/ms", Rate{5, time.Millisecond}, "5/1ms"},
		{"milliseconds", "1/500ms", Rate{1, 500 * time.Millisecond}, "1/500ms"},
		{"compound duration", "3/1m30s", Rate{3, 90 * time.Second}, "3/1m30s"},
		{"duration equal to a unit", "5/60s", Rate{5, time.Minute}, "5/m"},
		{"bare number", "100", Rate{100, time.Second}, "100/s"},
		{"bare fraction", "0.5", Rate{0.5, time.Second}, "0.5/s"},
		{"leading point", ".5/s", Rate{0.5, time.Second}, "0.5/s"},
		{"zero", "0", Rate{}, "0"},
		{"zero with unit", "0/s", Rate{}, "0"},
		{"zero point zero", "0.0/m", Rate{}, "0"},
		{"unlimited", "unlimited", Rate{}, "0"},
		{"none", "none", Rate{}, "0"},
		{"inf", "inf", Rate{}, "0"},
		{"upper case", "5/S", Rate{5, time.Second}, "5/s"},
		{"upper case word", "UNLIMITED", Rate{}, "0"},
		{"surrounding spaces", "  5/s\t", Rate{5, time.Second}, "5/s"},
		{"spaces around slash", "5 / m", Rate{5, time.Minute}, "5/m"},
		{"at the cap", "1000000000/s", Rate{1e9, time.Second}, "1000000000/s"},
		{"one per nanosecond", "1/1ns", Rate{1, time.Nanosecond}, "1/1ns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if err != nil {
				t.Fatalf("ParseRate(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseRate(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if s := got.String(); s != tt.str {
				t.Fatalf("String() = %q, want %q", s, tt.str)
			}
			back, err := ParseRate(got.String())
			if err != nil || back != got {
				t.Fatalf("round trip of %q: %+v, %v", got.String(), back, err)
			}
		})
	}
}

func TestParseRateErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // substring of the error
	}{
		{"empty", "", "empty"},
		{"blank", "   ", "empty"},
		{"unknown unit", "5/x", `invalid rate "5/x": unknown unit "x" (use s, m, h or a duration like 2s)`},
		{"unknown word", "5/fortnight", `unknown unit "fortnight"`},
		{"missing unit", "5/", "missing unit"},
		{"missing count", "/s", `count "" is not`},
		{"negative", "-5/s", "not a non-negative number"},
		{"plus sign", "+5/s", "not a non-negative number"},
		{"NaN", "nan/s", "not a non-negative number"},
		{"Inf count", "inf/s", "not a non-negative number"},
		{"exponent", "1e400/s", "not a non-negative number"},
		{"hex", "0x10/s", "not a non-negative number"},
		{"two points", "1.2.3/s", "not a non-negative number"},
		{"garbage", "fast", "not a non-negative number"},
		{"two slashes", "5/s/s", "unknown unit"},
		{"zero period", "5/0s", "longer than zero"},
		{"negative period", "5/-2s", "longer than zero"},
		{"unitless period", "5/2", "not a duration"},
		{"bad duration", "5/2x", "not a duration"},
		{"too fast", "1000000001/s", "faster than"},
		{"too fast via period", "2/1ns", "faster than"},
		{"count underflows", "0." + strings.Repeat("0", 330) + "1/h", "too slow"},
		{"rate underflows", "0." + strings.Repeat("0", 320) + "1/h", "too slow"},
		{"overlong count", strings.Repeat("9", 400) + "/h", "faster than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if err == nil {
				t.Fatalf("ParseRate(%q) = %+v, want an error", tt.in, got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseRate(%q) error %q, want it to contain %q", tt.in, err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "invalid rate ") {
				t.Fatalf("error %q does not name the rate", err)
			}
		})
	}
}

func TestRateConversions(t *testing.T) {
	tests := []struct {
		name      string
		r         Rate
		zero      bool
		perSecond float64
		limit     rate.Limit
	}{
		{"zero value", Rate{}, true, 0, rate.Inf},
		{"five per second", Rate{5, time.Second}, false, 5, 5},
		{"per minute", Rate{300, time.Minute}, false, 5, 5},
		{"one per two seconds", Rate{1, 2 * time.Second}, false, 0.5, 0.5},
		{"count without period", Rate{Count: 5}, true, 0, rate.Inf},
		{"period without count", Rate{Per: time.Second}, true, 0, rate.Inf},
		{"negative count", Rate{-1, time.Second}, true, 0, rate.Inf},
		{"NaN count", Rate{math.NaN(), time.Second}, true, 0, rate.Inf},
		{"infinite count", Rate{math.Inf(1), time.Second}, true, 0, rate.Inf},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.IsZero(); got != tt.zero {
				t.Errorf("IsZero() = %v, want %v", got, tt.zero)
			}
			if got := tt.r.PerSecond(); got != tt.perSecond {
				t.Errorf("PerSecond() = %v, want %v", got, tt.perSecond)
			}
			if got := tt.r.Limit(); got != tt.limit {
				t.Errorf("Limit() = %v, want %v", got, tt.limit)
			}
			if tt.zero && tt.r.String() != "0" {
				t.Errorf("String() = %q, want \"0\"", tt.r.String())
			}
		})
	}
}

func TestRateFromPerSecond(t *testing.T) {
	tests := []struct {
		name string
		ps   float64
		want string
	}{
		{"integer", 97, "97/s"},
		{"fraction", 2.5, "2.5/s"},
		{"three significant digits, rounded down", 97.38, "97.3/s"},
		{"binary rounding does not lose a digit", 2.29, "2.29/s"},
		{"large", 12345.6, "12300/s"},
		{"exactly one", 1, "1/s"},
		{"half per second is per minute", 0.5, "30/m"},
		{"per minute with fraction", 0.0251, "1.5/m"},
		{"slow is per hour", 0.01, "36/h"},
		{"very slow", 1.0 / 7200, "0.5/h"},
		{"capped", 5e9, "1000000000/s"},
		{"the cap itself", 1e9, "1000000000/s"},
		{"zero", 0, "0"},
		{"negative", -3, "0"},
		{"NaN", math.NaN(), "0"},
		{"infinite", math.Inf(1), "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := RateFromPerSecond(tt.ps)
			if got := r.String(); got != tt.want {
				t.Fatalf("RateFromPerSecond(%v) = %q, want %q", tt.ps, got, tt.want)
			}
			if tt.ps > 0 && tt.ps <= MaxPerSecond && r.PerSecond() > tt.ps {
				t.Fatalf("RateFromPerSecond(%v) = %v/s, faster than measured", tt.ps, r.PerSecond())
			}
			back, err := ParseRate(r.String())
			if err != nil || back != r {
				t.Fatalf("ParseRate(%q) = %+v, %v; want %+v", r.String(), back, err, r)
			}
		})
	}
}
