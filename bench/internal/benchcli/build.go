package benchcli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/bulksend/bulksend/internal/testkit"
)

// Workspace makes the harness's temporary directory (named after the
// harness) and, when bin is "" and build is set, builds bulksend into it
// and says so on progress. It returns the directory, the binary to run (bin
// when given) and a cleanup that removes the directory.
func Workspace(ctx context.Context, name, bin string, build bool, progress io.Writer) (dir, binary string, cleanup func(), err error) {
	dir, err = os.MkdirTemp("", "bench-"+name+"-*")
	if err != nil {
		return "", "", nil, fmt.Errorf("make temp dir: %w", err)
	}
	cleanup = func() { os.RemoveAll(dir) }
	if bin == "" && build {
		fmt.Fprintf(progress, "%s: building bulksend\n", name)
		if bin, err = testkit.Build(ctx, testkit.Module, dir, "bulksend", false, progress); err != nil {
			cleanup()
			return "", "", nil, err
		}
	}
	return dir, bin, cleanup, nil
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
