package sender

// settler settles rows: it writes each final result of this run to the
// journal and keeps the run's tallies, counts by status, the live progress
// counters, the latency of sent messages, and the rows the run leaves
// unfinished.
type settler struct {
	journal  Journal
	progress *Progress
	counts   map[Status]int
	lat      latencies
	// unfinished are rows begun (journaled as in flight) that end the run
	// without a final result.
	unfinished map[int]struct{}
}

func newSettler(journal Journal, progress *Progress, counts map[Status]int) *settler {
	return &settler{journal: journal, progress: progress, counts: counts, unfinished: make(map[int]struct{})}
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
	delete(s.unfinished, r.Line)
	s.counts[r.Status]++
	s.progress.count(r.Status)
}

// drop leaves j without a final result as the run stops. A job begun is in
// flight in the journal and counts as unfinished: --resume looks at it
// again. A job never begun left no trace in the journal.
func (s *settler) drop(j *job) {
	if j.begun {
		s.unfinished[j.m.Line] = struct{}{}
	}
}
