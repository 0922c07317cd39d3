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
