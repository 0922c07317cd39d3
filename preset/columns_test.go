package preset

import (
	"slices"
	"testing"
)

func TestColumns(t *testing.T) {
	tests := []struct {
		name string
		cfg  GenericConfig
		want []string
	}{
		{"url body and headers", GenericConfig{URL: "https://x/{{.user}}", Headers: []string{"X-A: {{.a}}"},
			Body: `{"to": {{json .to}}, "t": "{{.text}}"}`}, []string{"a", "text", "to", "user"}},
		{"id and recipient fields", GenericConfig{URL: "https://x/", IDField: "ref", RecipientField: "phone"}, []string{"phone", "ref"}},
		{"if reads the row, with and range do not", GenericConfig{URL: "https://x/",
			Body: `{{if .vip}}{{json .name}}{{end}}{{with .o}}{{.inner}}{{end}}`}, []string{"name", "o", "vip"}},
		{"env only", GenericConfig{URL: `https://x/?k={{env "K"}}`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewGeneric(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := Columns(p.Builder); !slices.Equal(got, tt.want) {
				t.Errorf("Columns = %q, want %q", got, tt.want)
			}
		})
	}
	if got := TemplateFields("Hi {{.name}}, {{.code}}"); !slices.Equal(got, []string{"code", "name"}) {
		t.Errorf("TemplateFields = %q", got)
	}
}
