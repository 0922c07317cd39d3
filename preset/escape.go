package preset

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"
)

// The generic templates escape what a row inserts according to where it
// lands, so a row cannot change the request's shape: in --url (and a form
// body) every row value is percent-encoded as a URL component, so
// "../../admin?x=1#" stays inside its path segment or query value; in a
// JSON body a value inside a string literal is escaped as JSON string
// content, and one outside a string must be one JSON value (a number, true,
// a quoted string...), so x", "admin": true cannot add a key. {{raw .x}} opts out; {{json .x}}
// is the way to insert text as a JSON string. Values from env are the
// user's own and stay as they are.

// The functions NewGeneric appends to an action; users may call them too.
const (
	funcURL         = "urlcomponent"
	funcJSONInner   = "jsonstring"
	funcJSONLiteral = "jsonliteral"
)

// templateContext is what a template renders, and so how its row values
// are escaped.
type templateContext uint8

const (
	ctxText templateContext = iota // headers: as is (control characters are refused)
	ctxURL                         // a URL, or a form-encoded body
	ctxJSON                        // a JSON body
)

// escapeFuncs are the template functions behind the escapes.
var escapeFuncs = template.FuncMap{
	"raw":           func(v any) string { return fmt.Sprint(v) },
	funcURL:         func(v any) string { return urlComponent(fmt.Sprint(v)) },
	funcJSONInner:   func(v any) string { return jsonInner(fmt.Sprint(v)) },
	funcJSONLiteral: jsonLiteral,
}

// appendEscaped appends v as esc says.
func appendEscaped(dst []byte, esc escape, v string) ([]byte, error) {
	switch esc {
	case escJSON:
		return appendJSONString(dst, v), nil
	case escJSONInner:
		return append(dst, jsonInner(v)...), nil
	case escJSONLiteral:
		s, err := jsonLiteral(v)
		return append(dst, s...), err
	case escURL:
		return append(dst, urlComponent(v)...), nil
	}
	return append(dst, v...), nil
}

// urlComponent percent-encodes every byte but RFC 3986's unreserved ones,
// which is right in a path segment, a query key or value and a fragment
// alike; a value of only dots ("..") is encoded too, so it cannot walk up
// the path once a server cleans it.
func urlComponent(s string) string {
	const hex = "0123456789ABCDEF"
	dots := strings.Trim(s, ".") == ""
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '~' || c == '.' && !dots {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
}

// jsonInner is v escaped as the content of a JSON string literal.
func jsonInner(v string) string {
	b := appendJSONString(make([]byte, 0, len(v)+2), v)
	return string(b[1 : len(b)-1])
}

// errNotLiteral is a row value placed outside a JSON string that is not
// one JSON value: inserted as is it could add keys or values to the body.
var errNotLiteral = errors.New(`outside a JSON string it must be one JSON value (a number, true, false, null, a quoted string); insert text with {{json .field}}`)

// jsonLiteral returns v if it is exactly one JSON value. A single value
// cannot add keys beside the one it is the value of; "1, \"admin\": true"
// could.
func jsonLiteral(v any) (string, error) {
	s := fmt.Sprint(v)
	if strings.TrimSpace(s) == "" || !json.Valid([]byte(s)) {
		return "", errNotLiteral
	}
	return s, nil
}

// escapeRows rewrites t so every action that prints row data ends in the
// escaping function ctx calls for. Actions ending in raw, json or an
// escaping function already say how they want their value, and an action
// that reads no row data (env, a constant) prints as is.
func escapeRows(t *template.Template, ctx templateContext, funcs template.FuncMap) error {
	if ctx == ctxText || t == nil || t.Tree == nil {
		return nil
	}
	w := &escaper{t: t, ctx: ctx, funcs: funcs}
	w.list(t.Tree.Root)
	return w.err
}

type escaper struct {
	t        *template.Template
	ctx      templateContext
	funcs    template.FuncMap
	inString bool // inside a JSON string literal
	escaped  bool // after a backslash inside one
	err      error
}

func (w *escaper) list(l *parse.ListNode) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			w.text(n.Text)
		case *parse.ActionNode:
			w.action(n)
		case *parse.IfNode:
			w.branch(&n.BranchNode)
		case *parse.RangeNode:
			w.branch(&n.BranchNode)
		case *parse.WithNode:
			w.branch(&n.BranchNode)
		}
	}
}

// branch walks both arms from the same JSON state; the text after the
// branch continues from the first arm's (well-formed arms agree).
func (w *escaper) branch(b *parse.BranchNode) {
	in, esc := w.inString, w.escaped
	w.list(b.List)
	afterIn, afterEsc := w.inString, w.escaped
	w.inString, w.escaped = in, esc
	w.list(b.ElseList)
	w.inString, w.escaped = afterIn, afterEsc
}

// text follows JSON's lexical state through literal text.
func (w *escaper) text(b []byte) {
	if w.ctx != ctxJSON {
		return
	}
	for _, c := range b {
		switch {
		case w.escaped:
			w.escaped = false
		case w.inString && c == '\\':
			w.escaped = true
		case c == '"':
			w.inString = !w.inString
		}
	}
}

func (w *escaper) action(a *parse.ActionNode) {
	p := a.Pipe
	if p == nil || len(p.Decl) > 0 || len(p.Cmds) == 0 || !readsRow(p) {
		return
	}
	last := p.Cmds[len(p.Cmds)-1].Args
	if id, ok := last[0].(*parse.IdentifierNode); ok {
		switch id.Ident {
		case "raw", funcURL, funcJSONInner, funcJSONLiteral, "urlquery":
			return // the template chose its escaping
		case "json":
			if w.ctx == ctxJSON && w.inString {
				loc, _ := w.t.ErrorContext(a)
				w.err = fmt.Errorf("%s: {{json}} inside a JSON string writes a quoted string into it: drop the quotes around the action", loc)
				return
			}
			if w.ctx == ctxJSON {
				return
			}
		}
	}
	fn := funcURL
	if w.ctx == ctxJSON {
		fn = funcJSONLiteral
		if w.inString {
			fn = funcJSONInner
		}
	}
	cmd, err := command(fn, w.funcs)
	if err != nil {
		w.err = err
		return
	}
	p.Cmds = append(p.Cmds, cmd)
}

// command returns a well-formed parse node calling fn on the pipeline's
// value, taken from a template parsed for the purpose.
func command(fn string, funcs template.FuncMap) (*parse.CommandNode, error) {
	t, err := template.New("").Funcs(funcs).Parse("{{. | " + fn + "}}")
	if err != nil {
		return nil, fmt.Errorf("escape template: %w", err)
	}
	return t.Tree.Root.Nodes[0].(*parse.ActionNode).Pipe.Cmds[1].Copy().(*parse.CommandNode), nil
}

// readsRow reports whether a pipeline reads the row: a field, the dot, a
// variable (bound to either), or a chain on one of them.
func readsRow(p *parse.PipeNode) bool {
	for _, c := range p.Cmds {
		for _, a := range c.Args {
			switch a := a.(type) {
			case *parse.FieldNode, *parse.DotNode, *parse.VariableNode, *parse.ChainNode:
				return true
			case *parse.PipeNode:
				if readsRow(a) {
					return true
				}
			}
		}
	}
	return false
}
