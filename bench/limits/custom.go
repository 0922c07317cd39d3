package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bulksend/bulksend/internal/limiters"
)

// customAlgorithms is the algorithm each real limiter implements, which
// decides a custom configuration's ideal time and targets.
var customAlgorithms = map[string]string{
	string(limiters.Nginx):     algoLeaky,
	string(limiters.HAProxy):   algoSliding,
	string(limiters.Express):   algoFixed,
	string(limiters.HTTPRate):  algoSliding,
	string(limiters.Fastify):   algoFixed,
	string(limiters.Flexible):  algoFixed,
	string(limiters.Rolling):   algoSliding,
	string(limiters.ULule):     algoFixed,
	string(limiters.GoLimiter): algoFixed,
	string(limiters.Throttled): algoBucket,
	string(limiters.Tollbooth): algoBucket,
}

// parseCustom reads -custom: real limiters at configurations issue 11's
// table lacks, comma-separated, each KIND:LIMIT/WINDOW then options
// separated by colons:
//
//	nginx:20/1s:burst=5       limit_req rate=20r/s burst=5 nodelay
//	nginx:50/1s:noburst       limit_req rate=50r/s, no burst clause
//	nginx:20/1s:burst=3:status=503
//	nginx:10/1s:burst=10:queue  limit_req rate=10r/s burst=10 (no nodelay: the excess waits)
//	nginx:10/1s:burst=10:delay=4  limit_req rate=10r/s burst=10 delay=4 (two-stage)
//	haproxy:50/500ms          http_req_rate(500ms) > 50
//	express:5/1s:style=retry-after
//	httprate:300/1s:rows=200  200 rows instead of -rows
//	haproxy:100/1s:conc=32    bulksend --concurrency 32 (adaptive and pinned)
//	nginx:5/1s:noburst:latency=150ms  the backend takes 150ms to answer what the limiter lets through
//	haproxy:100/1s:wire=50ms  every round trip 50ms longer: a proxy on loopback holds each direction 25ms (a remote API)
//	httprate:15/150ms:after=380ms  the job starts 380ms after the limiter did: httprate's periods are aligned to its start, so its first request comes that far (and a process start) into one; a D under the limiter's own start (about 150ms) moves nothing
//
// The other kinds of internal/limiters (fastify, flexible, rolling, ulule,
// golimiter, throttled, tollbooth) take LIMIT/WINDOW and rows; fastify,
// flexible and rolling a style too. nginx's burst, and the Go buckets', is the limit,
// as in internal/limiters. A scenario's name is its spec.
func parseCustom(s string) ([]realScenario, error) {
	var out []realScenario
	seen := map[string]bool{}
	for _, spec := range strings.Split(s, ",") {
		spec = strings.TrimSpace(spec)
		if spec == "" {
			continue
		}
		sc, err := parseCustomOne(spec)
		if err != nil {
			return nil, fmt.Errorf("-custom %q: %w", spec, err)
		}
		if seen[sc.Name] {
			return nil, fmt.Errorf("-custom %q: given twice", spec)
		}
		seen[sc.Name] = true
		out = append(out, sc)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-custom %q: name at least one configuration", s)
	}
	return out, nil
}

// parseCustomOne reads one KIND:LIMIT/WINDOW[:option...].
func parseCustomOne(spec string) (realScenario, error) {
	parts := strings.Split(spec, ":")
	if len(parts) < 2 {
		return realScenario{}, fmt.Errorf("want KIND:LIMIT/WINDOW[:option...]")
	}
	sc := realScenario{Name: spec, Kind: parts[0], Algorithm: customAlgorithms[parts[0]]}
	if sc.Algorithm == "" {
		return sc, fmt.Errorf("unknown limiter %q (%s)", parts[0], strings.Join(customKinds(), ", "))
	}
	limit, window, ok := strings.Cut(parts[1], "/")
	if !ok {
		return sc, fmt.Errorf("%q: want LIMIT/WINDOW, such as 50/500ms", parts[1])
	}
	n, err := strconv.Atoi(limit)
	if err != nil || n < 1 {
		return sc, fmt.Errorf("limit %q: want a whole number above 0", limit)
	}
	w, err := time.ParseDuration(window)
	if err != nil || w < time.Millisecond {
		return sc, fmt.Errorf("window %q: want a duration of 1ms or more, such as 500ms", window)
	}
	sc.Limit, sc.WindowSeconds = n, w.Seconds()
	for _, opt := range parts[2:] {
		if err := sc.setCustomOption(opt); err != nil {
			return sc, err
		}
	}
	if (sc.Kind == string(limiters.Nginx) || sc.Algorithm == algoBucket) && sc.Burst == 0 && !sc.NoBurst {
		sc.Burst = sc.Limit
	}
	switch {
	case sc.Burst > 0 && sc.NoBurst:
		return sc, fmt.Errorf("burst and noburst together")
	case sc.NoBurst && (sc.Queue || sc.Delay > 0):
		return sc, fmt.Errorf("a queue needs a burst: noburst with queue or delay")
	case sc.Delay > 0 && sc.Delay >= sc.Burst:
		return sc, fmt.Errorf("delay %d: want it under the burst %d", sc.Delay, sc.Burst)
	}
	sc.Notes = "custom configuration " + spec
	return sc, nil
}

