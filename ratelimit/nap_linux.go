//go:build linux

package ratelimit

import (
	"syscall"
	"time"
)

// Nap blocks for d with nanosleep(2), which ends within a tenth of a
// millisecond where Go's timers wake on whole milliseconds (napper).
func (SystemClock) Nap(d time.Duration) {
	ts := syscall.NsecToTimespec(d.Nanoseconds())
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
		// A signal (the runtime's preemption) cut it short: sleep what
		// is left.
	}
}
