package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulksend/bulksend/sender"
)

var mergeT0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// mergeSent is a sent result for line, with every column filled.
func mergeSent(line int, id string) *sender.Result {
	return &sender.Result{Line: line, ID: id, Status: sender.StatusSent, HTTPStatus: 200, Attempts: 1,
		MessageID: "m-" + id, Latency: 12 * time.Millisecond, SentAt: mergeT0.Add(time.Duration(line) * time.Second),
		Response: `{"id":"m-` + id + `"}`}
}

// writeShard writes results as a report (its format by extension); a nil
// result stands for an in-flight row of the next one.
func writeShard(t *testing.T, path string, results ...*sender.Result) {
	t.Helper()
	w, err := Create(path, Options{Now: func() time.Time { return mergeT0 }})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r == nil {
			next := results[i+1]
			err = w.Begin(&sender.Message{Line: next.Line, ID: next.ID, IdempotencyKey: "k"})
		} else {
			err = w.Record(r)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// dirNames lists dir's entries, to catch temp files and locks left behind.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestMerge(t *testing.T) {
	invalid := &sender.Result{Line: 4, ID: "4", Status: sender.StatusInvalid, Error: "in.csv:4: bad row"}
	failed := &sender.Result{Line: 3, ID: "c", Status: sender.StatusFailed, HTTPStatus: 400, Attempts: 1, Error: "HTTP 400"}
	tests := []struct {
		name       string
		inputs     map[string][]*sender.Result
		out        string
		outExists  bool
		overwrite  bool
		partial    bool
		wantLines  []int
		wantIDs    []string
		wantCounts map[sender.Status]int
		wantErr    string
		wantIs     error
	}{
		{name: "two csv shards, sorted by line",
			inputs: map[string][]*sender.Result{"s1.csv": {mergeSent(5, "e"), mergeSent(1, "a"), failed}, "s2.csv": {mergeSent(2, "b"), invalid}},
			out:    "all.csv", wantLines: []int{1, 2, 3, 4, 5}, wantIDs: []string{"a", "b", "c", "4", "e"},
			wantCounts: map[sender.Status]int{sender.StatusSent: 3, sender.StatusFailed: 1, sender.StatusInvalid: 1}},
		{name: "jsonl and csv in, jsonl out",
			inputs: map[string][]*sender.Result{"s1.jsonl": {mergeSent(2, "b")}, "s2.csv": {mergeSent(1, "a")}},
			out:    "all.jsonl", wantLines: []int{1, 2}, wantIDs: []string{"a", "b"}},
		{name: "with Partial, a journal counts by its last row",
			inputs: map[string][]*sender.Result{"s1.csv": {nil, mergeSent(1, "a"), nil, mergeSent(3, "c")}, "s2.csv": {nil, mergeSent(2, "b")}},
			out:    "all.csv", partial: true, wantLines: []int{1, 2, 3}, wantIDs: []string{"a", "b", "c"}},
		{name: "the same row twice is no conflict",
			inputs: map[string][]*sender.Result{"s1.csv": {mergeSent(1, "a"), invalid}, "s2.csv": {mergeSent(1, "a"), invalid}},
			out:    "all.csv", wantLines: []int{1, 4}, wantIDs: []string{"a", "4"}},
		{name: "different rows for one line are refused",
			inputs: map[string][]*sender.Result{"s1.csv": {mergeSent(1, "a")}, "s2.csv": {mergeSent(1, "z")}},
			out:    "all.csv", wantErr: `merge reports: line 1: `},
		{name: "an existing OUT needs Overwrite",
			inputs: map[string][]*sender.Result{"s1.csv": {mergeSent(1, "a")}},
			out:    "all.csv", outExists: true, wantErr: "all.csv", wantIs: ErrExists},
		{name: "Overwrite replaces OUT",
			inputs: map[string][]*sender.Result{"s1.csv": {mergeSent(1, "a")}, "s2.csv": {mergeSent(2, "b")}},
			out:    "all.csv", outExists: true, overwrite: true, wantLines: []int{1, 2}, wantIDs: []string{"a", "b"}},
		{name: "OUT may be one of the inputs",
			inputs: map[string][]*sender.Result{"s1.csv": {mergeSent(1, "a")}, "s2.csv": {mergeSent(2, "b")}},
			out:    "s1.csv", wantLines: []int{1, 2}, wantIDs: []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var inputs []string
			for name, results := range tt.inputs {
				writeShard(t, filepath.Join(dir, name), results...)
				inputs = append(inputs, filepath.Join(dir, name))
			}
			slices.Sort(inputs)
			out := filepath.Join(dir, tt.out)
			if tt.outExists {
				writeShard(t, out, mergeSent(9, "old"))
			}
			res, err := Merge(context.Background(), MergeOptions{Out: out, Inputs: inputs, Overwrite: tt.overwrite, Partial: tt.partial})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || (tt.wantIs != nil && !errors.Is(err, tt.wantIs)) {
					t.Fatalf("Merge: %v, want %q (is %v)", err, tt.wantErr, tt.wantIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var lines []int
			var ids []string
			for _, r := range fileRows(t, out) {
				lines, ids = append(lines, r.Line), append(ids, r.ID)
			}
			if !slices.Equal(lines, tt.wantLines) || !slices.Equal(ids, tt.wantIDs) {
				t.Errorf("merged lines %v ids %v, want %v %v", lines, ids, tt.wantLines, tt.wantIDs)
			}
			if res.Rows != len(tt.wantLines) {
				t.Errorf("Rows = %d, want %d", res.Rows, len(tt.wantLines))
			}
			if tt.wantCounts != nil && fmt.Sprint(res.Counts) != fmt.Sprint(tt.wantCounts) {
				t.Errorf("Counts = %v, want %v", res.Counts, tt.wantCounts)
			}
			left, _ := filepath.Glob(filepath.Join(dir, "*.merge-*"))
			locks, _ := filepath.Glob(filepath.Join(dir, "*.lock"))
			if len(left)+len(locks) > 0 {
				t.Errorf("left behind %v %v", left, locks)
			}
		})
	}
}

// TestMergeKeepsEveryColumn: a row comes out of the merge as it went in.
func TestMergeKeepsEveryColumn(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "s1.csv"), filepath.Join(dir, "all.jsonl")
	r := mergeSent(7, "g")
	r.Throttled, r.Attempts, r.Error = 2, 3, `quoted "text", with a comma`
	writeShard(t, in, r)
	if _, err := Merge(context.Background(), MergeOptions{Out: out, Inputs: []string{in}}); err != nil {
		t.Fatal(err)
	}
	got, want := fileRows(t, out), fileRows(t, in)
	if !slices.Equal(got, want) {
		t.Errorf("merged %+v, want %+v", got, want)
	}
}

func TestMergeRefusesWhatItCannotRead(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, in string) (release func() error)
		wantErr string
		wantIs  error
	}{
		{name: "missing input", setup: func(t *testing.T, in string) func() error {
			os.Remove(in)
			return nil
		}, wantErr: "no such file", wantIs: os.ErrNotExist},
		{name: "input in use by a running send", setup: func(t *testing.T, in string) func() error {
			release, err := Lock(in)
			if err != nil {
				t.Fatal(err)
			}
			return release
		}, wantErr: "locked", wantIs: ErrLocked},
		{name: "damaged input", setup: func(t *testing.T, in string) func() error {
			if err := os.WriteFile(in, []byte("line,id\nnot,a,report\n1,a\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return nil
		}, wantErr: "s1.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "s1.csv")
			writeShard(t, in, mergeSent(1, "a"))
			if release := tt.setup(t, in); release != nil {
				defer release()
			}
			_, err := Merge(context.Background(), MergeOptions{Out: filepath.Join(dir, "all.csv"), Inputs: []string{in}})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || (tt.wantIs != nil && !errors.Is(err, tt.wantIs)) {
				t.Fatalf("Merge: %v, want an error mentioning %q (is %v)", err, tt.wantErr, tt.wantIs)
			}
			if _, err := os.Stat(filepath.Join(dir, "all.csv")); err == nil {
				t.Error("a failed merge wrote OUT")
			}
		})
	}
}

