package benchcli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestPickList(t *testing.T) {
	all := []string{"a", "b", "c"}
	tests := []struct {
		name, in, noun, want, err string
	}{
		{"keeps all's order", "c, a", "", "a,c", ""},
		{"blanks dropped", " ,b,, ", "", "b", ""},
		{"unknown with noun", "a,x", "mode", "", `-f: unknown mode "x" (want a, b, c)`},
		{"unknown", "x", "", "", `-f: unknown "x"`},
		{"empty", ",", "", "", "-f: name at least one of a, b, c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PickList("-f", tt.noun, all, SplitList(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || strings.Join(got, ",") != tt.want {
				t.Fatalf("PickList = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestFinish(t *testing.T) {
	out := filepath.Join(t.TempDir(), "t.md")
	var stdout, stderr bytes.Buffer
	o := Output{Name: "x", Table: "| t |\n", Out: out, Stdout: &stdout, Stderr: &stderr, Misses: []string{"one"}}
	if code := Finish(o); code != ExitOK || stdout.String() != "| t |\n" {
		t.Fatalf("Finish = %d, stdout %q", code, stdout.String())
	}
	o.Strict = true
	if code := Finish(o); code != ExitError || !strings.Contains(stderr.String(), "x: missed: one") {
		t.Fatalf("strict Finish = %d, stderr %q", code, stderr.String())
	}
}
