package ratelimit

import (
	"iter"
	"math"
	"net/http"
	"strings"
	"time"
)

// Unit names how a header value was read (reported by probe and in error messages).
const (
	UnitSeconds  = "seconds"   // a delay in seconds from when the response arrived
	UnitUnix     = "unix"      // an instant in Unix seconds
	UnitUnixMS   = "unix_ms"   // an instant in Unix milliseconds
	UnitHTTPDate = "http_date" // an instant as an HTTP date (RFC 9110)
	UnitISO8601  = "iso8601"   // an instant as an ISO-8601 / RFC 3339 timestamp with a zone
	UnitDuration = "duration"  // a delay as a Go duration such as "6m0s"
	// UnitJSDate is an instant as JavaScript prints a Date set as a header
	// without formatting ("Thu Dec 03 2026 22:30:00 GMT+0000 (Coordinated
	// Universal Time)"), to the second: rate-limiter-flexible's README
	// example once set X-RateLimit-Reset so, and code copied from it still
	// does.
	UnitJSDate = "js_date"
)

// The headers read by ParseWait and ParseQuota, spelled as servers document
// them (http.Header canonicalises on lookup, so the spelling is only for
// reports).
const (
	headerRetryAfter         = "Retry-After"
	headerDate               = "Date"
	headerRateLimit          = "RateLimit"
	headerRateLimitPolicy    = "RateLimit-Policy"
	headerRateLimitLimit     = "RateLimit-Limit"
	headerRateLimitRemaining = "RateLimit-Remaining"
	headerRateLimitReset     = "RateLimit-Reset"
	headerXResetAfter        = "X-RateLimit-Reset-After"
	headerXRateRetryAfter    = "X-Rate-Limit-Retry-After-Seconds" // bucket4j and the Spring APIs built on it
	headerXRetryIn           = "X-Retry-In"                       // Traefik: the exact delay beside a rounded-up Retry-After
	headerXLimit             = "X-RateLimit-Limit"
	headerXRemaining         = "X-RateLimit-Remaining"
	headerXReset             = "X-RateLimit-Reset"
	headerXRateLimit         = "X-Rate-Limit-Limit"
	headerXRateRemaining     = "X-Rate-Limit-Remaining"
	headerXRateReset         = "X-Rate-Limit-Reset"
	headerIninAllowed        = "inin-ratelimit-allowed"
	headerIninCount          = "inin-ratelimit-count"
	headerIninReset          = "inin-ratelimit-reset"
)

// maxUnixSeconds is 9999-12-31T23:59:59Z. A reset instant past it is not a
// timestamp but garbage (or microseconds), and is skipped rather than read as
// "wait for millennia".
const maxUnixSeconds = 253402300799

// Signal is one server wait hint, with where it came from so that probe and
// error messages can say how the server was read.
type Signal struct {
	Wait   time.Duration // how long to wait from the moment the response was received; never negative
	Header string        // header name it came from, spelled as documented, e.g. "Retry-After", "X-RateLimit-Reset"
	Value  string        // the raw value
	Unit   string        // one of the Unit constants
}

// ParseWait reads the wait a throttled (or any) response asks for, in the
// precedence listed in the package documentation. now is the client's clock
// when the response arrived; absolute times are measured against the
// response's Date header when it is present and valid (so wait = absolute -
// serverDate, and a client clock minutes off changes nothing), else against
// now. ok=false when no header gives a usable wait. Malformed values are
// skipped, never an error: the next header in precedence is tried. A wait
// that works out negative is 0 with ok=true: the server says "now".
//
// Retry-After in whole seconds is often a finer delay rounded up (Traefik
// sends Retry-After: 1 beside X-Retry-In: 9.8ms): when a later header gives
// a wait that is not whole seconds and lies in the second below it, that
// wait is the same instant said more precisely, and it is the one used.
func ParseWait(h http.Header, now time.Time) (sig Signal, ok bool) {
	ref := serverNow(h, now)
	for _, v := range h.Values(headerRetryAfter) {
		if d, ok := parseSeconds(v); ok {
			if fine, ok := finerWait(h, ref, d, v); ok {
				return fine, true
			}
			return Signal{Wait: d, Header: headerRetryAfter, Value: v, Unit: UnitSeconds}, true
		}
		if at, ok := parseHTTPDate(v); ok && at.After(ref) {
			// A date no later than now is no wait: the server has just
			// refused, and go-limiter's truncated window end, read as the
			// current second's start, sent the refused request again at
			// once, over and over. The next header, or the backoff, has it.
			return Signal{Wait: waitUntil(at, ref), Header: headerRetryAfter, Value: v, Unit: UnitHTTPDate}, true
		}
	}
	for sig := range hints(h, ref) {
		return sig, true
	}
	return Signal{}, false
}