// TestMergeSpills: with a tiny sort chunk the references go through
// extsort's temp file in many runs, and the merge must still give one row
// per line, sorted, each input's last, with conflicts found across runs.
// The inputs are journals of killed runs, so it merges with Partial.
func TestMergeSpills(t *testing.T) {
	retried := &sender.Result{Line: 3, ID: "c", Status: sender.StatusFailed, HTTPStatus: 503, Attempts: 3, Error: "HTTP 503"}
	inputs := map[string][]*sender.Result{
		"s1.csv":   {nil, mergeSent(9, "i"), retried, nil, mergeSent(3, "c"), nil, mergeSent(1, "a"), mergeSent(7, "g")},
		"s2.jsonl": {mergeSent(8, "h"), nil, mergeSent(2, "b"), mergeSent(6, "f"), nil, mergeSent(4, "d")},
		"s3.csv":   {mergeSent(5, "e"), mergeSent(3, "c"), mergeSent(7, "g")}, // lines 3 and 7 agree with s1
	}
	conflict := mergeSent(6, "f")
	conflict.Attempts = 2
	tests := []struct {
		name    string
		extra   []*sender.Result // appended to s3.csv
		chunk   int
		spilled bool
		wantErr string
	}{
		{name: "in memory", chunk: 0},
		{name: "chunk of one", chunk: 1, spilled: true},
		{name: "chunk of two", chunk: 2, spilled: true},
		{name: "chunk of five", chunk: 5, spilled: true},
		{name: "conflict across runs", chunk: 1, extra: []*sender.Result{conflict},
			wantErr: `line 6: s2.jsonl has sent for id "f", s3.csv has sent for id "f": these are not reports of shards of one run`},
		{name: "conflict in memory", chunk: 0, extra: []*sender.Result{conflict},
			wantErr: `line 6: s2.jsonl has sent for id "f", s3.csv has sent for id "f"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var paths []string
			for _, name := range []string{"s1.csv", "s2.jsonl", "s3.csv"} {
				results := inputs[name]
				if name == "s3.csv" {
					results = append(slices.Clone(results), tt.extra...)
				}
				writeShard(t, filepath.Join(dir, name), results...)
				paths = append(paths, filepath.Join(dir, name))
			}
			before := dirNames(t, dir)
			out := filepath.Join(dir, "all.csv")
			res, err := Merge(context.Background(), MergeOptions{Out: out, Inputs: paths, Partial: true, chunk: tt.chunk})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""), tt.wantErr) {
					t.Fatalf("Merge: %v, want %q", err, tt.wantErr)
				}
				if got := dirNames(t, dir); !slices.Equal(got, before) {
					t.Errorf("a failed merge left %v, had %v", got, before)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.spilled != tt.spilled {
				t.Errorf("spilled = %v, want %v", res.spilled, tt.spilled)
			}
			var lines []int
			for _, r := range fileRows(t, out) {
				lines = append(lines, r.Line)
				if r.Line == 3 && r.Status != sender.StatusSent {
					t.Errorf("line 3 is %s, want its last row, sent", r.Status)
				}
			}
			if want := []int{1, 2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(lines, want) {
				t.Errorf("merged lines %v, want %v", lines, want)
			}
			if res.Rows != 9 || res.Counts[sender.StatusSent] != 9 {
				t.Errorf("result %+v, want 9 rows, all sent", res)
			}
			if got, want := dirNames(t, dir), slices.Sorted(slices.Values(append(before, "all.csv"))); !slices.Equal(got, want) {
				t.Errorf("left %v, want %v", got, want)
			}
		})
	}
}

// TestMergeLeavesNoTempFiles: every way a merge can end removes its temp
// files (rows, sort runs, the half-written OUT) and locks. The first input
// is a killed run's journal: without Partial it is refused.
func TestMergeLeavesNoTempFiles(t *testing.T) {
	cancelled := func() context.Context {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx
	}
	tests := []struct {
		name    string
		second  string // the second input's content; "" for a good report
		ctx     func() context.Context
		rows    int // rows in the first input, past the first line
		wantErr string
	}{
		{name: "success"},
		{name: "the second input is damaged", second: "line,id\nnot,a,report\n1,a\n", wantErr: "s2.csv"},
		{name: "conflict", second: "line,id,status,http_status,attempts,throttled,error,message_id,latency_ms,sent_at,response\n1,zz,sent,200,1,0,,,0,,\n",
			wantErr: "line 1: "},
		{name: "cancelled", ctx: cancelled, rows: 2 * mergeCheckEvery, wantErr: context.Canceled.Error()},
		{name: "unfinished", wantErr: "s1.csv is unfinished"},
	}
	for _, tt := range tests {
		for _, chunk := range []int{0, 1} {
			t.Run(fmt.Sprintf("%s/chunk %d", tt.name, chunk), func(t *testing.T) {
				dir := t.TempDir()
				s1, s2 := filepath.Join(dir, "s1.csv"), filepath.Join(dir, "s2.csv")
				first := []*sender.Result{nil, mergeSent(1, "a"), mergeSent(3, "c")}
				for i := range tt.rows {
					first = append(first, mergeSent(4+i, "x"+fmt.Sprint(i)))
				}
				writeShard(t, s1, first...)
				writeShard(t, s2, mergeSent(2, "b"))
				if tt.second != "" {
					if err := os.WriteFile(s2, []byte(tt.second), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				ctx := context.Background()
				if tt.ctx != nil {
					ctx = tt.ctx()
				}
				_, err := Merge(ctx, MergeOptions{Out: filepath.Join(dir, "all.csv"), Inputs: []string{s1, s2}, Partial: tt.name != "unfinished", chunk: chunk})
				want := []string{"all.csv", "s1.csv", "s2.csv"}
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("Merge: %v, want %q", err, tt.wantErr)
					}
					want = want[1:]
				} else if err != nil {
					t.Fatal(err)
				}
				if got := dirNames(t, dir); !slices.Equal(got, want) {
					t.Errorf("left %v, want %v", got, want)
				}
			})
		}
	}
}

// TestMergeUnfinished: a report whose run did not finish (several rows for
// a line: never compacted; or rows in flight) is refused, every such input
// named, unless Partial, which merges it by its last rows and lists it.
func TestMergeUnfinished(t *testing.T) {
	inFlight := func(line int, id string) *sender.Result {
		return &sender.Result{Line: line, ID: id, Status: sender.StatusInFlight}
	}
	done := []*sender.Result{mergeSent(2, "b")}
	tests := []struct {
		name      string
		s1, s2    []*sender.Result
		partial   bool
		want      []Unfinished // with the file names only
		wantLines []int        // with Partial
	}{
		{name: "finished reports", s1: []*sender.Result{mergeSent(1, "a"), mergeSent(3, "c")}, s2: done,
			wantLines: []int{1, 2, 3}},
		{name: "killed before its run compacted it", s1: []*sender.Result{nil, mergeSent(1, "a"), nil, mergeSent(3, "c")}, s2: done,
			want: []Unfinished{{Report: "s1.csv"}}},
		{name: "killed with a row in flight", s1: []*sender.Result{nil, mergeSent(1, "a"), inFlight(3, "c")}, s2: done,
			want: []Unfinished{{Report: "s1.csv", InFlight: 1}}},
		{name: "stopped with rows in flight, compacted", s1: []*sender.Result{inFlight(1, "a"), inFlight(3, "c")}, s2: done,
			want: []Unfinished{{Report: "s1.csv", Compacted: true, InFlight: 2}}},
		{name: "every unfinished input is named", s1: []*sender.Result{nil, mergeSent(1, "a")}, s2: []*sender.Result{inFlight(2, "b")},
			want: []Unfinished{{Report: "s1.csv"}, {Report: "s2.csv", Compacted: true, InFlight: 1}}},
		{name: "Partial merges by the last rows", s1: []*sender.Result{nil, mergeSent(1, "a"), inFlight(3, "c")}, s2: done, partial: true,
			want: []Unfinished{{Report: "s1.csv", InFlight: 1}}, wantLines: []int{1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s1, s2, out := filepath.Join(dir, "s1.csv"), filepath.Join(dir, "s2.csv"), filepath.Join(dir, "all.csv")
			writeShard(t, s1, tt.s1...)
			writeShard(t, s2, tt.s2...)
			res, err := Merge(context.Background(), MergeOptions{Out: out, Inputs: []string{s1, s2}, Partial: tt.partial})
			var unfinished *UnfinishedError
			got := res.Unfinished
			if errors.As(err, &unfinished) {
				got = unfinished.Reports
			} else if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				got[i].Report = filepath.Base(got[i].Report)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("unfinished %+v, want %+v", got, tt.want)
			}
			if (unfinished != nil) != (len(tt.want) > 0 && !tt.partial) {
				t.Fatalf("Merge: %v, want a refusal: %v", err, len(tt.want) > 0 && !tt.partial)
			}
			if unfinished != nil {
				if _, err := os.Stat(out); err == nil {
					t.Error("a refused merge wrote OUT")
				}
				return
			}
			var lines []int
			for _, r := range fileRows(t, out) {
				lines = append(lines, r.Line)
			}
			if !slices.Equal(lines, tt.wantLines) {
				t.Errorf("merged lines %v, want %v", lines, tt.wantLines)
			}
		})
	}
}

func TestUnfinishedError(t *testing.T) {
	err := &UnfinishedError{Reports: []Unfinished{{Report: "s1.csv"}, {Report: "s2.csv", Compacted: true, InFlight: 1},
		{Report: "s3.csv", InFlight: 3}}}
	want := "s1.csv is unfinished (its run was killed before it finished); s2.csv is unfinished (1 row in flight); " +
		"s3.csv is unfinished (its run was killed before it finished, 3 rows in flight)"
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestRowCodec(t *testing.T) {
	full := Row{Line: 1 << 40, ID: "+1555\xff,\"x\"", Status: sender.StatusFailed, HTTPStatus: 503, Attempts: 3,
		Throttled: -1, Error: "a\nb", MessageID: "m", LatencyMS: -7, SentAt: "2026-11-27T12:00:00.000Z", Response: strings.Repeat("r", 300)}
	good := appendRow(nil, &full)
	tests := []struct {
		name    string
		data    []byte
		want    Row
		wantErr bool
	}{
		{name: "every field", data: good, want: full},
		{name: "empty strings", data: appendRow(nil, &Row{Line: 1}), want: Row{Line: 1}},
		{name: "nothing", data: nil, wantErr: true},
		{name: "cut", data: good[:len(good)-1], wantErr: true},
		{name: "trailing bytes", data: append(slices.Clone(good), 0), wantErr: true},
		{name: "length past the end", data: []byte{2, 0, 0, 0, 0, 0x7f}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeRow(tt.data)
			if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
				t.Errorf("decodeRow = %+v, %v; want %+v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// FuzzRowCodec: any row survives the row heap's encoding byte for byte,
// and decoding any bytes fails cleanly rather than panicking.
func FuzzRowCodec(f *testing.F) {
	f.Add(int64(1), "id", "sent", "err,\"q\"\n", "resp", int64(12), []byte{2, 0, 0, 0, 0, 0})
	f.Add(int64(-5), "\xff", "", "", "", int64(-1), []byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, n int64, id, status, text, resp string, latency int64, raw []byte) {
		r := Row{Line: int(n), ID: id, Status: sender.Status(status), HTTPStatus: int(n >> 3), Attempts: int(latency),
			Throttled: int(n), Error: text, MessageID: text + id, LatencyMS: latency, SentAt: status, Response: resp}
		got, err := decodeRow(appendRow(nil, &r))
		if err != nil || got != r {
			t.Fatalf("decodeRow(appendRow(%+v)) = %+v, %v", r, got, err)
		}
		if got, err := decodeRow(raw); err == nil && !bytes.Equal(appendRow(nil, &got), raw) {
			t.Errorf("decodeRow(%x) = %+v, which encodes differently", raw, got)
		}
	})
}

// TestMergeKeepsDeliveryColumns: a shard that `bulksend status` has
// updated keeps its delivery columns in the merged report, in either
// format, beside a shard that has none.
func TestMergeKeepsDeliveryColumns(t *testing.T) {
	for _, ext := range []string{".csv", ".jsonl"} {
		t.Run(ext, func(t *testing.T) {
			dir := t.TempDir()
			s1, s2, out := filepath.Join(dir, "s1.csv"), filepath.Join(dir, "s2.csv"), filepath.Join(dir, "all"+ext)
			writeShard(t, s1, mergeSent(2, "a"))
			writeShard(t, s2, mergeSent(3, "b"))
			err := UpdateDelivery(s1, FormatCSV, func(r *Row) {
				r.DeliveryStatus, r.DeliveryError, r.DeliveryAt = "undelivered", "30003 unreachable", "2026-11-27T12:00:00Z"
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Merge(context.Background(), MergeOptions{Out: out, Inputs: []string{s1, s2}}); err != nil {
				t.Fatal(err)
			}
			got := map[int]Row{}
			if err := readFile(out, FormatFromName(out), func(r Row) error { got[r.Line] = r; return nil }); err != nil {
				t.Fatal(err)
			}
			if r := got[2]; r.DeliveryStatus != "undelivered" || r.DeliveryError != "30003 unreachable" || r.DeliveryAt != "2026-11-27T12:00:00Z" {
				t.Errorf("line 2 merged as %q %q %v, want its delivery columns", r.DeliveryStatus, r.DeliveryError, r.DeliveryAt)
			}
			if r := got[3]; r.DeliveryStatus != "" || r.ID != "b" {
				t.Errorf("line 3 merged as %+v", r)
			}
		})
	}
}
