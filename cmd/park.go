package cmd

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // send windows name zones; a minimal system may have no zone database

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/time/rate"

	"github.com/bulksend/bulksend/campaign"
	"github.com/bulksend/bulksend/ratelimit"
	"github.com/bulksend/bulksend/redislimit"
	"github.com/bulksend/bulksend/sender"
	"github.com/bulksend/bulksend/sendwindow"
	"github.com/bulksend/bulksend/suppress"
)

// splitRates splits the --rate flags into the pace, the rate of the
// shortest period, and the caps, the others. A rate that does not parse is
// made the pace, so newPlan reports it.
func splitRates(rates []string) (pace string, caps []string) {
	if len(rates) == 0 {
		return "", nil
	}
	best := -1
	var bestPer time.Duration
	for i, s := range rates {
		r, err := ratelimit.ParseRate(s)
		if err != nil {
			best = i
			break
		}
		if best < 0 || (!r.IsZero() && (bestPer == 0 || r.Per < bestPer)) {
			best, bestPer = i, r.Per
		}
	}
	for i, s := range rates {
		if i != best {
			caps = append(caps, s)
		}
	}
	return rates[best], caps
}

// parseCaps reads the --rate flags after the pace.
func parseCaps(opts *SendOptions) ([]ratelimit.Rate, error) {
	caps, err := parseEach(opts.Caps, ratelimit.ParseRate)
	switch {
	case err != nil:
		return nil, usageError("--rate: %v", err)
	}
	return caps, nil
}

// capped puts the --rate caps on top of lim, shared through Redis when lim
// is. A cap spent for longer than --max-wait parks the run; with
// --wait-parked it is slept through.
func (p *plan) capped(lim runLimiter) runLimiter {
	if len(p.caps) == 0 {
		return lim
	}
	maxWait := p.opts.MaxWait
	if p.opts.WaitParked {
		maxWait = 0
	}
	if shared, ok := lim.(*redislimit.Limiter); ok {
		// Every process sharing the --limiter key draws on the same caps.
		return cappedLimiter{runLimiter: lim, caps: shared.Caps(p.caps, maxWait)}
	}
	return cappedLimiter{runLimiter: lim, caps: ratelimit.NewCaps(p.caps, maxWait, nil)}
}

// cappedLimiter is a limiter whose requests also take from long caps:
// *ratelimit.Caps, or *redislimit.Caps with --limiter.
type cappedLimiter struct {
	runLimiter
	caps interface {
		Wait(ctx context.Context) error
	}
}

// Wait waits for the pace, then for the caps. A request the pace let go
// but the caps hold back is ended at once, so it holds no slot in flight.
func (l cappedLimiter) Wait(ctx context.Context) error {
	if err := l.runLimiter.Wait(ctx); err != nil {
		return err
	}
	if err := l.caps.Wait(ctx); err != nil {
		l.Done(time.Now(), ratelimit.Failed)
		return err
	}
	return nil
}

// Done ends a request in flight, when the limiter counts them
// (*ratelimit.Limiter does).
func (l cappedLimiter) Done(sent time.Time, o ratelimit.Outcome) {
	if f, ok := l.runLimiter.(interface {
		Done(time.Time, ratelimit.Outcome)
	}); ok {
		f.Done(sent, o)
	}
}

// ThrottleFor pauses for the refusal of the request sent at sent, where
// the limiter reads refusals by their request (*ratelimit.Limiter does),
// else as Throttle.
func (l cappedLimiter) ThrottleFor(sent, now time.Time, wait time.Duration, hinted bool) time.Duration {
	if f, ok := l.runLimiter.(interface {
		ThrottleFor(time.Time, time.Time, time.Duration, bool) time.Duration
	}); ok {
		return f.ThrottleFor(sent, now, wait, hinted)
	}
	return l.runLimiter.Throttle(now, wait, hinted)
}

// suppressList reads --suppress and --suppress-update; nil without a list.
func suppressList(opts *SendOptions) (*campaign.Suppress, error) {
	switch {
	case opts.Suppress == "" && opts.SuppressUpdate:
		return nil, usageError("--suppress-update needs --suppress FILE, the list to add to")
	case opts.Suppress == "":
		return nil, nil
	case opts.RecipientField == "" && (opts.Preset == "" || opts.Preset == "generic"):
		return nil, usageError("--suppress needs --recipient-field with the generic preset: name the column that holds the recipient")
	}
	l, err := suppress.Load(opts.Suppress)
	if err != nil {
		return nil, runError(err)
	}
	return &campaign.Suppress{List: l, Update: opts.SuppressUpdate}, nil
}

// sendWindows reads --send-window, --tz and --tz-field; nil when no window
// is given.
func sendWindows(opts *SendOptions) (*campaign.Windows, error) {
	if len(opts.SendWindows) == 0 {
		if opts.TZ != "" || opts.TZField != "" {
			return nil, usageError("--tz and --tz-field are the zone of --send-window: give a window")
		}
		return nil, nil
	}
	sched, err := sendwindow.ParseSchedule(opts.SendWindows)
	if err != nil {
		return nil, usageError("--send-window: %v", err)
	}
	w := &campaign.Windows{Schedule: sched, ZoneField: opts.TZField}
	if opts.TZ != "" {
		if w.Zone, err = time.LoadLocation(opts.TZ); err != nil {
			return nil, usageError("--tz %q: not a time zone (an IANA name like America/New_York)", opts.TZ)
		}
	}
	return w, nil
}

