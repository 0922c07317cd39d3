package preset

import (
	"slices"
	"text/template"
	"text/template/parse"
)

// Columns lists the input columns every row must have for b to render it:
// the fields its templates read, the id field when one was named, the
// recipient field. A CSV input whose header lacks one would make every
// row invalid, so the caller can refuse it once, before sending. It is nil
// for a builder that does not say.
func Columns(b any) []string {
	if c, ok := b.(interface{ columns() []string }); ok {
		return c.columns()
	}
	return nil
}

// columns implements Columns for the generic builder.
func (g *generic) columns() []string {
	var out []string
	if g.idField != "" {
		out = append(out, g.idField)
	}
	if g.recipientField != "" {
		out = append(out, g.recipientField)
	}
	out = append(out, g.fields...)
	slices.Sort(out)
	return slices.Compact(out)
}

// TemplateFields lists the row fields a template text reads with the dot
// still the row ({{.to}}, {{json .name}}, {{if .vip}}); fields read inside
// {{with}} or {{range}}, where the dot is something else, are not listed.
// A text that does not parse lists nothing: parsing reports that.
func TemplateFields(text string) []string {
	funcs := template.FuncMap{"json": jsonQuote, "env": func(string) string { return "" }}
	for k, f := range escapeFuncs {
		funcs[k] = f
	}
	t, err := template.New("").Funcs(funcs).Parse(text)
	if err != nil {
		return nil
	}
	return templateFields([]*template.Template{t})
}

// templateFields is TemplateFields over parsed templates.
func templateFields(ts []*template.Template) []string {
	var out []string
	walkPipes(ts, func(p *parse.PipeNode, rowDot bool) {
		if !rowDot {
			return
		}
		for _, c := range p.Cmds {
			for _, a := range c.Args {
				switch a := a.(type) {
				case *parse.FieldNode:
					out = append(out, a.Ident[0])
				case *parse.ChainNode:
					if f, ok := a.Node.(*parse.FieldNode); ok {
						out = append(out, f.Ident[0])
					}
				}
			}
		}
	})
	slices.Sort(out)
	return slices.Compact(out)
}

// walkPipes calls fn on every pipeline of the templates (nested ones
// too), saying whether the dot is still the row there: it is not in the
// body of {{with}} or {{range}}.
func walkPipes(ts []*template.Template, fn func(p *parse.PipeNode, rowDot bool)) {
	var walk func(n parse.Node, rowDot bool)
	branch := func(b *parse.BranchNode, rowDot, bodyRowDot bool) {
		walk(b.Pipe, rowDot)
		walk(b.List, bodyRowDot)
		walk(b.ElseList, rowDot)
	}
	walk = func(n parse.Node, rowDot bool) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c, rowDot)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe, rowDot)
		case *parse.TemplateNode:
			walk(n.Pipe, rowDot)
		case *parse.IfNode:
			branch(&n.BranchNode, rowDot, rowDot)
		case *parse.WithNode:
			branch(&n.BranchNode, rowDot, false) // the body's dot is the pipe's value
		case *parse.RangeNode:
			branch(&n.BranchNode, rowDot, false)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			fn(n, rowDot)
			for _, c := range n.Cmds {
				for _, a := range c.Args {
					walk(a, rowDot)
				}
			}
		case *parse.ChainNode:
			walk(n.Node, rowDot)
		}
	}
	for _, t := range ts {
		if t == nil {
			continue
		}
		for _, tt := range t.Templates() {
			if tt.Tree != nil {
				walk(tt.Tree.Root, true)
			}
		}
	}
}
