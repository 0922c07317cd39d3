package cmd

import (
	"context"
	"os"
)

// cancelOnSignal cancels ctx (through its cancel) at the first signal on
// sig (nil: never) and returns a channel closed when that happened, so a
// command can tell an interruption from its own failure and exit 130. For
// commands with nothing to drain: send's first Ctrl-C drains instead. A
// signal already waiting cancels ctx before cancelOnSignal returns.
func cancelOnSignal(ctx context.Context, cancel context.CancelFunc, sig <-chan os.Signal) <-chan struct{} {
	interrupted := make(chan struct{})
	if sig == nil {
		return interrupted
	}
	select {
	case <-sig:
		close(interrupted)
		cancel()
		return interrupted
	default:
	}
	go func() {
		select {
		case <-sig:
			close(interrupted)
			cancel()
		case <-ctx.Done():
		}
	}()
	return interrupted
}

// isClosed says whether ch is closed, without waiting.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
