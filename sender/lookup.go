package sender

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"time"
)

// Bounds of a lookup that reads a list of messages (Lookup.Match).
const (
	// DefaultLookupPages is how many pages of a list one lookup reads
	// before it gives up settling the row this time.
	DefaultLookupPages = 10
	// LookupClockSlack is taken off the time of a row's first request
	// before a listed message's creation time is compared with it: lists
	// give creation times to the second, and the server's clock is known
	// from its Date headers to within a second (an error that only ever
	// moves the time earlier), so 2s keeps the row's own message in while
	// an identical one sent a few seconds before is left out.
	LookupClockSlack = 2 * time.Second
	// lookupLimit is how much of a lookup's answer is read: a page of a
	// list holds many messages. A longer answer is cut, so it does not
	// parse and settles nothing.
	lookupLimit = 4 << 20
)

// read makes sense of a 2xx answer a to j's lookup: the outcome when it
// settles the row (found, absent) or reads on (the list's next page), else
// why it settles nothing.
func (e *engine) read(j *job, a *answer) (outcome, string) {
	lk := j.m.Lookup
	e.server.Observe(a.header, a.start, a.end)
	if lk.Match == nil {
		if empty(a.body) {
			// A 2xx that does not say "exists" is not taken for it: a
			// search endpoint answers 200 [] for nothing found, and
			// reading that as found would report a message never sent.
			return outcome{}, fmt.Sprintf("HTTP %d with an empty answer, which says neither found nor absent", a.status)
		}
		id, _ := e.parse(a.status, a.body)
		return e.found(j, a, id), ""
	}
	p := lk.Match(a.body, e.since(j, a))
	switch {
	case p.Unsettled != "":
		return outcome{}, p.Unsettled
	case p.Found:
		j.next, j.pages = "", 0
		o := e.found(j, a, p.MessageID)
		if p.Message != nil {
			o.res.Response = oneLine(p.Message, responseKeep)
		}
		return o, ""
	case p.Next == "":
		j.next, j.pages = "", 0
		return e.absent(j, a.end), ""
	}
	j.pages++
	if j.pages >= cmp.Or(lk.Pages, DefaultLookupPages) {
		return outcome{}, fmt.Sprintf("the list goes on past %d pages", j.pages)
	}
	// The next page, at once (the limiter paces it): one lookup, several
	// requests.
	j.next = p.Next
	j.lookups--
	j.ready = a.end
	return outcome{kind: outcomeRetry, job: j, requests: 1}, ""
}

// found settles j sent: the lookup says its message exists, with id.
func (e *engine) found(j *job, a *answer, id string) outcome {
	r := e.result(j, a, StatusSent, "")
	r.MessageID = id
	return outcome{kind: outcomeFinal, job: j, res: r, requests: 1}
}

// since is the earliest time, on the server's clock, a message created by
// j's requests can carry: its first request's start, moved by the clock
// offset the answers' Date headers give (the lookup's own answer a
// included), less LookupClockSlack. Zero when j made no request in this
// run (an earlier run left it unsettled): when that was is not known.
func (e *engine) since(j *job, a *answer) time.Time {
	if j.firstAt.IsZero() {
		return time.Time{}
	}
	offset := e.server.At(a.header, a.end).Sub(a.end)
	return j.firstAt.Add(offset - LookupClockSlack)
}

// empty reports whether a lookup's answer says nothing: no body, or only
// an empty list, an empty object or null. The rule is deliberately narrow,
// a guard against the commonest answers of a search that found nothing,
// not a reader of the server's format: {"data":[]} or {"count":0} counts
// as found, which is why README asks for a URL that answers 404.
func empty(body []byte) bool {
	body = bytes.TrimSpace(body)
	if len(body) > 16 {
		return false
	}
	var b bytes.Buffer
	if json.Compact(&b, body) == nil {
		body = b.Bytes() // "[ ]" and "{ }" too
	}
	switch string(body) {
	case "", "[]", "{}", "null":
		return true
	}
	return false
}
