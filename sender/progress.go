package sender

import (
	"sync/atomic"
	"time"
)

// Progress holds live counters a display reads on its own ticker while the
// engine runs; every field is updated atomically.
type Progress struct {
	Read      atomic.Int64 // rows taken from the source
	Done      atomic.Int64 // rows with a final result (this run or an earlier one)
	Sent      atomic.Int64
	Failed    atomic.Int64 // failed, invalid and unknown
	Throttled atomic.Int64 // throttle answers
	Retries   atomic.Int64 // transient retries
	InFlight  atomic.Int64 // requests on the wire
	// Settling counts the rows waiting for a lookup to settle whether an
	// earlier attempt arrived, its request on the wire included: a run
	// with none in flight and some settling is waiting, not hung (an
	// absent message is trusted only --timeout after its attempt).
	Settling atomic.Int64
	// LastThrottle says what the last throttle answer was and the wait it
	// asked for ("HTTP 429, Retry-After: 7"), so a display can say why
	// the run is paused. It holds a string once a throttle was seen.
	LastThrottle atomic.Value
	// parkedUntil is when a wait that would have parked the run ends
	// (Config.WaitParked), in Unix nanoseconds; 0 if none.
	parkedUntil atomic.Int64
}

// ThrottleReason is LastThrottle's text, "" before any throttle.
func (p *Progress) ThrottleReason() string {
	s, _ := p.LastThrottle.Load().(string)
	return s
}

// ParkedUntil reports when the wait that would have parked the run, slept
// through with Config.WaitParked, ends, if it has not ended by now.
func (p *Progress) ParkedUntil(now time.Time) (until time.Time, parked bool) {
	ns := p.parkedUntil.Load()
	if ns == 0 {
		return time.Time{}, false
	}
	until = time.Unix(0, ns)
	return until, now.Before(until)
}

// park records that the run sleeps until t instead of parking.
func (p *Progress) park(t time.Time) {
	if p == nil {
		return
	}
	for {
		old := p.parkedUntil.Load()
		if old >= t.UnixNano() || p.parkedUntil.CompareAndSwap(old, t.UnixNano()) {
			return
		}
	}
}

func (p *Progress) count(st Status) {
	if p == nil || st == StatusPending {
		return
	}
	p.Done.Add(1)
	switch st {
	case StatusSent:
		p.Sent.Add(1)
	case StatusFailed, StatusInvalid, StatusUnknown:
		p.Failed.Add(1)
	}
}
