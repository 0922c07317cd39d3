package sandbox

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// listPage is what the tests read of a Message list page.
type listPage struct {
	NextPageURI *string `json:"next_page_uri"`
	Page        int     `json:"page"`
	PageSize    int     `json:"page_size"`
	Start       int     `json:"start"`
	End         int     `json:"end"`
	URI         string  `json:"uri"`
	Messages    []struct {
		SID      string  `json:"sid"`
		To       string  `json:"to"`
		From     *string `json:"from"`
		Body     string  `json:"body"`
		DateSent *string `json:"date_sent"`
	} `json:"messages"`
}

// TestTwilioList: GET .../Messages.json lists the account's messages,
// newest first, in twilio-oai's published shape, filtered by To, From and
// DateSent (a message not yet sent has no date_sent, so no DateSent filter
// keeps it), PageSize at a time, each page naming the next until the last;
// bad parameters are Twilio's 400, no credentials its 401.
func TestTwilioList(t *testing.T) {
	s, c := newServer(t, Config{DeliveryStep: time.Second})
	path := "/2010-04-01/Accounts/" + DefaultAccountSID + "/Messages.json"
	auth := basicAuth(DefaultAccountSID, DefaultAuthToken)
	var sids []string // in the order sent
	send := func(to, from, body string) {
		t.Helper()
		w := do(s, "POST", path, "To="+strings.ReplaceAll(to, "+", "%2B")+"&From="+strings.ReplaceAll(from, "+", "%2B")+"&Body="+body, formType, auth)
		if w.Code != 201 {
			t.Fatalf("send: %d %s", w.Code, w.Body)
		}
		var r struct{ SID string }
		if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		sids = append(sids, r.SID)
	}
	for i := range 5 {
		send("+15550000001", "+15550000000", "m"+string(rune('0'+i)))
	}
	send("+15550000002", "+15550000000", "other")
	send("+15550000001", "+15559999999", "third-party")
	c.Advance(10 * time.Second) // all of them sent (date_sent set) ...
	send("+15550000001", "+15550000000", "queued")
	// ... but the last one, still queued: no date_sent.
	today := t0.UTC().Format(time.DateOnly)

	list := func(query string) (int, listPage, string) {
		t.Helper()
		w := do(s, "GET", path+"?"+query, "", auth)
		var p listPage
		if w.Code == 200 {
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
		}
		return w.Code, p, w.Body.String()
	}
	sidsOf := func(p listPage) []string {
		var out []string
		for _, m := range p.Messages {
			out = append(out, m.SID)
		}
		return out
	}
	tests := []struct {
		name  string
		query string
		want  []string // sids, newest first
	}{
		{"everything, newest first", "", []string{sids[7], sids[6], sids[5], sids[4], sids[3], sids[2], sids[1], sids[0]}},
		{"To", "To=%2B15550000001", []string{sids[7], sids[6], sids[4], sids[3], sids[2], sids[1], sids[0]}},
		{"To and From", "To=%2B15550000001&From=%2B15550000000", []string{sids[7], sids[4], sids[3], sids[2], sids[1], sids[0]}},
		{"DateSent misses the queued message", "To=%2B15550000001&From=%2B15550000000&DateSent=" + today, []string{sids[4], sids[3], sids[2], sids[1], sids[0]}},
		{"DateSent> as well", "To=%2B15550000001&From=%2B15550000000&DateSent%3E=" + today, []string{sids[4], sids[3], sids[2], sids[1], sids[0]}},
		{"DateSent< yesterday: none", "To=%2B15550000001&DateSent%3C=2000-01-01", nil},
		{"nobody", "To=%2B15550000009", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, p, body := list(tt.query)
			if code != 200 || !slices.Equal(sidsOf(p), tt.want) || p.NextPageURI != nil {
				t.Errorf("%d %s\nwant the sids %q on one page", code, body, tt.want)
			}
		})
	}

	t.Run("paging", func(t *testing.T) {
		var got []string
		q := "To=%2B15550000001&From=%2B15550000000&PageSize=4"
		code, p, body := list(q)
		for range 5 {
			if code != 200 {
				t.Fatalf("%d %s", code, body)
			}
			got = append(got, sidsOf(p)...)
			if p.NextPageURI == nil {
				break
			}
			next, ok := strings.CutPrefix(*p.NextPageURI, path+"?")
			if !ok {
				t.Fatalf("next_page_uri %q is not the list's", *p.NextPageURI)
			}
			code, p, body = list(next)
		}
		if want := []string{sids[7], sids[4], sids[3], sids[2], sids[1], sids[0]}; !slices.Equal(got, want) {
			t.Errorf("pages gave %q, want %q", got, want)
		}
		if p.Page != 1 || p.PageSize != 4 || p.Start != 4 || p.End != 5 || !strings.Contains(p.URI, "PageToken=PA"+sids[2]) {
			t.Errorf("last page: page %d size %d start %d end %d uri %s", p.Page, p.PageSize, p.Start, p.End, p.URI)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		for _, q := range []string{"PageSize=0", "PageSize=1001", "PageSize=x", "Page=-1", "PageToken=XX1", "PageToken=PASMnope", "DateSent=24/05/2019"} {
			if code, _, body := list(q); code != 400 || !strings.Contains(body, `"code":20001`) {
				t.Errorf("%s: %d %s, want Twilio's 400", q, code, body)
			}
		}
		if w := do(s, "GET", path, ""); w.Code != 401 {
			t.Errorf("no credentials: %d %s, want 401", w.Code, w.Body)
		}
		if w := do(s, "GET", "/2010-04-01/Accounts/ACother/Messages.json", "", auth); w.Code != 401 {
			t.Errorf("another account: %d %s, want 401", w.Code, w.Body)
		}
	})
	if st := s.Stats(); st.ListReads == 0 || st.Delivered != 8 {
		t.Errorf("stats %+v: want list reads counted, nothing delivered by them", st)
	}
}

