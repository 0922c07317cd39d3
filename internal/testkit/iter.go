package testkit

import (
	"context"
	"errors"
	"io"
	"iter"
	"testing"
)

// All ranges over what next returns until io.EOF, as a test drains a
// source: `for m := range testkit.All(t, src.Next)`. Any other error fails
// the test. Breaking out of the loop stops calling next.
func All[T any](t testing.TB, next func(context.Context) (T, error)) iter.Seq[T] {
	t.Helper()
	return func(yield func(T) bool) {
		for {
			v, err := next(context.Background())
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
				return
			}
			if !yield(v) {
				return
			}
		}
	}
}
