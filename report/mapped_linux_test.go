package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulksend/bulksend/sender"
)

// smallWindow makes mappedFile cross window boundaries within a few rows.
func smallWindow(t *testing.T) {
	t.Helper()
	old := mapWindow
	mapWindow = int64(os.Getpagesize())
	t.Cleanup(func() { mapWindow = old })
}

// TestMappedFile: writes that cross windows land byte for byte, in order,
// and Close leaves the file exactly as long as what was written.
func TestMappedFile(t *testing.T) {
	smallWindow(t)
	path := filepath.Join(t.TempDir(), "out.csv")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("head\n"); err != nil {
		t.Fatal(err)
	}
	m := mapFile(f, 5)
	if m == nil {
		t.Skip("this file system cannot reserve space; rows go through write calls")
	}
	var want bytes.Buffer
	want.WriteString("head\n")
	for i := range 500 {
		row := strings.Repeat(string(rune('a'+i%26)), i%97) + "\n"
		want.WriteString(row)
		if n, err := m.Write([]byte(row)); err != nil || n != len(row) {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	big := bytes.Repeat([]byte("z"), 3*int(mapWindow)+7) // one write across several windows
	want.Write(big)
	if _, err := m.Write(big); err != nil {
		t.Fatal(err)
	}
	if err := m.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("file is %d bytes, want %d, or differs", len(got), want.Len())
	}
}

// TestMappedFileKilled: a process killed mid-run leaves its rows followed
// by the reserved, zeroed rest of the window. Load reads every row and
// Append cuts the zeros off before appending.
func TestMappedFileKilled(t *testing.T) {
	for _, file := range []string{"out.csv", "out.jsonl"} {
		t.Run(file, func(t *testing.T) {
			if file == "out.csv" {
				smallWindow(t) // and the JSONL case has the full window's zeros
			}
			path := filepath.Join(t.TempDir(), file)
			w, err := Create(path, Options{Now: fixedNow, CommitDelay: -1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { w.Close() })
			if _, ok := w.out.(*mappedFile); !ok {
				t.Skip("this file system cannot reserve space; rows go through write calls")
			}
			for line := 2; line < 40; line++ {
				if err := w.Begin(&sender.Message{Line: line, ID: "id", IdempotencyKey: "k"}); err != nil {
					t.Fatal(err)
				}
			}
			// What the kernel keeps of a killed process: the mapping's
			// pages, the file as long as the reserved window.
			w.out.(*mappedFile).unmap()
			if st, err := os.Stat(path); err != nil || st.Size()%mapWindow != 0 {
				t.Fatalf("killed file is %v bytes (%v), want a whole window", st.Size(), err)
			}
			state, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if state.Len() != 38 {
				t.Fatalf("Load found %d lines, want 38", state.Len())
			}
			a, err := Append(path, Options{Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Record(&sender.Result{Line: 2, ID: "id", Status: sender.StatusSent}); err != nil {
				t.Fatal(err)
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(path)
			if bytes.IndexByte(b, 0) >= 0 {
				t.Fatal("zero bytes left in the report after Append")
			}
			if err := a.Compact(); err != nil {
				t.Fatal(err)
			}
			if state, err = Load(path); err != nil || state.Len() != 38 {
				t.Fatalf("after resume: %v lines, %v", state.Len(), err)
			}
			if st, _ := state.Status(2); st != sender.StatusSent {
				t.Fatalf("line 2 = %s, want sent", st)
			}
		})
	}
}

// TestCreateWriteOnly: a report the user may write but not read is written
// with write calls, as before the mapping.
func TestCreateWriteOnly(t *testing.T) {
	if os.Getuid() == 0 {
		t.Skip("root reads any file")
	}
	path := filepath.Join(t.TempDir(), "out.csv")
	if err := os.WriteFile(path, nil, 0o200); err != nil {
		t.Fatal(err)
	}
	w, err := Create(path, Options{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if _, mapped := w.out.(*mappedFile); mapped {
		t.Error("a write-only report was mapped")
	}
	if err := w.Record(&sender.Result{Line: 2, ID: "a", Status: sender.StatusSent}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestMapFileWriteOnly: a file open for writing only cannot be mapped, and
// mapFile says so rather than failing the first write.
func TestMapFileWriteOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.csv")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if m := mapFile(f, 0); m != nil {
		t.Fatal("mapFile mapped a write-only file")
	}
}
