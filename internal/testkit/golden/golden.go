// Package golden compares what a test produced with a file under the
// package's testdata, and rewrites that file when the test is run with
// -update, so a long expected output (a table, a report) is reviewed as a
// file in the diff rather than as a string in the test. It is part of the
// test kit (see package testkit); it is a package of its own so that only
// the tests that use golden files get the -update flag.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata with what the tests produce")

// Check compares got with the golden file at path, relative to the test's
// package directory (say "testdata/table.md"). With -update it writes got
// there instead, creating the directory, and the comparison passes. A
// difference fails the test, naming the first line that differs.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file: %v (run go test -update to write it)", err)
		return
	}
	if bytes.Equal(got, want) {
		return
	}
	line, g, w := firstDiff(got, want)
	t.Errorf("%s differs at line %d:\n got: %q\nwant: %q\n(go test -update rewrites it; review the diff)", path, line, g, w)
}

// endOfFile stands for a line past the end in firstDiff's answer.
const endOfFile = "<end of file>"

// firstDiff returns the 1-based number of the first line where got and
// want differ, and that line of each (endOfFile past the end).
func firstDiff(got, want []byte) (line int, g, w string) {
	gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := 0; ; i++ {
		g, w = endOfFile, endOfFile
		if i < len(gl) {
			g = string(gl[i])
		}
		if i < len(wl) {
			w = string(wl[i])
		}
		if g != w || i >= len(gl) || i >= len(wl) {
			return i + 1, g, w
		}
	}
}
