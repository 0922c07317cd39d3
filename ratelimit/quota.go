package ratelimit

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Quota is what a response (any response, not just a throttle) says about
// the client's remaining allowance. Reading it on every answer lets the
// limiter slow down before the server has to say 429.
type Quota struct {
	Limit     int           // requests allowed per window (or bucket size); 0 unknown
	Remaining int           // requests left now; -1 unknown
	Reset     time.Duration // time until the quota is fully replenished / window resets; 0 unknown
	Window    time.Duration // policy window (RateLimit-Policy w=, or a limit header's w= / window=); 0 unknown
	// WindowNamed is set when Window was read from the policy's name
	// ("50-in-0.5sec", namedWindow): to the millisecond, where w= gives
	// whole seconds rounded up.
	WindowNamed bool
	Header      string // header family: "RateLimit", "RateLimit-Policy", "X-RateLimit", "X-Rate-Limit" or "inin-ratelimit"
	// ResetSecond is set when Reset names an instant the server gave to
	// the whole second (Unix seconds, an HTTP or JavaScript date, an ISO
	// time without fractions). Its window ends within a second of that
	// instant: at or after it where the server truncates, before it where
	// it rounds up; only the counter tells which. ResetFine is then the
	// time until that whole second on the server's clock as precisely as
	// it is known (ServerClock), negative when it is past; Reset is read
	// against the Date header.
	ResetSecond bool
	ResetFine   time.Duration
}

// The Quota.Header values.
const (
	familyRateLimit       = "RateLimit"
	familyRateLimitPolicy = "RateLimit-Policy"
	familyXRateLimit      = "X-RateLimit"
	familyXRateDashLimit  = "X-Rate-Limit"
	familyInin            = "inin-ratelimit"
)

// ParseQuota reads the first header family present, in this order: IETF
// RateLimit (structured, then the older dictionary and RateLimit-Limit /
// -Remaining / -Reset forms, completed by RateLimit-Policy), X-RateLimit-*,
// X-Rate-Limit-*, Genesys inin-ratelimit-*. Reset instants are measured
// against the Date header when valid, else now, as in ParseWait. ok=false
// when no family is present or every value is malformed; a family with some
// malformed values reports the others and leaves those unknown.
func ParseQuota(h http.Header, now time.Time) (q Quota, ok bool) {
	if !hasRateLimitHeader(h) {
		return Quota{Remaining: -1}, false
	}
	ref := serverNow(h, now)
	return parseQuota(h, refs{date: ref, fine: ref})
}

// refs are the server's time when it answered, as reset instants are
// measured from: date to the second (the Date header, or the client's
// clock without one), fine as precisely as it is known. A reset given to
// the second is measured from date: truncated or rounded alike, their
// errors cancel on average. One given to the millisecond is measured from
// fine, lest the Date header's truncation make it up to a second late.
type refs struct{ date, fine time.Time }

// reset is the time from the server's now until the reset instant v names,
// set in q with ok=true when v parses.
func (r refs) reset(q *Quota, v string) bool {
	at, unit, ok := ParseResetValue(v, r.date)
	if !ok {
		return false
	}
	fraction := strings.Contains(v, ".")
	if unit == UnitUnixMS || (unit == UnitUnix || unit == UnitISO8601) && fraction {
		q.Reset, q.ResetSecond, q.ResetFine = waitUntil(at, r.fine), false, 0
		return true
	}
	q.Reset = waitUntil(at, r.date)
	q.ResetSecond = unit == UnitUnix || unit == UnitISO8601 || unit == UnitHTTPDate || unit == UnitJSDate
	q.ResetFine = 0
	if q.ResetSecond {
		q.ResetFine = at.Sub(r.fine)
	}
	return true
}

// parseQuota is ParseQuota with reset instants measured from ref.
func parseQuota(h http.Header, ref refs) (Quota, bool) {
	if q, ok := ietfQuota(h, ref); ok {
		return q, true
	}
	if q, ok := classicQuota(h, ref, familyXRateLimit, headerXLimit, headerXRemaining, headerXReset); ok {
		return q, true
	}
	if q, ok := classicQuota(h, ref, familyXRateDashLimit, headerXRateLimit, headerXRateRemaining, headerXRateReset); ok {
		return q, true
	}
	if q, ok := ininQuota(h); ok {
		return q, true
	}
	return Quota{Remaining: -1}, false
}

