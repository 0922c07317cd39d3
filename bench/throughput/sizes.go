package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// maxSize bounds a row count: beyond it the input file alone would not fit
// a benchmark machine's disk.
const maxSize = 1_000_000_000

// parseSizes reads a comma list of row counts such as "10k,100k,1M": digits,
// optionally with a k (thousand) or M (million) suffix. The result is
// sorted and without repeats, so the memory table reads top to bottom.
func parseSizes(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := parseSize(f)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("name at least one row count")
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func parseSize(f string) (int, error) {
	digits, mult := f, 1
	switch {
	case strings.HasSuffix(f, "k") || strings.HasSuffix(f, "K"):
		digits, mult = f[:len(f)-1], 1_000
	case strings.HasSuffix(f, "M"):
		digits, mult = f[:len(f)-1], 1_000_000
	}
	if digits == "" || strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, fmt.Errorf("%q is not a row count like 5000, 10k or 1M", f)
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n > maxSize/mult {
		return 0, fmt.Errorf("%q: more than %d rows", f, maxSize)
	}
	if n == 0 {
		return 0, fmt.Errorf("%q: need at least one row", f)
	}
	return n * mult, nil
}
