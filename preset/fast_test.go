package preset

import (
	"strings"
	"testing"
	"text/template"
)

// FuzzFastTemplate checks the fast renderer against text/template itself:
// for every simple template and field value, the same output, or the same
// missing-field error.
func FuzzFastTemplate(f *testing.F) {
	f.Add(`{"to": {{json .to}}, "text": {{json .text}}}`, "+15550001", `Hi "Zoë", a\b`+"\n\u2028<&>")
	f.Add(`plain {{.to}}-{{.text}}`, "007", "")
	f.Add(`{{json .missing}}`, "x", "y")
	f.Add(`{{.to}}{{json .to}}{{.text}}`, "\xff\xfe", "\x00\x1f\x7f")
	f.Add(`/u/{{.to | urlcomponent}}?t={{urlcomponent .text}}`, "../a b", "+1&x=2")
	f.Add(`{"a":"{{jsonstring .to}}","n":{{.text | jsonliteral}}}`, `x", "y`, "1, \"k\": 2")
	f.Add(`{{raw .to}}`, "=", "")
	funcs := template.FuncMap{}
	for _, m := range []template.FuncMap{textFuncs, escapeFuncs} {
		for k, v := range m {
			funcs[k] = v
		}
	}
	f.Fuzz(func(t *testing.T, text, to, body string) {
		tm, err := parseTemplate("fuzz", text, funcs)
		if err != nil || tm.fast == nil {
			return
		}
		fields := map[string]string{"to": to, "text": body}
		got, gotErr := tm.render(fields)
		ref, err := template.New("ref").Option("missingkey=error").Funcs(funcs).Parse(text)
		if err != nil {
			t.Fatalf("text/template refuses what the fast path took: %v", err)
		}
		var b strings.Builder
		wantErr := ref.Execute(&b, fields)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%q: fast error %v, text/template error %v", text, gotErr, wantErr)
		}
		if gotErr == nil && got != b.String() {
			t.Fatalf("%q over %q: fast %q, text/template %q", text, fields, got, b.String())
		}
		if gotErr != nil && strings.Contains(wantErr.Error(), "map has no entry") && gotErr.Error() != execError(wantErr).Error() {
			t.Fatalf("%q: fast error %q, want %q", text, gotErr, execError(wantErr))
		}
	})
}
