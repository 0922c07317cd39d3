package sender

import "fmt"

// settler settles rows: it writes each final result of this run to the
// journal and keeps the run's tallies, counts by status, the live progress
// counters, the latency of sent messages, and the rows the run leaves
// unfinished.
type settler struct {
	journal  Journal
	progress *Progress
	counts   map[Status]int
	lat      latencies
	// unfinished counts rows begun (journaled as in flight) whose final
	// result the journal failed to take.
	unfinished int
}

func newSettler(journal Journal, progress *Progress, counts map[Status]int) *settler {
	return &settler{journal: journal, progress: progress, counts: counts}
}

// record writes r, a final result of this run, and counts it. A journal
// error is returned after the row is counted: the row is final whether or
// not the journal took it, and the error ends the run.
func (s *settler) record(r *Result) error {
	err := s.journal.Record(r)
	s.count(r)
	if r.Status == StatusSent {
		s.lat.add(r.Latency)
	}
	return err
}

// earlier counts r, a row an earlier run settled; it is not written again.
func (s *settler) earlier(r *Result) { s.count(r) }

func (s *settler) count(r *Result) {
	s.counts[r.Status]++
	s.progress.count(r.Status)
}

// leave settles j, whose story the stopping run cuts short, so that no row
// stays in flight: unknown when one of its requests may have reached the
// server (it is never resent blindly), else pending, which --resume sends.
// When the journal fails, a begun row stays in flight there and counts as
// unfinished.
func (s *settler) leave(j *job) error {
	m := j.m
	r := &Result{Line: m.Line, ID: m.ID, Fingerprint: m.Fingerprint, Status: StatusPending, Attempts: j.attempts,
		Throttled: j.throttled, Latency: j.latency, SentAt: j.sentAt}
	switch {
	case j.maybe:
		r.Status = StatusUnknown
		r.Error = fmt.Sprintf("the run stopped after %s that may have reached the server; not resent until settled", plural(j.attempts, "request"))
	case j.attempts > 0:
		r.Error = fmt.Sprintf("not sent: the run stopped; the server took none of %s", plural(j.attempts, "request"))
	default:
		r.Error = "not sent: the run stopped first"
	}
	err := s.record(r)
	if err != nil && j.begun {
		s.unfinished++
	}
	return err
}

// plural is n and the noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// end stops the run for err, unless it is already stopping for another
// reason: nothing more is handed out and requests on the wire finish.
func (d *dispatcher) end(err error) {
	d.stopping = true
	if d.err == nil {
		d.err = err
	}
}
