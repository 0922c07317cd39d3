package report

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// ErrLocked means another run holds the report's lock.
var ErrLocked = errors.New("report is locked by another run")

// errWouldBlock is what tryLock returns when the lock is held elsewhere.
var errWouldBlock = errors.New("lock held elsewhere")

// Lock takes an exclusive, non-blocking flock on path+".lock" (created if
// missing, holding the pid), returning a release func that unlocks and
// removes it. When held elsewhere it returns an error wrapping ErrLocked
// that names the lock file and the pid written in it. The OS drops the lock
// when a process dies, so a stale file is harmless.
//
// Once the lock is held, the temp files this package makes next to the
// report (a compaction's or a merge's copy of it, sort runs) are removed:
// nobody else can be using them, so they were left by a process killed
// while it held the lock, and a compaction's copy is as large as the report.
func Lock(reportPath string) (release func() error, err error) {
	release, err = lock(reportPath)
	if err == nil {
		removeLeftovers(reportPath)
	}
	return release, err
}

// tempKinds are the temp files made next to a report, as the part of their
// name between the report's name and os.CreateTemp's random digits
// (".tmp-": suppress.Append, which takes a suppress list's lock with Lock).
var tempKinds = []string{".compact-", ".merge-", ".merge-rows-", ".merge-sort-", ".sort-", ".tmp-"}

// removeLeftovers removes the temp files of tempKinds next to reportPath,
// as well as it can: one it cannot remove is no reason to refuse the run.
func removeLeftovers(reportPath string) {
	dir, base := filepath.Split(reportPath)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Type().IsRegular() && isLeftover(base, e.Name()) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// isLeftover says whether name is a temp file of one of tempKinds made for
// the report named base: base, the kind, then digits only.
func isLeftover(base, name string) bool {
	rest, ok := strings.CutPrefix(name, base)
	if !ok {
		return false
	}
	for _, kind := range tempKinds {
		digits, ok := strings.CutPrefix(rest, kind)
		if ok && digits != "" && strings.Trim(digits, "0123456789") == "" {
			return true
		}
	}
	return false
}

// lock is Lock without the clean-up.
func lock(reportPath string) (release func() error, err error) {
	name := reportPath + ".lock"
	for {
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o666)
		if err != nil {
			return nil, fmt.Errorf("lock report: %w", err)
		}
		if err := tryLock(f); err != nil {
			pid := readPID(f)
			f.Close()
			if errors.Is(err, errWouldBlock) {
				return nil, fmt.Errorf("%s is held by pid %s: %w", name, pid, ErrLocked)
			}
			return nil, fmt.Errorf("lock report %s: %w", name, err)
		}
		// The holder we waited on may have removed the file between our
		// open and our lock: a lock on a removed file guards nothing, so
		// try again on whatever the name points at now.
		if held, err := os.Stat(name); err == nil {
			if mine, err := f.Stat(); err == nil && os.SameFile(held, mine) {
				return holdLock(f, name)
			}
		}
		unlock(f)
		f.Close()
	}
}

// holdLock writes our pid into the locked file and returns its release.
func holdLock(f *os.File, name string) (func() error, error) {
	err := f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		unlock(f)
		f.Close()
		return nil, fmt.Errorf("lock report %s: %w", name, err)
	}
	var once sync.Once
	var rerr error
	return func() error {
		once.Do(func() {
			if err := releaseLock(f, name); err != nil {
				rerr = fmt.Errorf("unlock report %s: %w", name, err)
			}
		})
		return rerr
	}, nil
}

// readPID is the pid the holder wrote, or "unknown" if it has not yet.
func readPID(f *os.File) string {
	b := make([]byte, 32)
	n, err := f.ReadAt(b, 0)
	if err != nil && err != io.EOF {
		return "unknown"
	}
	if pid := strings.TrimSpace(string(b[:n])); pid != "" {
		return pid
	}
	return "unknown"
}
