// Package delivery asks each sent message's vendor what became of it, and
// writes the answer into the report: the library behind `bulksend
// status`.
//
// `sent` in a report means the vendor accepted a message. Whether it
// reached the handset is a later fact the vendor keeps on the message's
// resource (Twilio's Message, Genesys's conversation message). Run reads
// the report, makes one GET per sent row whose story has not ended,
// through the same engine (package sender) and limiter as a send, so the
// lookups are paced and pause on the vendor's throttle answers, and
// writes delivery_status, delivery_error and delivery_at into the report
// as the answers arrive. The report is rewritten atomically every
// Options.Checkpoint, so a killed run keeps what it learned and a rerun
// asks only the rows still open; with Options.Watch it asks again every
// Options.Interval until every row is final or Options.MaxTime passes.
//
// A Vendor turns a report row into its lookup and reads the answer;
// Twilio, Genesys and Generic (a URL template and a JSON path) are the
// three there are.
package delivery

import (
	"net/http"
	"strings"
	"time"

	"github.com/bulksend/bulksend/report"
)

// Outcome is where a message's story stands.
type Outcome int

// The outcomes a delivery status means.
const (
	// Pending: the vendor may still change the status (queued, sent, ...).
	Pending Outcome = iota
	// Delivered: the message reached the recipient (delivered, read).
	Delivered
	// Undelivered: the vendor gave up on it (undelivered, failed, ...).
	Undelivered
)

// OutcomeOf reads a vendor's status word: Twilio's delivered and read,
// Genesys's delivery-success and read are Delivered; Twilio's undelivered,
// failed and canceled, Genesys's failed and delivery-failed (and the
// delivery-failure some documents spell) are Undelivered; anything else,
// "" included, is Pending. The generic preset's statuses are read the same
// way, case aside.
func OutcomeOf(status string) Outcome {
	switch strings.ToLower(status) {
	case "delivered", "delivery-success", "read":
		return Delivered
	case "undelivered", "failed", "canceled", "delivery-failed", "delivery-failure":
		return Undelivered
	}
	return Pending
}

// Final reports whether o ends the story.
func (o Outcome) Final() bool { return o != Pending }

// State is what a vendor says of one message.
type State struct {
	// Status is the vendor's own word for it.
	Status string
	// Error is the code and text of a message that did not arrive
	// ("30003: Unreachable destination handset"); "" otherwise.
	Error string
	// At is when the vendor last changed the status; zero if it did not
	// say.
	At time.Time
}

// Vendor is one vendor's message resource.
type Vendor interface {
	// Request is the lookup of the message row names (its message_id,
	// usually). An error says the row cannot be looked up, and why.
	Request(row *report.Row) (method, url string, header http.Header, err error)
	// Read reads the body of a 2xx answer to a lookup.
	Read(body []byte) (State, error)
}
