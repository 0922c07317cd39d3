package suppress

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKey(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "E.164", in: "+15550000001", want: "+15550000001"},
		{name: "spaced and bracketed", in: " +1 (555) 000-0001 ", want: "+15550000001"},
		{name: "international prefix", in: "0015550000001", want: "+15550000001"},
		{name: "without the plus", in: "15550000001", want: "+15550000001"},
		{name: "dots", in: "+33.6.12.34.56.78", want: "+33612345678"},
		{name: "whatsapp channel", in: "whatsapp:+15550000001", want: "+15550000001"},
		{name: "too short for a number", in: "+12345", want: "+12345"},
		{name: "too long for a number", in: "+1234567890123456", want: "+1234567890123456"},
		{name: "letters are no number", in: "+1555CALLNOW", want: "+1555CALLNOW"},
		{name: "address in any case", in: "Ana@Example.COM", want: "ana@example.com"},
		{name: "blank", in: "  ", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Key(tt.in); got != tt.want {
				t.Errorf("Key(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func write(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    map[string]int // recipient -> line, or 0: not on the list
		wantErr bool
	}{
		{name: "one a line, comments and blanks skipped",
			content: "# opted out\n+15550000001\n\n+1 555 000 0002\r\n",
			want:    map[string]int{"+15550000001": 2, "15550000002": 4, "+15550000003": 0}},
		{name: "a CSV with a recipient column",
			content: "name,phone,when\nAna,+15550000001,2026-01-01\n\"Bo, Jr\",+15550000002,2026-01-02\n",
			want:    map[string]int{"+15550000001": 2, "+15550000002": 3, "Ana": 0}},
		{name: "a one-column CSV",
			content: "\ufeffto\n+15550000001\n", want: map[string]int{"+15550000001": 2, "to": 0}},
		{name: "the first line of a repeat counts",
			content: "+15550000001\n+15550000001\n", want: map[string]int{"+15550000001": 1}},
		{name: "a CSV without a recipient column", content: "name,when\nAna,2026\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Load(write(t, "optout.txt", tt.content))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Load: no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for r, want := range tt.want {
				line, ok := l.Lookup(r)
				if ok != (want > 0) || line != want {
					t.Errorf("Lookup(%q) = %d, %v; want line %d", r, line, ok, want)
				}
			}
		})
	}
	l, err := Load(filepath.Join(t.TempDir(), "missing.txt"))
	if err != nil || l.Len() != 0 {
		t.Errorf("a missing list: %v, %d entries; want an empty list", err, l.Len())
	}
}

func TestAppend(t *testing.T) {
	tests := []struct {
		name    string
		content string // "" : the file does not exist
		add     []string
		want    string
		added   int
		stale   bool // a killed run's temp file lies beside the list
	}{
		{name: "creates the list", add: []string{"+15550000001"}, want: "+15550000001\n", added: 1},
		{name: "adds what is new, once", content: "+15550000001",
			add: []string{"+1 555 000 0001", "+15550000002", "+15550000002"}, want: "+15550000001\n+15550000002\n", added: 1},
		{name: "into the recipient column of a CSV", content: "name,phone\nAna,+15550000001\n",
			add: []string{"+15550000002"}, want: "name,phone\nAna,+15550000001\n,+15550000002\n", added: 1},
		{name: "nothing new leaves the file", content: "+15550000001\n", add: []string{"15550000001"},
			want: "+15550000001\n"},
		{name: "a formula is written as text", add: []string{"=HYPERLINK(\"http://x/\")", "@SUM(A1)"},
			want: "'=HYPERLINK(\"http://x/\")\n'@SUM(A1)\n", added: 2},
		{name: "a guarded entry reads back as itself", content: "'=cmd\n", add: []string{"=cmd", "-x"},
			want: "'=cmd\n'-x\n", added: 1},
		{name: "a formula in a CSV column", content: "name,email\nAna,a@example.com\n", add: []string{"+x@example.com"},
			want: "name,email\nAna,a@example.com\n,'+x@example.com\n", added: 1},
		{name: "a killed run's temp file is removed", content: "+15550000001\n", add: []string{"+15550000002"},
			want: "+15550000001\n+15550000002\n", added: 1, stale: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "optout.txt")
			if tt.content != "" {
				if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tt.stale {
				if err := os.WriteFile(path+".tmp-123456", []byte("half"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			added, err := Append(context.Background(), path, tt.add)
			if err != nil || added != tt.added {
				t.Fatalf("Append: %d, %v; want %d added", added, err, tt.added)
			}
			got, _ := os.ReadFile(path)
			if string(got) != tt.want {
				t.Errorf("list %q, want %q", got, tt.want)
			}
			entries, _ := os.ReadDir(filepath.Dir(path))
			for _, e := range entries {
				if e.Name() != "optout.txt" {
					t.Errorf("left %s behind", e.Name())
				}
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	for _, s := range []string{"+15550000001\n", "name,phone\nAna,+1 555\n", "to\n\"a,b\"\n", "# x\n\n00155500000\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		l := &List{line: make(map[string]int), column: -1}
		if err := l.read(strings.NewReader(content)); err != nil {
			return
		}
		for k, line := range l.line {
			if k == "" || line < 1 {
				t.Fatalf("entry %q on line %d", k, line)
			}
			if got, ok := l.Lookup(k); !ok || got != line {
				t.Fatalf("Lookup(%q) = %d, %v; want line %d", k, got, ok, line)
			}
		}
	})
}
