//go:build !linux

package report

import "os"

// mappedFile is Linux's memory-mapped appender; elsewhere rows are written
// with write calls.
type mappedFile struct{ *os.File }

// mapFile returns nil: no mapping outside Linux.
func mapFile(*os.File, int64) *mappedFile { return nil }
