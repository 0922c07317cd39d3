package sender

import (
	"slices"
	"testing"
	"time"
)

func TestReadyQueue(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	type entry struct {
		line  int
		ready time.Duration // after t0
	}
	tests := []struct {
		name     string
		push     []entry
		now      time.Duration // after t0
		want     []int         // lines popReady yields at now, in order
		wantNext time.Duration // when the first job left may go
		wantLeft int
	}{
		{name: "empty", now: time.Hour, want: nil, wantLeft: 0},
		{name: "in line order when ready together",
			push: []entry{{7, 0}, {3, 0}, {5, 0}}, now: 0, want: []int{3, 5, 7}},
		{name: "by ready time before line",
			push: []entry{{2, 3 * time.Second}, {9, time.Second}, {4, 2 * time.Second}}, now: 5 * time.Second,
			want: []int{9, 4, 2}},
		{name: "a throttled message goes before the ones read after it",
			push: []entry{{10, time.Second}, {11, time.Second}, {2, time.Second}}, now: time.Second,
			want: []int{2, 10, 11}},
		{name: "ready exactly now goes",
			push: []entry{{2, time.Second}}, now: time.Second, want: []int{2}},
		{name: "not yet ready stays",
			push: []entry{{2, 0}, {3, 2 * time.Second}, {4, time.Second}}, now: 500 * time.Millisecond,
			want: []int{2}, wantNext: time.Second, wantLeft: 2},
		{name: "nothing ready",
			push: []entry{{2, time.Minute}}, now: 0, want: nil, wantNext: time.Minute, wantLeft: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q readyQueue
			for _, e := range tt.push {
				q.push(&job{m: &Message{Line: e.line}, ready: t0.Add(e.ready)})
			}
			var got []int
			for j := q.popReady(t0.Add(tt.now)); j != nil; j = q.popReady(t0.Add(tt.now)) {
				got = append(got, j.m.Line)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("popped lines %v, want %v", got, tt.want)
			}
			if q.len() != tt.wantLeft || len(q.jobs()) != tt.wantLeft {
				t.Errorf("%d jobs left (%d listed), want %d", q.len(), len(q.jobs()), tt.wantLeft)
			}
			at, ok := q.next()
			if ok != (tt.wantLeft > 0) || (ok && !at.Equal(t0.Add(tt.wantNext))) {
				t.Errorf("next = %v, %v; want %v, %v", at, ok, t0.Add(tt.wantNext), tt.wantLeft > 0)
			}
		})
	}
}
