package sender

// errorPolicy decides when failures end the run: --max-errors as a count of
// the rows this run failed (or left unknown) or as their share of its last
// maxErrorWindow results, and the retry budget an outage drains and
// successes refill. Rows an earlier run settled say nothing about this
// run's errors and never reach it.
type errorPolicy struct {
	maxErrors int     // 0: no count limit
	maxShare  float64 // 0: no share limit
	failures  int
	window    errorWindow

	// budget is the transient retries left; limit is the budget the run
	// started with, and negative means retries are not budgeted.
	budget, limit float64
}

func newErrorPolicy(maxErrors int, maxShare, budget float64) errorPolicy {
	return errorPolicy{maxErrors: maxErrors, maxShare: maxShare, budget: budget, limit: budget}
}

// settled counts one final result of this run and reports whether the run
// has now failed too often. A success also earns retries back.
func (p *errorPolicy) settled(st Status) (tooMany bool) {
	switch st {
	case StatusFailed, StatusUnknown:
		p.failures++
		p.window.add(true)
	case StatusSent:
		p.window.add(false)
		if p.limit > 0 {
			p.budget = min(p.budget+RetryBudgetRefill, p.limit*5)
		}
	}
	return (p.maxErrors > 0 && p.failures >= p.maxErrors) ||
		(p.maxShare > 0 && p.window.n >= minErrorSample && p.window.share() >= p.maxShare)
}

// retry spends one transient retry and reports whether the budget allowed
// it; once it is spent the run stops, resumably, instead of hammering a
// server that is down.
func (p *errorPolicy) retry() (ok bool) {
	if p.limit <= 0 {
		return true
	}
	p.budget--
	return p.budget >= 0
}

// errorWindow is the failure share of the last maxErrorWindow results.
type errorWindow struct {
	ring   [maxErrorWindow]bool
	next   int
	n      int
	failed int
}

func (w *errorWindow) add(failed bool) {
	if w.n == maxErrorWindow {
		if w.ring[w.next] {
			w.failed--
		}
	} else {
		w.n++
	}
	w.ring[w.next] = failed
	if failed {
		w.failed++
	}
	w.next = (w.next + 1) % maxErrorWindow
}

func (w *errorWindow) share() float64 {
	if w.n == 0 {
		return 0
	}
	return float64(w.failed) / float64(w.n)
}
