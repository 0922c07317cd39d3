package campaign

import (
	"context"
	"errors"
	"io"

	"github.com/bulksend/bulksend/sender"
)

// Preview renders every row of the input as Run would, the duplicate
// pre-pass and the shard included, and hands each message to see, in input
// order. It sends nothing, takes no lock and reads or writes no report
// (opts.Report and opts.Engine are not used). Ending ctx ends it with
// ctx's error.
func Preview(ctx context.Context, opts Options, see func(*sender.Message)) error {
	if opts.Preset == nil || opts.Preset.Builder == nil {
		return errors.New("preview campaign: no preset")
	}
	if err := opts.Shard.check(); err != nil {
		return err
	}
	opts.Input = opts.Input.withDefaults()
	rows, in, err := opts.Input.open()
	if err != nil {
		return err
	}
	defer in.Close()
	repeats, closeRepeats, err := opts.Input.findRepeats(ctx, in, opts.Preset.Builder, nil, nil)
	if err != nil {
		return err
	}
	defer closeRepeats()
	src := compose(rows, opts, nil, nil, repeats)
	for {
		m, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		see(m)
	}
}
