package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/bulksend/bulksend/internal/testkit/sandboxtest"
	"github.com/bulksend/bulksend/sandbox"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"bulksend": func() { os.Exit(runScanned()) },
	})
}

// TestScripts runs the end-to-end scenarios in testdata/script against the
// real binary and an in-process sandbox on a loopback port.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"sandbox":    cmdSandbox,
			"stats":      cmdStats,
			"gen":        cmdGen,
			"exits":      cmdExits,
			"limiter":    cmdLimiter,
			"mode":       cmdMode,
			"echoserver": cmdEchoServer,
			"advance":    cmdAdvance,
			"realtime":   cmdRealtime,
		},
		Condition: limiterCondition,
		Setup: func(env *testscript.Env) error {
			scanAtEnd(env)
			env.Values[clockKey{}] = new(shiftedClock)
			env.Values[turnKey{}] = new(bool)
			env.Setenv("NO_COLOR", "1")
			return nil
		},
	})
}

// cmdSandbox starts a sandbox for the rest of the script and sets $SANDBOX
// to its base URL: sandbox [key=value ...] with the keys of sandboxConfig.
func cmdSandbox(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! sandbox")
	}
	cfg, err := sandboxConfig(args)
	ts.Check(err)
	cfg.Now = ts.Value(clockKey{}).(*shiftedClock).now
	_, base, stop, err := sandboxtest.Serve(context.Background(), cfg)
	ts.Check(err)
	ts.Defer(stop)
	ts.Setenv("SANDBOX", base)
}

func sandboxConfig(args []string) (sandbox.Config, error) {
	var cfg sandbox.Config
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return cfg, fmt.Errorf("sandbox: %q is not key=value", a)
		}
		var err error
		f := func() (float64, error) { return strconv.ParseFloat(v, 64) }
		d := func() (time.Duration, error) { return time.ParseDuration(v) }
		switch k {
		case "burst":
			cfg.Burst, err = strconv.Atoi(v)
		case "rate":
			cfg.Rate, err = f()
		case "window":
			cfg.Window, err = d()
		case "model":
			cfg.Model = v
		case "aligned":
			cfg.Aligned = v == "true"
		case "sliding":
			cfg.Sliding = v
		case "refused":
			cfg.RefusedCount = v == "true"
		case "style":
			cfg.Style = v
		case "skew":
			cfg.Skew, err = d()
		case "penalty":
			cfg.Penalty = v == "true"
		case "fail":
			cfg.FailRate, err = f()
		case "cutbefore":
			cfg.CutBefore, err = f()
		case "cutafter":
			cfg.CutAfter, err = f()
		case "failafter":
			cfg.FailAfter, err = f()
		case "late":
			cfg.Late, err = f()
		case "lateby":
			cfg.LateBy, err = d()
		case "nokeys":
			cfg.NoIdempotency = v == "true"
		case "latency":
			cfg.Latency, err = d()
		case "spam":
			cfg.SpamWindow, err = d()
		case "quota":
			cfg.Quota, err = strconv.Atoi(v)
		case "quotawindow":
			cfg.QuotaWindow, err = d()
		case "optout":
			cfg.OptOut = strings.Split(v, ",")
		case "token":
			cfg.TokenLifetime, err = d()
		case "step":
			cfg.DeliveryStep, err = d()
		case "undelivered":
			cfg.Undelivered, err = f()
		case "seed":
			cfg.Seed, err = strconv.ParseInt(v, 10, 64)
		default:
			return cfg, fmt.Errorf("sandbox: unknown key %q", k)
		}
		if err != nil {
			return cfg, fmt.Errorf("sandbox: %s: %w", k, err)
		}
	}
	return cfg, nil
}

// clockKey keys the script's sandbox clock in testscript's Values.
type clockKey struct{}

// shiftedClock is the real clock moved forward by what the script advanced
// it: a sandbox's day passes without a test sleeping for it.
type shiftedClock struct{ shift atomic.Int64 }

func (c *shiftedClock) now() time.Time { return time.Now().Add(time.Duration(c.shift.Load())) }

// cmdAdvance moves the sandbox's clock forward: advance 24h.
func cmdAdvance(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: advance DURATION")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	ts.Value(clockKey{}).(*shiftedClock).shift.Add(int64(d))
}

// cmdStats checks the sandbox's /stats, or the real limiter's when the
// script started one: stats delivered=300 duplicates=0 throttled>0 (=, <,
// > on the JSON fields).
func cmdStats(ts *testscript.TestScript, neg bool, args []string) {
	base := ts.Getenv("SANDBOX")
	if l := ts.Getenv("LIMITER"); l != "" {
		base = l
	}
	resp, err := http.Get(base + "/stats")
	ts.Check(err)
	defer resp.Body.Close()
	var stats map[string]any
	ts.Check(json.NewDecoder(resp.Body).Decode(&stats))
	for _, a := range args {
		i := strings.IndexAny(a, "=<>")
		if i < 0 {
			ts.Fatalf("stats: %q is not key=N, key<N or key>N", a)
		}
		k, op := a[:i], a[i]
		want, err := strconv.ParseFloat(a[i+1:], 64)
		ts.Check(err)
		got, ok := stats[k].(float64)
		if !ok {
			ts.Fatalf("stats: no numeric field %q in %v", k, stats)
		}
		pass := (op == '=' && got == want) || (op == '<' && got < want) || (op == '>' && got > want)
		if pass == neg {
			ts.Fatalf("stats: %s is %v, want %c%v", k, got, op, want)
		}
	}
}

// cmdGen writes N sample rows: gen csv|jsonl N FILE. Row i has id r<i>, a
// unique E.164 number and a text with a comma, a quote and an accent.
func cmdGen(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: gen csv|jsonl N FILE")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	var b strings.Builder
	if args[0] == "csv" {
		b.WriteString("id,to,name,text\n")
	}
	for i := 1; i <= n; i++ {
		id, to := fmt.Sprintf("r%05d", i), fmt.Sprintf("+1555%07d", i)
		name, text := fmt.Sprintf("Zoë O'Brien %d", i), fmt.Sprintf("Hi, \"friend\" number %d", i)
		if args[0] == "csv" {
			fmt.Fprintf(&b, "%s,%s,%s,\"%s\"\n", id, to, name, strings.ReplaceAll(text, `"`, `""`))
			continue
		}
		line, _ := json.Marshal(map[string]string{"id": id, "to": to, "name": name, "text": text})
		b.Write(line)
		b.WriteByte('\n')
	}
	ts.Check(os.WriteFile(filepath.Join(ts.Getenv("WORK"), args[2]), []byte(b.String()), 0o644))
}

// cmdExits runs a program and checks its exit code: exits N prog args...
// Its stdout and stderr can be checked afterwards like exec's.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits N program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("exit status %d, want %d", got, want)
	}
}

// cmdMode checks a file's permission bits: mode 0600 FILE.
func cmdMode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: mode PERM FILE")
	}
	want, err := strconv.ParseUint(args[0], 8, 32)
	ts.Check(err)
	st, err := os.Stat(ts.MkAbs(args[1]))
	ts.Check(err)
	if got := st.Mode().Perm(); (got == os.FileMode(want)) == neg {
		ts.Fatalf("%s has mode %04o, want %s%04o", args[1], got, map[bool]string{true: "not "}[neg], want)
	}
}
