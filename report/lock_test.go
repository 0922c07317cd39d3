package report

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.csv")
	release, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := os.ReadFile(path + ".lock")
	if err != nil || strings.TrimSpace(string(pid)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("lock file holds %q, %v; want our pid", pid, err)
	}

	_, err = Lock(path)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Lock = %v, want ErrLocked", err)
	}
	for _, want := range []string{path + ".lock", "pid " + strconv.Itoa(os.Getpid())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}

	if err := release(); err != nil {
		t.Fatal(err)
	}
	if err := release(); err != nil {
		t.Errorf("second release = %v", err)
	}
	if _, err := os.Stat(path + ".lock"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file after release: %v", err)
	}
	release, err = Lock(path)
	if err != nil {
		t.Fatalf("Lock after release = %v", err)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
}

func TestLockStaleFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.csv")
	if err := os.WriteFile(path+".lock", []byte("999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	release, err := Lock(path)
	if err != nil {
		t.Fatalf("Lock over a stale file = %v", err)
	}
	release()
}

func TestLockNoDir(t *testing.T) {
	_, err := Lock(filepath.Join(t.TempDir(), "nope", "out.csv"))
	if err == nil || errors.Is(err, ErrLocked) || !strings.HasPrefix(err.Error(), "lock report: ") {
		t.Errorf("Lock in a missing directory = %v", err)
	}
}

// TestLockHolderKilled takes the lock in a child process, kills it and
// takes the lock again: the OS must have dropped the dead run's lock.
func TestLockHolderKilled(t *testing.T) {
	if path := os.Getenv("REPORT_TEST_LOCK_HOLDER"); path != "" {
		if _, err := Lock(path); err != nil {
			os.Stdout.WriteString("error " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("locked\n")
		time.Sleep(time.Hour) // hold it until killed
	}
	path := filepath.Join(t.TempDir(), "out.csv")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHolderKilled$")
	cmd.Env = append(os.Environ(), "REPORT_TEST_LOCK_HOLDER="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "locked\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said %q", line)
	}
	_, err = Lock(path)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(cmd.Process.Pid)) {
		t.Errorf("Lock while the child holds it = %v, want ErrLocked naming pid %d", err, cmd.Process.Pid)
	}
	cmd.Process.Kill()
	cmd.Wait()
	release, err := Lock(path)
	if err != nil {
		t.Fatalf("Lock after the holder died = %v", err)
	}
	release()
}

// TestLockRemovesLeftovers: taking a report's lock removes the temp files
// a killed holder left next to it, and nothing else.
func TestLockRemovesLeftovers(t *testing.T) {
	tests := []struct {
		name string
		file string // made next to out.csv
		gone bool
	}{
		{name: "a compaction's copy", file: "out.csv.compact-1234567", gone: true},
		{name: "a merge's half OUT", file: "out.csv.merge-42", gone: true},
		{name: "a merge's rows", file: "out.csv.merge-rows-42", gone: true},
		{name: "a merge's sort runs", file: "out.csv.merge-sort-42", gone: true},
		{name: "a journal's sort runs", file: "out.csv.sort-9", gone: true},
		{name: "the report itself", file: "out.csv"},
		{name: "no digits", file: "out.csv.compact-"},
		{name: "not digits", file: "out.csv.compact-notes"},
		{name: "another kind", file: "out.csv.backup-1"},
		{name: "another report's", file: "other.csv.compact-1"},
		{name: "a longer report name's", file: "out.csv2.compact-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path, other := filepath.Join(dir, "out.csv"), filepath.Join(dir, tt.file)
			if err := os.WriteFile(other, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			release, err := Lock(path)
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			if _, err := os.Stat(other); os.IsNotExist(err) != tt.gone {
				t.Errorf("%s: removed %v, want %v", tt.file, os.IsNotExist(err), tt.gone)
			}
		})
	}
}

// TestLockRemovesKilledCompaction: the copy a compaction makes is named as
// Lock expects (os.CreateTemp's random part is digits), so the copy a
// process killed while compacting leaves is gone at the next Lock; a Lock
// that is refused removes nothing.
func TestLockRemovesKilledCompaction(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.csv")
	writeFile(t, path, []Row{{Line: 1, ID: "a", Status: "sent"}})
	left, err := os.CreateTemp(dir, "out.csv.compact-*")
	if err != nil {
		t.Fatal(err)
	}
	left.Close()
	holder, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left.Name()); !os.IsNotExist(err) {
		t.Fatalf("%s survived Lock: %v", left.Name(), err)
	}
	again, err := os.CreateTemp(dir, "out.csv.compact-*") // the holder compacting
	if err != nil {
		t.Fatal(err)
	}
	again.Close()
	if _, err := Lock(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Lock = %v, want ErrLocked", err)
	}
	if _, err := os.Stat(again.Name()); err != nil {
		t.Errorf("a refused Lock removed the holder's temp file: %v", err)
	}
	if err := holder(); err != nil {
		t.Fatal(err)
	}
}