// setCustomOption applies one option of a custom spec, checking that the
// limiter has it.
func (sc *realScenario) setCustomOption(opt string) error {
	key, val, _ := strings.Cut(opt, "=")
	only := func(kinds ...limiters.Kind) error {
		for _, k := range kinds {
			if sc.Kind == string(k) {
				return nil
			}
		}
		return fmt.Errorf("option %q: not for %s", key, sc.Kind)
	}
	number := func() (int, error) {
		n, err := strconv.Atoi(val)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("option %q: want a whole number above 0", opt)
		}
		return n, nil
	}
	var err error
	switch key {
	case "burst":
		if err = only(limiters.Nginx); err == nil {
			sc.Burst, err = number()
		}
	case "noburst":
		if err = only(limiters.Nginx); err == nil && val != "" {
			err = fmt.Errorf("option %q: takes no value", opt)
		}
		sc.NoBurst = true
	case "queue":
		if err = only(limiters.Nginx); err == nil && val != "" {
			err = fmt.Errorf("option %q: takes no value", opt)
		}
		sc.Queue = true
	case "delay":
		if err = only(limiters.Nginx); err == nil {
			sc.Delay, err = number()
		}
	case "status":
		if err = only(limiters.Nginx, limiters.HAProxy); err == nil {
			sc.Status, err = number()
			if err == nil && (sc.Status < 400 || sc.Status > 599) {
				err = fmt.Errorf("option %q: want a 4xx or 5xx status", opt)
			}
		}
	case "style":
		styles := limiters.StylesOf(limiters.Kind(sc.Kind))
		if len(styles) == 0 {
			err = fmt.Errorf("option %q: not for %s", key, sc.Kind)
			break
		}
		if !slices.Contains(styles, val) {
			err = fmt.Errorf("option %q: unknown style (%s)", opt, strings.Join(styles, ", "))
		}
		sc.Style = val
	case "rows":
		sc.Rows, err = number()
	case "conc":
		sc.Concurrency, err = number()
	case "latency":
		var d time.Duration
		if d, err = time.ParseDuration(val); err != nil || d <= 0 || d > time.Minute {
			err = fmt.Errorf("option %q: want a duration above 0 and at most 1m, such as 150ms", opt)
		}
		sc.LatencySeconds = d.Seconds()
	case "wire":
		var d time.Duration
		if d, err = time.ParseDuration(val); err != nil || d <= 0 || d > time.Minute {
			err = fmt.Errorf("option %q: want a duration above 0 and at most 1m, such as 50ms", opt)
		}
		sc.WireSeconds = d.Seconds()
	case "after":
		var d time.Duration
		if d, err = time.ParseDuration(val); err != nil || d <= 0 || d > time.Minute {
			err = fmt.Errorf("option %q: want a duration above 0 and at most 1m, such as 380ms", opt)
		}
		sc.AfterSeconds = d.Seconds()
	default:
		err = fmt.Errorf("unknown option %q (burst, noburst, queue, delay, status, style, rows, conc, latency, wire, after)", key)
	}
	return err
}

// customKinds are the limiters -custom starts, sorted.
func customKinds() []string {
	kinds := slices.Collect(maps.Keys(customAlgorithms))
	slices.Sort(kinds)
	return kinds
}