// finerWait is the wait of a header after Retry-After that says d, given
// in whole seconds as v, more precisely: not whole seconds itself, and in
// (d-1s, d]. ok=false when no header does.
func finerWait(h http.Header, ref time.Time, d time.Duration, v string) (Signal, bool) {
	if d < time.Second || d%time.Second != 0 || strings.Contains(v, ".") {
		return Signal{}, false
	}
	for sig := range hints(h, ref) {
		if sig.Wait%time.Second != 0 && sig.Wait > d-time.Second && sig.Wait <= d {
			return sig, true
		}
	}
	return Signal{}, false
}

// hints yields the usable wait hints of every header after Retry-After, in
// precedence order.
func hints(h http.Header, ref time.Time) iter.Seq[Signal] {
	return func(yield func(Signal) bool) {
		if sig, ok := rateLimitWait(h, ref); ok && !yield(sig) {
			return
		}
		for _, name := range []string{headerXResetAfter, headerXRateRetryAfter, headerIninReset} {
			for _, v := range h.Values(name) {
				if d, ok := parseSeconds(v); ok && !yield(Signal{Wait: d, Header: name, Value: v, Unit: UnitSeconds}) {
					return
				}
			}
		}
		for _, v := range h.Values(headerXRetryIn) {
			if d, ok := parseSeconds(v); ok {
				if !yield(Signal{Wait: d, Header: headerXRetryIn, Value: v, Unit: UnitSeconds}) {
					return
				}
			} else if d, err := time.ParseDuration(strings.TrimSpace(v)); err == nil && d >= 0 {
				if !yield(Signal{Wait: d, Header: headerXRetryIn, Value: v, Unit: UnitDuration}) {
					return
				}
			}
		}
		for _, name := range []string{headerXReset, headerXRateReset} {
			for _, v := range h.Values(name) {
				at, unit, ok := parseResetEnd(v, ref)
				if ok && unit == UnitHTTPDate && !at.After(ref) {
					continue // as a Retry-After date no later than now
				}
				if ok && !yield(Signal{Wait: waitUntil(at, ref), Header: name, Value: v, Unit: unit}) {
					return
				}
			}
		}
	}
}

// rateLimitWait reads the IETF RateLimit header family, newest draft first.
//
// In the structured form a response may list several policies. To send one
// more request every policy must have room, so the wait is the largest t= of
// the items with r=0. When no item says r=0 the server refused anyway (it is
// the caller's throttle response that brought us here), so the wait is the
// largest t= of all items: every window it told us about will have reset.
func rateLimitWait(h http.Header, ref time.Time) (Signal, bool) {
	raw := strings.Join(h.Values(headerRateLimit), ", ")
	members := parseFieldList(raw)
	exhausted, anyItem := time.Duration(-1), time.Duration(-1)
	for _, m := range members {
		if m.key != "" {
			continue
		}
		t, ok := parseSeconds(m.params["t"])
		if !ok {
			continue
		}
		anyItem = max(anyItem, t)
		if r, ok := parseDecimal(m.params["r"]); ok && r == 0 {
			exhausted = max(exhausted, t)
		}
	}
	wait := anyItem
	if exhausted >= 0 {
		wait = exhausted
	}
	if wait >= 0 {
		return Signal{Wait: wait, Header: headerRateLimit, Value: raw, Unit: UnitSeconds}, true
	}
	for _, m := range members {
		if m.key != "reset" {
			continue
		}
		if at, unit, ok := parseResetEnd(m.value, ref); ok {
			return Signal{Wait: waitUntil(at, ref), Header: headerRateLimit, Value: raw, Unit: unit}, true
		}
	}
	for _, v := range h.Values(headerRateLimitReset) {
		if at, unit, ok := parseResetEnd(v, ref); ok {
			return Signal{Wait: waitUntil(at, ref), Header: headerRateLimitReset, Value: v, Unit: unit}, true
		}
	}
	return Signal{}, false
}