// ietfQuota reads the draft-ietf-httpapi-ratelimit-headers family in all
// the shapes its drafts have had.
func ietfQuota(h http.Header, ref refs) (Quota, bool) {
	q := Quota{Remaining: -1, Header: familyRateLimit}
	members := parseFieldList(strings.Join(h.Values(headerRateLimit), ", "))
	item, found := tightestItem(members)
	if found {
		q.Remaining, q.Reset = item.remaining, item.reset
	} else {
		for _, m := range members {
			switch m.key {
			case "limit":
				q.Limit, found = setCount(q.Limit, m.value, found)
			case "remaining":
				q.Remaining, found = setCount(q.Remaining, m.value, found)
			case "reset":
				if ref.reset(&q, m.value) {
					found = true
				}
			}
		}
	}
	if !found {
		q, found = classicQuota(h, ref, familyRateLimit, headerRateLimitLimit, headerRateLimitRemaining, headerRateLimitReset)
	}
	if p, ok := pickPolicy(parseFieldList(strings.Join(h.Values(headerRateLimitPolicy), ", ")), item.name); ok {
		if q.Limit == 0 {
			q.Limit = p.quota
		}
		if q.Window == 0 {
			q.Window, q.WindowNamed = p.window, p.named
		}
		if !found {
			q.Header, found = familyRateLimitPolicy, true
		}
	}
	return q, found
}

// rateLimitItem is one policy's state from a structured RateLimit field.
type rateLimitItem struct {
	name      string
	remaining int // -1 unknown
	reset     time.Duration
}

// tightestItem picks, among the structured RateLimit items that carry r= or
// t=, the one with the fewest requests left (ties: the longest reset): that
// policy is the one about to throttle us.
func tightestItem(members []fieldMember) (rateLimitItem, bool) {
	var best rateLimitItem
	found := false
	for _, m := range members {
		if m.key != "" {
			continue
		}
		it := rateLimitItem{name: m.value, remaining: -1}
		r, rOK := parseCount(m.params["r"])
		t, tOK := parseSeconds(m.params["t"])
		if !rOK && !tOK {
			continue
		}
		if rOK {
			it.remaining = r
		}
		if tOK {
			it.reset = t
		}
		if !found || fewerLeft(it, best) {
			best, found = it, true
		}
	}
	return best, found
}

// fewerLeft orders items by remaining (unknown last), then by longer reset.
func fewerLeft(a, b rateLimitItem) bool {
	ra, rb := a.remaining, b.remaining
	if ra < 0 {
		ra = math.MaxInt
	}
	if rb < 0 {
		rb = math.MaxInt
	}
	if ra != rb {
		return ra < rb
	}
	return a.reset > b.reset
}

// ratePolicy is one RateLimit-Policy item.
type ratePolicy struct {
	quota  int
	window time.Duration
	named  bool // window read from the name (namedWindow)
}

// pickPolicy finds the policy named like the RateLimit item we chose, or
// else the first usable one. Both the newer form ("default";q=100;w=60) and
// the older one (100;w=60) are read.
func pickPolicy(members []fieldMember, name string) (ratePolicy, bool) {
	var first ratePolicy
	found := false
	for _, m := range members {
		if m.key != "" {
			continue
		}
		var p ratePolicy
		n, qOK := parseCount(m.params["q"])
		if !qOK {
			n, qOK = parseCount(m.value)
		}
		if qOK {
			p.quota = n
		}
		w, wOK := parseSeconds(m.params["w"])
		if !wOK {
			w, wOK = parseSeconds(m.params["window"])
		}
		if wOK {
			p.window = w
		}
		if !qOK && !wOK {
			continue
		}
		if d, ok := namedWindow(m.value, p.quota); ok && (!wOK || d <= p.window && p.window-d < time.Second) {
			// The name states the window finer than w= (whole
			// seconds, rounded up), and agrees with it.
			p.window, p.named = d, true
		}
		if name != "" && m.value == name {
			return p, true
		}
		if !found {
			first, found = p, true
		}
	}
	return first, found
}

