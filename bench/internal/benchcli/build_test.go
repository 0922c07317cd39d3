package benchcli

import "testing"

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"send", "send"},
		{"/tmp/x-1/r.csv", "/tmp/x-1/r.csv"},
		{"$BASE/send", "$BASE/send"},
		{"", "''"},
		{"a b", "'a b'"},
		{`{"id": {{json .id}}}`, `'{"id": {{json .id}}}'`},
		{"it's", `'it'\''s'`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := shellQuote(tt.in); got != tt.want {
				t.Errorf("shellQuote(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestShellJoin(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"plain", []string{"bulksend", "send", "rows.csv"}, "bulksend send rows.csv"},
		{"template", []string{"--body", `{"id": {{json .id}}}`}, `--body '{"id": {{json .id}}}'`},
		{"quote", []string{"it's"}, `'it'\''s'`},
		{"empty", []string{""}, "''"},
		{"placeholder", []string{"$SANDBOX/send"}, "$SANDBOX/send"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ShellJoin(tt.args...); got != tt.want {
				t.Errorf("ShellJoin(%q) = %q, want %q", tt.args, got, tt.want)
			}
		})
	}
}
