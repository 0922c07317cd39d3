package main

import (
	"strings"
	"testing"
)

func TestParseTimeV(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int64
		wantErr string
	}{
		{"gnu report", "\tCommand being timed: \"bulksend version\"\n\tUser time (seconds): 0.00\n\tMaximum resident set size (kbytes): 9384\n\tAverage resident set size (kbytes): 0\n", 9384, ""},
		{"no indent", "Maximum resident set size (kbytes): 12\n", 12, ""},
		{"missing", "\tUser time (seconds): 0.00\n", 0, "no peak RSS line"},
		{"empty", "", 0, "no peak RSS line"},
		{"not a number", "\tMaximum resident set size (kbytes): lots\n", 0, "bad peak RSS"},
		{"negative", "\tMaximum resident set size (kbytes): -3\n", 0, "bad peak RSS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTimeV(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseTimeV = %d, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseTimeV = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

// FuzzParseTimeV checks the parser never panics and never returns a
// negative size.
func FuzzParseTimeV(f *testing.F) {
	f.Add("\tMaximum resident set size (kbytes): 9384\n")
	f.Add("Maximum resident set size (kbytes):\n")
	f.Add("Maximum resident set size (kbytes): 99999999999999999999\n")
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseTimeV(strings.NewReader(s))
		if err == nil && n < 0 {
			t.Fatalf("parseTimeV(%q) = %d", s, n)
		}
	})
}

func TestFindTime(t *testing.T) {
	tests := []struct {
		name  string
		path  string
		found bool
	}{
		{"off", "", false},
		{"missing", "/nonexistent/time", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := findTime(t.Context(), tt.path); (got != "") != tt.found {
				t.Errorf("findTime(%q) = %q", tt.path, got)
			}
		})
	}
}