// namedUnits are the units express-rate-limit's default policy name
// gives its window in.
var namedUnits = map[string]time.Duration{
	"sec": time.Second, "min": time.Minute, "hr": time.Hour, "hrs": time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
}

// namedWindow reads the window from a policy named "<quota>-in-<window>",
// express-rate-limit's default ("50-in-0.5sec", "100-in-15min"), where
// w= gives it only in whole seconds rounded up (w=1 for half a second).
// It reports false unless the name's count is the policy's quota: a name
// is the server's to choose, and only one that restates q= is read.
func namedWindow(name string, quota int) (time.Duration, bool) {
	count, span, ok := strings.Cut(name, "-in-")
	if !ok || quota <= 0 || count != strconv.Itoa(quota) {
		return 0, false
	}
	i := strings.IndexFunc(span, func(r rune) bool { return r != '.' && (r < '0' || r > '9') })
	if i <= 0 {
		return 0, false
	}
	unit, ok := namedUnits[span[i:]]
	if !ok {
		return 0, false
	}
	f, ok := parseDecimal(span[:i])
	if !ok || f <= 0 || f > float64(math.MaxInt64/unit) {
		return 0, false
	}
	return time.Duration(math.Round(f * float64(unit))), true
}

// classicQuota reads a Limit / Remaining / Reset header trio.
func classicQuota(h http.Header, ref refs, family, limitName, remainingName, resetName string) (Quota, bool) {
	q := Quota{Remaining: -1, Header: family}
	found := false
	// A limit header may list policies ("100, 100;w=60, 1000;w=3600"); the
	// first is the one in force.
	if members := parseFieldList(h.Get(limitName)); len(members) > 0 && members[0].key == "" {
		m := members[0]
		if n, ok := parseCount(m.value); ok {
			q.Limit, found = n, true
			if w, ok := parseSeconds(m.params["w"]); ok {
				q.Window = w
			} else if w, ok := parseSeconds(m.params["window"]); ok {
				q.Window = w
			}
		}
	}
	q.Remaining, found = setCount(q.Remaining, h.Get(remainingName), found)
	if v := h.Get(resetName); v != "" && ref.reset(&q, v) {
		found = true
	}
	return q, found
}

// ininQuota reads Genesys Cloud's headers, which count requests used rather
// than requests left.
func ininQuota(h http.Header) (Quota, bool) {
	q := Quota{Remaining: -1, Header: familyInin}
	allowed, allowedOK := parseCount(h.Get(headerIninAllowed))
	used, usedOK := parseCount(h.Get(headerIninCount))
	reset, resetOK := parseSeconds(h.Get(headerIninReset))
	if allowedOK {
		q.Limit = allowed
		if usedOK {
			q.Remaining = max(allowed-used, 0)
		}
	}
	if resetOK {
		q.Reset = reset
	}
	return q, allowedOK || resetOK
}

// setCount returns the count in v when it parses (and found=true), else
// the old value and found unchanged.
func setCount(old int, v string, found bool) (int, bool) {
	if n, ok := parseCount(v); ok {
		return n, true
	}
	return old, found
}

// maxCount bounds header counts so that arithmetic on them cannot
// overflow; no real quota comes near it.
const maxCount = 1 << 53

// parseCount reads a non-negative request count. A fraction ("100.0") is
// truncated; a count past maxCount is junk.
func parseCount(v string) (int, bool) {
	f, ok := parseDecimal(strings.TrimSpace(v))
	if !ok || f > maxCount {
		return 0, false
	}
	return int(f), true
}

// hasRateLimitHeader reports whether h has any header of a quota family
// ("RateLimit*", "X-RateLimit-*", "X-Rate-Limit-*", "inin-ratelimit-*"),
// so the common answer without one costs no parsing.
func hasRateLimitHeader(h http.Header) bool {
	for k := range h {
		if containsFold(k, "ratelimit") || containsFold(k, "rate-limit") {
			return true
		}
	}
	return false
}

// containsFold is strings.Contains ignoring ASCII case, without allocating.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}
