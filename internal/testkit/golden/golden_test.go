package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps failures instead of ending the test.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, format)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.errs = append(r.errs, format)
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		got  string
		fail bool
	}{
		{"same", "first\nsecond\n", false},
		{"a line changed", "first\nthird\n", true},
		{"a line more", "first\nsecond\nthird\n", true},
		{"a line less", "first\n", true},
		{"no final newline", "first\nsecond", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			Check(r, "testdata/two-lines.golden", []byte(tt.got))
			if failed := len(r.errs) > 0; failed != tt.fail {
				t.Errorf("Check failed %v (%v), want %v", failed, r.errs, tt.fail)
			}
		})
	}
}

func TestCheckMissingFile(t *testing.T) {
	r := &recorder{TB: t}
	Check(r, filepath.Join(t.TempDir(), "none.golden"), []byte("x"))
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "-update") {
		t.Errorf("errors %q, want one saying how to write the file", r.errs)
	}
}

func TestCheckUpdate(t *testing.T) {
	*update = true
	defer func() { *update = false }()
	path := filepath.Join(t.TempDir(), "testdata", "new.golden")
	Check(t, path, []byte("written\n"))
	if b, err := os.ReadFile(path); err != nil || string(b) != "written\n" {
		t.Errorf("after -update: %q, %v", b, err)
	}
}

func TestFirstDiff(t *testing.T) {
	tests := []struct {
		got, want string
		line      int
		g, w      string
	}{
		{"a\nb\n", "a\nc\n", 2, "b", "c"},
		{"a\n", "a\nb\n", 2, "", "b"},
		{"a", "a\n", 2, endOfFile, ""},
		{"x", "y", 1, "x", "y"},
	}
	for _, tt := range tests {
		t.Run(tt.got+"|"+tt.want, func(t *testing.T) {
			line, g, w := firstDiff([]byte(tt.got), []byte(tt.want))
			if line != tt.line || g != tt.g || w != tt.w {
				t.Errorf("firstDiff = %d %q %q, want %d %q %q", line, g, w, tt.line, tt.g, tt.w)
			}
		})
	}
}
