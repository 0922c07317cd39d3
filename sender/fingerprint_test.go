package sender

import (
	"net/http"
	"testing"
)

func TestFingerprint(t *testing.T) {
	base := func() *Message {
		return &Message{ID: "1", Method: "POST", URL: "http://api.test/send",
			Header: http.Header{"Content-Type": {"application/json"}, "X-A": {"a"}, "Authorization": {"Bearer t1"}},
			Body:   []byte(`{"to":"+1555"}`)}
	}
	ref := Fingerprint(base(), nil)
	tests := []struct {
		name      string
		change    func(m *Message)
		omit      func(string) bool
		wantEqual bool
	}{
		{name: "unchanged", change: func(*Message) {}, wantEqual: true},
		{name: "the Authorization header does not count", change: func(m *Message) { m.Header.Set("Authorization", "Bearer t2") }, wantEqual: true},
		{name: "a Cookie does not count", change: func(m *Message) { m.Header.Set("Cookie", "s=1") }, wantEqual: true},
		{name: "an omitted header does not count", change: func(m *Message) { m.Header.Set("X-Key", "k") },
			omit: func(n string) bool { return n == "X-Key" }, wantEqual: true},
		{name: "the idempotency key is never hashed", change: func(m *Message) {},
			omit: func(n string) bool { return n == DefaultIdempotencyHeader }, wantEqual: true},
		{name: "body", change: func(m *Message) { m.Body = []byte(`{"to":"+1556"}`) }},
		{name: "url", change: func(m *Message) { m.URL += "?x=1" }},
		{name: "the url's path", change: func(m *Message) { m.URL = "http://api.test/send2" }},
		{name: "another host, port or scheme is the same message", change: func(m *Message) { m.URL = "https://u:p@backup.test:8443/send" }, wantEqual: true},
		{name: "method", change: func(m *Message) { m.Method = "PUT" }},
		{name: "id", change: func(m *Message) { m.ID = "2" }},
		{name: "header value", change: func(m *Message) { m.Header.Set("X-A", "b") }},
		{name: "header added", change: func(m *Message) { m.Header.Set("X-B", "a") }},
		{name: "a second value", change: func(m *Message) { m.Header.Add("X-A", "a") }},
		{name: "fields do not run into each other", change: func(m *Message) { m.ID, m.Method = "1P", "OST" }},
		{name: "the body is not a header", change: func(m *Message) { m.Header.Set("X-A", `a{"to":"+1555"}`); m.Body = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base()
			tt.change(m)
			got := Fingerprint(m, tt.omit)
			if !ValidFingerprint(got) {
				t.Fatalf("fingerprint %q is not 32 hex digits", got)
			}
			if (got == ref) != tt.wantEqual {
				t.Errorf("fingerprint %s vs %s: equal=%v, want %v", got, ref, got == ref, tt.wantEqual)
			}
		})
	}
	if KeyOf(ref) != "bulksend-"+ref || KeyOf("") != "" {
		t.Errorf("KeyOf(%s) = %q", ref, KeyOf(ref))
	}
}

func TestRowFingerprint(t *testing.T) {
	a := RowFingerprint(Row{Line: 2, Fields: map[string]string{"id": "1", "to": "x"}})
	tests := []struct {
		name      string
		row       Row
		wantEqual bool
	}{
		{name: "same fields, another line", row: Row{Line: 9, Fields: map[string]string{"to": "x", "id": "1"}}, wantEqual: true},
		{name: "a value", row: Row{Line: 2, Fields: map[string]string{"id": "1", "to": "y"}}},
		{name: "a name", row: Row{Line: 2, Fields: map[string]string{"id": "1", "tx": "x"}}},
		{name: "a field more", row: Row{Line: 2, Fields: map[string]string{"id": "1", "to": "x", "t": ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RowFingerprint(tt.row); (got == a) != tt.wantEqual || !ValidFingerprint(got) {
				t.Errorf("fingerprint %s vs %s: equal=%v, want %v", got, a, got == a, tt.wantEqual)
			}
		})
	}
}
