// Package preset renders input rows into HTTP requests: a generic builder
// driven by text/template, and ready-made builders for Genesys Cloud
// agentless messaging and Twilio. Each builder implements sender.Builder; a
// Preset bundles it with what the caller needs around it: authentication for
// the transport, response parsing and the secrets to mask.
//
// Like the rest of bulksend's core, the package never reads the environment:
// credentials, and the Env function behind the generic templates' env, come
// from the caller.
package preset

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"unicode/utf8"

	"github.com/bulksend/bulksend/segments"
	"github.com/bulksend/bulksend/sender"
)

// Preset is a request builder and the pieces the command wires around it.
type Preset struct {
	Builder sender.Builder
	// Wrap adds authentication to the HTTP transport (nil: none). Secrets stay
	// out of Message so dry-run output and reports cannot leak them.
	Wrap func(http.RoundTripper) http.RoundTripper
	// ParseResponse pulls the provider's message id and a readable error out
	// of a response body.
	ParseResponse func(status int, body []byte) (messageID, errText string)
	// NoKeyHeader: the vendor's published API has no idempotency header,
	// so none is sent and the server is never taken to deduplicate; an
	// ambiguous attempt is settled by a lookup or left unknown.
	NoKeyHeader bool
	// Secrets lists the secret values the caller must mask in any output.
	Secrets []string
	// Describe is a one-line human description for dry-run.
	Describe string
	// SMS, when set, counts the SMS segments of a message the Builder
	// built; ok is false for one that is not billed as SMS (WhatsApp,
	// MMS, a content template). Nil: the preset sends no SMS.
	SMS func(m *sender.Message) (c segments.Count, ok bool)
	// Claim, when set, is told the message id of every row an earlier
	// run's report records as sent, before a resumed run looks any row
	// up: a lookup that matches look-alikes (Twilio's) must never take
	// that message for another row. Nil: the preset's lookups need none.
	Claim func(messageID string)
}

// DefaultSource names the input in invalid-row reasons when the caller gives
// no Source.
const DefaultSource = "input"

// rows holds what every builder shares: where rows come from (for the
// "<source>:<line>: " prefix of every reason) and which field is the id.
type rows struct {
	source  string
	idField string
}

var _ sender.RowIdentifier = rows{}

func newRows(source, idField string) rows {
	if source == "" {
		source = DefaultSource
	}
	return rows{source: source, idField: idField}
}

// id returns the row's identity: the named field, or by default the "id"
// field when the row has one and otherwise the line number. An id field
// that is there but empty is an error, never the line number, which could
// equal another row's real id and make that row a duplicate.
func (r rows) id(row sender.Row) (string, error) {
	if r.idField == "" {
		v, has := row.Fields["id"]
		switch {
		case v != "":
			return v, nil
		case has:
			return "", errors.New("empty id")
		}
		return strconv.Itoa(row.Line), nil
	}
	v, has := row.Fields[r.idField]
	switch {
	case v != "":
		return v, nil
	case has:
		return "", fmt.Errorf("empty id (field %q)", r.idField)
	}
	return "", fmt.Errorf("id field %q missing", r.idField)
}

// RowID implements sender.RowIdentifier for every builder, which all embed
// rows: the id Build gives a valid row, without rendering it, so a pre-pass
// can find repeated ids cheaply.
func (r rows) RowID(row sender.Row) (string, bool) {
	id, err := r.id(row)
	return id, err == nil
}

// IDField implements sender.RowIdentifier: the field id reads. Without it a
// row's id is its line number (by default) or the row is invalid (a named
// field), so an input without that column has no repeated ids.
func (r rows) IDField() string {
	if r.idField == "" {
		return "id"
	}
	return r.idField
}

// start begins the message for row. ok is false when the row is already
// invalid (it could not be parsed or has no id); the message says why.
func (r rows) start(row sender.Row) (m *sender.Message, ok bool) {
	m = &sender.Message{Line: row.Line}
	if row.Err != nil {
		// The reader's error already names the file and line; the id is best
		// effort so the report row still carries one when it can.
		m.ID, _ = r.id(row)
		m.Invalid = row.Err
		return m, false
	}
	id, err := r.id(row)
	if err != nil {
		return r.invalid(m, err), false
	}
	m.ID = id
	return m, true
}

// invalid marks m as not sendable, prefixing the reason with source and line.
func (r rows) invalid(m *sender.Message, err error) *sender.Message {
	m.Invalid = fmt.Errorf("%s:%d: %w", r.source, m.Line, err)
	return m
}

// column returns a required, non-empty field.
func column(row sender.Row, name string) (string, error) {
	v, ok := row.Fields[name]
	switch {
	case !ok:
		return "", fmt.Errorf("column %q: missing", name)
	case v == "":
		return "", fmt.Errorf("column %q: empty", name)
	}
	return v, nil
}

// tmpl is a parsed template; one without actions is kept as its text so the
// common case of a fixed URL or header costs nothing per row.
type tmpl struct {
	t      *template.Template
	static string
	// fast, when set, renders the template without text/template: it is
	// only text, {{.field}} and {{json .field}}, the shape of nearly every
	// body, and reflection is most of a render's cost.
	fast []piece
}

// piece is one part of a fast template: text, or a field and how it is
// escaped.
type piece struct {
	text  string
	field string
	esc   escape
}

