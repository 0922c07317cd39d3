package cmd

import (
	"context"
	"strings"
	"time"
	_ "time/tzdata" // send windows name zones; a minimal system may have no zone database

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bulksend/bulksend/campaign"
	"github.com/bulksend/bulksend/ratelimit"
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
	case len(caps) > 0 && opts.Limiter != "":
		return nil, usageError("several --rate flags are not shared through --limiter: give one --rate")
	}
	return caps, nil
}

// capped puts the --rate caps on top of lim. A cap spent for longer than
// --max-wait parks the run; with --wait-parked it is slept through.
func (p *plan) capped(lim runLimiter) runLimiter {
	if len(p.caps) == 0 {
		return lim
	}
	maxWait := p.opts.MaxWait
	if p.opts.WaitParked {
		maxWait = 0
	}
	return cappedLimiter{runLimiter: lim, caps: ratelimit.NewCaps(p.caps, maxWait, nil)}
}

// cappedLimiter is a limiter whose requests also take from long caps.
type cappedLimiter struct {
	runLimiter
	caps *ratelimit.Caps
}

// Wait waits for the pace, then for the caps.
func (l cappedLimiter) Wait(ctx context.Context) error {
	if err := l.runLimiter.Wait(ctx); err != nil {
		return err
	}
	return l.caps.Wait(ctx)
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
func resumeCommand(c *cobra.Command, input string) string {
	args := []string{"bulksend", "send", shellQuote(input)}
	c.Flags().Visit(func(f *pflag.Flag) {
		switch f.Name {
		case "resume", "force", "dry-run":
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
