package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/bulksend/bulksend/campaign"
	"github.com/bulksend/bulksend/internal/redact"
	"github.com/bulksend/bulksend/probe"
	"github.com/bulksend/bulksend/ratelimit"
	"github.com/bulksend/bulksend/sender"
)

// runSummary is the end-of-run summary, printed on stderr and, with --json,
// as JSON on stdout.
type runSummary struct {
	Input           string  `json:"input"`
	Report          string  `json:"report"`
	Rows            int     `json:"rows"`
	Sent            int     `json:"sent"`
	Failed          int     `json:"failed"`
	Invalid         int     `json:"invalid"`
	Duplicate       int     `json:"duplicate"`
	Unknown         int     `json:"unknown"`
	Skipped         int     `json:"skipped"`
	Pending         int     `json:"pending"`
	Unread          bool    `json:"input_not_read_to_end,omitempty"`
	Earlier         int     `json:"from_earlier_runs"`
	Unfinished      int     `json:"unfinished"`
	Requests        int     `json:"requests"`
	Throttled       int     `json:"throttled"`
	Pauses          int     `json:"throttle_pauses"`
	PausedSeconds   float64 `json:"paused_seconds"`
	Retries         int     `json:"retries"`
	LearnedBurst    int     `json:"learned_burst,omitempty"`
	LearnedRate     float64 `json:"learned_rate_per_second,omitempty"`
	LearnedModel    string  `json:"learned_model,omitempty"`
	LearnedWindow   float64 `json:"learned_window_seconds,omitempty"`
	LearnedInFlight int     `json:"learned_in_flight,omitempty"`
	// Evenly: a fixed window learned late in the run (after an earlier
	// model was given up) and seen open fewer than five times, so the
	// suggested flags pace its quota evenly, without --window fixed.
	Evenly         bool   `json:"learned_window_pinned_evenly,omitempty"`
	SuggestedFlags string `json:"suggested_flags,omitempty"`
	// SuggestedConcurrency is a --concurrency under the quota the server
	// was learned to have, to learn it again with, where the pool could
	// spend that quota at once (smallerPool); 0 none.
	SuggestedConcurrency int        `json:"suggested_concurrency,omitempty"`
	Latency              latencyOut `json:"latency_ms"`
	ElapsedSeconds       float64    `json:"elapsed_seconds"`
	PerSecond            float64    `json:"sent_per_second"`
	TokensFetched        int        `json:"tokens_fetched,omitempty"`
	Stopped              string     `json:"stopped,omitempty"`
	// ResumeAfter and ResumeCommand say, for a parked run, from when and
	// how to continue it: RFC 3339, on the server's clock when a server's
	// quota parked the run.
	// SuppressAdded counts the recipients --suppress-update added.
	SuppressAdded int    `json:"suppress_added,omitempty"`
	ResumeAfter   string `json:"resume_after,omitempty"`
	ResumeCommand string `json:"resume_command,omitempty"`
	ExitCode      int    `json:"exit_code"`
}

type latencyOut struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Millisecond)*10) / 10 }

// summarize turns a campaign's result into the summary the user sees.
func (p *plan) summarize(res *campaign.Result) *runSummary {
	sum, ls, runErr := res.Summary, res.Limits, res.Stopped
	out := &runSummary{
		Input: p.name, Report: p.report, Rows: sum.Read,
		Sent: sum.Counts[sender.StatusSent], Failed: sum.Counts[sender.StatusFailed],
		Invalid: sum.Counts[sender.StatusInvalid], Duplicate: sum.Counts[sender.StatusDuplicate],
		Unknown: sum.Counts[sender.StatusUnknown], Skipped: sum.Counts[sender.StatusSkipped],
		Pending: sum.Counts[sender.StatusPending], Unread: sum.Unread,
		Earlier: sum.Earlier, Unfinished: sum.Unfinished, Requests: sum.Requests,
		Throttled: sum.Throttled, Pauses: ls.Pauses, PausedSeconds: round2(ls.Paused.Seconds()),
		Retries: sum.Retries, LearnedBurst: ls.LearnedBurst, LearnedRate: round2(ls.LearnedRate),
		Latency:        latencyOut{ms(sum.P50), ms(sum.P95), ms(sum.P99)},
		ElapsedSeconds: round2(sum.Elapsed.Seconds()),
	}
	if p.report == "-" {
		out.Report = "stdout"
	}
	out.SuppressAdded = res.Suppressed
	if s := sum.Elapsed.Seconds(); s > 0 {
		out.PerSecond = round2(float64(sum.Counts[sender.StatusSent]-sum.Earlier) / s)
		if out.PerSecond < 0 {
			out.PerSecond = 0
		}
	}
	if cfg, ok := ls.Pinned(); ok {
		out.LearnedModel = ls.LearnedModel
		out.LearnedWindow = ls.LearnedWindow.Seconds()
		out.LearnedInFlight = ls.LearnedInFlight
		out.SuggestedFlags = pinFlags(cfg)
		out.Evenly = ls.PinnedEvenly()
		out.SuggestedConcurrency = smallerPool(ls, p.opts.Concurrency, sum.P95)
	}
	if p.tokens != nil {
		out.TokensFetched = p.tokens.Fetched()
	}
	switch {
	case runErr != nil:
		out.ExitCode = runErrorCode(runErr)
		// The reason may quote a server's answer: masked, and one line
		// that cannot drive the terminal, here and in --json alike.
		out.Stopped = redact.Terminal(p.masker.mask(stopReason(runErr)))
		var parked *sender.ParkedError
		if errors.As(runErr, &parked) {
			out.ResumeAfter = parked.Until.Format(time.RFC3339)
			out.ResumeCommand = redact.Terminal(p.masker.mask(p.opts.ResumeCommand))
		}
	case res.Incomplete():
		out.ExitCode = ExitIncomplete
	default:
		out.ExitCode = ExitOK
	}
	return out
}