// isoLayouts are the ISO-8601 timestamps ParseResetValue accepts. Each
// carries a zone: a zoneless time is in the server's local zone, which the
// client cannot know, and guessing UTC could mean hammering or stalling.
// Fractional seconds are accepted by time.Parse without being in the layout.
var isoLayouts = []string{
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05Z0700",
}

// jsDateLayout is a JavaScript Date's toString() without the zone's name
// in parentheses that follows it.
const jsDateLayout = "Mon Jan 02 2006 15:04:05 GMT-0700"

// parseJSDate reads a JavaScript Date as toString() prints it; the zone's
// name in parentheses is optional and not read (the offset says it all).
func parseJSDate(v string) (time.Time, bool) {
	if i := strings.IndexByte(v, '('); i >= 0 {
		if !strings.HasSuffix(v, ")") {
			return time.Time{}, false
		}
		v = strings.TrimSpace(v[:i])
	}
	t, err := time.Parse(jsDateLayout, v)
	return t, err == nil
}

// parseResetEnd is ParseResetValue for a wait: when the quota is surely
// back. A reset in whole Unix seconds is an interval, [reset, reset+1s):
// some servers truncate the instant their window ends, and sending before
// the end of that second may land in the old window. A JavaScript Date is
// truncated to the second as it prints, so it is one too.
func parseResetEnd(v string, ref time.Time) (time.Time, string, bool) {
	at, unit, ok := ParseResetValue(v, ref)
	if ok && (unit == UnitUnix && !strings.Contains(v, ".") || unit == UnitJSDate) {
		at = at.Add(time.Second)
	}
	return at, unit, ok
}

// ParseResetValue reads one reset-style value and returns the instant it
// names, relative to ref (the server's notion of now). Plain numbers are
// read by magnitude: over 1e12 is Unix milliseconds, over 1e9 Unix seconds,
// anything smaller seconds from ref (fractions allowed). Otherwise an
// ISO-8601/RFC 3339 timestamp with a zone, a non-negative Go duration
// ("6m0s", "1.5s", "250ms") from ref, an HTTP date, or a JavaScript Date as
// it prints (UnitJSDate). Instants past the year 9999 are not ok.
func ParseResetValue(v string, ref time.Time) (at time.Time, unit string, ok bool) {
	v = strings.TrimSpace(v)
	if f, ok := parseDecimal(v); ok {
		switch {
		case f > 1e12:
			ms := math.Floor(f)
			if ms/1000 > maxUnixSeconds {
				return time.Time{}, "", false
			}
			return time.UnixMilli(int64(ms)).Add(time.Duration((f - ms) * 1e6)).UTC(), UnitUnixMS, true
		case f > 1e9:
			if f > maxUnixSeconds {
				return time.Time{}, "", false
			}
			sec := math.Floor(f)
			return time.Unix(int64(sec), int64((f-sec)*1e9)).UTC(), UnitUnix, true
		default:
			return ref.Add(secondsToDuration(f)), UnitSeconds, true
		}
	}
	for _, layout := range isoLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t, UnitISO8601, true
		}
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return ref.Add(d), UnitDuration, true
	}
	if t, ok := parseHTTPDate(v); ok {
		return t, UnitHTTPDate, true
	}
	if t, ok := parseJSDate(v); ok {
		return t, UnitJSDate, true
	}
	return time.Time{}, "", false
}

