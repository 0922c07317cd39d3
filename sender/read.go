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
	msgs   chan *Message // closed when reading ends
	done   chan struct{} // closed after err is set
	err    error         // why reading ended early; nil at io.EOF or a stop
	cancel context.CancelFunc
}

func startReading(ctx context.Context, src Source) *reader {
	ctx, cancel := context.WithCancel(ctx)
	r := &reader{msgs: make(chan *Message, 64), done: make(chan struct{}), cancel: cancel}
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
