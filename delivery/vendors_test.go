package delivery

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bulksend/bulksend/report"
)

func TestOutcomeOf(t *testing.T) {
	tests := []struct {
		status string
		want   Outcome
	}{
		{"delivered", Delivered}, {"read", Delivered}, {"delivery-success", Delivered}, {"Delivered", Delivered},
		{"undelivered", Undelivered}, {"failed", Undelivered}, {"canceled", Undelivered},
		{"delivery-failed", Undelivered}, {"delivery-failure", Undelivered},
		{"queued", Pending}, {"sending", Pending}, {"sent", Pending}, {"accepted", Pending}, {"", Pending},
	}
	for _, tt := range tests {
		if got := OutcomeOf(tt.status); got != tt.want {
			t.Errorf("OutcomeOf(%q) = %v, want %v", tt.status, got, tt.want)
		}
	}
}

// TestRead reads each vendor's answers: the published shapes, and what a
// vendor may leave out.
func TestRead(t *testing.T) {
	generic, err := NewGeneric(GenericConfig{URL: "http://x/{{.message_id}}", StatusField: "data.events.0.state", ErrorField: "data.reason"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		vendor  Vendor
		body    string
		want    State
		wantErr string
	}{
		{name: "twilio delivered", vendor: Twilio{},
			body: `{"account_sid":"AC1","date_updated":"Thu, 03 Dec 2026 14:00:03 +0000","error_code":null,"error_message":null,"sid":"SM1","status":"delivered"}`,
			want: State{Status: "delivered", At: time.Date(2026, 12, 3, 14, 0, 3, 0, time.UTC)}},
		{name: "twilio undelivered", vendor: Twilio{},
			body: `{"date_updated":"Thu, 03 Dec 2026 14:00:03 +0000","error_code":30003,"error_message":"Unreachable destination handset","status":"undelivered"}`,
			want: State{Status: "undelivered", Error: "30003: Unreachable destination handset", At: time.Date(2026, 12, 3, 14, 0, 3, 0, time.UTC)}},
		{name: "twilio code without text", vendor: Twilio{}, body: `{"error_code":"30007","status":"failed"}`, want: State{Status: "failed", Error: "30007"}},
		{name: "twilio odd date left out", vendor: Twilio{}, body: `{"date_updated":"yesterday","status":"sent"}`, want: State{Status: "sent"}},
		{name: "twilio no status", vendor: Twilio{}, body: `{"sid":"SM1"}`, wantErr: "no status"},
		{name: "twilio not json", vendor: Twilio{}, body: `<html>`, wantErr: "read twilio message"},
		{name: "genesys delivered", vendor: Genesys{},
			body: `{"id":"m","timestamp":"2026-12-03T14:00:02.000Z","status":"delivery-success","normalizedReceipts":[{"status":"Delivered","isFinalReceipt":true}]}`,
			want: State{Status: "delivery-success", At: time.Date(2026, 12, 3, 14, 0, 2, 0, time.UTC)}},
		{name: "genesys failed", vendor: Genesys{},
			body: `{"status":"delivery-failed","normalizedReceipts":[{"status":"Failed","reasons":[{"code":"RecipientOptedOut","message":"opted out"},{"code":"GeneralError","message":""}]}]}`,
			want: State{Status: "delivery-failed", Error: "RecipientOptedOut: opted out; GeneralError"}},
		{name: "genesys no status", vendor: Genesys{}, body: `{}`, wantErr: "no status"},
		{name: "generic path", vendor: generic, body: `{"data":{"events":[{"state":"DELIVERED"}],"reason":"none"}}`, want: State{Status: "DELIVERED", Error: "none"}},
		{name: "generic number", vendor: generic, body: `{"data":{"events":[{"state":3}]}}`, want: State{Status: "3"}},
		{name: "generic missing", vendor: generic, body: `{"data":{"events":[]}}`, wantErr: "no status at data.events.0.state"},
		{name: "generic object", vendor: generic, body: `{"data":{"events":[{"state":{}}]}}`, wantErr: "no status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.vendor.Read([]byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %+v, %v; want an error with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// TestRequest builds each vendor's lookup from a report row, escaping the
// ids into the path, and refuses a row it cannot look up.
func TestRequest(t *testing.T) {
	generic, err := NewGeneric(GenericConfig{URL: "https://api.test/m/{{path .message_id}}?row={{query .id}}",
		Headers: []string{"Authorization: Bearer {{env \"TOKEN\"}}"}, Env: func(k string) string { return "tok-" + k }})
	if err != nil {
		t.Fatal(err)
	}
	noID, _ := NewGeneric(GenericConfig{URL: "{{.message_id}}"})
	tests := []struct {
		name       string
		vendor     Vendor
		row        report.Row
		wantURL    string
		wantHeader http.Header
		wantErr    string
	}{
		{name: "twilio", vendor: Twilio{API: "http://t", Account: "AC1"}, row: report.Row{MessageID: "SM1"},
			wantURL: "http://t/2010-04-01/Accounts/AC1/Messages/SM1.json"},
		{name: "twilio escapes", vendor: Twilio{API: "http://t", Account: "AC1"}, row: report.Row{MessageID: "../x"},
			wantURL: "http://t/2010-04-01/Accounts/AC1/Messages/..%2Fx.json"},
		{name: "twilio no id", vendor: Twilio{API: "http://t", Account: "AC1"}, wantErr: "no message id"},
		{name: "genesys", vendor: Genesys{API: "http://g"}, row: report.Row{MessageID: "c-1/m-1"},
			wantURL: "http://g/api/v2/conversations/messages/c-1/messages/m-1"},
		{name: "genesys message id alone", vendor: Genesys{API: "http://g"}, row: report.Row{MessageID: "m-1"}, wantErr: "not conversationId/messageId"},
		{name: "genesys extra slash", vendor: Genesys{API: "http://g"}, row: report.Row{MessageID: "c/m/x"}, wantErr: "not conversationId/messageId"},
		{name: "generic", vendor: generic, row: report.Row{ID: "a b", MessageID: "x/y"},
			wantURL: "https://api.test/m/x%2Fy?row=a+b", wantHeader: http.Header{"Authorization": {"Bearer tok-TOKEN"}}},
		{name: "generic not a url", vendor: noID, row: report.Row{MessageID: "m1"}, wantErr: `"m1" is not an http(s) URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, u, h, err := tt.vendor.Request(&tt.row)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %s, %v; want an error with %q", u, err, tt.wantErr)
				}
				return
			}
			if err != nil || method != "GET" || u != tt.wantURL {
				t.Errorf("got %s %s, %v; want GET %s", method, u, err, tt.wantURL)
			}
			if tt.wantHeader != nil && h.Get("Authorization") != tt.wantHeader.Get("Authorization") {
				t.Errorf("headers %v, want %v", h, tt.wantHeader)
			}
		})
	}
}

func TestNewGenericRefuses(t *testing.T) {
	tests := []struct {
		name string
		cfg  GenericConfig
		want string
	}{
		{"no url", GenericConfig{}, "a template is required"},
		{"bad template", GenericConfig{URL: "{{.x"}, "parse status url"},
		{"bad header", GenericConfig{URL: "http://x", Headers: []string{"no colon"}}, "want 'Key: value'"},
		{"bad status field", GenericConfig{URL: "http://x", StatusField: "a..b"}, "status field: path"},
		{"bad error field", GenericConfig{URL: "http://x", ErrorField: "."}, "status error field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewGeneric(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestParsePath(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"status", "status", true},
		{"data.items.0.status", "data.items.0.status", true},
		{"", "", false},
		{"a.", "", false},
		{".a", "", false},
		{"a..b", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParsePath(tt.in)
			if (err == nil) != tt.ok || (tt.ok && p.String() != tt.want) {
				t.Errorf("ParsePath(%q) = %v, %v", tt.in, p, err)
			}
		})
	}
}

// FuzzParsePath: a path that parses is written back as it was read.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"status", "a.0.b", "a..b", "."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err == nil && p.String() != s {
			t.Errorf("ParsePath(%q) = %q", s, p)
		}
	})
}

// FuzzRead: no answer makes a vendor's reader panic, and a read that
// succeeds has a status.
func FuzzRead(f *testing.F) {
	for _, s := range []string{`{"status":"delivered","error_code":30003}`, `{"status":"x","normalizedReceipts":[{"reasons":[{"code":"a"}]}]}`, `{"data":[{"s":1}]}`, `[`} {
		f.Add(s)
	}
	generic, err := NewGeneric(GenericConfig{URL: "http://x", StatusField: "data.0.s"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, v := range []Vendor{Twilio{}, Genesys{}, generic} {
			s, err := v.Read([]byte(body))
			if err == nil && s.Status == "" {
				t.Errorf("%T read %q without a status", v, body)
			}
		}
	})
}
