package cmd

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/bulksend/bulksend/internal/redact"
	"github.com/bulksend/bulksend/sender"
)

// progressDisplay shows a run's counters on stderr: a bar on a terminal, a
// plain line every --progress-interval otherwise (cron logs), nothing with
// --quiet. The engine only bumps counters; the display reads them on its
// own ticker.
type progressDisplay struct {
	done chan struct{}
	wg   sync.WaitGroup
}

func startProgress(opts *SendOptions, p *sender.Progress, total int64, lim runLimiter) *progressDisplay {
	d := &progressDisplay{done: make(chan struct{})}
	if opts.Quiet {
		return d
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	snap := func() frame {
		t := now()
		f := frame{done: p.Done.Load(), sent: p.Sent.Load(), failed: p.Failed.Load(), throttled: p.Throttled.Load(),
			retries: p.Retries.Load(), inFlight: p.InFlight.Load(), settling: p.Settling.Load(), total: total, elapsed: t.Sub(start)}
		if until, parked := p.ParkedUntil(t); parked {
			f.parkedUntil = until
		} else if until, paused := lim.Paused(t); paused {
			f.pausedFor, f.pauseReason = until.Sub(t), p.ThrottleReason()
		}
		return f
	}
	d.wg.Add(1)
	if opts.IO.ErrTTY {
		go d.bar(opts.IO.ErrOut, total, snap)
	} else {
		go d.lines(opts, now, snap)
	}
	return d
}

// frame is what the display shows at one moment.
type frame struct {
	done, sent, failed, throttled, retries, inFlight int64
	settling                                         int64 // rows waiting for a lookup
	total                                            int64 // -1: unknown
	elapsed                                          time.Duration
	pausedFor                                        time.Duration // 0: not paused
	pauseReason                                      string        // the throttle answer that paused the run
	parkedUntil                                      time.Time     // zero: not parked (--wait-parked sleeps until then)
}

// status is the counters, and why the run is paused: what a user watching
// a run that seems stuck needs to tell a slow server from a hung one.
func (f frame) status() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sent %d · failed %d · throttled %d · retries %d · in flight %d",
		f.sent, f.failed, f.throttled, f.retries, f.inFlight)
	if f.settling > 0 {
		// Rows that may have arrived wait for a lookup: found settles
		// them at once, absent only --timeout after their attempt.
		fmt.Fprintf(&b, " · awaiting lookup %d", f.settling)
	}
	if !f.parkedUntil.IsZero() {
		fmt.Fprintf(&b, " · parked until %s (--wait-parked)", f.parkedUntil.Format(time.RFC3339))
	} else if f.pausedFor > 0 {
		fmt.Fprintf(&b, " · paused %.1fs", f.pausedFor.Seconds())
		if f.pauseReason != "" {
			fmt.Fprintf(&b, " (%s)", redact.Terminal(f.pauseReason))
		}
	}
	return b.String()
}

// times is the elapsed time and, once a second has passed and a row is
// done, the rate and the time left: never a "0 rows/hr" guess.
func (f frame) times() string {
	s := "elapsed " + f.elapsed.Round(time.Second).String()
	if f.done == 0 || f.elapsed < time.Second {
		return s
	}
	rate := float64(f.done) / f.elapsed.Seconds()
	s += fmt.Sprintf(" · %.1f rows/s", rate)
	if f.total > f.done {
		left := time.Duration(float64(f.total-f.done) / rate * float64(time.Second))
		s += " · ETA " + left.Round(time.Second).String()
	}
	return s
}

// bar redraws a progress bar until the display stops. The count is set
// before the description, so the bar's count and the sent counter come
// from the same moment.
func (d *progressDisplay) bar(w io.Writer, total int64, snap func() frame) {
	defer d.wg.Done()
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(24),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionClearOnFinish(),
	)
	draw := func() {
		f := snap()
		_ = bar.Set64(f.done)
		bar.Describe(f.status() + " · " + f.times())
	}
	draw()
	t := time.NewTicker(150 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			draw()
		case <-d.done:
			draw()
			_ = bar.Finish()
			return
		}
	}
}

// lines prints a plain progress line every --progress-interval until the
// display stops: what a cron log can hold, each line dated.
func (d *progressDisplay) lines(opts *SendOptions, now func() time.Time, snap func() frame) {
	defer d.wg.Done()
	interval := opts.ProgressInterval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			fmt.Fprintln(opts.IO.ErrOut, progressLine(now(), snap()))
		case <-d.done:
			return
		}
	}
}

// progressLine is one dated progress line of a log.
func progressLine(at time.Time, f frame) string {
	of := ""
	if f.total >= 0 {
		of = fmt.Sprintf("/%d", f.total)
	}
	return fmt.Sprintf("%s progress: %d%s rows done · %s · %s", at.Format(time.RFC3339), f.done, of, f.status(), f.times())
}

func (d *progressDisplay) stop() {
	close(d.done)
	d.wg.Wait()
}
