//go:build windows

package report

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// Windows locks are mandatory, so lock one byte far past the pid: another
// run can still read who holds the lock.
const lockOffset = 1 << 30

func tryLock(f *os.File) error {
	ol := windows.Overlapped{Offset: lockOffset}
	err := windows.LockFileEx(windows.Handle(f.Fd()),
		windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		return errWouldBlock
	}
	return err
}

func unlock(f *os.File) error {
	ol := windows.Overlapped{Offset: lockOffset}
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &ol)
}

// releaseLock unlocks and closes before removing: Windows cannot remove an
// open file. If another run has the file open the removal fails, and the
// file stays for it, which is harmless; that same rule means no run can end
// up locking a removed file.
func releaseLock(f *os.File, name string) error {
	err := unlock(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if rerr := os.Remove(name); err == nil && !errors.Is(rerr, os.ErrNotExist) && !isSharingViolation(rerr) {
		err = rerr
	}
	return err
}

func isSharingViolation(err error) bool {
	return errors.Is(err, windows.ERROR_SHARING_VIOLATION) || errors.Is(err, windows.ERROR_ACCESS_DENIED)
}
