// Package campaign runs one whole send of an input file: the work between
// "these are the rows and this is how to render them" and "this is what
// became of every row".
//
// Run takes a message's path through the project's packages in order:
//
//  1. the report: lock it, then create it, refuse it, or continue it
//     (Report.Resume) or start it over (Report.Force);
//  2. the resume state: what an earlier run recorded for each line;
//  3. the duplicate pre-pass (package dupindex) over the input file, so the
//     run remembers only the ids that may repeat;
//  4. the source: rows (package csvinput) rendered by the preset, filtered
//     by the resume state, cut to this process's shard;
//  5. the engine (package sender) with its configuration: client, limiter,
//     journal, progress;
//  6. compaction of the report into one row per input row.
//
// Each step has its own file, and a new rule belongs to one of them: which
// rows go (a suppress list, a send window) is a stage of the source in
// compose; what an existing report means (lookups of rows left in doubt,
// checks that it was written for this input) is in openReport and the
// resume filter; a new way for a run to end is an error in
// Result.Stopped, which cmd maps to an exit status.
//
// The package never reads flags or the
// environment, never prints and never exits: package cmd maps Options from
// flags, shows progress and the summary, and turns a Result into an exit
// status; another Go program can run a send the same way.
package campaign

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"time"

	"github.com/bulksend/bulksend/csvinput"
	"github.com/bulksend/bulksend/preset"
	"github.com/bulksend/bulksend/ratelimit"
	"github.com/bulksend/bulksend/report"
	"github.com/bulksend/bulksend/sender"
	"github.com/bulksend/bulksend/suppress"
)

// Errors a run can return or stop with. Each leaves a report that Resume can
// continue.
var (
	// ErrReportExists: the report holds rows and neither Resume nor Force
	// says what to do with them; starting over could send them twice.
	ErrReportExists = errors.New("report exists")
	// ErrInputChanged: with Resume, the input is not the one the report
	// was written for: a line's id or request (its fingerprint) is not
	// the one the report has for it, or the input lacks a line the report
	// has. A file is compared before anything is sent (Run returns the
	// error); input read once (stdin) as it is read, which stops the run
	// at the first difference (Result.Stopped).
	ErrInputChanged = errors.New("the input changed since the report was written")
	// ErrMissingColumns: the CSV header lacks a column every row needs.
	ErrMissingColumns = errors.New("the input has no column")
)

// Options describe one send. The zero value of every field but Preset has a
// meaning: see each field.
type Options struct {
	Input  Input
	Preset *preset.Preset // how a row becomes a request; required
	// Transport carries every request, under Preset.Wrap; nil means
	// http.DefaultTransport.
	Transport http.RoundTripper
	Report    Report
	Shard     Shard
	// Windows, when set, send each row only inside its send window; a row
	// whose window opens further off than Engine.MaxWait is left pending
	// and the run parks (sender.ErrParked) until the earliest opening.
	Windows *Windows
	// Suppress, when set, skips the rows to recipients on an opt-out
	// list, and with Update adds those who opted out during the run.
	Suppress *Suppress

	// Engine holds pacing, retries and the error policy, as sender.Config
	// documents them (zero values: sender's defaults). Run sets its
	// Journal and Progress, its Client unless set (Preset and Transport),
	// its ParseResponse unless set (Preset's), and its Limiter unless set
	// (the adaptive limiter).
	Engine sender.Config

	// Stop, when closed, ends the run softly: nothing new is sent, requests
	// in flight finish, and the reading before the first send (the resume
	// state, the pre-pass) ends at once. Ending ctx aborts requests in
	// flight too.
	Stop <-chan struct{}

	// Resumed, when set, is called with the earlier run's counts by status
	// (rows in flight under sender.StatusInFlight) once a report is
	// loaded to resume, before anything is sent: a caller warns about
	// what Report.ResendUnknown is about to send again.
	Resumed func(counts map[sender.Status]int)
	// Unchecked, when set, is called once a report is loaded to resume,
	// before anything is sent, with how many of its rows have no
	// fingerprint (written by an older bulksend): the input's rows on
	// those lines are compared by id only.
	Unchecked func(rows int)

	// Progress, when set, is called once as sending starts, with the live
	// counters and the estimated number of rows (-1 when unknown); the
	// function it returns is called as soon as sending ends.
	Progress func(p *sender.Progress, total int64) (stop func())
}

