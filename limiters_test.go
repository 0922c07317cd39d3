package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/bulksend/bulksend/internal/limiters"
)

// limiterCondition is [limiter:KIND]: true when KIND's software is
// installed here, and always under CI=true, where a script must then fail
// on a missing limiter rather than skip it.
func limiterCondition(cond string) (bool, error) {
	name, ok := strings.CutPrefix(cond, "limiter:")
	if !ok {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	kind, err := limiters.ParseKind(name)
	if err != nil {
		return false, err
	}
	return limiters.MustRun() || limiters.Available(kind, "") == nil, nil
}

// timedTurn lets one script at a time measure real timing: those that
// talk to real rate limiters (cmdLimiter takes it) and those whose
// assertions rest on a learned pace (they start with "realtime"). Two of
// them sending at 100 requests a second on a 2-core machine, with the
// race detector, answer late and out of order enough to be misread (CI
// was refused twice so: a fixed window read as a concurrency limit, then
// as a sliding window). The other scripts still run beside them.
var timedTurn sync.Mutex

// turnKey is the key of a script's *bool in testscript.Env.Values: true
// once the script holds timedTurn, which it keeps to its end.
type turnKey struct{}

// takeTimedTurn waits for the script's turn to measure real timing, once
// per script (a script may start several limiters), and gives it back at
// the script's end.
func takeTimedTurn(ts *testscript.TestScript) {
	held := ts.Value(turnKey{}).(*bool)
	if *held {
		return
	}
	timedTurn.Lock()
	*held = true
	ts.Defer(timedTurn.Unlock)
}

// cmdRealtime waits for the script's turn to measure real timing (see
// timedTurn) and keeps it to the script's end: realtime.
func cmdRealtime(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 0 {
		ts.Fatalf("usage: realtime")
	}
	takeTimedTurn(ts)
}

// cmdLimiter starts a real rate limiter (internal/limiters) for the rest
// of the script and sets $LIMITER to its base URL; the stats command then
// reads its counts. limiter KIND [limit=N] [window=D] [burst=N|none] [style=S]
// [status=N] [conn=N] [latency=D] (the header style of express-rate-limit,
// @fastify/rate-limit, rate-limiter-flexible or rolling-rate-limiter,
// limiters.ExpressStyles, FastifyStyles, FlexibleStyles, RollingStyles;
// the status nginx and HAProxy refuse with; nginx's limit_conn instead of
// limit_req; the backend's answer time);
// the default is 15 requests per 150ms.
func cmdLimiter(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: limiter nginx|haproxy|express|httprate|fastify|flexible|rolling|ulule|throttled|golimiter|tollbooth [limit=N] [window=D] [burst=N|none] [style=S] [status=N] [conn=N] [latency=D]")
	}
	kind, err := limiters.ParseKind(args[0])
	ts.Check(err)
	cfg := limiters.Config{Kind: kind, Limit: 15, Window: 150 * time.Millisecond}
	for _, a := range args[1:] {
		k, v, _ := strings.Cut(a, "=")
		switch k {
		case "limit":
			cfg.Limit, err = strconv.Atoi(v)
		case "window":
			cfg.Window, err = time.ParseDuration(v)
		case "burst":
			if v == "none" {
				cfg.NoBurst = true
				break
			}
			cfg.Burst, err = strconv.Atoi(v)
		case "style":
			cfg.Style = v
		case "status":
			cfg.Status, err = strconv.Atoi(v)
		case "conn":
			cfg.Conn, err = strconv.Atoi(v)
		case "latency":
			cfg.Latency, err = time.ParseDuration(v)
		default:
			err = fmt.Errorf("unknown key %q", k)
		}
		if err != nil {
			ts.Fatalf("limiter: %s: %v", a, err)
		}
	}
	takeTimedTurn(ts)
	cfg.Dir = filepath.Join(ts.Getenv("WORK"), ".limiter")
	ts.Check(os.MkdirAll(cfg.Dir, 0o755))
	ctx, cancel := context.WithTimeout(context.Background(), 2*limiters.StartTimeout)
	defer cancel()
	s, err := limiters.Start(ctx, cfg)
	ts.Check(err)
	ts.Defer(func() { ts.Check(s.Close()) })
	ts.Logf("limiter: %s at %s", s.Desc, s.URL)
	ts.Setenv("LIMITER", s.URL)
}
