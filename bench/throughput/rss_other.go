//go:build !unix

package main

import "os"

// maxRSSKB is 0 where the OS reports no peak resident set with the exit
// status; the memory table then shows "n/a".
func maxRSSKB(*os.ProcessState) int64 { return 0 }
