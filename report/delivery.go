package report

import (
	"bufio"
	"fmt"
)

// UpdateDelivery rewrites the report at path with the delivery columns
// (delivery_status, delivery_error, delivery_at), letting fn change each
// row, in file order, before it is written. The rewrite goes through a
// temp file in the same directory, fsync, rename and fsync of the
// directory, so a crash or kill leaves either the old report or the new
// one, never a mix; the file keeps its permissions, and every other
// column its value. fn must not change a row's line or status. Hold the
// report's Lock while updating.
//
// `bulksend status` calls it after each batch of answers, so a killed run
// keeps what it learned.
func UpdateDelivery(path string, format Format, fn func(*Row)) error {
	if err := format.check(); err != nil {
		return fmt.Errorf("update report %s: %w", path, err)
	}
	enc := newEncoder(format)
	if format == FormatCSV {
		enc.cols = pathColumns(path)
		enc.cols.delivery = true
	}
	err := rewrite(path, "update report", func(bw *bufio.Writer) error {
		if err := enc.header(); err != nil {
			return err
		}
		if err := enc.drain(bw); err != nil {
			return err
		}
		return readFile(path, format, func(r Row) error {
			fn(&r)
			if err := r.check(); err != nil {
				return err
			}
			if err := enc.encode(&r); err != nil {
				return err
			}
			return enc.drain(bw)
		})
	})
	if err != nil {
		return fmt.Errorf("update report delivery: %w", err)
	}
	return nil
}
