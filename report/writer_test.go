package report

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulksend/bulksend/sender"
)

func TestWriterConcurrent(t *testing.T) {
	for _, file := range []string{"out.csv", "out.jsonl"} {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), file)
			w, err := Create(path, Options{SyncInterval: time.Millisecond, Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			const workers, each = 8, 150
			var wg sync.WaitGroup
			for g := range workers {
				wg.Go(func() {
					for i := range each {
						line := 2 + g*each + i
						id := fmt.Sprintf("id-%d", line)
						if err := w.Begin(&sender.Message{Line: line, ID: id}); err != nil {
							t.Error(err)
							return
						}
						r := sender.Result{Line: line, ID: id, Status: sender.StatusSent, Attempts: 1,
							Response: "a,\"b\"\nc"}
						if err := w.Record(&r); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := readAll(t, data, FormatFromName(path))
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2*workers*each {
				t.Fatalf("read %d rows, want %d", len(rows), 2*workers*each)
			}
			seen := map[int]sender.Status{}
			for _, r := range rows {
				if r.ID != fmt.Sprintf("id-%d", r.Line) || r.Response != "" && r.Response != "a,\"b\"\nc" {
					t.Fatalf("garbled row %+v", r)
				}
				if prev := seen[r.Line]; r.Status == sender.StatusSent && prev != sender.StatusInFlight {
					t.Fatalf("line %d: sent before in flight", r.Line)
				}
				seen[r.Line] = r.Status
			}
		})
	}
}

func TestAppend(t *testing.T) {
	csvRows := encodeRows(t, FormatCSV, nastyRows()[:3])
	jsonRows := encodeRows(t, FormatJSONL, nastyRows()[:3])
	csvHeader := "line,id,status,http_status,attempts,throttled,error,message_id,latency_ms,sent_at,response\n"
	tests := []struct {
		name   string
		file   string
		before []byte // nil: no file
		want   int    // rows of nastyRows kept before the appended one
	}{
		{"csv intact", "out.csv", csvRows, 3},
		{"csv cut mid record", "out.csv", csvRows[:len(csvRows)-5], 2},
		{"csv cut after embedded newline", "out.csv", csvRows[:strings.LastIndex(string(csvRows), "line2")], 2},
		{"csv cut before final newline", "out.csv", csvRows[:len(csvRows)-1], 2},
		{"csv partial header", "out.csv", []byte("line,id,sta"), 0},
		{"csv header only", "out.csv", []byte(csvHeader), 0},
		{"csv empty", "out.csv", []byte{}, 0},
		{"csv missing", "out.csv", nil, 0},
		{"jsonl intact", "out.jsonl", jsonRows, 3},
		{"jsonl cut", "out.jsonl", jsonRows[:len(jsonRows)-10], 2},
		{"jsonl cut before final newline", "out.jsonl", jsonRows[:len(jsonRows)-1], 2},
		{"jsonl garbage tail", "out.jsonl", append(append([]byte{}, jsonRows...), 0, 0, 0), 3},
		{"jsonl empty", "out.jsonl", []byte{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.file)
			if tt.before != nil {
				if err := os.WriteFile(path, tt.before, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			w, err := Append(path, Options{Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Begin(&sender.Message{Line: 99, ID: "new"}); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := readAll(t, data, FormatFromName(path))
			if err != nil {
				t.Fatalf("%v\n%s", err, data)
			}
			want := append(nastyRows()[:tt.want:tt.want],
				Row{Line: 99, ID: "new", Status: sender.StatusInFlight, SentAt: "2025-03-04T05:06:07.891Z"})
			if !reflect.DeepEqual(got, want) {
				t.Errorf("after Append\n%+v\nwant\n%+v", got, want)
			}
			if FormatFromName(path) == FormatCSV && strings.Count(string(data), "line,id,") != 1 {
				t.Errorf("want exactly one header:\n%s", data)
			}
		})
	}
}

func TestAppendRejectsCorruptMiddle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	data := append([]byte("{not json\n"), encodeRows(t, FormatJSONL, nastyRows()[:2])...)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Append(path, Options{}); err == nil || !strings.Contains(err.Error(), "out.jsonl:1:") {
		t.Fatalf("Append = %v, want an error naming out.jsonl:1", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(after, data) {
		t.Error("Append changed a file it refused")
	}
}

// countingSync stands in for fsync and reports every call.
type countingSync struct {
	mu    sync.Mutex
	n     int
	calls chan struct{}
	err   error
}

func (c *countingSync) sync() error {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	select {
	case c.calls <- struct{}{}:
	default:
	}
	return c.err
}

func (c *countingSync) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func TestWriterSync(t *testing.T) {
	msg := &sender.Message{Line: 1, ID: "x"}
	t.Run("every write", func(t *testing.T) {
		cs := &countingSync{calls: make(chan struct{}, 10)}
		w := newWriter(&bytes.Buffer{}, "mem", FormatCSV, Options{})
		w.fsync = cs.sync
		w.startSync(-1)
		for range 3 {
			if err := w.Begin(msg); err != nil {
				t.Fatal(err)
			}
		}
		if got := cs.count(); got != 3 {
			t.Errorf("%d syncs after 3 writes, want 3", got)
		}
		w.Close()
		if got := cs.count(); got != 4 {
			t.Errorf("%d syncs after Close, want 4", got)
		}
	})
	t.Run("group commit", func(t *testing.T) {
		cs := &countingSync{calls: make(chan struct{}, 10)}
		w := newWriter(&bytes.Buffer{}, "mem", FormatCSV, Options{})
		w.fsync = cs.sync
		w.startSync(time.Millisecond)
		if err := w.Begin(msg); err != nil {
			t.Fatal(err)
		}
		select {
		case <-cs.calls: // the background sync ran
		case <-time.After(time.Minute):
			t.Fatal("no background sync after a write")
		}
		w.Close()
		if got := cs.count(); got < 2 {
			t.Errorf("%d syncs, want the background one and Close's", got)
		}
	})
	t.Run("idle writer never syncs", func(t *testing.T) {
		cs := &countingSync{calls: make(chan struct{}, 10)}
		w := newWriter(&bytes.Buffer{}, "mem", FormatCSV, Options{})
		w.fsync = cs.sync
		w.startSync(time.Nanosecond)
		w.Close()
		if got := cs.count(); got != 1 {
			t.Errorf("%d syncs, want only Close's", got)
		}
	})
	t.Run("sync error is sticky", func(t *testing.T) {
		boom := errors.New("disk on fire")
		cs := &countingSync{calls: make(chan struct{}, 10), err: boom}
		w := newWriter(&bytes.Buffer{}, "mem", FormatCSV, Options{})
		w.fsync = cs.sync
		w.startSync(-1)
		if err := w.Begin(msg); !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "write report mem: ") {
			t.Fatalf("Begin = %v, want wrapped %v", err, boom)
		}
		if err := w.Record(&sender.Result{Line: 1, Status: sender.StatusSent}); !errors.Is(err, boom) {
			t.Errorf("Record after failure = %v, want %v", err, boom)
		}
		if err := w.Close(); !errors.Is(err, boom) {
			t.Errorf("Close = %v, want %v", err, boom)
		}
	})
}

// failWriter fails every write.
type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestWriterErrors(t *testing.T) {
	boom := errors.New("pipe closed")
	tests := []struct {
		name string
		w    func(t *testing.T) *Writer
		call func(w *Writer) error
		want error  // errors.Is target; nil means any error
		text string // substring of the message
	}{
		{
			name: "header write fails",
			w:    func(t *testing.T) *Writer { return NewWriter(failWriter{boom}, Options{}) },
			call: func(w *Writer) error { return w.Begin(&sender.Message{Line: 1}) },
			want: boom, text: "write report -: pipe closed",
		},
		{
			name: "unknown format",
			w:    func(t *testing.T) *Writer { return NewWriter(&bytes.Buffer{}, Options{Format: "xml"}) },
			call: func(w *Writer) error { return w.Begin(&sender.Message{Line: 1}) },
			text: `unknown report format "xml"`,
		},
		{
			name: "empty status",
			w:    func(t *testing.T) *Writer { return NewWriter(&bytes.Buffer{}, Options{}) },
			call: func(w *Writer) error { return w.Record(&sender.Result{Line: 4}) },
			text: `line 4: unknown status ""`,
		},
		{
			name: "line zero",
			w:    func(t *testing.T) *Writer { return NewWriter(&bytes.Buffer{}, Options{}) },
			call: func(w *Writer) error { return w.Begin(&sender.Message{}) },
			text: "line 0 is not a row number",
		},
		{
			name: "after close",
			w: func(t *testing.T) *Writer {
				w, err := Create(filepath.Join(t.TempDir(), "out.csv"), Options{})
				if err != nil {
					t.Fatal(err)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				return w
			},
			call: func(w *Writer) error { return w.Begin(&sender.Message{Line: 1}) },
			want: os.ErrClosed, text: "write report ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(tt.w(t))
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("got %v, want %v containing %q", err, tt.want, tt.text)
			}
		})
	}
}

func TestCreateErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		open func() (*Writer, error)
		text string
	}{
		{"no such dir", func() (*Writer, error) { return Create(filepath.Join(dir, "nope", "out.csv"), Options{}) },
			"write report " + filepath.Join(dir, "nope", "out.csv")},
		{"bad format", func() (*Writer, error) { return Create(filepath.Join(dir, "out.csv"), Options{Format: "xml"}) },
			"unknown report format"},
		{"append bad format", func() (*Writer, error) { return Append(filepath.Join(dir, "out.csv"), Options{Format: "x"}) },
			"unknown report format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.open(); err == nil || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("got %v, want an error containing %q", err, tt.text)
			}
		})
	}
}

func TestCloseIdempotent(t *testing.T) {
	w, err := Create(filepath.Join(t.TempDir(), "out.jsonl"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := w.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func TestNewWriterStdout(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, Options{Now: fixedNow})
	if err := w.Begin(&sender.Message{Line: 2, ID: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := "line,id,status,http_status,attempts,throttled,error,message_id,latency_ms,sent_at,response,fingerprint\n" +
		"2,a,inflight,0,0,0,,,0,2025-03-04T05:06:07.891Z,,\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}
