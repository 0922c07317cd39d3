package preset

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bulksend/bulksend/sender"
)

func TestRowIdentity(t *testing.T) {
	tests := []struct {
		name    string
		idField string
		row     sender.Row
		wantID  string
		invalid string // "" means valid
	}{
		{name: "id column", row: sender.Row{Line: 4, Fields: map[string]string{"id": "a-1"}}, wantID: "a-1"},
		{name: "no id column: line number", row: sender.Row{Line: 4, Fields: map[string]string{"to": "x"}}, wantID: "4"},
		{name: "empty id column: invalid, never the line number", row: sender.Row{Line: 9, Fields: map[string]string{"id": ""}},
			invalid: "recipients.csv:9: empty id"},
		{name: "named field", idField: "msisdn", row: sender.Row{Line: 2, Fields: map[string]string{"id": "x", "msisdn": "+1555"}}, wantID: "+1555"},
		{name: "named field keeps zeros", idField: "msisdn", row: sender.Row{Line: 2, Fields: map[string]string{"msisdn": "007"}}, wantID: "007"},
		{name: "named field missing", idField: "msisdn", row: sender.Row{Line: 17, Fields: map[string]string{"id": "x"}},
			invalid: `recipients.csv:17: id field "msisdn" missing`},
		{name: "named field empty", idField: "msisdn", row: sender.Row{Line: 17, Fields: map[string]string{"msisdn": ""}},
			invalid: `recipients.csv:17: empty id (field "msisdn")`},
		{name: "reader error kept as is", row: sender.Row{Line: 5, Err: errors.New("recipients.csv:5: wrong number of fields")},
			wantID: "5", invalid: "recipients.csv:5: wrong number of fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok := newRows("recipients.csv", tt.idField).start(tt.row)
			if m.Line != tt.row.Line {
				t.Errorf("Line = %d, want %d", m.Line, tt.row.Line)
			}
			if tt.invalid != "" {
				if ok || m.Invalid == nil || m.Invalid.Error() != tt.invalid {
					t.Fatalf("ok=%v Invalid=%v, want %q", ok, m.Invalid, tt.invalid)
				}
				if tt.wantID != "" && m.ID != tt.wantID {
					t.Errorf("ID = %q, want %q", m.ID, tt.wantID)
				}
				return
			}
			if !ok || m.Invalid != nil {
				t.Fatalf("unexpectedly invalid: %v", m.Invalid)
			}
			if m.ID != tt.wantID {
				t.Errorf("ID = %q, want %q", m.ID, tt.wantID)
			}
		})
	}
}

func TestDefaultSource(t *testing.T) {
	m, _ := newRows("", "phone").start(sender.Row{Line: 3, Fields: map[string]string{}})
	if got, want := m.Invalid.Error(), `input:3: id field "phone" missing`; got != want {
		t.Errorf("Invalid = %q, want %q", got, want)
	}
}

