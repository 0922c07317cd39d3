package testkit

import (
	"testing"
	"time"
)

// EventuallyLimit is how long Eventually polls before it fails the test. It
// guards against a deadlock, not a duration: it is far beyond any normal
// run on a loaded machine.
const EventuallyLimit = 10 * time.Second

// Eventually polls cond until it holds, and fails the test, naming what it
// waited for, if it does not within EventuallyLimit. It is for a condition
// another goroutine makes true (a waiter asleep on a Clock, a count
// reached), never for measuring time.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(EventuallyLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Microsecond) // test harness polling
	}
}
