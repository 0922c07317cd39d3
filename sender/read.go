package sender

import (
	"context"
	"errors"
	"io"
)

// reader takes messages from a Source on a goroutine of its own, so a slow
// source (a pipe) never holds up the dispatcher, which takes them from msgs
// only while its queue has room.
type reader struct {
	msgs   chan *Message   // closed when reading ends
	done   chan struct{}   // closed after err is set
	err    error           // why reading ended early; nil at io.EOF or a stop
	ended  <-chan struct{} // closed when reading is cancelled
	cancel context.CancelFunc
}

func startReading(ctx context.Context, src Source) *reader {
	ctx, cancel := context.WithCancel(ctx)
	r := &reader{msgs: make(chan *Message, 64), done: make(chan struct{}), ended: ctx.Done(), cancel: cancel}
	go func() {
		defer close(r.done)
		defer close(r.msgs)
		for {
			m, err := src.Next(ctx)
			if err != nil {
				if !errors.Is(err, io.EOF) && ctx.Err() == nil {
					r.err = err
				}
				return
			}
			select {
			case r.msgs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	return r
}

// rest hands each message the reader has not delivered yet to fn, until the
// input ends or reading is cancelled. With wait unset it takes only those
// already read ahead: the reader may be blocked on input that never comes
// (a stalled pipe). It reports whether the input was read to its end.
func (r *reader) rest(wait bool, fn func(*Message)) (atEnd bool) {
	for {
		if !wait {
			select {
			case m, ok := <-r.msgs:
				if !ok {
					return true
				}
				fn(m)
				continue
			default:
				return false
			}
		}
		select {
		case m, ok := <-r.msgs:
			if !ok {
				return true
			}
			fn(m)
		case <-r.ended:
			return false
		}
	}
}

// end stops reading and returns the source's error, if any. It waits for
// the reader only when wait is set: on a stop the reader may be blocked on
// input that never comes (a stalled pipe), and it is left behind rather
// than holding up the exit.
func (r *reader) end(wait bool) error {
	r.cancel()
	if wait {
		<-r.done
	}
	select {
	case <-r.done:
		return r.err
	default:
		return nil
	}
}
