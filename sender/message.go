package sender

import (
	"net/http"
	"time"
)

// Status is the final (or, in the journal, intermediate) state of one row.
type Status string

// The statuses a report row can carry.
const (
	StatusSent      Status = "sent"      // the server accepted the message
	StatusFailed    Status = "failed"    // a permanent failure, or retries exhausted
	StatusInvalid   Status = "invalid"   // the row could not be parsed or rendered; not sent
	StatusDuplicate Status = "duplicate" // an earlier row had the same id; not sent
	StatusUnknown   Status = "unknown"   // the request may have reached the server; not resent without an idempotency key
	StatusSkipped   Status = "skipped"   // not sent on purpose; settled, --resume does not send it
	// StatusPending: not sent, because the run stopped first. The row was
	// never attempted, or every attempt was refused in a way that proves the
	// server did not take it; --resume sends it.
	StatusPending Status = "pending"
	// StatusInFlight is written to the journal just before a request leaves.
	// It never survives a run that exits: a later row for the same line
	// replaces it. After a crash (kill -9, power loss) it tells --resume
	// which rows may have reached the server.
	StatusInFlight Status = "inflight"
)

// Final reports whether s ends a row's story (everything but in flight).
func (s Status) Final() bool { return s != StatusInFlight && s != "" }

// Row is one input record: its fields exactly as written, keyed by column
// (CSV) or property (JSONL) name, and the 1-based line it starts on.
type Row struct {
	Line   int
	Fields map[string]string
	// Err is set when the record could not be parsed (a ragged CSV row, a
	// line that is not a JSON object). The row is still reported, as invalid.
	Err error
}

// Message is one rendered request, ready to send.
type Message struct {
	Line int
	ID   string
	// Recipient keys the per-recipient interval; empty means none.
	Recipient string

	Method string
	URL    string
	Header http.Header
	Body   []byte
	// bodyLimit, when set, is how much of the answer is read instead of
	// responseLimit: a page of a list is larger than a send's answer.
	bodyLimit int64
	// Fingerprint identifies the request the row became (see Fingerprint);
	// the report records it, so a resumed run notices a changed input.
	Fingerprint string
	// IdempotencyKey is sent in Config.IdempotencyHeader. Empty means the
	// request is not safe to resend once it may have reached the server.
	IdempotencyKey string
	// Segments is what the message is billed as, in SMS segments, when the
	// builder counts them (0: not counted); the engine only carries it to
	// the Result.
	Segments int

	// Window, when set, says when the message may go (a send window in the
	// recipient's time zone); nil means at any time.
	Window Window
	// Lookup, when set, asks the server whether this message exists, to
	// settle an ambiguous attempt instead of leaving the row unknown.
	Lookup *Lookup
	// Settle says the run asks Lookup first, before any send, because an
	// earlier run may have delivered the message (it was unknown, or in
	// flight when that run was killed); it sends only if the server says
	// the message is absent. Settle implies MayHaveArrived.
	Settle bool
	// MayHaveArrived says an earlier run may have delivered the message,
	// and this run sends it anyway (the server deduplicates, or the user
	// accepted the risk: --resend-unknown). Whatever this run's attempts
	// meet, the row ends sent or unknown, never failed or pending, which
	// a later --retry-failed or --resume would send blind; only a lookup
	// that says the message is absent clears it.
	MayHaveArrived bool
	// Since, for a Settle row, is when the earlier run's request that may
	// have arrived left (the report's sent_at, on the local clock); zero
	// when not known. A lookup that reads a list takes no older message
	// for this row's.
	Since time.Time

	// Invalid, when set, says why the row cannot be sent: the engine reports
	// it with StatusInvalid and never sends it.
	Invalid error
	// Skip, when set to a final status (duplicate, skipped), reports the row
	// with that status and Reason without sending it.
	Skip   Status
	Reason string
	// Earlier, when set, is the final status an earlier run already recorded
	// for this row (--resume): the row is counted, neither sent nor
	// written again.
	Earlier Status
}

// Window says when a message may be sent; sendwindow.Zoned implements it.
type Window interface {
	// Next returns t when the message may go at t, else the next time it
	// may; ok is false when it never may.
	Next(t time.Time) (at time.Time, ok bool)
}

// Lookup is the request that asks the server whether a message exists.
// A 2xx answer says it does (Config.ParseResponse reads its message id),
// unless it is empty (no body, or only `[]`, `{}` or `null`: it does not
// say "exists", so it settles nothing) or Match reads it; a 404 says it
// does not, except to a Match (a list that is not there says nothing of
// what it holds); any other answer, or none, settles nothing, and the
// message is looked up again after a backoff.
type Lookup struct {
	Method string // "" means GET
	URL    string
	Header http.Header
	// Match, when set, reads a 2xx answer that lists messages (Twilio's
	// Message list), one page at a time (see Page). since is the earliest
	// time, on the server's clock, that a message created by this row's
	// requests can carry, clock slack included; zero means unknown (a row
	// an earlier run left unsettled): Match must then not take an older
	// look-alike for this row's message.
	Match func(body []byte, since time.Time) Page
	// Pages bounds the pages one lookup reads; 0 means DefaultLookupPages.
	// A list longer than that settles nothing.
	Pages int
}

// Page is what Lookup.Match made of one page of a list of messages.
type Page struct {
	// Found says the list holds the message; MessageID is its id, and
	// Message, when set, the message as listed: the report's response for
	// the row, instead of the start of the page.
	Found     bool
	MessageID string
	Message   []byte
	// Next, when the message is not on this page, is the absolute URL of
	// the next page; "" means the list ended without it: it is absent.
	Next string
	// Unsettled, when set, says why the page settles nothing (it is not a
	// list, a message on it cannot be judged); Found and Next are then
	// ignored and the row is looked up again after a backoff.
	Unsettled string
}

// Result is what happened to one message: a value, not a Go error, so a
// failed send is data to report rather than a reason to stop.
type Result struct {
	Line       int
	ID         string
	Status     Status
	HTTPStatus int
	Attempts   int
	// Throttled counts the 429/503 answers this message met; they are flow
	// control and do not use up its retry budget.
	Throttled int
	Error     string
	MessageID string
	Latency   time.Duration
	SentAt    time.Time
	// Response is the start of the last response body, for the report.
	Response string
	// Segments is the Message's, for the report.
	Segments int
	// Fingerprint is the Message's, for the report.
	Fingerprint string
	// Detail is what Config.Detail made of the 2xx answer of a sent
	// message; nil without Config.Detail or for any other status.
	Detail any
}
