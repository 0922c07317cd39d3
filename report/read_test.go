package report

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/bulksend/bulksend/sender"
)

const csvHeader = "line,id,status,http_status,attempts,throttled,error,message_id,latency_ms,sent_at,response\n"

func TestRead(t *testing.T) {
	tests := []struct {
		name    string
		format  Format
		in      string
		want    []int  // lines of the rows read
		wantErr string // substring; "" means no error
	}{
		{"csv empty", FormatCSV, "", nil, ""},
		{"csv header only", FormatCSV, csvHeader, nil, ""},
		{"csv rows", FormatCSV, csvHeader + "2,a,sent,200,1,0,,,5,,\n3,b,failed,500,5,1,x,,5,,\n", []int{2, 3}, ""},
		{"csv crlf", FormatCSV, strings.ReplaceAll(csvHeader, "\n", "\r\n") + "2,a,sent,200,1,0,,,5,,\r\n", []int{2}, ""},
		{"csv columns reordered and extra", FormatCSV, "status,line,extra,id,http_status,attempts,throttled,error," +
			"message_id,latency_ms,sent_at,response\nsent,2,?,a,200,1,0,,,5,,\n", []int{2}, ""},
		{"csv truncated last record", FormatCSV, csvHeader + "2,a,sent,200,1,0,,,5,,\n3,b,fai", []int{2}, ""},
		{"csv last record without newline", FormatCSV, csvHeader + "2,a,sent,200,1,0,,,5,,\n3,b,failed,500,5,1,x,,5,,", []int{2}, ""},
		{"csv last record cut in quoted newline", FormatCSV, csvHeader + "2,a,sent,200,1,0,,,5,,\n3,b,failed,500,5,1,\"x\n", []int{2}, ""},
		{"csv partial header", FormatCSV, "line,id,stat", nil, ""},
		{"csv ragged middle", FormatCSV, csvHeader + "2,a,sent\n3,b,failed,500,5,1,x,,5,,\n", nil, "out:2: wrong number of fields"},
		{"csv bad number middle", FormatCSV, csvHeader + "2,a,sent,abc,1,0,,,5,,\n3,b,sent,200,1,0,,,5,,\n", nil, "out:2: "},
		{"csv bad status middle", FormatCSV, csvHeader + "2,a,snet,200,1,0,,,5,,\n3,b,sent,200,1,0,,,5,,\n", nil, `out:2: line 2: unknown status "snet"`},
		{"csv bare quote middle", FormatCSV, csvHeader + "2,a\"b,sent,200,1,0,,,5,,\n3,b,sent,200,1,0,,,5,,\n", nil, "out:2: bare \""},
		{"csv multi-line record then bad", FormatCSV, csvHeader + "2,a,sent,200,1,0,\"x\ny\",,5,,\n4,b,sent\n5,c,sent,200,1,0,,,5,,\n", []int{2}, "out:4: wrong number"},
		{"csv header lacks columns", FormatCSV, "line,id\n2,a\n", nil, "out:1: header lacks columns status, http_status"},
		{"csv not a header then rows", FormatCSV, "\"oops\n", nil, ""},
		{"jsonl rows and blank line", FormatJSONL, `{"line":2,"id":"a","status":"sent"}` + "\n\n" + `{"line":4,"id":"b","status":"unknown"}` + "\n", []int{2, 4}, ""},
		{"jsonl truncated last", FormatJSONL, `{"line":2,"id":"a","status":"sent"}` + "\n" + `{"line":3,"id":"b","sta`, []int{2}, ""},
		{"jsonl complete last without newline", FormatJSONL, `{"line":2,"id":"a","status":"sent"}` + "\n" + `{"line":3,"id":"b","status":"sent"}`, []int{2}, ""},
		{"jsonl corrupt middle", FormatJSONL, `{"line":2,"id":"a","status":"sent"}` + "\n{\"line\":3,\n" + `{"line":4,"id":"b","status":"sent"}` + "\n", []int{2}, "out:2: "},
		{"jsonl line zero middle", FormatJSONL, "{}\n" + `{"line":4,"id":"b","status":"sent"}` + "\n", nil, "out:1: line 0 is not a row number"},
		{"jsonl null middle", FormatJSONL, "null\n" + `{"line":4,"id":"b","status":"sent"}` + "\n", nil, "out:1: "},
		{"unknown format", "xml", "", nil, `out: unknown report format "xml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			rows, err := readAll(t, []byte(tt.in), tt.format)
			for _, r := range rows {
				got = append(got, r.Line)
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("lines %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReadCallbackError(t *testing.T) {
	stop := errors.New("stop")
	in := csvHeader + "2,a,sent,200,1,0,,,5,,\n3,b,sent,200,1,0,,,5,,\n"
	n := 0
	err := Read(strings.NewReader(in), "out", FormatCSV, func(Row) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("Read = %v after %d rows, want fn's error as is after 1", err, n)
	}
}

func TestReadIOError(t *testing.T) {
	disk := errors.New("disk gone")
	for _, format := range []Format{FormatCSV, FormatJSONL} {
		t.Run(string(format), func(t *testing.T) {
			err := Read(&errAfter{r: strings.NewReader(csvHeader), err: disk}, "out", format, func(Row) error { return nil })
			if !errors.Is(err, disk) {
				t.Errorf("Read = %v, want %v", err, disk)
			}
		})
	}
}

// errAfter returns err once its reader is exhausted: a disk failing mid-read.
type errAfter struct {
	r   interface{ Read([]byte) (int, error) }
	err error
}

func (e *errAfter) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil {
		return n, e.err
	}
	return n, nil
}

// FuzzRead feeds arbitrary bytes to both decoders: Read must never panic,
// must only hand out rows that pass the writer's own check, and must name
// the file and a line in its errors. Every row it accepts must survive a
// write and a second read unchanged.
func FuzzRead(f *testing.F) {
	f.Add([]byte(csvHeader+"2,a,sent,200,1,0,,,5,,\n3,b,fai"), false)
	f.Add([]byte(csvHeader+"2,a,sent,200,1,0,\"x\n\"\"y\",,5,,\n4,b,sent\n"), false)
	f.Add([]byte(`{"line":2,"id":"a","status":"sent"}`+"\n"+`{"line":3,"id":"b","sta`), true)
	f.Add([]byte("{}\n\n{\"line\":1e3}\n"), true)
	f.Add(encodeRows(f, FormatCSV, nastyRows()), false)
	f.Add(encodeRows(f, FormatJSONL, nastyRows()), true)
	f.Add([]byte(strings.TrimSuffix(csvHeader, "\n")+",fingerprint\n2,a,sent,200,1,0,,,5,,,0123456789abcdef0123456789abcdef\n3,b,unknown,0,1,0,,,0,,,zz\n"), false)
	f.Add([]byte(`{"line":2,"id":"a","status":"sent","fingerprint":"0123456789abcdef0123456789abcdef"}`+"\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, jsonl bool) {
		format := FormatCSV
		if jsonl {
			format = FormatJSONL
		}
		rows, err := readAll(t, data, format)
		if err != nil && !strings.HasPrefix(err.Error(), "out:") {
			t.Fatalf("error does not name the file: %v", err)
		}
		for _, r := range rows {
			if err := r.check(); err != nil {
				t.Fatalf("accepted an invalid row: %v", err)
			}
		}
		if err != nil {
			return
		}
		// Written with every optional column, so a column the input had
		// (segments, fingerprint, delivery) survives the second read.
		again, err := readAll(t, encodeAllColumns(t, format, rows), format)
		if err != nil {
			t.Fatalf("rows read back from their own encoding: %v", err)
		}
		for i := range rows {
			if format == FormatCSV {
				// encoding/csv reads a quoted "\r\n" as "\n".
				rows[i].ID = crlf(rows[i].ID)
				rows[i].Error = crlf(rows[i].Error)
				rows[i].MessageID = crlf(rows[i].MessageID)
				rows[i].SentAt = crlf(rows[i].SentAt)
				rows[i].Response = crlf(rows[i].Response)
				rows[i].Status = sender.Status(crlf(string(rows[i].Status)))
			}
		}
		if !reflect.DeepEqual(again, rows) {
			t.Fatalf("second read\n%+v\nwant\n%+v", again, rows)
		}
	})
}

// encodeAllColumns is encodeRows with every optional CSV column.
func encodeAllColumns(t testing.TB, format Format, rows []Row) []byte {
	t.Helper()
	enc := newEncoder(format)
	if format == FormatCSV {
		enc.cols = columns{segments: true, fingerprint: true, delivery: true}
	}
	if err := enc.header(); err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if err := enc.encode(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	return enc.buf.Bytes()
}

func crlf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }
