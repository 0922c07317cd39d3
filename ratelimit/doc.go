// Package ratelimit is bulksend's pacing toolkit: the --rate syntax, the
// shared limiter and pause gate, the reading of every server rate-limit
// header into one wait, and full-jitter backoff. It imports no other
// bulksend package, so any Go program can use it.
//
// # Wait hints
//
// ParseWait reads a response's headers in this order and stops at the first
// usable value; a malformed value is skipped and the next one tried.
//
//	#  header                      accepted forms                              Unit
//	1  Retry-After                 delay seconds "120", "0.25"                 seconds
//	                               HTTP date: IMF-fixdate, RFC 850, asctime,  http_date
//	                               RFC 1123 in UTC or with a numeric zone
//	2  RateLimit (structured)      "default";r=0;t=30  (t= seconds)            seconds
//	                               several items: largest t= among r=0 items,
//	                               else largest t= of all items
//	   RateLimit (older draft)     limit=100, remaining=0, reset=30            by magnitude (below)
//	   RateLimit-Reset             30                                          by magnitude (below)
//	3  X-RateLimit-Reset-After     seconds, fractions allowed "1.234"          seconds
//	4  X-Rate-Limit-Retry-After-   seconds (bucket4j)                          seconds
//	   Seconds
//	5  inin-ratelimit-reset        seconds from now                            seconds
//	6  X-Retry-In                  Go duration "9.876ms" (Traefik), seconds    duration, seconds
//	7  X-RateLimit-Reset,          by magnitude:
//	   X-Rate-Limit-Reset            number > 1e12: Unix milliseconds          unix_ms
//	                                 number > 1e9:  Unix seconds               unix
//	                                 other number:  seconds from now           seconds
//	                                 2024-05-01T12:00:00Z, +02:00, +0200       iso8601
//	                                 Go duration "6m0s", "1.5s", "250ms"       duration
//	                                 HTTP date                                 http_date
//
// A Retry-After in whole seconds is often a finer delay rounded up
// (Traefik: Retry-After: 1 beside X-Retry-In: 9.876ms). When a later
// header gives a wait that is not whole seconds and lies in (Retry-After -
// 1s, Retry-After], it is the same instant said more precisely and is the
// wait used (Signal.Header names it); a fractional Retry-After is taken
// as exact.
//
// Numbers are plain decimals: no sign, exponent, "inf" or hex. A value in
// seconds too large for a time.Duration saturates (a very long wait, which
// the caller's --max-wait turns into a failure); an absolute instant past the
// year 9999 or an ISO timestamp without a zone is malformed.
//
// Absolute instants (Unix s/ms, HTTP and ISO dates) are measured against the
// response's Date header when it parses, so a client clock that is minutes
// off changes nothing; without a valid Date the client's clock is used. The
// Date header has one-second resolution, so such a wait may be up to a second
// long, never short. A reset in whole Unix seconds ("1764763200") is an
// interval, [reset, reset+1s), since some servers truncate the instant
// their window ends: the wait lasts to its end, so nothing is sent into a
// window before it has surely ended (a fractional value is taken as
// exact). An instant already past gives a wait of 0 with ok=true, but for
// an HTTP date (in Retry-After or a reset header), which is no wait at all
// when it is no later than now: the next header, or the backoff, has it.
// sethvargo/go-limiter truncates its window's end to the second ("Thu,
// 03 Dec 2026 22:23:20 UTC"); read as "now", its refused request went
// again at once, over and over.
//
// A wait of 0 is not taken twice in a row by a fixed --rate: refused
// again, with nothing accepted since the first, the server's whole-second
// wait was truncated (Envoy's x-ratelimit-reset says 0 all through the
// last second before each fill), and from the second such refusal on the
// pause is the backoff, as with no hint. Honoured each time, a pause of 0
// reopened a pinned fixed window and resent its quota every round trip
// until the fill: 3 per 4.5s against Envoy's 3 per 5s drew 353 429s for
// 24 rows, now 6. The adaptive rate reads such refusals in its own way
// (zeroWait, below).
//
// Whatever model times a pause, past dryFree (12) pauses begun by
// refusals with nothing accepted since (each acceptance halves their
// count: a server that accepts one in k pauses settles at 2k), each lasts
// at least twice the one before, from HintlessBase up
// to the longer of HintlessMax and dryMax (2 hours), or the server's
// stated wait if longer: Limiter.dryFloor, which Throttle returns, so the
// sender parks the run once it is longer than --max-wait. A lockout that
// every refused request prolongs (a log or a counter that counts
// refusals) ends only once the pool keeps quiet a whole window; the bare
// model knocked every 0.2-2s and drew 888198 429s in 50 hours for the
// second of 12 rows at one per second, and 1482 for 12 rows against a
// bare window of one per five minutes (now 18-34).
//
// Header names are case-insensitive (http.Header canonicalises them);
// Signal.Header reports the documented spelling above.
//
// # Quota
//
// ParseQuota reads how much allowance is left from any response, from the
// first family present: IETF RateLimit (r= remaining, t= reset; the item
// with the fewest left wins) with RateLimit-Policy (q= quota, w= window, or
// the older 100;w=60), the older RateLimit dictionary and
// RateLimit-Limit/-Remaining/-Reset; then X-RateLimit-Limit/-Remaining/-Reset;
// then X-Rate-Limit-*; then Genesys inin-ratelimit-allowed (limit),
// -count (used so far) and -reset (seconds), where Remaining is allowed
// minus count. Reset values are read by magnitude as above.
//
// # The adaptive rate: which limiter is it?
//
// Without --rate, the Limiter learns what the server runs from what it
// does, not from a header's name: a header's value is a claim that the
// counter's behaviour over time confirms or not (RateLimit-Limit: 100 may
// be a bucket's size, a refill rate or a window's quota). Four models
// cover the limiters met in the field; each is fitted to the evidence and
// gives a schedule:
//
//	model           evidence                                      schedule
//	bucket          the counter (or accepted requests) comes      a pace just under the measured
//	(token, leaky)  back steadily as time passes                  refill, the counter steered to a
//	                                                              small reserve
//	sliding window  the counter stands still for a while after   the pace its fill shows the window
//	(log, counter)  a burst, then comes back part of the way      sustains; a pinned run gets no
//	                                                              burst (--burst 1), but a log's
//	                                                              (slidelog.go), which its readings
//	                                                              tell from a counter's: its quota
//	                                                              at once, each place free a window
//	                                                              after its answer (--window sliding)
//	fixed window    the counter stands still, then comes back     the whole quota when a window
//	(aligned or     whole at once, between two requests sent      opens, nothing until it ends
//	first request)  in a row                                      (windowPacer)
//	concurrency     from its first refusals, refused requests     at most N in flight, no pace
//	(Twilio,        had N or more accepted others in flight,      (concurrency.go); pinned as
//	limit_conn)     accepted ones fewer; a trial sent at once,    --concurrency N
//	                in the refusals' pause (an opener, then N
//	                and a probe), is taken where a spent quota
//	                would refuse it; a counter of free slots is
//	                used up by our requests in flight alone
//
// The concurrency model needs each request's start and end: Wait counts
// one in flight, Done ends it whatever its answer (or none), before the
// answer's Throttle or Success; concurrency.go says how it is fitted,
// tried, lowered, probed upward and put aside. The fit starts at the first
// refusal, so a limit that shows only once the backend slows down is
// learned as one that shows at once; a limit at or over the pool's size is
// never reached and nothing is learned. Under --concurrency N
// (Config.InFlightPinned) a counter (RateLimit r=, X-RateLimit-Remaining)
// that every answer explains by our requests in flight is a concurrency
// limit's count of free slots, not a quota, and is kept from the counter
// models, which would read it as a window refilled once a second; without
// it, once twice its count of answers came, all explained so and none
// refused (a limit over the pool's size), and the counter models start
// afresh. Once a refusal says the counter held back is a quota's (a bucket
// or window no bigger than the pool), the most it showed while held is the
// quota's size: the answers since show it near empty, and a bucket of 8
// seen only at 0 was taken for a bucket of one, its rate measured from the
// first burst's spacing (850/s for 8/s, a 429 for every row). While it
// is held, a counter whose limit is under N says the pool's first burst,
// N at once, went out against less than it: slots or quota, no request
// leaves while those still in flight are as many as the least any of
// the burst's answers said remained (the latest may have been decided
// first), until the burst's first refusal is read or its last
// answer came (Limiter.burstHeld); the burst's answers no longer send
// their workers' next rows into a window already spent. The run's first
// request goes alone (Limiter.openingAlone), and where its counter is
// held so, a second: a count fallen by it with nothing else in flight
// proves a quota before the pool goes, and one back where it was holds
// the burst from its start to what the two said remained. Held, the
// counter made no sign, and the first refusal was read as a bare
// server's: the first counter read after a row of refusals, before any
// reached the counter models, opens a fixed window where it came back
// whole at once (refusedReset). A bucket that refused two requests d
// apart refills at under 1/d, one back to r+1 within g of the last
// refusal at over r/g; where these disagree by half again, and none of
// ours went amid the row still unanswered, the counter came back at once
// (go-limiter at 10 per 1s under --concurrency 16 was paced as a bucket
// at 5.4-7.4/s, 0.59-0.74 of the ideal). The row bounds the window from
// below; how long before it the window began, nothing says. Where the
// first refusal came back before the counters of the burst it refused
// (a backend's time on each request it accepts), those counters, read
// after a sign, open no counter model either, and a pace under the
// quota never brings them low enough for another: the bucket equation
// paces on. A stretch of answers in a row, none other of ours in flight
// as each is read, whose counter fell by exactly our sends, d long, is a
// bucket refilling at under 1/d (it shows whole requests); back k more
// within g, at over (k-1)/g; where these disagree three times over (the
// bound taken at 2/d), the window opens there too (stillReset;
// go-limiter at 15 per 150ms under --concurrency 16 crept up from 34/s
// as a bucket in 5 real runs of 15, 0.52-0.94 of the ideal). A counter
// that showed more used than our requests in flight (a
// quota) and then nothing left explains the first burst's refusals: the
// concurrency model is no longer looked for, and one on trial is dropped
// (a window met slowly refuses the requests sent with its last ones, a
// perfect fit of "refused with 2 in flight"). Whatever the headers, the
// trial counts only what a refill cannot explain: it goes at once, in
// the pause the refusals began (a window's reset or a bucket's refill
// during that pause once took the trial's requests and "proved" the
// cap), its opener answered before any wait a refusal stated ends; a
// quota that comes back within a round trip of its refusals still
// passes it (concurrency.go).
// The bucket's size is the most the counter ever showed, never more than a
// stated limit; a counter that showed more than the stated limit says the
// limit is a rate (tollbooth states its refill per second, 25, beside a
// bucket of 50): the bucket the summary learns is then the counter's most
// (adaptive.learned), and no concurrency limit's free slots count so
// (flights.countsSlots). A fixed window's quota is the counter's most; its
// length L lies between the latest request still counted in a window and
// the first counted in the next, both measured from the window's first
// request (the one whose counter reads quota-1): lo < L <= hi. When the
// window shows only after the counter was taken for a bucket's (it came
// back whole between two requests in a row), the latest earlier answer
// that showed the counter whole opened the window just ended and bounds L
// at once.
// Whole there allows for ours that a reset could have counted first, and
// no more: those sent since a round trip before the earlier reading
// (answered, or ended with their answers still to be read), and those in
// flight sent before it or within a round trip after. A log that gave
// its first burst back a window later still counts the probes sent after
// it, and came back to 91 of 100 with two of ours sent between; taken for
// a fixed window's reset, half the runs of rolling-rate-limiter at 100
// per 1s with 8 workers were paced by a window of 1.02-1.06s (0.72 of the
// ideal, 0.80-0.86 as a log).
// Until a reset is seen the model probes at doubling offsets with the
// requests the counter says are left, and once at the server's reset claim
// (RateLimit t=, X-RateLimit-Reset), which costs nothing when the claim is
// true; while none shows, one more goes at twice the last probe's offset,
// and so on, so the pool never waits for a reset its answers cannot show
// (a moving window past its claim: Flask-Limiter's at 3 per minute hung
// the run after 5 rows); then it bisects until the bounds are as close as the round trip
// allows (see below how). A claim given to the whole
// second R (Unix seconds, an HTTP or JavaScript date) is an interval: the
// window ends in [R, R+1s) where the server truncates its end (ulule,
// go-limiter, a JavaScript Date), in (R-1s, R] where it rounds it up
// (rate-limiter-flexible's README and express-rate-limit's legacy header,
// Math.ceil). Read against the Date header, itself truncated, R falls on
// the end of a window of whole seconds from its first request where the
// server truncates, and a second after it where it rounds up: the first
// window's end was found a second late, the next window bisected from
// there, and rate-limiter-flexible at 100 per 1s was learned as 1.07-1.25s
// (0.52-0.58 of the ideal time). So the counter decides, not the header: a
// request counted in a new window that arrived before the old window's R
// (on the server's clock, ServerClock, within its precision) proves the
// server rounds up, one counted in a window after the R it names that it
// truncates. Until then the rounded-up reading is tried first: the instant
// in (R-1s, R] whole seconds after the window's first answer, where a
// window of whole seconds ends. It is one of the window's own requests,
// counted where the server truncates, once the rows left are counted
// (Limiter.RowsLeft) and do not fill their windows exactly; where they may
// (uncounted, they may), one landing in the next window would cost a
// window, so it goes beyond the quota and a truncating server refuses it
// (one 429, and the pause its wait asks). A truncating server's window of
// one second is not tested at all: no whole second after its first answer
// lies before its R, but where the server's clock is known only to
// ServerClock's precision and the window opened just after a second. Proved to
// round up, R itself is the claim, the window having surely ended there;
// proved to truncate, the claim alone is tried, as before. A window length the
// server states (RateLimit-Policy w=, in whole seconds) is a claim too:
// once a reset came no sooner and the bounds reach at least halfway to it,
// the next window's first request is tried just before the claimed end
// (3% and two round trips; as below, not one of the window's own requests
// held back, except on a window aligned on the clock), and if it is
// refused there the stated length is taken and the measuring ends
// (express-rate-limit's w=1 at 100 per 1s); a length outside the bounds
// (its w=1 for a window of 150ms, rounded up), a try taken before it, or
// a refusal while paced by it puts the claim aside for good. A policy
// named "<quota>-in-<window>" (express-rate-limit's default name,
// "50-in-0.5sec") states the length to the millisecond; read where it
// agrees with q= and w=, it is also the first window's claim from its
// first request's answer, before any reset (policyClaim), and the least
// length learned (an aligned window measured from late openers reads
// shorter). Before any reset it also bounds a refusal's wait, to its end
// by that length from the first answer rather than a Retry-After in whole
// seconds (a request sent a round trip past that end and refused puts the
// name aside), and a first window ending well short of it is one on the
// clock's grid (namedShort). Until the first reset, what goes at once is
// the counter's count less every request still in flight, not only those
// sent after the answered one: the pacer lets a burst go before the
// sender stamps any of it sent, and a pool of 16 went over the count by
// what it had in flight (plan). The count is the least any of the
// window's answers showed: a later request's higher reading, one the
// server took sooner, does not raise it.
// A window is timed from its first request's answer, when the
// server surely had it, so slow answers never make it early; over a long
// path (its shortest round trip 2ms or more, taken once the pool's size and
// eight more answers came back) from half that round trip before the
// answer, never before the send (lead: the server had the request by then
// where the way back takes at least half the trip, and the next window's
// first request's way out is the margin where it does not): from the
// answer itself, each window of a remote API lasted a round trip more than
// the server's (10 per 1s behind 100ms: 0.88 of the ideal, now 0.91;
// go-limiter 0.82, now 0.85). The bounds on the length keep to the answers:
// measured to that instant, a grid's window from a late opener came out
// short (go-limiter behind a 60ms backend on a loaded machine, learned as
// 10 per 946ms, 36 429s). That request goes alone and the rest of the quota with
// its answer (or two round trips later, at most a tenth of the window,
// without one), since a
// server answers a lone request sooner than one among a burst (Node.js
// behind express-rate-limit: 3-4 ms instead of 7-23), and each window
// opens as much sooner. A window whose opening was misjudged costs one
// refused request instead of a burst of them. Our requests still in
// flight when a window's first answer comes count in it, however long
// before its first request they left: on a loaded machine one may reach
// the server after it. A refused one counts in none, though sent with
// the opener (the probe at the claim, refused just before the window
// ended, was counted in the next window, which the pacer then sent a
// request short). Once a reset was seen, a window from its first request
// holds none of its quota back to bisect: the whole quota goes at its
// start, and the next window's first request goes alone at a point
// between the bounds (their geometric mean). Taken, it opens the next
// window there and brings the upper bound down to it; refused, it costs
// one 429, the bound below goes up to it, and the pool waits only to the
// upper bound, where the pacer would have opened the window anyway, not
// the whole-second Retry-After the server may state. That refusal is no
// sign against the model (it never hands the window to another). Where
// the upper bound is a request sent at the server's claim of the end
// that opened the next window, the window most likely ends just before
// it, and the try goes there (3/4 of the precision and a round trip
// below): refused, the length is known at once, at one 429 a run where
// bisecting from the geometric mean, every try refused, cost four or
// five (5% of the requests at 10 per 1s for 100 rows); taken, bisecting
// goes on from the lower bound it gave. And where the rows left are
// counted and leave the last window room, a request of the window that
// lands in the next costs nothing: the last few are held back to bisect
// instead, at no 429 (chosen at each window's first request). A
// request of a window held back instead and landing past the window's
// end (a late timer, a request waiting for a CPU) was counted in the
// next window, left this one short and, with rows an exact multiple of
// the quota, cost a whole window more: 400 rows at 100 per 1s took five
// windows on a loaded machine (0.71-0.74). Where the bounds are still a
// factor of two or more apart, or the window is aligned on the clock, the
// last few requests of a window are still held back: three probes a
// window narrow so wide bounds faster, and their counters show a sliding
// window taken for a fixed one. A request held back to bisect
// that lands past the window's end is counted in the next one and leaves
// this one short: when the rows left (Limiter.RowsLeft, told by the sender
// once its input is read, which the sender's dispatcher reaches only near
// the run's end while every worker waits at the limiter: a run of 400
// rows at 100 per 1s is told only in its last window) fill the windows
// they need with no room for that, as 400 rows at 100 per window do, and the length's spread over the
// windows to go costs less than a window, none is held back: each window's
// whole quota goes at its start, timed from the length's upper bound. The
// request that tries a stated length is still held: it lands before the
// stated end.
//
// Before the first reset, a pause ends where a refusal's wait said, and
// that wait can be short: go-limiter names its window's end as a date to
// the second, truncated, and read against a server clock known to the
// second it may end the pause most of a second before the window (begun
// at the first request) does, and once that second has passed its
// Retry-After says nothing. In a pool of more than two, the window the
// pacer opens after such a pause (a pause of at least twenty round trips)
// sends its first request alone, the rest with its answer: a pause that
// ended early costs one 429, not the pool's worth. One that ended past
// the server's claim costs a 429 or two: go-chi/httprate's counter weighs
// the period before, whose end it names truly, and at 10 per 2s with 8
// workers the pool sent at once into the period the claim said was new
// was refused but for one or two, each 429 with a Retry-After of the
// whole period (6-16 429s of 56-66 requests in three real runs; now the
// lone request's answer, the counter back by one, hands the window back
// as a sliding one first: 2-3, at about the same efficiency). That
// request refused, or a refusal with no usable wait, waits for the claim
// while it lies ahead and no reset of the model's own has been seen (a
// claim to the second is no measure of a window under one); past the
// claim, the opener's refusals search for the end in doubling steps, the
// first a third of the time since the search began, each window of the
// search opened by a lone request (refusedFloor). Before, the pool was
// refused whole at every round trip and the fifth pause gave the model up
// for a bucket: 4 real runs of 9 with 16 workers at 100 per 1s drew 66-89
// 429s, three of them at 0.43-0.45 of the ideal (now 11 of 11 at 0.98,
// 1-6 429s).
//
// A window aligned on the clock (windows start at multiples of L since the
// epoch: Kong, hourly quotas, Redis INCR key:<epoch second>) began before
// our first request in it, so lengths measured from that request are too
// short. Each reset brackets a boundary instead, whatever the window's
// phase: after the send of the latest request known in the old window
// (counted, or refused), at or before the answer to the first counted in
// the new. A boundary seen k resets after another lies at least k windows
// on, so the time from the earlier bracket's start to the later one's end,
// divided by k, bounds L from above; a confirmed reset claim narrows the
// later end. Which of the two a window is, the evidence says, never a
// header's name: a window that ended sooner after our first request in it
// than windows last (a reset, a request counted, or a refusal past the
// length measured from that request) opened before it. From then on only
// the brackets bound L, the pacer sends the quota when the next window
// surely opened (timed from its first answer, as above) and probes evenly
// across where the next boundary may fall until L is known as closely as
// the round trip allows. The first window's reset costs a round of
// refusals (the model tries a window from the first request first, which
// is the more common), and a window short enough to reset inside the idle
// spell (15 per 150ms) is taken for a bucket until its counter comes back
// whole between two requests in a row (BENCHMARKS.md). The refusal that
// shows a window aligned (an opener refused where a window from our first
// request in it had ended) is explained: it counts toward no second
// refusal, and the pool waits out the window its last opener found rather
// than knock again at a wait of 0 (go-limiter's Retry-After, a date to the
// second, has passed), which a second refusal took for no fixed window at
// all (go-limiter at 40 per 500ms: a bucket whose flags drew 24 429s).
// Where that refusal leaves the length unbounded, the pool waits to the
// end the server claimed for the window the refusal came in (from its
// first answer), where that is sooner than a whole-second Retry-After: the
// claim is taken where it names the seconds left, which servers round up,
// or was seen to round up; a Unix second, mostly truncated, is not
// (express-rate-limit at 100 per 1s on the clock, its windows starting
// .333 past each second, 200 rows from .600: 2.5s -> 1.76s in 3 seeds of
// 10, TestWindowAlignedClaimCut). Where the length is bounded, the pool
// waits no longer than to when the window surely ended (its first answer,
// less lead, plus the bound above), whatever the server's rounding:
// go-fiber's window of 100 per 1s, on a ticker of whole seconds, answers
// a 429 with "Retry-After: 1" up to a second before the window ends (the
// simulation, 400 rows: 4.21s -> 3.96s at two phases of 34, the least of
// them 0.591 -> 0.676 of the ideal, TestAlignedRefusalWaitsToBound).
// Refusals during that pause are held to the same end.
//
// A window on a grid from the client's first request (sethvargo/go-limiter:
// start + k x L, kept through idle spells) is the hard case: the first
// window is whole from our first request, and a later window whose first
// request of ours came late in it ends sooner after that request than L,
// so hi, measured from it, is short, while nothing contradicts a window
// from each first request (after the first window's probes, go-limiter's
// openers at 50 per 250ms came 170ms late, and each later one a little
// less late, as the pacer timed them by the short hi). The pacer's length
// stays hi (paced by a grid's bound, a window from the first request whose
// openers come a round trip apart would look like a grid of that spacing,
// and the length would grow with every window), but what is learned and
// pinned is no shorter than the longest grid that explains every window
// seen (windowModel.learned): from the run's first request, with each
// window's start after the latest request of ours known in the window
// before and at or before its first answer, and each window's requests
// less than a length after its start; the grid's start within a
// millisecond before the run's first answer (less lead; over a long path
// anywhere after its send) (the server had that request
// by then; a cold server answers its first request 40-60ms late, and a
// start as early as the send let grids over a window from each opener
// fit: flexible at 100 per 1s, cold, learned up to 1.108s in the
// simulation, where 1.058s with the start just before the answer).
// scanGrid tries the lengths from the brackets' bound down, in steps
// small enough to miss no grid that fits; once none over lo fits, the
// windows open at our openers (gridOff) and hi stands. A grid counts only
// once it places six of our windows (gridMinWindows): in fewer, the rows
// filling each window at its start leave brackets so wide that grids far
// over the window fit (fastify at 100 per 1s, a window from each opener:
// 1.22-1.37s, pinned 0.70-0.76 where 0.89-0.91 before).
//
// A counter that comes back part of the way is a sliding window's: a
// request a round trip after the lowest reading, and after its answer
// came (the request it was for may have waited for a CPU and reached the
// server after ours sent later), that finds more left than
// our requests since could have taken from a new window is not a fixed
// window's, whatever came before (our requests whose own answers showed
// them counted in the old window are not among those; when ours sent just
// after it could make up the difference, as on a busy machine where a
// request starts late, the verdict waits for its burst: the new window's
// opener among them clears it, and a later request answered decides only
// once none of them is still in flight, since a loaded machine answers
// them late). Ours since are those sent after the latest refusal, which
// reached a window with nothing left, and the request's own burst decides
// whenever it could explain the reading alone: go-chi/httprate at 3 per
// 1s with two workers answered each pair sent at the reset 1 and 0 left,
// never whole, and every send since the first window was counted as one
// that could have opened a new one (learned as 3 per 1m36s). A counter whole again for a request that left after the
// window's first answer came opens the next window, however soon after
// the window's start it left: it reached the server late, after requests
// sent later were counted in the old window, and taken for the old
// window's first it made the new one's counter look come back part of
// the way.
//
// So is a request accepted past the window's quota of ours (pastQuota),
// once our sends place it (the window's first answer showed the counter
// whole, or the window is the run's first; those sent within a round
// trip before it may have reached the server after it) and none sent
// before it is still in flight: a fixed window took it only in a later window,
// which showed its first request whole, and its own counter can have
// counted no more of ours than were sent since the latest reading. Such
// a request used to count as one of a later window whose first answer
// was still to come, and went unread: at a quota of three a sliding
// counter read after a quiet spell shows a fixed window's reset, and,
// paced a few requests a window from then on, requests that read 0 or 1
// left window after window were never compared. go-chi/httprate's counter, HAProxy's
// and a log at 3 per 1s with 8 and 16 workers were learned as fixed
// windows of 3 per 1.2-2s in 24 runs of 68, whose flags (--window fixed)
// sent the quota at once into a counter still holding the window before
// it: 95-391 429s a run. Past the quota the reading to compare is the
// latest in any window when the counter shows more than it (left is the
// current window's low), its request counted before the counter came
// back. The hand back reads the refill since the window's first request
// where the counter never came back: measured from the lowest reading,
// one request in the 0.19s after it, a counter at 100 per 1s was paced
// at 5/s.
//
// Without those conditions, a window model begun from a reading mid-run
// handed back a bucket of 6 at 50/s whose answers came out of order
// (TestBucketAnswersOutOfOrder), and requests waiting up to 30ms for a
// CPU made a fixed window of 100 per 1s spill into a fifth window
// (TestWindowLoadedNoSpill).
//
// A fixed window model formed again after an earlier one was given up or
// handed back stands on less than the evidence against it until it has
// seen five windows open (windowModel.unproven): the summary still reports
// it, but its pinned flags spread its quota evenly over its length
// (--rate L/W, no --window fixed), which a fixed window of that length
// or a sliding window of it or less rarely refuses. httprate's counter at
// 3 per 1s, whose first model never found a reset, had one formed 121s
// into a run of 128s; three resets later it was pinned as --window fixed
// at 3 per 1.6s and drew 93 429s where the adaptive run drew 24.
//
// Handed back with the counter read empty, the next request leaves an
// interval after the answer (emptied), not at once: at once it was
// refused, and the refusal halved the pace for good (HAProxy's counter
// at 100 per 1s, one worker, 1000 rows: 0.66 of the ideal, 0.87 so).
//
// The slack for reordered answers (a quarter of the quota at most) is
// for answers read out of order. Where none can be (no request of ours
// sent since the lowest reading could have taken the rest, none sent
// before it still in flight, no window's first request seen whole since
// the lowest reading's request left), a counter come back part of the
// way by any amount is a sliding window's, until a counter was seen come
// back whole (then the server has shown a fixed window's kind, and the
// slack holds). rolling-rate-limiter's log at 15 per 150ms with its
// headers, read 0.2s in, counted the two requests sent since its first
// burst and not that burst (12 of 15 left): let off as reordering, the
// window model held the pool for a reset until the counter came back
// whole at 0.4s, and the log was told only after 1.0s (0.72 of the
// ideal in the simulation, now 0.81; the real one 0.79, now 0.90).
//
// Paced at r, a sliding window (log or counter) holds r*W requests, and
// its counter says how many: averaged over the last 20 answers, used of
// quota Q. The most it
// sustains is r*(Q-1.5)/used (a counter weighs its previous window and
// rounds, worth up to a request and a half), and the pace does not fall
// below that (less a 3% margin) until a refusal says otherwise. What is
// learned (and pinned) is no more than the same figure read against our
// own send times: every request a window counts is ours, so how far back
// from each answered request the used requests it counted reach is the
// window (averaged as used is), and it sustains per that. And a
// --rate alone sends up to 1 + r*W in a window W, so what is learned is
// no more than Q-1 per the window the longest wait a refusal asked for
// proves (go-chi/httprate asks for its whole window; its counter, which
// weighs the previous period as if its requests were spread over it, read
// against our sends showed a shorter one, and at 10 per 5s it was learned
// at 2.0-2.2/s and pinned refused; a log that asks only until its oldest
// request ages out bounds nothing further). Most servers round a wait up
// to the second (Caddy's sliding log says "1" for any wait under one), so
// a wait proves a window one second shorter, unless the same whole wait
// of 2 s or more was asked every time, a server stating its window
// (httprate floors); and until 20 answers were
// paced (a long window: minutes at 20 per minute), no more than Q-1 per
// the shortest span from an answered request back to the latest of ours
// its counter no longer counted, which a log's window is no longer than
// (a log refused before then was learned at its counter's refill, the
// bursts after the pauses included: 10 per 5s at 2.9-8.1/s); this bound
// holds whatever the rate was read from (a short run's second burst of a
// log of 100 per 1s read as 223/s). Where the readings show a log and
// no counter explains them (logWindow; a reading of a request sent in a
// pool's crowd bounds the window by the flights of the requests around it,
// each taken by the server somewhere between its send and its answer, so
// a log is told from its second window's bursts; a counter is replayed at
// periods up to 3% either side of the window too where the readings span
// eight windows, since a replay a hundredth off drifts a phase over a
// hundred periods), what is learned is the log
// itself: its quota per its window, pinned by place (logPacer). A log
// that logs what it refuses (rolling-rate-limiter) counts more of ours
// than we had taken once it refused one, and no look tells it; after
// logRefusedAfter such looks the readings are read again with the
// refused requests among ours (withRefused), taken where more of them
// agree so (one that does not count them reads worse so): rolling at 20
// per 2s, 8 workers, 0.70 with 6% 429s -> 0.92, pinned 0.87 -> 0.99.
// Where no log is told, what is learned is no less than the server was
// seen to sustain since the latest refusal (calmRate): n accepted over T,
// at least 10s and four quotas, are (n-2Q)/T at least whatever the
// server. At a quota of 3 the request and a half spare is half the quota,
// and a bucket of 3 at 3/s told sliding was learned at 1.95/s where the
// run sustained 3/s (pinned 0.63, now 0.93).
// A refusal's wait of one second to a sliding window whose quota, at the
// rate its counter measured, comes back in under half of it is read as
// rounded up (rolling-rate-limiter at 15 per 150ms says "Retry-After: 1"
// for the 100ms until its oldest place ages out): the pool resumes after
// the quota's time and a quarter more (roundedWait; what is refused while
// it waits was sent before), and a refusal read after that before the
// second ended, or of a request sent then, proves it true: the rest is
// waited out and no wait is cut again. Paced
// steadily the two agree; after a burst they do not: a counter that
// weighs its previous period gives the burst back at the burst's rate for
// a whole period, whatever the pace since, and r was that rate (go-chi/
// httprate at 30 per 1s, its first period taken for a fixed window's
// burst, was learned at 32-36/s and the pinned flags refused). Once a
// refusal steers the pace as a bucket's, what is learned is still no
// more than that window allows, taken there at the middle between the
// oldest request counted and the one before it: the refill the counter
// shows is what it took a window ago, and a log of 40 per 500ms on a busy
// machine was learned at 84-105/s. Nor less than per the period a
// counter over periods replayed over our send times shows
// (counterWindow): the refill that steering reads is what we sent a
// window ago, which it had slowed (go-chi/httprate at 20 per 2s with 8
// workers was learned at 2.74/s). Around
// it the counter steers the pace to the bucket's small reserve, but
// firmly: requests age out of a sliding window at our own pace of a
// window ago, which is what the counter-based rate measures, so a weak
// pull leaves the pace where it was and the room the counter shows
// unused. The pull goes no faster than 1.15 times that rate: after a
// pause a log shows its whole quota, which comes back a window after it
// was spent, not at the pace it went out. After a refusal the pace is
// steered as a bucket's. An answer whose counter reads 0 starts the
// pacer afresh, its next request an interval away: at 5 per second a
// request is a fifth of the quota, and one already paced would go into
// the empty counter. Handed back by the fixed-window model, the
// sliding window starts no faster than the quota per that model's lower
// bound on the length (a request counted lo after a window's first was
// in the same window as it): the refill measured across the hand-back
// means nothing for a log, which gave its whole quota back at once (40
// per 500ms measured 313/s), and no slower than what the server took
// since the old window's lowest reading (counted as regained, go-chi/
// httprate at 20 per 5s handed back under a burst at 0.12/s). Once sliding, a counter that comes back
// whole after a gap of half a window (from the latest earlier send to
// the answer: a stalled machine) is put down to the gap, not taken for
// a fixed window's reset, whose burst a counter that weighs its
// previous period refuses; a log that gives a burst back a window
// later, with no gap before, is still paced as a fixed window. A bucket's
// counter says nothing of the kind: its fill is any level at any rate.
// Its level over time does: a sliding counter aligned to its own clock
// whose first burst fell late in its period gives part of it back across
// the idle spell (the next period weighs the burst's by what is left of
// it), which reads as a bucket's refill, and steered as a bucket's the
// pace settles where the counter shows the reserve, L-1-reserve per
// window (go-chi/httprate at 15 per 150ms: 87/s, and --burst 14 pinned
// drew refusals). So once a counter steered as a bucket's sat at the
// reserve for a few answers without a refusal, the pace is held at half
// for 2.5 times what the counter's used part takes at the measured rate
// (slideCheck; not where that is over a second): a bucket regains what
// the half leaves and its counter climbs on, to full or past 3/4 of what
// was used, and the check ends there; a sliding window's climbs by half
// what was used, a window later, and stays. Stopped short, the counter is
// a sliding window's from then on, paced at its quota (less 1.5) per the
// window our own sends show and pinned as --rate alone. Where the spell
// regained so few (three or fewer, under half what the burst took) that
// a request of rounding is a third of it, a second spell measures again
// before the bucket's pacing starts (spellAgain): a bucket regains as
// much again at its rate, a counter whose period ended in the first
// spell gives the rest of the burst's count back through the current
// one, more, and is a sliding window from then on, paced from the rate
// it gave back at times the quota over the burst. That finds it within
// a third of a second rather than slideCheck's second or two, or never
// (go-chi/httprate met 60-85% into a period of 150ms).
// Whether refused requests count against the quota (HAProxy,
// express-rate-limit) is not a parameter of the models with a counter:
// they send nothing a window cannot take; the bare-window model fits
// both ways of counting to the answers, and the bucket equation measures
// less than the true rate when refusals count.
//
// Without a counter only 429s are evidence. With a wait hint on them the
// Retry-After window model (retryafter.go, below) tells a window from a
// bucket, whose equation (adaptive.go) is fitted to them. With nothing at all on
// them (a bare 429: nginx, HAProxy) the bare-window model (bare.go) tells a
// bucket from a window first: the burst's accepted requests are the quota
// L, and one probe at a time (never two in flight) goes at growing
// offsets from the burst's start. A bucket accepts the first (it refills
// at once): the bucket equation takes over. A window refuses until the
// burst has aged out of it. The first probe accepted bounds its length W
// from above; the last refused bounds it from below, directly for a
// sliding log (the burst comes back a window after it was sent) and
// divided by 2 - L/B for a counter that weighs its previous period
// (HAProxy's stick tables, whose period starts at the first request: B
// requests counted in it, refused ones too, give the first back at
// W(2 - L/B)). Each probe goes twice as late as the last one refused,
// but, past 400ms, no later than that counter's second period allows: a
// probe at twice the lower bound lands in a third period, the second
// spent empty, a whole window lost (HAProxy at 100 per 1s: refused at
// 1.04s, just before it gave the first request back at 1.07s, then
// probed at 2.09s, and the run took 5.9 s instead of 4.2). Where the end
// of a round window R (half a second, 1s, 2s, 3s, 5s, 10s ... an hour)
// lies between the last refused probe and the next, a probe goes just past
// it first, at R(2 - L/B) and 2% of R, so that the weighing counter takes
// it too: growth found a window of 1s, refused at 0.88s, at 1.58s, half a
// window late; the round probe finds it at 1.13s. Refused, the probe
// growth gave goes as before. Not where R(2 - L/B) is more than a fifth
// past R (refusals many beside the quota): there the round probe saves
// little and costs the 429s of the lengths refused on the way. A bucket that
// refills slower than the probes come (nginx
// at 10r/s) refuses them too: the request right after the first accepted
// one is refused by such a bucket (it gave back one request) and not by a
// window (it gave back its burst); refused, it is asked once more an
// eighth of the window later, since a counter gives back a few at a time,
// and refused again the bucket equation takes over. A window then gets a
// ride: the pool sends at twice the quota per the shortest window the
// probes allow until the next refusal. A counter that weighs its previous
// period (HAProxy) has given back more since the burst aged out than its
// pace, so the ride catches up what the probes cost, and its refusal
// shows where the window's edge is. Every answer since the first is then
// fitted: each model of the class (a log; a counter from the first
// request, rounded down; a counter aligned on the clock, weighed exactly),
// with refused requests counted or not, is replayed over the answers for
// window lengths on a fine grid (whole milliseconds for the aligned
// counter, whose phase is its length's remainder in the clock), each
// answer placed anywhere within its round trip, the burst's own order not
// held against a candidate (a server with several threads takes and
// refuses them out of order), and an aligned counter counted one answer
// worse (its phase fits noise by chance). The lengths that explain the
// answers bound W; where they are more than 3% apart the pool rides again
// (twice at most). It then paces L per W (a request less where the
// aligned counter may be the one, as it rounds against us), at 0.98 of
// that, from when every candidate takes requests at that pace: after a
// ride a counter takes no more than its previous period's count per
// window until the period ends, a log nothing until the ride aged out. A
// refusal later fits again, never to a shorter window. HAProxy's
// 15 per 150ms and 100 per 1s come out within 1-3% of their window from
// one or two rides (BENCHMARKS.md). A log shows nothing of its length in
// a ride (it takes the quota at any pace and gives it back a window
// later): where a log may be the server and its fit allows a longer
// window than the geometric middle of the probes' bounds, or nothing
// explains the answers, the search by bounds goes on: L-1.5 per window
// evenly, starting at that middle and trying it again after each whole
// window without a refusal; a refusal raises the lower bound and goes
// back to the last window that held, after a pause of a few intervals
// (an evenly paced window ages out as fast as it filled), or, a log's
// window after a ride, until the ride has aged out of it; two refusals
// end the search.
//
// The fit replays up to 2048 answers for hundreds of candidates: 50-150ms
// on two busy cores (a coarse pass over every 16th length first bounds the
// best score, so the fine pass gives up on a candidate at its first answer
// over it; the aligned counter's periods are found by a division of
// durations, not Time.Truncate). On the real clock it runs off the
// Limiter's lock, on a copy of the answers (Limiter.runFit): meanwhile no
// request leaves (the pause or pace it decides lands with it) and the
// answers that come are taken at once and read when it lands, in order,
// each at the time it came (Success and Done read the clock before the
// lock). Run under the lock, it stamped every answer queued behind it up
// to 0.3s late, the very times the next fit placed them by. Under a
// test's clock it runs at once, which keeps the simulation deterministic
// and says the same: the fit as if it took no time.
//
// A bare fixed window (express-rate-limit with its headers off, which
// sets no Retry-After either: testdata/script/limiter_express_bare.txtar;
// a Redis INCR with an EXPIRE set by the first) is one of the fit's
// models too: a window opened by the first request after the last one
// ended, its quota back whole at its end. A burst and a ride fill it as
// they fill a log, and paced evenly it refuses and takes as a log does,
// so until then the answers cannot tell them apart: the first request
// taken after refusals while paced, where a fixed window opened, is
// where they differ. A log gives back what it took a window ago no
// faster than it took it, a fixed window the whole quota at once: where
// a fixed window explains the answers there, the rest of the quota goes
// one request at a time (a round trip each, faster than anything the
// server took before; over a long path, where a round trip is longer
// than half the window's average interval, as many at a time as twice
// that rate sends in one: verifyMany), and taken whole, the server is a
// fixed window (bareFixedOpened). The Retry-After window model then paces it, with no
// claim: each window an opener and, once it is taken, the rest of the
// quota at once, the length bisected between the fit's bounds, learned
// as a fixed window and pinned --rate L/W --window fixed. A log refuses
// one of them, and the bare-window model paces on where it was, the
// fixed window ruled out (bareFromFixed): a 429 more for a log. There,
// and at a ride's refusal where a log explains the answers and no fixed
// window does, the Limiter paces by the log's places (bareLogPacer,
// logPacer) from the probes' bounds (lo < W <= hi, up to a factor of
// two apart), and narrows them by trials: with every place held and
// answered, a quota of them taken, one request alone at the geometric
// middle of the bounds after the quota-th latest answer. What the log
// counts is among the held places, so a refusal says a quota of them were
// still in the window (W > its send less that answer) and a request taken
// that of the m taken places at least m-quota+1 had aged out (W <= its
// answer less the (m-quota+1)-th earliest send): trialBase. One refused
// trial, a second only while the bounds lie more than logTrialFar apart;
// any other refusal ends the log (logOff) and the search by bounds goes
// on. A log told from its counter's readings (tryLog) is narrowed so too,
// from the readings' bounds (logFit). Simulated bare logs of 40 per
// 2s, 8 workers, pinned 0.68-0.79 -> 0.92-0.99 (40 per 2.02-2.16s by
// place); the real one 0.93-0.98. At a
// ride's refusal, where the fit leaves no log, the fixed window is
// taken at once, but not where a counter explains the answers too and
// every fixed window that does is more than twice the shortest length
// the fit allows (bareFixedFar): there the pool rides again first (twice
// at most), since quota-sized bursts more than two of a counter's
// periods apart never show it one refusal (HAProxy at 5 per 1s behind a
// 100ms path was paced and pinned as a fixed window of 1.9-2.3s, 0.42 of
// the ideal; 0.71-0.93 now). No trial where a sliding counter explains the answers
// too (a counter that weighs its previous period may take the quota one
// by one), and the requests still in flight when the opener was taken
// count against the quota's rest. In the simulation (4 seeds) 15 per
// 150ms went from 0.83 to 0.95 (pinned 0.81 to 0.97) and 100 per 1s from
// 0.60 to 0.78 (pinned 0.67 to 0.85: the length, between the fit's
// bounds, is bisected a refusal at a time and 400 rows leave four
// windows); a bare log pays a 429 for it.
//
// A bare fixed window on a grid of periods aligned on the clock
// (Rack::Attack's and django-ratelimit's defaults, a counter keyed by the
// period's number) is a model of the fit too (fitGrid), whose phase is
// free: each answer outside the burst wants a boundary after the
// quota-th latest request counted before it (taken) or none there
// (refused), an arc of phases, and a sweep round the circle finds the
// phases most of them agree on (gridScratch.phases), the replay judging
// the best two (it places each answer within its round trip, which the
// arcs cannot quite). The freest of the models, it is the fit only where
// no other explains the answers as well, and is handed to the fixed
// window's pacing and trial as the window from the first request is. On
// the clock, 10 per 1s and 3 per 1s went from sliding windows paced at
// 0.79-0.84 (pinned 0.78-0.79) to fixed windows at 0.93-0.94 (pinned
// 0.98).
//
// Why 100 per 1s was learned 22-33% long (session 17): after the ride's
// refusal a log may be the server, so the search by bounds paces on, and
// its first refusal (the window still full) pauses until a log has given
// the ride back, to the longest window that held: the first accepted
// probe's offset, up to twice the window. No request went in that pause,
// so the first one taken after it said nothing of where the window had
// ended, and the fit's fixed windows were bounded by that offset alone
// (0.94-1.31s); the trial there passed, and the Retry-After window
// model's bisection had the four windows of 400 rows to close them:
// 1.22-1.26s learned, pinned 0.79-0.82 (behind a 10ms backend 1.33s,
// pinned 0.72). The edge probe (bareEdge) splits that pause: one
// request, alone, halfway between the refused request's send and the
// pause's end. A log and a fixed window give back the ride's first
// request alike, a window after it went, so its answer bounds either:
// refused (a 429), the pause goes on to its end; taken, the trial goes
// there, and a fixed window's next window opens there. 100 per 1s is
// then learned 1.08-1.12s, pinned 0.89-0.92 (behind 10ms 1.13s, 0.84).
// Not where the probe's answer would come after the next request left
// (long paths: the pause is too short beside the round trips). The
// trade: a bare log that took the old, later trial (it had given the
// whole ride back, took the quota whole and was paced as a fixed window,
// which a log takes well: its quota at once, every window) refuses the
// earlier one, and is paced by the search by bounds from the probe's
// offset, which a taken probe proves for a log: the simulated logs of 50
// per 500ms and 100 per 1s lose 0.02 of their pinned efficiency on
// average, and their pins over the rate go (7 pinned 429s to none).
//
// Where the server decided late: a window is only known to be longer
// than the burst, and the first probe at four times the burst's length
// misses every window shorter than that. A server that works on one
// request at a time (Node.js: a burst of 100 takes a quarter to three
// quarters of a second on a busy machine) answers a refusal as late as
// an acceptance, queued behind the requests before it; a fast limiter
// before a slow backend answers a refusal at once and an acceptance a
// backend's time later, its burst slow only because each answer is. Where
// the first refusal's round trip is at least half the accepted requests'
// usual one and the burst took 100ms or more (bareDecidesLate), the first
// probe goes 1.15 times the burst's length after its start (at least
// 20ms after the refusal, for a bucket to give a request back), the next
// twice as late (leaving then: until session 13 each left a quarter of
// its offset late, the pacer being empty after the pause that ended at
// the offset); elsewhere as before (behind a 40ms backend the window
// path cost 0.62 -> 0.38 where the bucket's accidentally paced well).
// Requests of the burst answered after the first refusal (sent before
// it) are never a probe, taken or refused, and a refused probe bounds
// the window where it left, not where it was due. The fit counts the
// requests still in flight as each candidate would have answered them:
// behind a backend a ride's refusal comes while taken requests are on
// their way back (bareFitAnswers).
//
// A 429 whose only signal is a wait (Retry-After, often whole seconds
// rounded up: "1" for a 150ms window) is a claim: the window ends no later
// than it says, which the next request accepted confirms or not. Paused
// for the whole wait, a short window loses most of each second. So the
// first such refusal, when no counter was ever shown, ends the unpaced
// burst, whose accepted requests are the quota L, and the Retry-After
// window model sends one request at a time, the opener (never a second
// before its answer): 40ms after the refusal, then at offsets four times
// further from it, and once at the claim if they pass it; an opener
// refused at the claim (a wait a millisecond short, as
// rate-limiter-flexible truncates it, or a sliding counter that gives a
// request back soon after its stated wait) sends the next a quarter
// further than the claim, not four times an offset the claim cut short
// (10.24s after a claim of 1s). A later refusal whose wait is an
// instant already past (go-limiter's whole-second dates often are) is a
// wait of 0 to the model: unread, the opener it refused was awaited for
// good. A bucket
// accepts the first (it has a request back): the bucket equation takes
// over. A window refuses until it ends; the first opener accepted bounds
// its length W from above (a window that opens at a client's first request
// opened no earlier than the burst's first send), the last refused from
// below (measured from the first refusal, since a cold server's slow
// answers may have let the burst fill a window or two before it), and one more request right after it tells a window (it gave
// back its quota) from a bucket that refills slower than the openers came
// (it gave back one). From then on each window is an opener and, once it
// is accepted, the rest of the quota at once. The next opener goes hi
// after the last one's answer, or in the upper quarter of the bounds to
// bisect them: refused, it costs a 429 and nothing else (the pool would
// wait until hi anyway) and raises lo; accepted, it lowers hi to the time
// from the last opener's send to its answer. Two refusals end the
// bisection, as does a precision of 5%. That answer is two round trips
// past where the opener was sent: where four of the openers' round
// trips are more than that precision (a server on one thread, a round
// trip of 3.5-6ms at 15 per 150ms; a long network path), an opener aimed
// at the upper quarter lowered hi by little more than the round trips
// raised it, and the bounds stalled eight round trips apart (15 per
// 150ms learned and pinned as 15 per 166-178ms); there the opener goes
// a round trip earlier, and hi and lo close to four. Not on a window
// aligned on the clock, where hi is no such bound, nor on a bare
// server's fixed window. A pause lasts until the next opener, never
// longer than the server's wait.
//
// Aligned on the clock, a window opened before our opener, so an opener
// accepted bounds nothing by itself. Each accepted opener brackets a
// window's start instead: after the latest send known before it (a
// refused opener, or the last window's opener), at or before its answer.
// Starts k brackets apart lie at least k windows apart, whether the
// windows open at our openers or on the clock, which bounds W from above
// by a k-th of the time between, ever tighter as the run goes on. An
// opener refused where a window from ours would have ended marks the
// window aligned, and from then on only that bound is used. An opener
// sent hi after the last one's answer then tests nothing (the window has
// ended by then whatever its length) and leaves a bracket a window wide:
// hi crept down ~3% a window from the quarter the miss grew it by (Kong
// with its headers hidden, 3 per 1s, learned 3 per 1.27s; 30 per minute
// 74-75s; pinned at 0.66-0.81 of the ideal). So once aligned, the
// window's phase is fitted apart from its length: the opener is aimed
// from the narrowest bracket seen (the anchor, mostly a refused opener
// and the accepted one after it), at the anchor's middle plus k times a
// length m halfway between the bounds, k being the starts since the
// anchor. Accepted, it bounds W by m and a k-th of the anchor's width
// (the k-th bound above); refused, it costs a 429 and nothing else, and
// bounds W from below by (send - anchor's end)/k only where no more than
// k-1 starts fit between (each start seen less than two lows after the
// one before); else the next aims go above m. Two such refusals, or a
// precision of 5%, end the aiming; an aim later than hi after the
// current opener's answer is not taken. The bounds stay those the
// evidence gives, so the length learned is never shorter than the
// window's: 3 per 1s is learned 1.00-1.03s within the run, 30 per
// minute 64-70s in four windows. Refusals the model does not explain (openers refused past hi or past the claim, the
// rest of a quota refused, each counted once per window: two, four once
// aligned) hand the server back to the bucket equation. Each miss of an
// aligned window grows hi by a quarter; where the first, partial window
// ended soon after our first request (30 per minute, the minute's end
// 9.6s on), hi began at that partial window and four quarters (9.7,
// 12.1, 15.1, 18.9s) never reached the minute: the server went to the
// bucket equation, learned 30 at 0.6/s and pinned over the rate. The
// last miss the model may have sends its opener where the refusals'
// Retry-After said the window ends instead (the earliest such claim
// since the window's opener), when that is later than hi grown. The
// burst's in-flight tail (up to the pool's concurrency less one) is most
// of the 429s of a run: nothing before the first refusal says the quota
// is spent.
//
// A bucket that shows no counter is measured from its refusals alone.
// nginx's limit_req keeps a client's excess over the rate in thousandths
// of a request, drains it at the rate over the whole milliseconds since
// the last request it took (a refused one changes nothing), adds the
// request arriving, and refuses past burst: to a client, a token bucket of
// burst+1 (the first request leaves the excess at 0, so burst+1 go at
// once: the summary's --burst 16 for burst=15). Between two signs, the
// bucket equation replays such a bucket over the send times of the
// requests accepted in between, for a rate r: from the level the first
// sign left, refilling up to the burst, one request taken per request
// accepted, to the level the second shows. A refusal shows less than one
// request and at least the refill since the request accepted before it
// (its middle is taken; the burst's first refusal, within one refill of
// the run's first request, holds just that refill). The first segment of
// a run has about ten requests, so the rate is known to a request in ten:
// the pace creeps up through that doubt within a second or two, and the
// refusal that costs is measured over a second or more, to about 1%.
// A slow server's segments hold few requests however long the run (15 at
// 3/s), so a measurement within the doubt of the one before confirms it
// and their evidence adds up: else each creep past the doubt costs a 429
// (nginx at 3r/s burst=3: one every 7s, 31 of 431 requests refused).
// Taking the bucket as empty at each refusal, as the equation did before,
// measured nginx at 100r/s 3-10% short, and nothing later corrected it.
// Without nodelay (its documentation's first example, burst=N alone, or
// burst=N delay=M) nginx holds the requests past its rate, or past M,
// and answers them at the rate, refusing at once only past the burst:
// a segment's refusal then comes before the segment's own answers,
// which arrive in the next one. The replay takes them by send time
// whenever they come, and they count toward the three answers a
// measurement needs (before, a burst under the pool's size was never
// measured, and the first guess paced the run with a fifth of its
// requests refused). A bucket answers a refusal at once, so the requests
// still in flight when one sent after them is refused were taken and are
// held: the replay counts them until their answers come (before, a
// measurement at a refusal took them as never sent: the two-stage queue
// at 100r/s was measured at 57-95/s).
//
// A small burst at a high rate (nginx at 300r/s burst=5: six go at once,
// and the bucket is back whole within 20ms) looks at first like a
// concurrency limit of six; the model's trial is refused, and that
// trial's requests, taken at once after the pause, bound the rate from
// below (the refill since the first refusal): the pace starts there, not
// at the first guess. Until a refusal measures the rate, the search grows
// the pace half again a second or 2% a request, whichever is faster, so
// that hundreds a second are reached within a few dozen requests; a
// quarter a request while each answer's counter shows the bucket whole
// but for its request (the server refills at least as fast as we send,
// and nothing can say how much faster until the pace drains it). The
// waiters hold places reserved at the pace of their time, and a search
// that rose in small steps never gave them back: a pool of 32 against a
// bucket of 6 at 40/s (throttled/throttled) left 100ms apart for 2.7s,
// the first guess's interval, while the pace crept to 40/s. Before any
// measurement, once the pace is half again the one the places were
// reserved at, they are given back whole and taken again at the new one
// (Limiter.applyAdaptive; 0.72 -> 0.96 of the ideal). Where
// the pace crept up from under the rate, the bucket overflowed for most
// of the segment, and the equation is bounded by what the last 40ms to
// 250ms before the refusal sent (a burst besides), not by the segment's
// average, which measured 300r/s as 138/s. The equation measures once
// the segments sent for 40ms, counting up to 10ms of each pause of our
// own guessing (no refusal of the run stated a wait over zero), through
// which the bucket refilled: after a bare bucket's first burst the first
// guess sends the pool at once at each pause's end, a round trip of
// sending a segment, and a bucket of 200 at 200/s took twelve refusals
// to measure, 67-108 429s for 400 rows (22-33 now; nginx, 50 -> 24). A
// stated wait does not count: a bucket full long before its end says
// nothing of its rate.
//
// A pace read from bursts is a claim, and a refusal that asks no wait
// measures nothing while nothing is accepted: the equation needs accepted
// requests. Refused twice in a row where each refused request left after
// the refusal before was read, nothing sent since was accepted or is still
// unanswered, and the wait the server stated spaces requests less than the
// pace does (a Retry-After of 0, which go-chi/httprate says for a window
// under a second), a measured pace is over the server's rate, whatever it
// was measured at: it falls to what the answers proved, the requests the
// server accepted since the first, per second (zeroWait; never raised so).
// A server kept full accepts its burst and its rate times the time, so
// that average comes down to the rate from above while the refusals go on;
// one that counts the requests it refuses (HAProxy) took fewer, and the
// average falls under its rate until it accepts again and the equation
// measures. HAProxy-style 50 per 500ms at 16 workers, handed from the
// fixed-window model to a bucket at the average of its first 0.1s (471/s),
// was refused at 457/s with every wait 0: only the pacer's leaked debt
// held the pool back, and with the waiters' places kept three seeds of
// eight drew 820k 429s. Not a bare 429, whose backoff grows with each one;
// not the search's first guess, before any measurement: it climbs only on
// accepted requests, and lowered it read a sliding log as a slower bucket
// (go-chi/httprate 15 per 150ms under --concurrency 16: 0.48 -> 0.44 over
// eight seeds); and not at a single refusal: after the pool's own pause
// (the pacer's debt), one is a pool that resumed into a window its last
// requests filled, and the average since the first request, idle time
// included, bounds nothing (the same at 32 workers: 0.34 -> 0.31).
//
// A wake (a pause that begins, a slot come free, a pace that changed)
// finds the waiters each holding a reservation of the token bucket, and
// the pacer gives them all back at once first (pacer.giveBack): those who
// reserve again find the pace's debt as it was, at the times the pool
// had. It matters at a pause, which wakes a whole pool. Given back one by
// one as each waiter woke, x/time/rate's CancelAt restored only the
// latest's token (it restores a reservation's less what was reserved
// after it), each waiter went behind the others, and a pool owed twice its size in
// intervals after every pause: 3.2s at 10 per second with 16 workers
// (TestSweep: adaptive 142 runs better, 7 worse, 429s 15583 -> 12790; a
// fixed window counting its refusals at 10 per 1s with 16 workers 0.57
// -> 0.94, TestGiveBackWidePool). Two wakes keep that requeue, as
// measured: a refusal that asks for no pause (the zeroWait case above),
// whose only pause it is, and a rise of the pace by half or more, where
// each reservation given back after the first made again restores a
// whole token and most of the pool leaves at once, the burst the
// opening's climb reads (httprate at 15 per 150ms: 0.80 of the ideal,
// 0.61 without it). Not once a sliding window was told and the pool
// holds more than its whole quota (poolOverQuota): there the burst is
// refused in part however full the counter, and each refusal halves the
// pace. A log at 10 per 1s with 16 workers: 0.68 of the ideal and 528
// 429s in 20 runs, 0.83 and 210 with the reservations given back whole.
//
// A bucket of one (nginx's limit_req without a burst, its default)
// accepts the first request of the unpaced burst and refuses the rest, and
// later refuses any request closer than its interval to the one before,
// however slow the pace on average. The pacer then switches from the token
// bucket (golang.org/x/time/rate, which lets a reservation made after a
// rise of the pace land less than an interval after one made before) to a
// strict schedule (pacer.go): no request leaves less than an interval
// after the one before it, a waiter whose predecessor left late included:
// no two leave closer than 98% of an interval, the waiter after a late
// one sleeping the difference in its place and the schedule catching up
// 2% of an interval a request (let go half an interval after a late
// predecessor, as it was before, it was refused whenever the machine's
// timers fired a millisecond or two late). A fixed --rate with --burst 1
// (the flags pinned for a bucket of one) holds 98% from its first
// request: kept at half an interval until its first refusal, it drew
// that one refusal from nginx without a burst on a busy machine. A
// --rate alone (the flags pinned for a sliding window) keeps half an
// interval until its first refusal: a window paced so refuses no close
// pair, and holding 98% would make it pay every late timer on the
// requests after it (2-3% slower against the real HAProxy).
// Catching up 2% of an interval a request, the tight schedule paid every
// timer's lateness that was more: Go's timers on Linux wake on the
// network poller's whole milliseconds (a wait of 10.64ms ends after
// 11.2ms), and nginx without a burst pinned at 94/s sent a request every
// 11-12ms. Its waits now end on a nap of the thread (nanosleep, the last
// 1.5ms at most), within a tenth of a millisecond (clock.go, sleepFine).
// The search from the
// first guess (10/s) is brisk, each refusal costing one 429 and not a
// burst's; once a refusal measured the rate it slows down near the pace
// the latest refusal came at (one over the closest recent departures:
// before, a request held on a busy machine and refused at the first
// guess's 10/s held the search there, creeping 1% a second), and the
// rate is bounded from below
// by the closest pair of intervals the server accepted. Between that
// bound and the pace of the latest refusal the rate lies: the pace goes
// to their geometric middle (no closer to the refusal's than 90%) at the
// search's speed, from under 97% of it and no step past it, before it
// creeps (per request, not per second, under 10 a second: each time the
// creep reaches the interval costs a 429, at 3r/s one request in 16),
// and what was taken on the way is learned (crept up at 1% a
// second from the bound, nginx at 50r/s was still paced at 45/s at the
// end of a run). A refusal while
// creeping near the previous one is the jitter of the send times, not the
// limit: the pace backs off 5% from it. Such a refusal pauses the pool
// for one interval, not a hint-less backoff (up to 100ms, ten requests'
// time at 100/s): the bucket takes the next request an interval after
// the last, and on a busy machine a request held a millisecond or two on
// its way is refused at any pace near the rate. A fixed --rate with
// --burst 1 is paced by the same strict schedule. Such a bucket counts
// its interval from when a request arrived, so one held on its way (a
// busy machine's proxy or server) makes the next, leaving an interval
// after it left, arrive too soon. Its answer comes late as well, long
// before the next leaves (a round trip is a millisecond, an interval
// ten at 100/s): once tight, the schedule counts the latest request
// taken as having left as much later as its round trip was longer than
// the median of the latest sixteen (the usual jitter the pace's margin
// covers). In the simulation, with one request in ten held up to 2ms,
// nginx without a burst went from 0.77-0.81 adaptive (86-91/s learned)
// and 0.82-0.86 pinned with 1-4 429s to 0.85-0.86 (99/s) and 0.93-0.95
// with the one 429 that made a fixed --rate's schedule tight; --burst 1
// now holds it tight from the first request: 0 429s, 0.94-0.95. A fixed
// --rate's first requests open the pool's connections, dialled first and
// held on their way unevenly, and the median of those few round trips is
// no usual one: until sixteen are known its schedule takes the shortest
// before as the usual (the whole round trip for the first), which took
// the real nginx-noburst's pinned 429 among the first ten requests away.
//
// A slow bucket of one (a few requests a second, where a round trip is
// under 2% of the interval) is bounded by single requests instead
// (onebound.go): a refusal of a request sent g after the latest one
// accepted says the interval is over g less that one's round trip, two
// accepted in a row g apart that it is at most g and the later one's
// round trip, each to the server's millisecond. The pace goes to the
// geometric middle of the two bounds until they are within 8%, each
// request a trial, then stays at 98% of the floor, which the tight
// schedule keeps an interval of the floor apart; the floor is what is
// learned. The segments' equation, fed a handful of requests a
// segment, set the pace past the rate, and the bucket refused every
// other request while it lay between (nginx at 3r/s, 2 workers: 18-20
// of 120 requests refused in the simulation, 19-54 of 119-154 on the
// real server; 5-7 of 107 since).
//
// A quota of one with a counter (a fixed window of 1 per W, a bucket of
// one that says its Remaining) reads 0 after every request it takes: its
// counter never shows a reset, and it is steered as a bucket of one. What
// is learned is not the bucket equation's rate (it reads a counter's 0 as
// half a request left, which a bucket of one never holds after a request:
// no rate fits, the search ran to its bound, and the flags were --rate
// 49.5/s --burst 1 against 1 per 1s, a 429 a row) but the interval W at
// which it takes one request (quotaone.go): the closest two requests
// taken in a row, no closer than the refusals and the reset claims allow,
// or where they are closer (windows aligned on the clock take a request at
// one's end and the next at the next one's start), the distance of the
// ends its answers claimed. It is learned and pinned as "1 per W fixed
// window", --rate 1/W --window fixed: one request at a time, the next W
// after its answer, which none of the three refuses.
//
// A refusal is evidence about the server's rate only as far as it follows
// the pace. A server that refuses some requests whatever the pace (a
// per-recipient or per-number rule, a vendor's "pair rate limit") refuses
// the same share at any pace, and each model that reads refusals as a limit
// followed it down: the equation took each refusal for the bucket emptying
// and measured about (k-1)/k of the pace when one request in k was refused,
// the bare-window model lengthened its window at each, the Retry-After
// window handed to the equation with the wait counted as refill. One row in
// 7 refused with Retry-After: 1 took 11 min 17 s for 150 rows, the pace at
// the 0.1/s floor. So every refusal that states a wait (Retry-After, a
// RateLimit header's) and that the pool was not paused for notes the
// stretch since the one before (rowref.go): the pace its requests went at
// (no more than they came at), how many the server accepted and refused in
// it, and its length with and without the pause. Paced over its rate r at
// p, a rate limit accepts r/(p-r) requests per refusal: more at a lower
// pace, and at about r a second whatever the pace; under r, nearly all. A
// quota shared with a client that sends at a fixed rate leaves us a rate of
// our own, and its refusals follow our pace. When the latest three
// stretches went at 1/1.6 or less of the pace of earlier ones (the three
// latest such), accepted about as many per refusal (1/2.25 to 1.5 times as
// many, two or more), at a rate, pauses included, that fell with the pace
// (to 0.8 or less), and the lower pace is under what the server accepted at
// the higher one, pauses included, the refusals do not follow the pace:
// measure keeps the pace where it was or at a margin under what the server
// accepted at the higher pace, whichever is more, and searches upward from
// there. Each refusal's wait is honoured as before. A stretch that took
// nothing between two refusals (a full window) decides nothing, nor do the
// unpaced opening, a model's probes or a bucket of one. The latest six
// stretches taking half as many per refusal or fewer (a rate limit the
// search reached past the share) end it, and the notes start afresh. What
// is learned meanwhile is the equation's bucket at the rate last measured,
// never under what the server accepted at the higher pace; the summary's
// flags pin that, slower than the run went. Not a bare 429: the bare-window
// model still lengthens its window at each (one row in 7 refused, 12-15 s
// for 150 rows), since the notes of small bare windows behind a backend (3
// per 1s, 5 per 2s, HAProxy's 10 per 2s, their answers late) took a quota's
// worth per refusal at any pace and were read as such refusals.
//
// What the summary prints as learned is Stats.LearnedModel, LearnedBurst,
// LearnedRate and LearnedWindow; Stats.Pinned turns them into the Config
// (--rate, --burst, --window fixed) that paces a later run the same way,
// a little under the learned rate, never throttled more than the adaptive
// run. A bucket's learned rate is no more than the refill its counter
// showed where that is well under it (pinRate), and rises to that refill
// where it is a little over, a tenth at most (bucketRefill): the
// equation's measure lags a long window's refill (throttled at 60 per 3s
// learned at 19.1/s of 20). A program such as probe can run a Limiter with
// Adaptive set against a server and read the same Stats.
//
// A bucket of one is learned no faster than its refusals left it: a
// request refused g after the latest it took says its interval is over g,
// whether it refills continuously, by a timer's fill of one, or holds
// requests until their token comes (onebound.go's ceiling). The segments'
// equation cannot meet a counter's "0 left" after every request in a
// bucket of one at any rate and ends at its bound on the sending time:
// Envoy's bucket of one a second with its counter headers was learned at
// 51/s at 8 workers, and its pinned flags drew 26 429s for 12 rows.
//
// # Rates
//
// ParseRate reads "5/s", "300/m", "10000/h", "1/2s", "2.5/s", "5/sec",
// "300/minute", "10/hour", "1/500ms", "3/1m30s", a bare "100" (per second),
// and "0", "unlimited", "none" or "inf" for no limit; Rate.String prints the
// canonical form back.
package ratelimit
