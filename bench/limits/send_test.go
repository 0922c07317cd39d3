package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestReadReportSent(t *testing.T) {
	const header = "line,id,status,http_status,attempts,throttled,error,message_id,latency_ms,sent_at,response\n"
	tests := []struct {
		name    string
		in      string
		want    int
		wantErr bool
	}{
		{"header only", header, 0, false},
		{"mixed statuses", header +
			"2,a,sent,200,1,0,,m1,1,2026-03-01T12:00:00Z,\"{\"\"id\"\":\"\"m1\"\"}\"\n" +
			"3,b,failed,500,6,0,boom,,1,,\n" +
			"4,c,sent,200,2,1,,m2,1,2026-03-01T12:00:00Z,\n" +
			"5,d,unknown,,1,0,cut,,,,\n", 2, false},
		{"status column moved", "status,id\nsent,a\nsent,b\nskipped,c\n", 2, false},
		{"BOM before header", "\ufeffstatus,id\nsent,a\n", 1, false},
		{"short row", "id,status\na\nb,sent\n", 1, false},
		{"quoted newline in response", header + "2,a,sent,200,1,0,,m1,1,x,\"multi\nline\"\n", 1, false},
		{"status is exact", "status\nSENT\nsent \nsent\n", 1, false},
		{"empty input", "", 0, true},
		{"no status column", "line,id\n2,a\n", 0, true},
		{"bad quoting", "status\n\"sent\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readReport(strings.NewReader(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("readReport error = %v, wantErr %v", err, tt.wantErr)
			}
			if got.Sent != tt.want {
				t.Errorf("readReport sent = %d, want %d", got.Sent, tt.want)
			}
		})
	}
}

// TestReadReportFirst: the run's first request is the earliest sent_at of
// any row, sent or not; rows never sent and unreadable times are left out.
func TestReadReportFirst(t *testing.T) {
	const header = "line,id,status,http_status,attempts,throttled,error,message_id,latency_ms,sent_at,response\n"
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"earliest, not the first line", header +
			"2,a,sent,200,1,0,,m1,1,2026-03-01T12:00:00.250Z,\n" +
			"3,b,unknown,,1,0,cut,,,2026-03-01T12:00:00.125Z,\n" +
			"4,c,failed,500,1,0,boom,,1,,\n", "2026-03-01T12:00:00.125Z"},
		{"offsets are times", "sent_at,status\n2026-03-01T13:00:00.010+01:00,sent\n2026-03-01T12:00:00.020Z,sent\n", "2026-03-01T12:00:00.010Z"},
		{"unreadable left out", "status,sent_at\nsent,yesterday\nsent,2026-03-01T12:00:01Z\n", "2026-03-01T12:00:01Z"},
		{"none sent", header + "2,a,skipped,,0,0,,,,,\n", ""},
		{"no sent_at column", "status\nsent\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readReport(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			var want time.Time
			if tt.want != "" {
				want, _ = time.Parse(time.RFC3339Nano, tt.want)
			}
			if !got.First.Equal(want) {
				t.Errorf("first = %v, want %v", got.First, want)
			}
		})
	}
}

func FuzzReadReport(f *testing.F) {
	for _, s := range []string{"", "status\nsent\n", "id,status\na,sent\nb,failed\n", "status\n\"sent\n", "\ufeffstatus\r\nsent\r\n", "a,b\n1\n1,2,3\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := readReport(strings.NewReader(in))
		if n := got.Sent; n < 0 || n > strings.Count(in, "sent") {
			t.Errorf("readReport sent = %d, %v for %q: more than the word appears", n, err, in)
		}
		if !got.First.IsZero() && strings.Count(in, "sent_at") == 0 {
			t.Errorf("readReport first = %v for %q: no sent_at column", got.First, in)
		}
	})
}

func TestSendArgs(t *testing.T) {
	tests := []struct {
		mode     string
		wantRate bool
	}{
		{modeAdaptive, false},
		{modeFixed, true},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			args := sendArgs(tt.mode, "rows.csv", "http://127.0.0.1:1", "r.csv")
			want := []string{"send", "rows.csv", "--url", "http://127.0.0.1:1/send", "--body", bodyTemplate, "--report", "r.csv", "--json", "--quiet"}
			if tt.wantRate {
				want = append(want, "--rate", "100/s", "--burst", "15")
			}
			if !slices.Equal(args, want) {
				t.Errorf("sendArgs = %q, want %q", args, want)
			}
		})
	}
}

func TestTrialFinish(t *testing.T) {
	tests := []struct {
		name          string
		in            trial
		wall          time.Duration
		wantDelivered string
		wantOnce      bool
		wantEff       float64
		wantShare     float64
		wantDropped   int
	}{
		{"perfect", trial{Mode: modeFixed, Acked: 400, Server: serverStats{Requests: 400, Distinct: 400, Delivered: 400}},
			3850 * time.Millisecond, "400/400", true, 1, 0, 0},
		{"duplicates", trial{Mode: modeAdaptive, Acked: 400, Server: serverStats{Requests: 410, Distinct: 397, Delivered: 399, Duplicates: 2, Throttled: 10}},
			7700 * time.Millisecond, "397/400 (2 dup), report says 400 sent", false, 0.5, 0.0244, 0},
		{"report short", trial{Mode: modeFixed, Acked: 399, Server: serverStats{Requests: 400, Distinct: 400, Delivered: 400}},
			3850 * time.Millisecond, "400/400, report says 399 sent", false, 1, 0, 0},
		{"naive drops", trial{Mode: modeNaive, Acked: 100, Server: serverStats{Requests: 1000, Distinct: 100, Delivered: 100, Throttled: 900}},
			time.Second, "100/400", false, 3.85, 0.9, 300},
		{"no requests", trial{Mode: modeAdaptive}, time.Second, "0/400", false, 3.85, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := tt.in
			tr.finish(400, tt.wall, idealSeconds(400))
			if tr.Delivered != tt.wantDelivered || tr.DeliveredOnce != tt.wantOnce || tr.Efficiency != tt.wantEff ||
				tr.ThrottledShare != tt.wantShare || tr.Dropped != tt.wantDropped {
				t.Errorf("finish = delivered %q once %v eff %v share %v dropped %d; want %q %v %v %v %d",
					tr.Delivered, tr.DeliveredOnce, tr.Efficiency, tr.ThrottledShare, tr.Dropped,
					tt.wantDelivered, tt.wantOnce, tt.wantEff, tt.wantShare, tt.wantDropped)
			}
		})
	}
}
