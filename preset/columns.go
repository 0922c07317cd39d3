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
	for _, t := range ts {
		if t != nil && t.Tree != nil {
			out = fieldsIn(t.Tree.Root, out)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func fieldsIn(n parse.Node, out []string) []string {
	switch n := n.(type) {
	case *parse.ListNode:
		if n != nil {
			for _, c := range n.Nodes {
				out = fieldsIn(c, out)
			}
		}
	case *parse.ActionNode:
		out = fieldsIn(n.Pipe, out)
	case *parse.IfNode:
		out = fieldsIn(n.Pipe, out)
		out = fieldsIn(n.List, out)
		out = fieldsIn(n.ElseList, out)
	case *parse.WithNode:
		out = fieldsIn(n.Pipe, out) // the body's dot is the pipe's value
		out = fieldsIn(n.ElseList, out)
	case *parse.RangeNode:
		out = fieldsIn(n.Pipe, out)
		out = fieldsIn(n.ElseList, out)
	case *parse.PipeNode:
		if n != nil {
			for _, c := range n.Cmds {
				for _, a := range c.Args {
					out = fieldsIn(a, out)
				}
			}
		}
	case *parse.FieldNode:
		out = append(out, n.Ident[0])
	case *parse.ChainNode:
		out = fieldsIn(n.Node, out)
	}
	return out
}
