package sandbox

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Twilio's Message list paging, as twilio-oai's ListMessage documents it.
const (
	twilioDefaultPageSize = 50
	twilioMaxPageSize     = 1000
)

// twilioList is a page of Twilio's Message list, its fields in the order
// of twilio-oai's published examples (ListMessage, readFullPage1).
type twilioList struct {
	End             int              `json:"end"`
	FirstPageURI    string           `json:"first_page_uri"`
	NextPageURI     *string          `json:"next_page_uri"`
	Page            int              `json:"page"`
	PageSize        int              `json:"page_size"`
	PreviousPageURI *string          `json:"previous_page_uri"`
	Messages        []twilioResponse `json:"messages"`
	Start           int              `json:"start"`
	URI             string           `json:"uri"`
}

// listQuery is a Message list request's filters and paging.
type listQuery struct {
	to, from string
	// dateSent and its bounds are YYYY-MM-DD days (GMT) that a message's
	// date_sent must fall on, on or before, on or after; "" for none.
	dateSent, sentBefore, sentAfter string
	pageSize, page                  int
	// after is the sid a page token names: the page starts with the
	// message listed after it.
	after string
}

// parseListQuery reads the query of GET .../Messages.json; the error text
// is what the client reads in the 400 answer.
func parseListQuery(q url.Values) (listQuery, *twilioError) {
	lq := listQuery{to: q.Get("To"), from: q.Get("From"), dateSent: q.Get("DateSent"),
		sentBefore: q.Get("DateSent<"), sentAfter: q.Get("DateSent>"), pageSize: twilioDefaultPageSize}
	for _, d := range []string{lq.dateSent, lq.sentBefore, lq.sentAfter} {
		if _, err := time.Parse(time.DateOnly, d); d != "" && err != nil {
			return lq, badTwilio(twilioInvalid, "DateSent must be a date as YYYY-MM-DD.")
		}
	}
	if v := q.Get("PageSize"); v != "" {
		if !inRange(v, 1, twilioMaxPageSize) {
			return lq, badTwilio(twilioInvalid, "PageSize must be an integer from 1 to 1000.")
		}
		lq.pageSize, _ = strconv.Atoi(v)
	}
	if v := q.Get("Page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return lq, badTwilio(twilioInvalid, "Page must be an integer of 0 or more.")
		}
		lq.page = n
	}
	if v := q.Get("PageToken"); v != "" {
		sid, ok := strings.CutPrefix(v, "PA")
		if !ok || sid == "" {
			return lq, badTwilio(twilioInvalid, "Invalid PageToken.")
		}
		lq.after = sid
	}
	return lq, nil
}

// encode is the query in a fixed order, as Twilio writes its page URIs.
func (lq *listQuery) encode(page int, token string) string {
	var b strings.Builder
	add := func(k, v string) {
		if v == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k) + "=" + url.QueryEscape(v))
	}
	add("To", lq.to)
	add("From", lq.from)
	add("DateSent", lq.dateSent)
	add("DateSent<", lq.sentBefore)
	add("DateSent>", lq.sentAfter)
	add("PageSize", strconv.Itoa(lq.pageSize))
	add("Page", strconv.Itoa(page))
	add("PageToken", token)
	return b.String()
}

// keeps reports whether m, as it stands at t, passes the filters.
func (lq *listQuery) keeps(m *twilioResponse) bool {
	switch {
	case lq.to != "" && m.To != lq.to,
		lq.from != "" && (m.From == nil || *m.From != lq.from):
		return false
	}
	if lq.dateSent == "" && lq.sentBefore == "" && lq.sentAfter == "" {
		return true
	}
	// A message not yet sent has no date_sent, so no DateSent filter
	// keeps it: this is how Twilio's filter reads, and why a lookup must
	// not use it.
	if m.DateSent == nil {
		return false
	}
	sent, err := time.Parse(twilioDate, *m.DateSent)
	if err != nil {
		return false
	}
	day := sent.UTC().Format(time.DateOnly)
	return (lq.dateSent == "" || day == lq.dateSent) &&
		(lq.sentBefore == "" || day <= lq.sentBefore) &&
		(lq.sentAfter == "" || day >= lq.sentAfter)
}