// Input is where the rows come from.
type Input struct {
	// Path is the file to read; "" or "-" reads Reader. A regular file is
	// read twice: once by the duplicate pre-pass, once by the run.
	Path string
	// Reader holds the rows when Path is "" or "-" (stdin, a pipe): read
	// once, without a pre-pass, so every id is kept in memory.
	Reader io.Reader
	// Name names the input in messages; "" means Path, or "stdin".
	Name string
	// Format is csv or jsonl; FormatAuto means by Path's extension, sniffed
	// for a Reader.
	Format csvinput.Format
	// Encoding is the input's character encoding; "" means UTF-8, where a
	// row with a byte that is not UTF-8 is invalid.
	Encoding csvinput.Encoding
	// Columns are the columns every row needs (the fields the templates
	// read, a named id field): a CSV input whose header lacks one is
	// refused with ErrMissingColumns before anything is sent, rather than
	// every row being invalid. JSONL, which has no header, is not checked.
	Columns []string
}

// Report is where results are written and what an existing report means.
type Report struct {
	// Path is the report file (.csv or .jsonl); "" means DefaultReportPath
	// of the input. It is locked for the whole run.
	Path string
	// Writer, when set, receives the report instead of a file (stdout): no
	// lock, no resume, no compaction.
	Writer io.Writer
	// Resume continues the run the report records: rows it has as sent,
	// duplicate or skipped are not sent again, pending rows are sent.
	// Failed rows (proven not taken) are sent again only with RetryFailed.
	// Rows that may have arrived (unknown, or in flight when a run was
	// killed) are sent again only when that is safe: the server
	// deduplicates by the same key; otherwise they stay unknown unless
	// ResendUnknown, which may deliver them twice.
	Resume        bool
	RetryFailed   bool
	ResendUnknown bool
	// Force overwrites an existing report. Without Resume or Force an
	// existing report is ErrReportExists.
	Force bool
	// Redact masks the secrets in each result's error and response
	// columns before they are stored (report.Options.Redact); nil stores
	// them as the server sent them.
	Redact func(string) string
	// Segments gives a new report the segments column: the preset counts
	// SMS segments (report.Options.Segments).
	Segments bool
}

// Shard selects the rows of shard Index (1 to Count) of Count, by a stable
// hash of each row's id (sender.Shard). The zero value sends every row.
type Shard struct {
	Index, Count int
}

// Result is what a run did and why it ended.
type Result struct {
	// Summary counts the rows by status, requests, retries and latency.
	Summary *sender.Summary
	// Limits are the limiter's own counts (pauses, learned limits), when it
	// keeps them.
	Limits ratelimit.Stats
	// Stopped says why the run ended before every row was settled:
	// sender.ErrInterrupted (Stop), sender.ErrMaxErrors, sender.ErrAuth,
	// sender.ErrOutage, ErrInputChanged, a failure of the input or the
	// report. Nil when every row was taken to its end.
	Stopped error
	// Suppressed is how many recipients Suppress.Update added to the list.
	Suppressed int
}

// Incomplete reports whether rows are left that were not delivered: failed,
// invalid, unknown, pending (the run stopped first), left in flight, or
// never read.
func (r *Result) Incomplete() bool {
	c, s := r.Summary.Counts, r.Summary
	return c[sender.StatusFailed]+c[sender.StatusInvalid]+c[sender.StatusUnknown]+c[sender.StatusPending]+s.Unfinished > 0 || s.Unread
}

// DefaultReportPath is the report of an input when none is named: the
// input's base name plus ".report.csv", in the current folder.
func DefaultReportPath(input string) string {
	base := "stdin"
	if input != "" && input != "-" {
		base = filepath.Base(input)
	}
	return base + ".report.csv"
}

// Run sends every row of the input and returns what became of them. An
// error means the run could not start, and nothing was sent: the report is
// locked (report.ErrLocked) or exists (ErrReportExists), the input or the
// report cannot be read, or Stop came first (sender.ErrInterrupted). Once
// sending started, Run returns a Result, whose Stopped says why it ended
// early.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Preset == nil || opts.Preset.Builder == nil {
		return nil, errors.New("run campaign: no preset")
	}
	if err := opts.Shard.check(); err != nil {
		return nil, err
	}
	opts.Input = opts.Input.withDefaults()
	// Reading the report and the pre-pass send nothing, so Stop ends them
	// at once.
	prepCtx, endPrep := context.WithCancel(ctx)
	defer endPrep()
	go func() {
		select {
		case <-opts.Stop:
			endPrep()
		case <-prepCtx.Done():
		}
	}()
	p, err := prepare(prepCtx, opts)
	endPrep()
	if err != nil {
		if stopped(opts.Stop) {
			return nil, sender.ErrInterrupted
		}
		return nil, err
	}
	defer p.close()
	return p.send(ctx, opts)
}

// stopped reports whether stop is closed.
func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// run is a prepared send: the report open, the source composed.
type run struct {
	journal *report.Writer
	src     sender.Source
	total   int64
	closers []func()
}

// close releases what prepare took, last taken first.
func (r *run) close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
}

