package sender

import (
	"container/heap"
	"time"
)

// readyQueue holds the jobs waiting for their time: new messages (ready at
// once), throttled and retried ones (ready after the pause or backoff) and
// ones held back for their recipient. It yields them by the time they may
// go, then by line, so a throttled message goes before the ones read after
// it.
type readyQueue struct{ h jobHeap }

func (q *readyQueue) push(j *job) { heap.Push(&q.h, j) }

func (q *readyQueue) len() int { return len(q.h) }

// popReady removes and returns the first job that may go at now, or nil if
// none may yet.
func (q *readyQueue) popReady(now time.Time) *job {
	if len(q.h) == 0 || q.h[0].ready.After(now) {
		return nil
	}
	return heap.Pop(&q.h).(*job)
}

// next is when the first job may go; ok is false when the queue is empty.
func (q *readyQueue) next() (at time.Time, ok bool) {
	if len(q.h) == 0 {
		return time.Time{}, false
	}
	return q.h[0].ready, true
}

// jobs are the jobs still waiting, in no particular order.
func (q *readyQueue) jobs() []*job { return q.h }

// jobHeap is the heap.Interface behind readyQueue.
type jobHeap []*job

func (h jobHeap) Len() int { return len(h) }
func (h jobHeap) Less(i, k int) bool {
	if !h[i].ready.Equal(h[k].ready) {
		return h[i].ready.Before(h[k].ready)
	}
	return h[i].m.Line < h[k].m.Line
}
func (h jobHeap) Swap(i, k int) { h[i], h[k] = h[k], h[i] }
func (h *jobHeap) Push(x any)   { *h = append(*h, x.(*job)) }
func (h *jobHeap) Pop() any {
	old := *h
	j := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return j
}
