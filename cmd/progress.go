package cmd

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

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
	status := func() string {
		s := fmt.Sprintf("sent %d · failed %d · throttled %d", p.Sent.Load(), p.Failed.Load(), p.Throttled.Load())
		if until, paused := lim.Paused(time.Now()); paused {
			s += fmt.Sprintf(" · paused %.1fs", time.Until(until).Seconds())
		}
		return s
	}
	d.wg.Add(1)
	if opts.IO.ErrTTY {
		go d.bar(opts.IO.ErrOut, p, total, status)
	} else {
		go d.lines(opts, p, total, status)
	}
	return d
}

// bar redraws a progress bar until the display stops.
func (d *progressDisplay) bar(w io.Writer, p *sender.Progress, total int64, status func() string) {
	defer d.wg.Done()
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(24),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetDescription(status()),
	)
	t := time.NewTicker(150 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			bar.Describe(status())
			_ = bar.Set64(p.Done.Load())
		case <-d.done:
			_ = bar.Set64(p.Done.Load())
			_ = bar.Finish()
			return
		}
	}
}

// lines prints a plain progress line every --progress-interval until the
// display stops: what a cron log can hold.
func (d *progressDisplay) lines(opts *SendOptions, p *sender.Progress, total int64, status func() string) {
	defer d.wg.Done()
	start := time.Now()
	interval := opts.ProgressInterval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	of := ""
	if total >= 0 {
		of = fmt.Sprintf("/%d", total)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			fmt.Fprintf(opts.IO.ErrOut, "%s progress: %d%s rows done · %s · %.0fs elapsed\n",
				time.Now().Format("15:04:05"), p.Done.Load(), of, status(), time.Since(start).Seconds())
		case <-d.done:
			return
		}
	}
}

func (d *progressDisplay) stop() {
	close(d.done)
	d.wg.Wait()
}