// prepare opens the report by policy, loads the resume state, runs the
// pre-pass and composes the source. On error it releases what it took.
func prepare(ctx context.Context, opts Options) (r *run, err error) {
	r = &run{}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	rows, in, err := opts.Input.open()
	if err != nil {
		return r, err
	}
	r.closers = append(r.closers, func() { in.Close() })
	journal, state, release, err := openReport(ctx, opts.Report, opts.Input)
	if err != nil {
		return r, err
	}
	r.journal = journal
	r.closers = append(r.closers, func() { _ = release() }, func() { journal.Close() })
	var check *report.Check
	if state != nil {
		r.closers = append(r.closers, func() { state.Close() })
		if opts.Resumed != nil {
			opts.Resumed(state.Counts())
		}
		if n := state.Unchecked(); n > 0 && opts.Unchecked != nil {
			opts.Unchecked(n)
		}
		if check, err = state.Check(); err != nil {
			return r, err
		}
		if err = claimSent(ctx, state, opts.Preset.Claim); err != nil {
			return r, err
		}
	}
	repeats, closeRepeats, err := opts.Input.findRepeats(ctx, in, opts.Preset.Builder, check, stage(opts.Preset.Builder, opts))
	if err != nil {
		// The journal is closed here so that an interrupted pre-pass
		// leaves the report as it was; a failure to close is the error.
		if cerr := journal.Close(); cerr != nil {
			return r, cerr
		}
		return r, err
	}
	r.closers = append(r.closers, closeRepeats)
	var inline *report.Check
	if check != nil && repeats == nil {
		inline = check // no pre-pass read the input: compare it as the run reads it
	}
	r.src = compose(rows, opts, state, inline, repeats)
	r.total = opts.Shard.total(opts.Input.rowTotal(repeats, rows.Format()))
	return r, nil
}

// send runs the engine over the prepared source, then closes and compacts
// the report.
func (r *run) send(ctx context.Context, opts Options) (*Result, error) {
	var journal sender.Journal = r.journal
	var optOuts *optOutJournal
	if opts.Suppress != nil && opts.Suppress.Update {
		optOuts = newOptOutJournal(r.journal)
		journal = optOuts
	}
	cfg := engineConfig(opts, journal)
	var stopProgress func()
	if opts.Progress != nil {
		cfg.Progress = new(sender.Progress)
		stopProgress = opts.Progress(cfg.Progress, r.total)
	}
	sum, runErr := sender.Run(ctx, opts.Stop, cfg, r.src)
	if stopProgress != nil {
		stopProgress()
	}
	if err := r.journal.Close(); err != nil && runErr == nil {
		runErr = err
	}
	if err := r.journal.Compact(); err != nil && runErr == nil {
		runErr = err
	}
	if runErr == nil && stopped(opts.Stop) {
		runErr = sender.ErrInterrupted
	}
	res := &Result{Summary: sum, Stopped: runErr}
	if optOuts != nil {
		// The list is updated even when the run stopped early: what the
		// vendor said about a recipient holds either way.
		// A list locked by another run for longer than this is stuck.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		n, err := suppress.Append(actx, opts.Suppress.List.Path, optOuts.recipients())
		cancel()
		res.Suppressed = n
		if err != nil && res.Stopped == nil {
			res.Stopped = err
		}
	}
	if s, ok := cfg.Limiter.(interface{ Stats() ratelimit.Stats }); ok {
		res.Limits = s.Stats()
	}
	return res, nil
}

// engineConfig completes the engine's configuration for this run.
func engineConfig(opts Options, journal sender.Journal) sender.Config {
	cfg := opts.Engine
	cfg.Journal = journal
	if opts.Preset.NoKeyHeader {
		cfg.NoIdempotency, cfg.IdempotentServer = true, false
	}
	// A file always ends, so a stopped run reads it to the end and reports
	// the rows it never reached as pending; a pipe may stall.
	cfg.ReadToEnd = !opts.Input.fromReader()
	if cfg.Client == nil {
		rt := opts.Transport
		if rt == nil {
			rt = http.DefaultTransport
		}
		if opts.Preset.Wrap != nil {
			rt = opts.Preset.Wrap(rt)
		}
		cfg.Client = sender.RoundTripDoer{RoundTripper: rt}
	}
	if cfg.ParseResponse == nil {
		cfg.ParseResponse = opts.Preset.ParseResponse
	}
	if cfg.Limiter == nil {
		inFlight := cfg.Concurrency
		if inFlight <= 0 {
			inFlight = sender.DefaultConcurrency
		}
		cfg.Limiter = ratelimit.New(ratelimit.Config{Adaptive: true, InFlight: inFlight})
	}
	return cfg
}
