package benchcli

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// ModulePath is what a harness builds when it is given no -bin.
const ModulePath = "github.com/bulksend/bulksend"

// BuildBulksend builds bulksend into dir, the go tool's output to log, and
// returns the binary's path. The working directory must be inside the
// module, as `go run ./bench/...` implies.
func BuildBulksend(ctx context.Context, dir string, log io.Writer) (string, error) {
	bin := filepath.Join(dir, ExeName("bulksend"))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ModulePath)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build %s: %w", ModulePath, err)
	}
	return bin, nil
}

// ExeName is name as an executable's file name on this system.
func ExeName(name string) string {
	if runtime.GOOS == "windows" {
		return name + ".exe"
	}
	return name
}

// ShellJoin quotes args so the line can be pasted into a POSIX shell: the
// commands the tables print.
func ShellJoin(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

func shellQuote(s string) string {
	safe := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=+,@%$", r))
	}) < 0
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
