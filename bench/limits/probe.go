package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strings"
	"time"

	"github.com/bulksend/bulksend/bench/internal/benchcli"
)

// modeProbe runs `bulksend probe URL --json` with its default flags: issue
// 11 asks it to name the model, the limit within 10% and the period within
// 20%. Not in the default modes: on a 1 s window a probe may take its
// whole --max-time.
const modeProbe = "probe"

// probeTimeout bounds one probe, well above its default --max-time.
const probeTimeout = 90 * time.Second

// probeRun is one probe of a fresh limiter, and whether it was right.
type probeRun struct {
	Command     string         `json:"command"`
	WallSeconds float64        `json:"wall_seconds"`
	ExitCode    *int           `json:"exit_code,omitempty"`
	Error       string         `json:"error,omitempty"`
	Server      serverStats    `json:"server"`
	Output      map[string]any `json:"output,omitempty"` // the probe's --json, as printed
	Right       bool           `json:"right"`
	Misses      []string       `json:"misses,omitempty"`
}

// runProbe probes ep with bulksend's default probe flags.
func runProbe(ctx context.Context, bin string, ep endpoint, sc realScenario) (probeRun, error) {
	argv := []string{"probe", ep.base + "/send", "--json"}
	p := probeRun{Command: benchcli.ShellJoin(append([]string{"bulksend"}, "probe", "$URL/send", "--json")...)}
	tctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(tctx, bin, argv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	runErr := cmd.Run()
	p.WallSeconds = round(time.Since(start).Seconds(), 3)
	if err := ctx.Err(); err != nil {
		return p, fmt.Errorf("interrupted: %w", err)
	}
	p.Server = ep.stats()
	if cmd.ProcessState != nil {
		code := cmd.ProcessState.ExitCode()
		p.ExitCode = &code
	}
	switch {
	case errors.Is(tctx.Err(), context.DeadlineExceeded):
		p.Error = "timeout"
	case json.Unmarshal(stdout.Bytes(), &p.Output) != nil:
		p.Error = fmt.Sprintf("no JSON (%v; stderr: %q)", runErr, benchcli.LastLine(stderr.String()))
	}
	sc.judgeProbe(&p)
	return p, nil
}

// judgeProbe checks p against what sc really is: the model, then a
// window's limit (10%) and length (20%), or a bucket's rate (10%).
func (sc realScenario) judgeProbe(p *probeRun) {
	miss := func(format string, args ...any) { p.Misses = append(p.Misses, fmt.Sprintf(format, args...)) }
	if p.Error != "" {
		miss("%s", p.Error)
	} else if p.ExitCode != nil && *p.ExitCode != 0 {
		miss("exit %d: %s", *p.ExitCode, text(p.Output, "note"))
	}
	want := map[string]string{algoLeaky: "bucket", algoBucket: "bucket", algoFixed: "fixed", algoSliding: "sliding"}[sc.Algorithm]
	switch model := text(p.Output, "model"); {
	case model == "":
		miss("no model")
	case !strings.Contains(strings.ToLower(model), want):
		miss("model %s, not %s", model, want)
	}
	within := func(what string, got, truth, tolerance float64) {
		if got <= 0 {
			miss("no %s", what)
		} else if math.Abs(got-truth) > tolerance*truth {
			miss("%s %.3g, not %.3g±%.0f%%", what, got, truth, tolerance*100)
		}
	}
	if sc.Algorithm == algoFixed || sc.Algorithm == algoSliding {
		within("limit", number(p.Output, "limit_per_window"), float64(sc.Limit), 0.1)
		within("window", number(p.Output, "window_seconds"), sc.WindowSeconds, 0.2)
	} else {
		within("rate", number(p.Output, "sustained_per_second"), float64(sc.Limit)/sc.WindowSeconds, 0.1)
	}
	p.Right = len(p.Misses) == 0
}

func text(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func number(m map[string]any, key string) float64 {
	f, _ := m[key].(float64)
	return f
}

// summary is what the probe said, in one cell.
func (p probeRun) summary() string {
	o := p.Output
	var parts []string
	if m := text(o, "model"); m != "" {
		parts = append(parts, "model "+m)
	}
	if l, w := number(o, "limit_per_window"), number(o, "window_seconds"); l > 0 || w > 0 {
		parts = append(parts, fmt.Sprintf("%g per %gs", l, w))
	}
	parts = append(parts, fmt.Sprintf("burst %g, %.3g/s", number(o, "burst"), number(o, "sustained_per_second")))
	if f := text(o, "suggested_flags"); f != "" {
		parts = append(parts, "suggests `"+f+"`")
	}
	return strings.Join(parts, ", ")
}

// probeRow is the table row of a scenario's probes: the verdict over all
// of them, and the numbers of the first one wrong (else the first).
func probeRow(sr realScenarioResult) string {
	ps := sr.Probes
	right, show := 0, 0
	for i, p := range ps {
		if p.Right {
			right++
		} else if ps[show].Right {
			show = i
		}
	}
	p := ps[show]
	verdict := fmt.Sprintf("%s %d/%d", benchcli.Pass, right, len(ps))
	if right*2 <= len(ps) {
		verdict = fmt.Sprintf("**%s** %d/%d right: %s", benchcli.Miss, right, len(ps), strings.Join(p.Misses, ", "))
	}
	share := 0.0
	if p.Server.Requests > 0 {
		share = float64(p.Server.Throttled) / float64(p.Server.Requests)
	}
	cell := strings.ReplaceAll(p.summary(), "|", `\|`)
	// No ideal, best or their verdicts: a probe sends no rows.
	return fmt.Sprintf("| %s | %s | probe | - | - | %d (%s) | %.2f | - | - | %s | - | - | - | %s |\n",
		sr.Desc, sr.Algorithm, p.Server.Throttled, percent(share), p.WallSeconds, verdict, cell)
}
