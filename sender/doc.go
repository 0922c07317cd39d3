// Package sender is bulksend's engine: it takes messages from a Source, paces
// them through one shared Limiter, sends them with a pool of workers, retries
// what is worth retrying and hands one Result per message to a Journal.
//
// The package never reads flags or the environment, never prints and never
// exits: adapters (csvinput, preset, report) and the cmd package wire it up.
//
// # The life of a message
//
// Run starts a reader (read.go), a pool of Config.Concurrency workers
// (worker.go) and a dispatcher (dispatch.go). The dispatcher is the one
// goroutine that owns the run's state, so none of it needs a lock; the
// reader only reads and the workers only wait for the Limiter and send.
// Follow one row, line 17, through them.
//
// Read. The reader takes line 17's Message from the Source ahead of need;
// the dispatcher takes it only while its queue is short, so memory stays
// flat however long the input. A row with nothing to send (invalid,
// duplicate, skipped, or settled by an earlier run) is settled at once.
// Line 17 has a request: its headers are frozen with the idempotency key,
// and it becomes a job in the ready queue (queue.go), ready now.
//
// Wait for its turn. The queue yields jobs by the time they may go, then by
// line, so a message requeued after a throttle goes before the ones read
// after it. When line 17's time comes, recipient spacing (spacing.go)
// checks its recipient: while another message to it is on the wire, or
// went out less than Config.RecipientInterval ago, the job goes back to
// the queue with the time to look again and the jobs behind it go on.
// Otherwise the recipient is marked busy and the job is handed to the next
// free worker. When no job may go yet, a timer wakes the dispatcher at the
// first one's time.
//
// Hand to a worker. The worker waits for the Limiter (the process-wide pace,
// and the pause after a throttle answer), journals line 17 as in flight
// (Journal.Begin) before its first request leaves, and sends it
// (attempt.go). Pure functions classify the answer (classify.go): no answer
// at all (ambiguous when the request went out whole, else to be retried), a
// throttle (429, 503 with a wait hint, or a bare 503 while the server
// takes other requests: engine.throttleHint), a success (2xx) or another
// status (3xx and 4xx fail, 401 and 403 end the run, 408, 425 and 5xx are
// retried, 504 is ambiguous). resolve then decides for this message: a
// throttle pauses the Limiter for the whole pool and requeues the job (one
// asking for longer than Config.MaxWait parks the run, unless
// Config.WaitParked); a retry requeues it after a full-jitter backoff while
// its retries last; an ambiguous attempt is repeated only when the request
// carries an idempotency key the server is known to honour
// (Config.IdempotentServer), is looked up when the message has a Lookup,
// and otherwise line 17 is unknown, never resent blindly.
//
// Settle or requeue. The worker's outcome goes back to the dispatcher,
// which releases the recipient (its interval runs from when the request
// went out) and either puts the job back in the queue at its new time or
// settles it: the settler (settle.go) writes the Result to the Journal and
// counts it (statuses, progress, latency of sent messages), and the error
// policy (policy.go) counts it against Config.MaxErrors and
// Config.MaxErrorShare. A success refills the retry budget; every transient
// retry spends from it.
//
// # A row that may have arrived
//
// A job is "maybe" once one of its requests may have reached the server
// (an ambiguous attempt, or one aborted after it was written), and from
// the start when an earlier run may have delivered it (Message.Settle or
// Message.MayHaveArrived: it was unknown, or in flight when that run was
// killed). From then on, whatever its later requests meet, the row ends
// sent or unknown, never failed or pending: a refusal (a 4xx, a refused
// connection, a 429 or 503 until its retries run out, a park, an auth
// failure, the run stopping) proves only that this request was not taken,
// not that the earlier one was not, and failed or pending would let a
// later --retry-failed or --resume send it blind. Only a lookup that says
// the message is absent clears it (absent, in attempt.go). After an
// ambiguous attempt the first lookup goes within a second (lookSoon): a
// found message settles the row at once, while an answer that it is absent
// is trusted only once the server has had Config.LookupDelay (--timeout,
// at least MinLookupDelay)
// to finish the attempt, and is asked again then. A lookup meets
// the same throttle, park and --max-wait rules as a send (throttle, in
// attempt.go); a parked lookup leaves the row unknown, so --resume looks
// it up again. A Lookup with a Match reads a list (Twilio's Message list)
// page by page, each page a paced request, up to Lookup.Pages (lookup.go,
// read): Match is told the time of the row's first request on the
// server's clock (Message.Since for a resumed row), so an older message
// with the same text is not taken for the row's; a 2xx without a Match
// that is empty, and a 404 to a Match, settle nothing.
//
// # Stopping
//
// A run stops when the input is done and nothing waits, or early: the stop
// channel closes or ctx ends (ErrInterrupted), the server refuses the
// credentials (ErrAuth), nothing may go before a time further off than
// Config.MaxWait (ErrParked, as a *ParkedError that says until when), failures pass the error policy (ErrMaxErrors), the
// retry budget runs dry (ErrOutage), or the Journal fails. From then on
// nothing is handed out or retried, and workers waiting for the Limiter
// give up their jobs; requests on the wire finish and are settled, unless
// ctx ended, which aborts them. Then every row still without a result is
// settled (settler.leave): unknown when a request of it may have reached
// the server, pending otherwise, and the rows never read are read and
// settled the same way (Config.ReadToEnd says whether a stalled input may
// be waited for), so the journal has a final row for every row and none is
// left in flight. Summary.Unfinished counts the rows the journal failed to
// settle, Summary.Unread says the input was not read to its end.
package sender