// stageColumns are the columns the row stages read: --tz-field's.
func (p *plan) stageColumns() []string {
	if p.windows != nil && p.windows.ZoneField != "" {
		return []string{p.windows.ZoneField}
	}
	return nil
}

// resumeCommand is the command line that continues the run c describes:
// the flags given, less those that start over or send nothing, plus
// --resume, quoted for a POSIX shell. It is what a parked run prints for
// the user to run (or to put in cron) once resume_after has passed.
// --resend-unknown is dropped too: the risk it accepts was for the rows
// unknown before this run, and carried on it would resend blind the rows
// this run leaves unknown; no advice sends a message twice.
func resumeCommand(c *cobra.Command, input string) string {
	args := []string{"bulksend", "send", shellQuote(input)}
	c.Flags().Visit(func(f *pflag.Flag) {
		switch f.Name {
		case "resume", "force", "dry-run", "resend-unknown":
			return
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				args = append(args, "--"+f.Name, shellQuote(v))
			}
			return
		}
		if f.Value.Type() == "bool" {
			if f.Value.String() == "true" {
				args = append(args, "--"+f.Name)
			} else {
				args = append(args, "--"+f.Name+"=false")
			}
			return
		}
		args = append(args, "--"+f.Name, shellQuote(f.Value.String()))
	})
	return strings.Join(append(args, "--resume"), " ")
}

// shellQuote quotes s for a POSIX shell unless it needs no quoting.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=+,@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// zoneCounts counts the dry run's rows to send by the zone of their send
// window, for projectLong: a few entries however many rows.
type zoneCounts struct {
	zones []sendwindow.Zoned
	n     []int
}

func (z *zoneCounts) add(w sender.Window) {
	zw, ok := w.(sendwindow.Zoned)
	if !ok {
		zw = sendwindow.Zoned{Loc: time.UTC} // no window: always open
	}
	for i, have := range z.zones {
		if have.Loc == zw.Loc {
			z.n[i]++
			return
		}
	}
	z.zones, z.n = append(z.zones, zw), append(z.n, 1)
}

// projectLong projects when a run with send windows or --rate caps ends:
// each zone's rows in turn, the zone whose window opens first first, each
// row at the first time its window is open and the pace and every cap
// allow it. Zones whose windows overlap may in fact interleave, so it is
// an estimate; the adaptive rate counts as unpaced.
func (p *plan) projectLong(s *dryRunSummary) {
	now := time.Now()
	if p.opts.Now != nil {
		now = p.opts.Now()
	}
	var lims []*rate.Limiter
	if !p.adaptive && !p.rate.IsZero() {
		lims = append(lims, rate.NewLimiter(p.rate.Limit(), max(p.opts.Burst, 1)))
	}
	for _, c := range p.caps {
		if !c.IsZero() {
			lims = append(lims, rate.NewLimiter(c.Limit(), max(int(c.Count), 1)))
		}
	}
	order := make([]int, len(s.zones.zones))
	for i := range order {
		order[i] = i
	}
	opens := func(i int) time.Time { at, _ := s.zones.zones[i].Next(now); return at }
	slices.SortStableFunc(order, func(a, b int) int { return opens(a).Compare(opens(b)) })
	t, windows, last := now, 0, now
	for _, zi := range order {
		z := s.zones.zones[zi]
		for range s.zones.n[zi] {
			for {
				if at, ok := z.Next(t); ok && at.After(t) {
					t = at
					windows++
				} else if windows == 0 {
					windows = 1 // the first row goes in a window open now
				}
				var wait time.Duration
				res := make([]*rate.Reservation, 0, len(lims))
				for _, l := range lims {
					r := l.ReserveN(t, 1)
					res = append(res, r)
					wait = max(wait, r.DelayFrom(t))
				}
				if wait == 0 {
					break
				}
				for _, r := range res {
					r.CancelAt(t)
				}
				t = t.Add(wait)
			}
			last = t
		}
	}
	if s.Valid == 0 {
		return
	}
	loc := time.Local
	if p.windows != nil && p.windows.Zone != nil {
		loc = p.windows.Zone
	}
	when := last.In(loc).Format("Mon 15:04")
	if last.Sub(now) > 6*24*time.Hour {
		when = last.In(loc).Format("Mon 2 Jan 15:04")
	}
	s.FinishesAt, s.Windows = last.Format(time.RFC3339), windows
	s.Projection = fmt.Sprintf("finishes %s %s, in %s", when, last.In(loc).Format("MST"), count(windows, "window"))
	if p.windows == nil {
		s.Projection = fmt.Sprintf("finishes %s %s, with the --rate caps", when, last.In(loc).Format("MST"))
	}
	s.ProjectedSeconds = round2(last.Sub(now).Seconds())
}