// TestTwilioListShape: a page of the list has the keys, in the order, of
// twilio-oai's published ListMessage examples, and so does each message.
func TestTwilioListShape(t *testing.T) {
	s, _ := newServer(t, Config{})
	path := "/2010-04-01/Accounts/" + DefaultAccountSID + "/Messages.json"
	auth := basicAuth(DefaultAccountSID, DefaultAuthToken)
	fixture := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "preset", "testdata", "vendor", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	w := do(s, "GET", path+"?To=%2B15551234567", "", auth)
	if got, want := keysOf(t, w.Body.Bytes()), keysOf(t, fixture("twilio_message_list_200_read_empty.json")); w.Code != 200 || !slices.Equal(got, want) {
		t.Errorf("empty list: %d keys %q, want %q", w.Code, got, want)
	}
	do(s, "POST", path, "To=%2B15551234567&From=%2B15550000000&Body=hi", formType, auth)
	w = do(s, "GET", path+"?To=%2B15551234567&PageSize=1", "", auth)
	full := fixture("twilio_message_list_200_read_full_page1.json")
	if got, want := keysOf(t, w.Body.Bytes()), keysOf(t, full); w.Code != 200 || !slices.Equal(got, want) {
		t.Errorf("a page: %d keys %q, want %q", w.Code, got, want)
	}
	var got, want struct{ Messages []json.RawMessage }
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || len(got.Messages) != 1 {
		t.Fatalf("%s: %v", w.Body, err)
	}
	if err := json.Unmarshal(full, &want); err != nil {
		t.Fatal(err)
	}
	if g, w := keysOf(t, got.Messages[0]), keysOf(t, want.Messages[0]); !slices.Equal(g, w) {
		t.Errorf("a listed message's keys %q, want %q", g, w)
	}
}

// FuzzTwilioListQuery: no query makes the Message list's parser panic, and
// a query it takes reads back the same from the URI a page gives for it.
func FuzzTwilioListQuery(f *testing.F) {
	f.Add("To=%2B15550000001&From=%2B15550000000&PageSize=200")
	f.Add("To=%2B123456789&From=%2B987654321&DateSent%3E=2008-01-02&PageSize=2&Page=1&PageToken=PAMMc26223853f8c46b4ab7dfaa6abba0a26")
	f.Add("DateSent%3C=2008-01-02&DateSent=2008-01-02&Page=0")
	f.Add("PageSize=1001&PageToken=PA")
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		lq, bad := parseListQuery(v)
		if bad != nil {
			return
		}
		if lq.pageSize < 1 || lq.pageSize > twilioMaxPageSize || lq.page < 0 {
			t.Fatalf("%q: page size %d, page %d", raw, lq.pageSize, lq.page)
		}
		back, err := url.ParseQuery(lq.encode(lq.page, tokenOf(lq.after)))
		if err != nil {
			t.Fatal(err)
		}
		again, bad := parseListQuery(back)
		if bad != nil || again != lq {
			t.Fatalf("%q: read %+v, read back %+v (%v)", raw, lq, again, bad)
		}
	})
}

// TestTwilioListFails: the --fail-rate share of list pages are a 5xx in
// Twilio's error shape, as a send may meet, counted as failed.
func TestTwilioListFails(t *testing.T) {
	s, _ := newServer(t, Config{FailRate: 1})
	w := do(s, "GET", "/2010-04-01/Accounts/"+DefaultAccountSID+"/Messages.json?To=%2B15551234567", "", basicAuth(DefaultAccountSID, DefaultAuthToken))
	if w.Code < 500 || !strings.Contains(w.Body.String(), `"code":20500`) {
		t.Errorf("%d %s, want an injected 5xx", w.Code, w.Body)
	}
	if st := s.Stats(); st.Failed != 1 || st.ListReads != 1 {
		t.Errorf("stats %+v", st)
	}
}