// stopReason says why a run stopped, with what to do about it.
func stopReason(err error) string {
	var parked *sender.ParkedError
	switch {
	case errors.Is(err, sender.ErrInterrupted):
		return "interrupted"
	case errors.Is(err, campaign.ErrInputChanged):
		return err.Error() + "; the rows before it matched the report; to send this input as a new campaign give it a new --report (a dated name); --force starts this report over and sends every row again"
	case errors.As(err, &parked):
		return "parked: " + parked.Reason
	}
	return err.Error()
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// count is n and the noun, singular for one: "1 row", "2 rows". The plural
// is noun+"s" ("y" becomes "ies") unless given.
func count[N int | int64](n N, noun string, plural ...string) string {
	if n == 1 {
		return "1 " + noun
	}
	if len(plural) > 0 {
		return fmt.Sprintf("%d %s", n, plural[0])
	}
	if p, ok := strings.CutSuffix(noun, "y"); ok {
		return fmt.Sprintf("%d %sies", n, p)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// times says how often: "once", "twice", "3 times", "0 times".
func times[N int | int64](n N) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return fmt.Sprintf("%d times", n)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printSummary(w io.Writer, s *runSummary) {
	var b strings.Builder
	fmt.Fprintf(&b, "bulksend: %s in %.1fs: sent %d, failed %d, invalid %d, duplicate %d, unknown %d",
		count(s.Rows, "row"), s.ElapsedSeconds, s.Sent, s.Failed, s.Invalid, s.Duplicate, s.Unknown)
	if s.Skipped > 0 {
		fmt.Fprintf(&b, ", skipped %d", s.Skipped)
	}
	if s.Pending > 0 {
		fmt.Fprintf(&b, ", pending %d", s.Pending)
	}
	b.WriteString("\n")
	if s.Earlier > 0 {
		fmt.Fprintf(&b, "  %d of them settled by an earlier run (--resume)\n", s.Earlier)
	}
	fmt.Fprintf(&b, "  %s, %.1f sent/s; throttled %s in %s (%.1fs paused); %s\n",
		count(s.Requests, "request"), s.PerSecond, times(s.Throttled), count(s.Pauses, "pause"), s.PausedSeconds, count(s.Retries, "retry"))
	if s.SuggestedFlags != "" {
		fmt.Fprintf(&b, "  learned limits: %s; to pin them: %s\n", learnedLimits(s), s.SuggestedFlags)
	}
	if s.SuggestedConcurrency > 0 {
		fmt.Fprintf(&b, "  the pool could spend the server's quota of %d at once: learned so, the limits above may be low and cost 429s; learn them again with --concurrency %d\n",
			s.LearnedBurst, s.SuggestedConcurrency)
	}
	if s.Sent > s.Earlier {
		fmt.Fprintf(&b, "  latency p50 %gms, p95 %gms, p99 %gms\n", s.Latency.P50, s.Latency.P95, s.Latency.P99)
	}
	if s.TokensFetched > 0 {
		fmt.Fprintf(&b, "  OAuth tokens fetched: %d\n", s.TokensFetched)
	}
	fmt.Fprintf(&b, "  report: %s\n", s.Report)
	if s.SuppressAdded > 0 {
		fmt.Fprintf(&b, "  %s added to the --suppress list (opted out or invalid)\n", count(s.SuppressAdded, "recipient"))
	}
	if s.Unfinished > 0 {
		fmt.Fprintf(&b, "  %s left in flight: the report could not be written\n", count(s.Unfinished, "row was", "rows were"))
	}
	if s.Unread {
		b.WriteString("  the input was not read to its end: rows after the last one reported have no report row\n")
	}
	switch {
	case s.ResumeAfter != "":
		fmt.Fprintf(&b, "  %s\n  parked until %s: run again then with --resume:\n    %s\n", s.Stopped, s.ResumeAfter, s.ResumeCommand)
	case s.Stopped == "interrupted":
		b.WriteString("  interrupted: run again with --resume to send the rest\n")
	case s.Stopped != "" && s.ExitCode == ExitUsage:
		// An input refused partway (a pipe that differs from the report):
		// the reason says what to do; --resume would refuse it again.
		fmt.Fprintf(&b, "  stopped: %s\n", s.Stopped)
	case s.Stopped != "":
		fmt.Fprintf(&b, "  stopped: %s\n  run again with --resume to continue\n", s.Stopped)
	case s.ExitCode == ExitIncomplete:
		b.WriteString("  some rows were not sent: see the report's status and error columns")
		if s.Failed > 0 {
			b.WriteString("; --resume --retry-failed resends the failed ones (none of their attempts was taken)")
		}
		b.WriteString("\n")
		if s.Unknown > 0 {
			fmt.Fprintf(&b, "  %s may have arrived: not resent until settled (see README, \"unknown rows\")\n", count(s.Unknown, "unknown row"))
		}
	}
	io.WriteString(w, b.String())
}

// smallerPool is the --concurrency to suggest for learning a server again
// whose quota, as learned (LearnedBurst: a window's quota, a bucket's
// size), a pool of pool requests could spend at once: a request under the
// quota, or one for a quota of one; 0 otherwise. A pool that spends a
// quota of a few at once meets the server's limit with its opening burst,
// before any answer could say it, and the models learn the server from a
// burst it mostly refused (the figures below are from before the first
// request went alone, ratelimit.Config.OpeningAlone, which reads a stated
// counter first: go-chi/httprate 0.48 -> 0.70; a bare server's quota is
// still met by the whole pool): on the real go-chi/httprate and HAProxy
// sliding counters at 5 per 1s (100 rows) --concurrency 8 ran at 0.52
// and 0.59 of the ideal time, learned as buckets of 2.6/s and 2.2/s
// (their flags 0.50 and 0.43); --concurrency 4 at 0.75 and 0.83, learned
// as sliding windows of 4.2/s and 4.6/s (flags 0.77 and 0.86). Fixed
// windows were learned right but drew 7-12% 429s (go-limiter at 3 per
// 1s: 0.86 with 15 of 75, at --concurrency 2 0.99 with 4 of 64), and a
// sliding counter may be taken for one (httprate in the simulation).
// BENCHMARKS.md, "Small quotas under the pool, session 40". Not for a
// concurrency limit, whose flags name --concurrency. Not where so few
// would not carry the server's rate: four times the learned rate (which
// may be half the server's) times the run's p95 latency in flight (a
// bucket of one at 100/s behind 100ms round trips needs 10, where a pool
// of one would pace it at 10/s), and not without a latency to judge by.
func smallerPool(ls ratelimit.Stats, pool int, p95 time.Duration) int {
	if ls.LearnedModel == ratelimit.ModelConcurrency || ls.LearnedBurst <= 0 || ls.LearnedBurst > pool || p95 <= 0 {
		return 0
	}
	n := max(1, ls.LearnedBurst-1)
	if need := 4 * ls.LearnedRate * p95.Seconds(); n >= pool || float64(n) < need {
		return 0
	}
	return n
}

// rateFlag is the --rate flag that pins r.
func rateFlag(r ratelimit.Rate) string { return "--rate " + r.String() }

// pinFlags are the send flags that pace as cfg does.
func pinFlags(cfg ratelimit.Config) string { return probe.PinnedFlags(cfg) }

// learnedLimits says what the adaptive rate learned of the server, in its
// model's terms: "15 per 151ms fixed window", "100 per 1s sliding log",
// "sliding window, 88.0 requests/s", "bucket: burst 15, 98.2
// requests/s".
func learnedLimits(s *runSummary) string {
	w := time.Duration(s.LearnedWindow * float64(time.Second)).Round(time.Millisecond)
	switch s.LearnedModel {
	case ratelimit.ModelFixedWindow:
		if s.Evenly {
			// Formed late in the run and seen in few windows: its
			// flags spread the quota evenly (ratelimit.Stats.Pinned).
			return fmt.Sprintf("%d per %v fixed window, seen in few windows (pinned evenly)", s.LearnedBurst, w)
		}
		return fmt.Sprintf("%d per %v fixed window", s.LearnedBurst, w)
	case ratelimit.ModelSlidingWindow:
		if s.LearnedWindow > 0 {
			return fmt.Sprintf("%d per %v sliding log", s.LearnedBurst, w)
		}
		return fmt.Sprintf("sliding window, %.1f requests/s", s.LearnedRate)
	case ratelimit.ModelConcurrency:
		return fmt.Sprintf("concurrency limit, %d in flight", s.LearnedInFlight)
	}
	return fmt.Sprintf("burst %d, %.1f requests/s", s.LearnedBurst, s.LearnedRate)
}