// parseHTTPDate reads an HTTP date (IMF-fixdate, RFC 850 or asctime), and
// the RFC 1123 dates servers write with Go's time.RFC1123 or RFC1123Z
// instead: zone "UTC" where HTTP says "GMT" (sethvargo/go-limiter's
// X-RateLimit-Reset and Retry-After), or a numeric offset. Another zone
// name is not read: Go would take an abbreviation it does not know for
// UTC, which could be hours off.
func parseHTTPDate(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if t, err := http.ParseTime(v); err == nil {
		return t, true
	}
	if rest, ok := strings.CutSuffix(v, " UTC"); ok {
		if t, err := http.ParseTime(rest + " GMT"); err == nil {
			return t, true
		}
	}
	if t, err := time.Parse(time.RFC1123Z, v); err == nil {
		return t.UTC(), true
	}
	return time.Time{}, false
}

// serverNow is the instant absolute reset times are measured from: the
// response's Date when it parses, so that client clock skew cancels out,
// else the client's clock. Date has one-second resolution, so a wait read
// against it may be up to a second long, never short.
func serverNow(h http.Header, now time.Time) time.Time {
	if d := h.Get(headerDate); d != "" {
		if t, err := http.ParseTime(strings.TrimSpace(d)); err == nil {
			return t
		}
	}
	return now
}

// waitUntil is the non-negative time from ref to at.
func waitUntil(at, ref time.Time) time.Duration {
	return max(at.Sub(ref), 0)
}

// parseSeconds reads a non-negative delay in seconds, fractions allowed.
func parseSeconds(v string) (time.Duration, bool) {
	f, ok := parseDecimal(strings.TrimSpace(v))
	if !ok {
		return 0, false
	}
	return secondsToDuration(f), true
}

// secondsToDuration converts f >= 0 seconds, rounding up so a wait never
// ends early, and saturating instead of overflowing: a wait of centuries is
// still a (very long) wait, which the caller's --max-wait turns into a
// failure with a reason.
func secondsToDuration(f float64) time.Duration {
	ns := math.Ceil(f * float64(time.Second))
	if ns >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(ns)
}

// fieldMember is one comma-separated member of a structured header field
// (RFC 8941, read leniently): either a dictionary member "key=value" (the
// older RateLimit drafts) or an item with a bare value such as "default" or
// 100, each with ";name=value" parameters.
type fieldMember struct {
	key    string // dictionary key, lower case; empty for a list item
	value  string // the dictionary value or the item's bare value, unquoted
	params map[string]string
}

// parseFieldList splits a structured field into members. It never fails:
// junk yields members without the parameters callers look for.
func parseFieldList(s string) []fieldMember {
	if s == "" {
		return nil
	}
	var members []fieldMember
	for _, part := range splitOutsideQuotes(s, ',') {
		pieces := splitOutsideQuotes(part, ';')
		head := strings.TrimSpace(pieces[0])
		if head == "" && len(pieces) == 1 {
			continue
		}
		m := fieldMember{value: unquoteField(head), params: map[string]string{}}
		if !strings.HasPrefix(head, `"`) {
			if k, v, found := strings.Cut(head, "="); found {
				m.key, m.value = strings.ToLower(strings.TrimSpace(k)), unquoteField(strings.TrimSpace(v))
			}
		}
		for _, p := range pieces[1:] {
			k, v, _ := strings.Cut(p, "=")
			m.params[strings.ToLower(strings.TrimSpace(k))] = unquoteField(strings.TrimSpace(v))
		}
		members = append(members, m)
	}
	return members
}

// splitOutsideQuotes splits s at every sep that is not inside a quoted
// string, honouring backslash escapes in quotes.
func splitOutsideQuotes(s string, sep byte) []string {
	var parts []string
	inQuote, escaped, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case escaped:
			escaped = false
		case inQuote && c == '\\':
			escaped = true
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// unquoteField removes the quotes of an sf-string and its escapes; other
// values come back as they are.
func unquoteField(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	s = s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
