//go:build unix

package campaign

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestFindRepeatsPipe: a named pipe is read once, by the run, so it gets no
// pre-pass (which would eat its rows) and keeps the in-memory index.
func TestFindRepeatsPipe(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "rows.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no named pipes here:", err)
	}
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err == nil {
			f.WriteString("id,to\na,+1\na,+2\nb,+3\n")
			f.Close()
		}
	}()
	if rows, dups := previewRows(t, Input{Path: fifo}, ""); rows != 3 || dups != 1 {
		t.Fatalf("rows %d, duplicates %d; want 3 rows, 1 duplicate", rows, dups)
	}
}
