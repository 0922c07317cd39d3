package testkit

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
)

// counter returns 1, 2, ... n, then end.
func counter(n int, end error) func(context.Context) (int, error) {
	i := 0
	return func(context.Context) (int, error) {
		if i == n {
			return 0, end
		}
		i++
		return i, nil
	}
}

func TestAll(t *testing.T) {
	if got := slices.Collect(All(t, counter(3, io.EOF))); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("All = %v, want [1 2 3]", got)
	}
	if got := slices.Collect(All(t, counter(0, io.EOF))); len(got) != 0 {
		t.Errorf("All of nothing = %v", got)
	}
	var got []int
	for v := range All(t, counter(10, io.EOF)) {
		if got = append(got, v); v == 2 {
			break
		}
	}
	if !slices.Equal(got, []int{1, 2}) {
		t.Errorf("after break: %v, want [1 2]", got)
	}
}

func TestAllFailsOnError(t *testing.T) {
	r := &recorder{TB: t}
	got := slices.Collect(All(r, counter(2, errors.New("disk gone"))))
	if !r.failed || !slices.Equal(got, []int{1, 2}) {
		t.Errorf("failed %v with %v; want a failure after [1 2]", r.failed, got)
	}
}
