package sender

import "time"

// spacingPurgeEvery is how many messages go out between two sweeps of the
// recipients whose interval is over, so the map holds only recent ones.
const spacingPurgeEvery = 4096

// onTheWire is how far off a recipient's next turn is while a message to
// it is on the wire: its real turn is known only once the worker says when
// the request went out.
const onTheWire = 100 * 365 * 24 * time.Hour

// recipientSpacing keeps two messages to one recipient at least interval
// apart (--recipient-interval) without holding up other recipients. The
// interval runs from when a message really went out, so a recipient is
// busy from the moment its message is handed to a worker until the worker
// reports back.
type recipientSpacing struct {
	interval time.Duration
	next     map[string]time.Time // when each recipient may get a message again
	claimed  int                  // messages let through, for the purge
}

func newRecipientSpacing(interval time.Duration) recipientSpacing {
	return recipientSpacing{interval: interval, next: make(map[string]time.Time)}
}

func (s *recipientSpacing) on(recipient string) bool {
	return s.interval > 0 && recipient != ""
}

// claim reports whether a message to recipient may go at now, and if so
// marks the recipient busy. If not, again is when to look again: its turn,
// or an interval from now while a message to it is still on the wire, by
// when it has been sent or its turn is known.
func (s *recipientSpacing) claim(recipient string, now time.Time) (again time.Time, ok bool) {
	if !s.on(recipient) {
		return time.Time{}, true
	}
	if next, busy := s.next[recipient]; busy && now.Before(next) {
		if later := now.Add(s.interval); later.Before(next) {
			return later, false
		}
		return next, false
	}
	s.next[recipient] = now.Add(onTheWire)
	s.claimed++
	if s.claimed%spacingPurgeEvery == 0 {
		s.purge(now)
	}
	return time.Time{}, true
}

// release starts recipient's interval at sentAt, when its message went
// out; a message that never went out (zero sentAt) releases it from now.
func (s *recipientSpacing) release(recipient string, sentAt time.Time, now func() time.Time) {
	if !s.on(recipient) {
		return
	}
	if sentAt.IsZero() {
		sentAt = now()
	}
	s.next[recipient] = sentAt.Add(s.interval)
}

// purge forgets the recipients whose interval is over.
func (s *recipientSpacing) purge(now time.Time) {
	for r, t := range s.next {
		if t.Before(now) {
			delete(s.next, r)
		}
	}
}
