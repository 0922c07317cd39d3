package ratelimit

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// MaxPerSecond is the fastest rate ParseRate accepts. Anything above it is a
// typo (a missing slash, an extra zero) rather than a real pacing target.
const MaxPerSecond = 1e9

// Rate is a number of events per period. The zero Rate means "no limit".
//
// Count and Per are kept apart, instead of a single events-per-second
// float, so that what the user typed ("300/m") prints back unchanged.
type Rate struct {
	Count float64
	Per   time.Duration
}

// rateUnits maps the words accepted after the slash to their period.
var rateUnits = map[string]time.Duration{
	"ms": time.Millisecond, "msec": time.Millisecond, "millisecond": time.Millisecond, "milliseconds": time.Millisecond,
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hrs": time.Hour, "hour": time.Hour, "hours": time.Hour,
}

// ParseRate reads the --rate syntax: "5/s", "300/m", "10000/h", "1/2s",
// "2.5/s", "1/500ms", "3/1m30s", unit words such as "5/sec" or "300/minute",
// a bare number meaning per second ("100"), and "0", "unlimited", "none" or
// "inf" for no limit. A zero count with a period ("0/s") also means no limit:
// a rate that lets nothing through would only hang the run.
func ParseRate(s string) (Rate, error) {
	in := strings.ToLower(strings.TrimSpace(s))
	switch in {
	case "":
		return Rate{}, fmt.Errorf("invalid rate %q: empty (use a rate like 5/s, 300/m or 0 for no limit)", s)
	case "0", "unlimited", "none", "inf":
		return Rate{}, nil
	}
	countText, unitText, hasSlash := strings.Cut(in, "/")
	countText = strings.TrimSpace(countText)
	count, ok := parseDecimal(countText)
	if !ok {
		return Rate{}, fmt.Errorf("invalid rate %q: count %q is not a non-negative number", s, countText)
	}
	per := time.Second
	if hasSlash {
		unitText = strings.TrimSpace(unitText)
		var err error
		if per, err = parseRatePeriod(unitText); err != nil {
			return Rate{}, fmt.Errorf("invalid rate %q: %w", s, err)
		}
	}
	if count == 0 {
		if strings.ContainsAny(countText, "123456789") { // underflowed to zero
			return Rate{}, fmt.Errorf("invalid rate %q: too slow", s)
		}
		return Rate{}, nil
	}
	r := Rate{Count: count, Per: per}
	ps := r.PerSecond()
	if math.IsInf(count, 0) || ps > MaxPerSecond {
		return Rate{}, fmt.Errorf("invalid rate %q: faster than %g per second", s, float64(MaxPerSecond))
	}
	if ps == 0 { // so slow it underflows: as a limit it would block forever
		return Rate{}, fmt.Errorf("invalid rate %q: too slow", s)
	}
	return r, nil
}

// parseRatePeriod reads what follows the slash: a unit word or a Go duration.
func parseRatePeriod(unit string) (time.Duration, error) {
	if unit == "" {
		return 0, fmt.Errorf("missing unit after %q (use s, m, h or a duration like 2s)", "/")
	}
	if per, ok := rateUnits[unit]; ok {
		return per, nil
	}
	if c := unit[0]; (c < '0' || c > '9') && c != '.' && c != '-' && c != '+' {
		return 0, fmt.Errorf("unknown unit %q (use s, m, h or a duration like 2s)", unit)
	}
	per, err := time.ParseDuration(unit)
	if err != nil {
		return 0, fmt.Errorf("period %q is not a duration like 2s or 1m30s", unit)
	}
	if per <= 0 {
		return 0, fmt.Errorf("period %q must be longer than zero", unit)
	}
	return per, nil
}

// IsZero reports whether r means "no limit". Any Rate that does not describe
// a positive pace counts, so a hand-built Rate{Count: 5} cannot divide by zero.
func (r Rate) IsZero() bool {
	return !(r.Count > 0) || r.Per <= 0 || math.IsInf(r.Count, 0)
}

// PerSecond returns the rate in events per second, 0 for no limit.
func (r Rate) PerSecond() float64 {
	if r.IsZero() {
		return 0
	}
	return r.Count / r.Per.Seconds()
}

// Limit converts r for golang.org/x/time/rate; no limit becomes rate.Inf.
func (r Rate) Limit() rate.Limit {
	if r.IsZero() {
		return rate.Inf
	}
	return rate.Limit(r.PerSecond())
}

// String returns the canonical form, which ParseRate reads back to the same
// Rate: "5/s", "300/m", "10000/h", "1/2s", "1/500ms", or "0" for no limit.
func (r Rate) String() string {
	if r.IsZero() {
		return "0"
	}
	count := strconv.FormatFloat(r.Count, 'f', -1, 64)
	switch r.Per {
	case time.Second:
		return count + "/s"
	case time.Minute:
		return count + "/m"
	case time.Hour:
		return count + "/h"
	}
	return count + "/" + r.Per.String()
}

// RateFromPerSecond turns a measured rate (events per second) into the
// Rate a user would type: per second when at least one a second ("97/s",
// "2.5/s"), else per minute ("30/m") or per hour ("36/h"). The count keeps
// three significant digits and is rounded down, so a printed flag never asks
// for more than was measured. Zero, negative, NaN and infinite rates mean no
// limit; rates above MaxPerSecond are capped to it.
func RateFromPerSecond(ps float64) Rate {
	if !(ps > 0) || math.IsInf(ps, 0) {
		return Rate{}
	}
	ps = math.Min(ps, MaxPerSecond)
	per := time.Second
	count := ps
	switch {
	case ps >= 1:
	case ps*60 >= 1:
		per, count = time.Minute, ps*60
	default:
		per, count = time.Hour, ps*3600
	}
	if rounded := floorSignificant(count, 3); rounded > 0 {
		count = rounded
	}
	return Rate{Count: count, Per: per}
}

// floorSignificant rounds x (> 0) down to n significant digits. The small
// nudge keeps 0.29 from becoming 0.28 through binary rounding of x*100, and
// scaling by exact powers of ten on the right side keeps 1e9 from printing
// as 999999999.9999999.
func floorSignificant(x float64, n int) float64 {
	e := n - 1 - int(math.Floor(math.Log10(x)))
	if e >= 0 {
		return math.Floor(x*math.Pow10(e)+1e-9) / math.Pow10(e)
	}
	return math.Floor(x/math.Pow10(-e)+1e-9) * math.Pow10(-e)
}

// parseDecimal reads a plain non-negative decimal number: digits with at
// most one point, no sign, no exponent, no hex. Header values and flags are
// written this way; accepting strconv's extra forms ("inf", "0x1p3",
// "1e400") would only let garbage through. Overlong numbers come back as
// +Inf, which every caller treats as "too large".
func parseDecimal(s string) (float64, bool) {
	digits, points := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			points++
		default:
			return 0, false
		}
	}
	if digits == 0 || points > 1 {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !math.IsInf(f, 0) && f != 0 {
		return 0, false
	}
	return f, true
}
