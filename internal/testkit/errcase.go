package testkit

import (
	"strings"
	"testing"
)

// WantError checks the error of one table-test case. With want set, err
// must contain it, and WantError returns true: the case has nothing more to
// check. With want "", err must be nil, and it returns false. call names
// the function under test in a failure.
func WantError(t testing.TB, call string, err error, want string) bool {
	t.Helper()
	if want != "" {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s error = %v, want one containing %q", call, err, want)
		}
		return true
	}
	if err != nil {
		t.Fatalf("%s: %v", call, err)
	}
	return false
}
