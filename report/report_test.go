package report

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bulksend/bulksend/sender"
)

// fixedNow pins the clock of in-flight rows.
func fixedNow() time.Time { return time.Date(2025, 3, 4, 5, 6, 7, 891_000_000, time.UTC) }

// nastyRows exercise quoting: every text column carries commas, quotes,
// newlines, leading spaces and non-ASCII text.
func nastyRows() []Row {
	return []Row{
		{Line: 2, ID: "a", Status: sender.StatusInFlight, SentAt: "2025-03-04T05:06:07.891Z"},
		{Line: 2, ID: "a", Status: sender.StatusSent, HTTPStatus: 202, Attempts: 1, MessageID: "m-1",
			LatencyMS: 1234, SentAt: "2025-03-04T05:06:07.891Z", Response: `{"id":"m-1","note":"a, \"b\"\nc"}`},
		{Line: 3, ID: "b,\"c\"", Status: sender.StatusFailed, HTTPStatus: 400, Attempts: 5, Throttled: 3,
			Error: "bad request:\n  \"to\" is invalid, see <docs>", Response: "line1\nline2\n"},
		{Line: 4, ID: " spaced ", Status: sender.StatusInvalid, Error: "ümlaut, 日本語, emoji 📨"},
		{Line: 5, ID: "", Status: sender.StatusDuplicate, Error: `\.`},
		{Line: 7, ID: "#7", Status: sender.StatusUnknown, Error: "timeout\r after send", LatencyMS: 30000},
		{Line: 8, ID: "q", Status: sender.StatusSkipped},
	}
}

// readAll reads a report into rows.
func readAll(t testing.TB, data []byte, format Format) ([]Row, error) {
	t.Helper()
	var rows []Row
	err := Read(bytes.NewReader(data), "out", format, func(r Row) error {
		rows = append(rows, r)
		return nil
	})
	return rows, err
}

// encodeRows renders a whole report (header and rows) in memory.
func encodeRows(t testing.TB, format Format, rows []Row) []byte {
	t.Helper()
	var out bytes.Buffer
	enc := newEncoder(format)
	if err := enc.header(); err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if err := enc.encode(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	out.Write(enc.buf.Bytes())
	return out.Bytes()
}

// writeFile writes rows to a new report through the Writer.
func writeFile(t testing.TB, path string, rows []Row) {
	t.Helper()
	w, err := Create(path, Options{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		w.mu.Lock()
		w.enc.buf.Reset()
		err := w.enc.encode(&rows[i])
		if err == nil {
			err = w.flush()
		}
		w.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestFormatFromName(t *testing.T) {
	tests := []struct {
		name, path string
		want       Format
	}{
		{"csv", "out.csv", FormatCSV},
		{"jsonl", "dir.v2/out.jsonl", FormatJSONL},
		{"ndjson upper", "OUT.NDJSON", FormatJSONL},
		{"json", "out.json", FormatJSONL},
		{"no extension", "report", FormatCSV},
		{"stdout", "-", FormatCSV},
		{"txt", "out.txt", FormatCSV},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatFromName(tt.path); got != tt.want {
				t.Errorf("FormatFromName(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

func TestFromResult(t *testing.T) {
	tests := []struct {
		name string
		in   sender.Result
		want Row
	}{
		{
			name: "sent",
			in: sender.Result{Line: 9, ID: "x", Status: sender.StatusSent, HTTPStatus: 200, Attempts: 2,
				Throttled: 1, MessageID: "m", Latency: 1500*time.Microsecond + 2*time.Second,
				SentAt:   time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600)),
				Response: "ok"},
			want: Row{Line: 9, ID: "x", Status: sender.StatusSent, HTTPStatus: 200, Attempts: 2, Throttled: 1,
				MessageID: "m", LatencyMS: 2001, SentAt: "2025-01-02T02:04:05.000Z", Response: "ok"},
		},
		{
			name: "never sent",
			in:   sender.Result{Line: 3, ID: "y", Status: sender.StatusInvalid, Error: "missing field"},
			want: Row{Line: 3, ID: "y", Status: sender.StatusInvalid, Error: "missing field"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FromResult(&tt.in); got != tt.want {
				t.Errorf("FromResult = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name, file string
		header     string
	}{
		{"csv", "out.csv", "line,id,status,http_status,attempts,throttled,error,message_id,latency_ms,sent_at,response,fingerprint\n"},
		{"jsonl", "out.jsonl", `{"line":2,"id":"a","status":"inflight","http_status":0,"attempts":0,"throttled":0,` +
			`"error":"","message_id":"","latency_ms":0,"sent_at":"2025-03-04T05:06:07.891Z","response":""}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.file)
			w, err := Create(path, Options{Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			want := nastyRows()
			for _, r := range want {
				if r.Status == sender.StatusInFlight {
					err = w.Begin(&sender.Message{Line: r.Line, ID: r.ID})
				} else {
					res := sender.Result{Line: r.Line, ID: r.ID, Status: r.Status, HTTPStatus: r.HTTPStatus,
						Attempts: r.Attempts, Throttled: r.Throttled, Error: r.Error, MessageID: r.MessageID,
						Latency: time.Duration(r.LatencyMS) * time.Millisecond, Response: r.Response}
					if r.SentAt != "" {
						res.SentAt = fixedNow()
					}
					err = w.Record(&res)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(data), tt.header) {
				t.Errorf("report starts\n%.200s\nwant prefix\n%s", data, tt.header)
			}
			got, err := readAll(t, data, FormatFromName(path))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("read back\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}