func TestAppendJSONString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "plain", in: "hello", want: `"hello"`},
		{name: "quotes and backslashes", in: `say "hi" \o/`, want: `"say \"hi\" \\o/"`},
		{name: "newlines and tabs", in: "a\nb\r\nc\td", want: `"a\nb\r\nc\td"`},
		{name: "other controls", in: "\x00\x1f", want: `"\u0000\u001f"`},
		{name: "accents and emoji kept", in: "Zoë 😀", want: `"Zoë 😀"`},
		{name: "html left alone", in: "<b>&</b>", want: `"<b>&</b>"`},
		{name: "line separators escaped", in: "a\u2028b\u2029", want: `"a\u2028b\u2029"`},
		{name: "invalid utf8 replaced", in: "a\xffb", want: `"a\ufffdb"`},
		{name: "empty", in: "", want: `""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := jsonQuote(tt.in)
			if got != tt.want {
				t.Fatalf("jsonQuote(%q) = %s, want %s", tt.in, got, tt.want)
			}
			var back string
			if err := json.Unmarshal([]byte(got), &back); err != nil {
				t.Fatalf("not valid JSON: %v", err)
			}
			if want := string([]rune(tt.in)); back != want {
				t.Errorf("round trip = %q, want %q", back, want)
			}
		})
	}
}

func TestDefaultParseResponse(t *testing.T) {
	long := "<html>x" + strings.Repeat("é", 300) + "</html>"
	tests := []struct {
		name    string
		status  int
		body    string
		wantID  string
		wantErr string
	}{
		{name: "twilio sid", status: 201, body: `{"sid":"SM123","status":"queued","error_code":null}`, wantID: "SM123"},
		{name: "genesys id", status: 202, body: `{"id":"m-1","conversationId":"c-1"}`, wantID: "m-1"},
		{name: "conversation id only", status: 200, body: `{"conversationId":"c-1"}`, wantID: "c-1"},
		{name: "id wins over messageId", status: 200, body: `{"messageId":"m","id":"i"}`, wantID: "i"},
		{name: "message_id", status: 200, body: `{"message_id":"x"}`, wantID: "x"},
		{name: "numeric id keeps digits", status: 200, body: `{"id":123456789012345678901}`, wantID: "123456789012345678901"},
		{name: "empty id skipped", status: 200, body: `{"id":"","sid":"S"}`, wantID: "S"},
		{name: "success message is not an error", status: 200, body: `{"message":"queued"}`},
		{name: "success not json", status: 200, body: `OK`},
		{name: "twilio error", status: 400, body: `{"code":21211,"message":"The 'To' number is not valid.","more_info":"x","status":400}`,
			wantErr: "21211: The 'To' number is not valid."},
		{name: "genesys error", status: 400, body: `{"message":"Invalid toAddress","code":"bad.request","status":400}`,
			wantErr: "bad.request: Invalid toAddress"},
		{name: "error string", status: 401, body: `{"error":"invalid_client"}`, wantErr: "invalid_client"},
		{name: "error object", status: 403, body: `{"error":{"code":"forbidden","message":"no"}}`, wantErr: "forbidden: no"},
		{name: "top code wins", status: 403, body: `{"code":7,"error":{"code":"x","message":"no"}}`, wantErr: "7: no"},
		{name: "problem detail", status: 422, body: `{"title":"Unprocessable","detail":"to is required"}`, wantErr: "to is required"},
		{name: "json without error fields", status: 500, body: ` {"foo":1} `, wantErr: `{"foo":1}`},
		{name: "html error page cut on a rune", status: 502, body: long, wantErr: long[:199]},
		{name: "empty body", status: 503, body: ``},
		{name: "invalid utf8", status: 500, body: "bad \xff", wantErr: "bad \uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, errText := DefaultParseResponse(tt.status, []byte(tt.body))
			if id != tt.wantID || errText != tt.wantErr {
				t.Errorf("got (%q, %q), want (%q, %q)", id, errText, tt.wantID, tt.wantErr)
			}
		})
	}
}

func FuzzDefaultParseResponse(f *testing.F) {
	f.Add(200, []byte(`{"id":"x"}`))
	f.Add(201, []byte(`{"sid":12}`))
	f.Add(400, []byte(`{"code":1,"message":"m"}`))
	f.Add(500, []byte(`{"error":{"message":"m"}}`))
	f.Add(502, []byte("<html>\xff</html>"))
	f.Add(429, []byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		id, errText := DefaultParseResponse(status, body)
		if id != "" && errText != "" {
			t.Fatalf("both id %q and error %q", id, errText)
		}
		if !utf8.ValidString(errText) {
			t.Fatalf("error text is not UTF-8: %q", errText)
		}
		if status >= 200 && status < 300 && errText != "" {
			t.Fatalf("error text %q on success", errText)
		}
	})
}

// TestRowIDMatchesBuild: every builder is a sender.RowIdentifier whose
// RowID is the id Build gives each valid row, which the duplicate pre-pass
// relies on.
func TestRowIDMatchesBuild(t *testing.T) {
	builders := func(idField string) map[string]sender.Builder {
		g, err := NewGeneric(GenericConfig{URL: "http://api.test/send", Body: `{"to":{{json .to}}}`, IDField: idField})
		if err != nil {
			t.Fatal(err)
		}
		gs, _, err := NewGenesys(GenesysConfig{From: "f", Region: "mypurecloud.com", ClientID: "i", ClientSecret: "s", IDField: idField})
		if err != nil {
			t.Fatal(err)
		}
		tw, err := NewTwilio(TwilioConfig{From: "f", AccountSID: "AC1", AuthToken: "t", IDField: idField})
		if err != nil {
			t.Fatal(err)
		}
		return map[string]sender.Builder{"generic": g.Builder, "genesys": gs.Builder, "twilio": tw.Builder}
	}
	rows := []sender.Row{
		{Line: 2, Fields: map[string]string{"id": "a", "msisdn": "+1", "to": "+1555", "text": "hi"}},
		{Line: 3, Fields: map[string]string{"id": "", "msisdn": "007", "to": "+1555", "text": "hi"}},
		{Line: 4, Fields: map[string]string{"to": "+1555", "text": "hi"}},
		{Line: 5, Fields: map[string]string{"id": "b", "text": "no recipient"}},
		{Line: 6, Err: errors.New("input:6: has 3 fields, header has 2")},
	}
	tests := []struct {
		name      string
		idField   string
		wantField string
	}{
		{name: "default id field", wantField: "id"},
		{name: "named id field", idField: "msisdn", wantField: "msisdn"},
	}
	for _, tt := range tests {
		for name, b := range builders(tt.idField) {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				ri, ok := b.(sender.RowIdentifier)
				if !ok {
					t.Fatalf("%T is not a sender.RowIdentifier", b)
				}
				if got := ri.IDField(); got != tt.wantField {
					t.Errorf("IDField = %q, want %q", got, tt.wantField)
				}
				valid := 0
				for _, row := range rows {
					m := b.Build(row)
					if m.Invalid != nil {
						continue
					}
					valid++
					if id, ok := ri.RowID(row); !ok || id != m.ID {
						t.Errorf("line %d: RowID = %q, %v; Build gave ID %q", row.Line, id, ok, m.ID)
					}
				}
				if valid < 2 {
					t.Errorf("only %d valid rows: the test checks too little", valid)
				}
			})
		}
	}
}

// buildCase builds the row at line with fields and checks its invalid
// reason. With invalid set, the message must be invalid for exactly that
// reason, and buildCase returns nil: the case is done. Otherwise the
// message must be valid, and is returned for the case's other checks.
func buildCase(t *testing.T, b sender.Builder, line int, fields map[string]string, invalid string) *sender.Message {
	t.Helper()
	m := b.Build(sender.Row{Line: line, Fields: fields})
	if invalid != "" {
		if m.Invalid == nil || m.Invalid.Error() != invalid {
			t.Fatalf("Invalid = %v, want %q", m.Invalid, invalid)
		}
		return nil
	}
	if m.Invalid != nil {
		t.Fatalf("unexpectedly invalid: %v", m.Invalid)
	}
	return m
}
