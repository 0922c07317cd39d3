package sender

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
)

// RowReader yields input rows in file order; it returns io.EOF after the last
// one. csvinput.Reader implements it.
type RowReader interface {
	Next() (Row, error)
}

// Builder renders one row into a request. It never fails: a row that cannot
// be rendered comes back with Message.Invalid set, so it is reported, not
// dropped. The preset package implements it.
type Builder interface {
	Build(row Row) *Message
}

// Source yields messages for the engine; it returns io.EOF after the last.
type Source interface {
	Next(ctx context.Context) (*Message, error)
}

// Journal records every message as in flight before its request leaves and
// every result as it arrives. report.Writer implements it.
type Journal interface {
	Begin(m *Message) error
	Record(r *Result) error
}

// IdempotencyKey is the key sent with a message: a stable function of the row
// id and the rendered body, so a retry, or a resumed run, sends the same key
// for the same message, and a changed body gets a new one.
func IdempotencyKey(id string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(id))
	h.Write([]byte{0})
	h.Write(body)
	return "bulksend-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// RowIdentifier is implemented by a Builder that can tell a row's id without
// rendering it. With it a pre-pass over the input (package dupindex) finds
// the few rows whose id may repeat, so a run need not remember every id.
type RowIdentifier interface {
	// RowID returns the id Build puts in Message.ID when row is valid; ok
	// is false when the row has none, which Build reports as invalid.
	RowID(row Row) (id string, ok bool)
	// IDField names the field RowID reads. A row without it is identified
	// by its line number or is invalid, so when the input has no such
	// column no two valid rows can share an id.
	IDField() string
}
