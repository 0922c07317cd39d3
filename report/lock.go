package report

import (
	"errors"
	"fmt"
	"io"
	"os"
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
func Lock(reportPath string) (release func() error, err error) {
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