// escape is how a fast template inserts a field.
type escape uint8

const (
	escNone        escape = iota // as is
	escJSON                      // a JSON string literal: {{json .x}}
	escJSONInner                 // inside a JSON string literal (generic.go)
	escJSONLiteral               // outside a JSON string: one JSON value only
	escURL                       // percent-encoded URL component (generic.go)
)

// escapes maps the template functions a fast template may call on a field
// to the escape it stands for.
var escapes = map[string]escape{
	"json": escJSON, "raw": escNone,
	funcJSONInner: escJSONInner, funcJSONLiteral: escJSONLiteral, funcURL: escURL,
}

// compileFast returns t's pieces when it has the simple shape, else nil.
func compileFast(t *template.Template) []piece {
	if t.Tree == nil || len(t.Templates()) != 1 {
		return nil
	}
	var out []piece
	for _, n := range t.Tree.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			out = append(out, piece{text: string(n.Text)})
		case *parse.ActionNode:
			if n.Pipe == nil || len(n.Pipe.Decl) > 0 {
				return nil
			}
			if p, ok := fastPiece(n.Pipe.Cmds); ok {
				out = append(out, p)
				continue
			}
			return nil
		default:
			return nil
		}
	}
	return out
}

// appendFast renders pieces over fields.
func appendFast(dst []byte, pieces []piece, fields map[string]string) ([]byte, error) {
	for _, p := range pieces {
		if p.field == "" {
			dst = append(dst, p.text...)
			continue
		}
		v, ok := fields[p.field]
		if !ok {
			return nil, fmt.Errorf("template: field %q missing", p.field)
		}
		var err error
		if dst, err = appendEscaped(dst, p.esc, v); err != nil {
			return nil, fmt.Errorf("template: field %q: %w", p.field, err)
		}
	}
	return dst, nil
}

// fastPiece recognises the actions a fast template renders: {{.x}},
// {{fn .x}} and {{.x | fn}} for the functions in escapes.
func fastPiece(cmds []*parse.CommandNode) (piece, bool) {
	field := func(n parse.Node) (string, bool) {
		f, ok := n.(*parse.FieldNode)
		if !ok || len(f.Ident) != 1 {
			return "", false
		}
		return f.Ident[0], true
	}
	fn := func(n parse.Node) (escape, bool) {
		id, ok := n.(*parse.IdentifierNode)
		if !ok {
			return 0, false
		}
		e, ok := escapes[id.Ident]
		return e, ok
	}
	switch {
	case len(cmds) == 1 && len(cmds[0].Args) == 1:
		if f, ok := field(cmds[0].Args[0]); ok {
			return piece{field: f}, true
		}
	case len(cmds) == 1 && len(cmds[0].Args) == 2:
		e, ok := fn(cmds[0].Args[0])
		f, ok2 := field(cmds[0].Args[1])
		if ok && ok2 {
			return piece{field: f, esc: e}, true
		}
	case len(cmds) == 2 && len(cmds[0].Args) == 1 && len(cmds[1].Args) == 1:
		f, ok := field(cmds[0].Args[0])
		e, ok2 := fn(cmds[1].Args[0])
		if ok && ok2 {
			return piece{field: f, esc: e}, true
		}
	}
	return piece{}, false
}

// parseTemplate parses text as a template named after where it came from
// (a flag or a file), so parse errors point the user at it.
func parseTemplate(name, text string, funcs template.FuncMap) (*tmpl, error) {
	t, err := template.New(name).Option("missingkey=error").Funcs(funcs).Parse(text)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(text, "{{") {
		return &tmpl{static: text}, nil
	}
	return &tmpl{t: t, fast: compileFast(t)}, nil
}

// render executes the template over the row's fields.
func (t *tmpl) render(fields map[string]string) (string, error) {
	if t.t == nil {
		return t.static, nil
	}
	if t.fast != nil {
		b, err := appendFast(nil, t.fast, fields)
		return string(b), err
	}
	var b strings.Builder
	if err := t.t.Execute(&b, fields); err != nil {
		return "", execError(err)
	}
	return b.String(), nil
}

// execError rewrites text/template's "map has no entry for key" into the
// message users understand; other errors keep the template's own text.
func execError(err error) error {
	const marker = "map has no entry for key "
	msg := err.Error()
	if i := strings.LastIndex(msg, marker); i >= 0 {
		if q, qerr := strconv.QuotedPrefix(msg[i+len(marker):]); qerr == nil {
			if key, uerr := strconv.Unquote(q); uerr == nil {
				return fmt.Errorf("template: field %q missing", key)
			}
		}
	}
	return err
}

// textFuncs are the template functions every builder offers.
var textFuncs = template.FuncMap{"json": jsonQuote}

// jsonQuote is the templates' json function: it turns a value into a JSON
// literal so {"name":{{json .name}}} stays valid whatever the name holds.
func jsonQuote(v string) string {
	return string(appendJSONString(make([]byte, 0, len(v)+2), v))
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string literal. It mirrors
// encoding/json (invalid UTF-8 becomes U+FFFD, U+2028/U+2029 are escaped)
// but leaves <, > and & alone: the output is a request body, not HTML, and
// readable in dry-run.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// validToken reports whether s is an RFC 9110 token, the syntax of header
// names and methods.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
