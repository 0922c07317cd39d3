package main

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseSizes(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []int
		wantErr string
	}{
		{"plain", "5000", []int{5000}, ""},
		{"suffixes", "10k,100K,1M", []int{10_000, 100_000, 1_000_000}, ""},
		{"sorted and deduplicated", "1M, 10k,,10000 ", []int{10_000, 1_000_000}, ""},
		{"largest", "1000M", []int{1_000_000_000}, ""},
		{"empty", " , ", nil, "at least one"},
		{"zero", "0k", nil, "at least one row"},
		{"negative", "-5", nil, "not a row count"},
		{"lower-case m is not million", "1m", nil, "not a row count"},
		{"suffix alone", "k", nil, "not a row count"},
		{"fraction", "1.5M", nil, "not a row count"},
		{"too many", "1001M", nil, "more than"},
		{"overflow", "99999999999999999999999", nil, "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSizes(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseSizes(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("parseSizes(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

// FuzzParseSizes checks that whatever parses is a sorted list of distinct
// counts in range, and reads back the same from plain digits.
func FuzzParseSizes(f *testing.F) {
	for _, s := range []string{"10k,100k,1M", "5000", "0", "1m", "", ",,", "1000M", "-1", "9999999999999999999k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseSizes(s)
		if err != nil {
			return
		}
		if len(got) == 0 || !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Fatalf("parseSizes(%q) = %v: not sorted distinct", s, got)
		}
		digits := make([]string, len(got))
		for i, n := range got {
			if n < 1 || n > maxSize {
				t.Fatalf("parseSizes(%q) = %v: %d out of range", s, got, n)
			}
			digits[i] = strconv.Itoa(n)
		}
		again, err := parseSizes(strings.Join(digits, ","))
		if err != nil || !slices.Equal(again, got) {
			t.Fatalf("reparse of %v = %v, %v", got, again, err)
		}
	})
}