// serveTwilioList answers GET /2010-04-01/Accounts/{sid}/Messages.json,
// Twilio's Message list: the account's messages, newest first, filtered by
// To, From and DateSent (=, <, >), PageSize at a time, each page naming the
// next by a PageToken. Like every call it needs the account's credentials
// and draws on the rate limit; the --fail-rate share of pages are a 5xx.
func (s *Server) serveTwilioList(w http.ResponseWriter, r *http.Request, now time.Time, account string) {
	if !s.twilioAuthorized(r, account) {
		s.mu.Lock()
		s.stats.Unauthorized++
		s.mu.Unlock()
		writeJSON(w, http.StatusUnauthorized, twilioUnauthorizedBody)
		return
	}
	lq, bad := parseListQuery(r.URL.Query())
	skewed := now.Add(s.cfg.Skew)

	s.mu.Lock()
	s.stats.ListReads++
	var d decision
	if s.limit != nil {
		d = s.limit.take(now)
	}
	throttled := s.limit != nil && !d.allowed
	var page twilioList
	fail := -1 // an injected 5xx (Config.FailRate), as a send may meet
	switch {
	case throttled:
		s.stats.Throttled++
	case bad != nil:
	case s.cfg.FailRate > 0 && s.rng.Float64() < s.cfg.FailRate:
		s.stats.Failed++
		fail = s.rng.IntN(len(failStatuses))
	default:
		page, bad = s.listLocked(&lq, pathTwilio+account+pathTwilioTail, skewed)
	}
	if d.held {
		s.limit.release()
	}
	s.mu.Unlock()

	writeQuota(w.Header(), s.cfg.Style, d, skewed)
	switch {
	case throttled:
		writeJSON(w, http.StatusTooManyRequests, throttledBodies[kindTwilio])
	case fail >= 0:
		writeJSON(w, failStatuses[fail], failBodies[kindTwilio][fail])
	case bad != nil:
		writeJSON(w, bad.Status, mustJSON(bad))
	default:
		writeJSON(w, http.StatusOK, mustJSON(page))
	}
}

// listLocked builds one page of the list for lq: the messages kept in
// order of creation are read from the newest (or from the one after the
// page token) back.
func (s *Server) listLocked(lq *listQuery, path string, t time.Time) (twilioList, *twilioError) {
	order := s.twilioOrder
	if lq.to != "" {
		order = s.twilioByTo[lq.to]
	}
	i := len(order) - 1
	if lq.after != "" {
		m, ok := s.msgs[lq.after]
		if !ok || m.twilio == nil {
			return twilioList{}, badTwilio(twilioInvalid, "Invalid PageToken.")
		}
		i = m.rank(order) - 1
	}
	page := twilioList{
		FirstPageURI: path + "?" + lq.encode(0, ""),
		Page:         lq.page,
		PageSize:     lq.pageSize,
		Messages:     []twilioResponse{},
		Start:        lq.page * lq.pageSize,
		URI:          path + "?" + lq.encode(lq.page, tokenOf(lq.after)),
	}
	for ; i >= 0; i-- {
		r := order[i].twilioAt(t, s.cfg.DeliveryStep)
		if !lq.keeps(&r) {
			continue
		}
		if len(page.Messages) == lq.pageSize {
			// One more exists: the next page starts after the last one here.
			next := path + "?" + lq.encode(lq.page+1, tokenOf(page.Messages[len(page.Messages)-1].SID))
			page.NextPageURI = &next
			break
		}
		page.Messages = append(page.Messages, r)
	}
	page.End = page.Start + max(len(page.Messages)-1, 0)
	// previous_page_uri stays null: the sandbox pages forward only.
	return page, nil
}

// tokenOf is the PageToken that starts a page after the message sid, as
// Twilio's look: "PA" and the sid.
func tokenOf(sid string) string {
	if sid == "" {
		return ""
	}
	return "PA" + sid
}

// rank is m's place in order (messages in creation order that hold it),
// by binary search on the creation number.
func (m *sentMessage) rank(order []*sentMessage) int {
	lo, hi := 0, len(order)
	for lo < hi {
		mid := (lo + hi) / 2
		if order[mid].n < m.n {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}
