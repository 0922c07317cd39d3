package testkit

import (
	"errors"
	"testing"
)

// recorder is a testing.TB that notes a failure instead of ending the test.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Fatalf(string, ...any) { r.failed = true }

func TestWantError(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		want     string
		done     bool
		failures bool
	}{
		{"no error wanted, none", nil, "", false, false},
		{"no error wanted, one", errors.New("boom"), "", false, true},
		{"error wanted, matching", errors.New("-rows 0: need at least 1"), "need at least", true, false},
		{"error wanted, other", errors.New("boom"), "need at least", true, true},
		{"error wanted, none", nil, "need at least", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			if done := WantError(r, "parse", tt.err, tt.want); done != tt.done || r.failed != tt.failures {
				t.Errorf("WantError = %v, failed %v; want %v, %v", done, r.failed, tt.done, tt.failures)
			}
		})
	}
}
