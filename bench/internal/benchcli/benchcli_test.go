package benchcli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
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
	stdout.Reset()
	o.Strict, o.JSON = false, map[string]int{"pass": 2}
	if code := Finish(o); code != ExitOK || stdout.String() != "{\n  \"pass\": 2\n}\n" {
		t.Fatalf("JSON Finish = %d, stdout %q; want the indented JSON instead of the table", code, stdout.String())
	}
}

// TestRun: the exit code of each way a harness's run can end, and what it
// says on stderr.
func TestRun(t *testing.T) {
	parse := func(args []string, _ io.Writer) (string, error) {
		switch args[0] {
		case "help":
			return "", flag.ErrHelp
		case "bad":
			return "", errors.New("-x: bad")
		}
		return args[0], nil
	}
	measure := func(_ context.Context, o string, _ io.Writer) (Output, error) {
		switch o {
		case "fail":
			return Output{}, errors.New("sandbox died")
		case "miss":
			return Output{Table: "t\n", Strict: true, Misses: []string{"1 cell"}}, nil
		}
		return Output{Table: "t\n"}, nil
	}
	tests := []struct {
		arg, stdout, stderr string
		code                int
	}{
		{"help", "", "", ExitOK},
		{"bad", "", "h: -x: bad\n", ExitUsage},
		{"fail", "", "h: sandbox died\n", ExitError},
		{"miss", "t\n", "h: missed: 1 cell\n", ExitError},
		{"ok", "t\n", "", ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Run(context.Background(), "h", []string{tt.arg}, &stdout, &stderr, parse, measure)
			if code != tt.code || stdout.String() != tt.stdout || stderr.String() != tt.stderr {
				t.Errorf("Run = %d, stdout %q, stderr %q; want %d, %q, %q", code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

func TestLastLine(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"one line", "boom", "boom"},
		{"last of several", "building\nlistening\nexit status 1\n", "exit status 1"},
		{"trailing blanks", "a\nb\n\n  \n", "b"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LastLine(tt.in); got != tt.want {
				t.Errorf("LastLine(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestWorkspace: a given binary is used as it is, and cleanup removes the
// directory.
func TestWorkspace(t *testing.T) {
	var progress bytes.Buffer
	dir, bin, cleanup, err := Workspace(context.Background(), "x", "/opt/bulksend", true, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if bin != "/opt/bulksend" || progress.Len() != 0 || !strings.Contains(filepath.Base(dir), "bench-x-") {
		t.Errorf("Workspace = %q, %q, progress %q", dir, bin, progress.String())
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
	cleanup()
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after cleanup: %v, want the directory gone", err)
	}
}
