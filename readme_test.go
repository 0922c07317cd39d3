//go:build unix

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// README.md promises that its sh blocks run as they stand, pasted from top
// to bottom into one shell in the checkout's root folder. TestReadme holds
// it to that. The convention it reads:
//
//   - a block fenced ```sh is run, in order, by one bash;
//   - a block whose fence follows a line `<!-- not run: REASON -->` (blank
//     lines between are allowed) is not: it needs a real vendor account,
//     another host, or is `make test` itself;
//   - a command meant to exit non-zero says so in the block
//     (`|| test $? = 3`), because the blocks run under `set -e`;
//   - a ```cron block is never run, and must escape every % (cron turns a
//     bare % into a newline).
const readmeNotRun = "<!-- not run:"

// readmeBlock is one fenced code block of a markdown file.
type readmeBlock struct {
	Line   int    // line of the opening fence, from 1
	Lang   string // the fence's info string: sh, cron, csv, "" ...
	NotRun string // the reason after readmeNotRun, "" when the block is run
	Text   []string
}

var readmeFence = regexp.MustCompile("^( *)```([A-Za-z0-9_-]*)[ \t]*$")

// readmeBlocks returns the fenced blocks of a markdown text, with the
// indentation of a block inside a list item removed. An unclosed block is
// an error, so a typo cannot hide the rest of the file from the test.
func readmeBlocks(r io.Reader) ([]readmeBlock, error) {
	var (
		blocks  []readmeBlock
		cur     *readmeBlock
		indent  string
		lastTxt string // the last non-blank line outside a block
		n       int
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		n++
		line := sc.Text()
		if cur != nil {
			if strings.TrimSpace(line) == "```" {
				blocks = append(blocks, *cur)
				cur, lastTxt = nil, ""
				continue
			}
			cur.Text = append(cur.Text, strings.TrimPrefix(line, indent))
			continue
		}
		if m := readmeFence.FindStringSubmatch(line); m != nil {
			cur = &readmeBlock{Line: n, Lang: m[2]}
			indent = m[1]
			if rest, ok := strings.CutPrefix(lastTxt, readmeNotRun); ok {
				cur.NotRun = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "-->"))
				if cur.NotRun == "" {
					cur.NotRun = "no reason given"
				}
			}
			continue
		}
		if t := strings.TrimSpace(line); t != "" {
			lastTxt = t
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read markdown: %w", err)
	}
	if cur != nil {
		return nil, fmt.Errorf("line %d: code block never closed", cur.Line)
	}
	return blocks, nil
}

// cronBarePercent finds a % that cron would take for a newline.
var cronBarePercent = regexp.MustCompile(`(^|[^\\])%`)

// checkCron returns the problems of a ```cron block: a command line (not a
// comment, not a VAR=value line) with an unescaped %.
func checkCron(b readmeBlock) []string {
	var bad []string
	for i, l := range b.Text {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if eq := strings.IndexByte(t, '='); eq > 0 && !strings.ContainsAny(t[:eq], " \t") {
			continue // an environment line: cron does not expand % there
		}
		if cronBarePercent.MatchString(t) {
			bad = append(bad, fmt.Sprintf("README.md:%d: cron turns a bare %% into a newline: write \\%%", b.Line+1+i))
		}
	}
	return bad
}

func TestReadmeBlocks(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []readmeBlock
		err  bool
	}{
		{name: "none", in: "# title\ntext\n"},
		{
			name: "sh run",
			in:   "text\n\n```sh\necho hi\n```\n",
			want: []readmeBlock{{Line: 3, Lang: "sh", Text: []string{"echo hi"}}},
		},
		{
			name: "not run marker, blank line between",
			in:   "<!-- not run: needs a Twilio account -->\n\n```sh\ncurl https://api.twilio.com\n```\n",
			want: []readmeBlock{{Line: 3, Lang: "sh", NotRun: "needs a Twilio account", Text: []string{"curl https://api.twilio.com"}}},
		},
		{
			name: "marker applies to the next block only",
			in:   "<!-- not run: x -->\n```sh\na\n```\n```sh\nb\n```\n",
			want: []readmeBlock{
				{Line: 2, Lang: "sh", NotRun: "x", Text: []string{"a"}},
				{Line: 5, Lang: "sh", Text: []string{"b"}},
			},
		},
		{
			name: "indented in a list item",
			in:   "- item\n\n  ```sh\n  bulksend send \\\n    --resume\n  ```\n",
			want: []readmeBlock{{Line: 3, Lang: "sh", Text: []string{"bulksend send \\", "  --resume"}}},
		},
		{
			name: "plain and cron",
			in:   "```\nout\n```\n```cron\n0 2 * * * x\n```\n",
			want: []readmeBlock{{Line: 1, Text: []string{"out"}}, {Line: 4, Lang: "cron", Text: []string{"0 2 * * * x"}}},
		},
		{name: "unclosed", in: "```sh\necho\n", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readmeBlocks(strings.NewReader(tt.in))
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func FuzzReadmeBlocks(f *testing.F) {
	f.Add("```sh\necho\n```\n<!-- not run: x -->\n  ```cron\n  0 * * * * a\n  ```\n")
	f.Fuzz(func(t *testing.T, in string) {
		blocks, err := readmeBlocks(strings.NewReader(in))
		if err != nil {
			return
		}
		lines := strings.Count(in, "\n") + 1
		prev := 0
		for _, b := range blocks {
			if b.Line <= prev || b.Line+len(b.Text) >= lines+1 {
				t.Fatalf("block at line %d with %d lines in a %d-line text (previous at %d)", b.Line, len(b.Text), lines, prev)
			}
			prev = b.Line + len(b.Text)
		}
	})
}

func TestReadmeCommands(t *testing.T) {
	tests := []struct {
		name string
		b    readmeBlock
		want []readmeCommand
	}{
		{
			name: "continued lines and a comment",
			b: readmeBlock{Line: 10, Lang: "sh", Text: []string{
				"export X=1",
				"bulksend send a.csv --url http://x \\",
				"  --body '{}' --rate=5/s   # --not-a-flag",
			}},
			want: []readmeCommand{{Line: 12, Sub: []string{"send"}, Flags: []string{"--url", "--body", "--rate"}}},
		},
		{
			name: "cron line with a path",
			b:    readmeBlock{Line: 1, Lang: "cron", Text: []string{"5 0 * * * cd /srv && /usr/local/bin/bulksend report merge out.csv in*.csv --partial"}},
			want: []readmeCommand{{Line: 2, Sub: []string{"report", "merge"}, Flags: []string{"--partial"}}},
		},
		{
			name: "not a command",
			b:    readmeBlock{Line: 1, Lang: "sh", Text: []string{"go build -o bulksend . && export PATH", "kill $sandbox"}},
		},
		{
			name: "output blocks are not read",
			b:    readmeBlock{Line: 1, Text: []string{"bulksend send rows.csv --nope"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := readmeCommands([]readmeBlock{tt.b}); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestReadmeCron(t *testing.T) {
	tests := []struct {
		name string
		text string
		bad  int
	}{
		{name: "escaped", text: `0 2 * * * cd /srv && bulksend send x.csv --report "x-$(date +\%F).csv"`},
		{name: "bare", text: `0 2 * * * bulksend send x.csv --report "x-$(date +%F).csv"`, bad: 1},
		{name: "env line", text: "PASSWORD=a%b"},
		{name: "comment", text: "# date +%F"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkCron(readmeBlock{Lang: "cron", Text: []string{tt.text}}); len(got) != tt.bad {
				t.Errorf("checkCron(%q) = %q, want %d problems", tt.text, got, tt.bad)
			}
		})
	}
}

// readmeHost matches a URL's host in a block that is run: anything but
// loopback must be marked not run.
var readmeHost = regexp.MustCompile(`https?://([^/:'"\s]+)`)

// readmeLoopback matches the fixed ports README shows.
var readmeLoopback = regexp.MustCompile(`127\.0\.0\.1:(\d+)`)

// TestReadme runs README.md's sh blocks in order in one bash, in a copy of
// the checkout, as a reader pasting them would. The one liberty it takes:
// the fixed loopback ports README shows (8080, 8081, ...) are replaced by
// free ones, each port by its own, so the test neither fails on a machine
// where 8080 is taken nor collides with another run of itself.
func TestReadme(t *testing.T) {
	if testing.Short() {
		t.Skip("builds bulksend and runs README.md's examples (about 45s)")
	}
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("README.md's examples need %s: %v", tool, err)
			}
			t.Skipf("README.md's examples need %s: %v", tool, err)
		}
	}
	f, err := os.Open("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := readmeBlocks(f)
	f.Close()
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}

	var run []readmeBlock
	for _, b := range blocks {
		switch {
		case b.Lang == "cron":
			for _, p := range checkCron(b) {
				t.Error(p)
			}
		case b.Lang == "sh" && b.NotRun == "":
			for i, l := range b.Text {
				for _, m := range readmeHost.FindAllStringSubmatch(l, -1) {
					if m[1] != "127.0.0.1" {
						t.Errorf("README.md:%d: a block that is run talks to %s: use the sandbox, or mark the block %s REASON -->", b.Line+1+i, m[1], readmeNotRun)
					}
				}
				if strings.Contains(l, "kill %") {
					t.Errorf("README.md:%d: kill %%N names whichever job N is by then: keep the sandbox's $! and kill that", b.Line+1+i)
				}
			}
			run = append(run, b)
		}
	}
	if len(run) == 0 {
		t.Fatal("README.md has no sh block to run")
	}
	if t.Failed() {
		return
	}

	ports := map[string]string{}
	for _, b := range run {
		for _, l := range b.Text {
			for _, m := range readmeLoopback.FindAllStringSubmatch(l, -1) {
				if _, ok := ports[m[1]]; !ok {
					ports[m[1]] = ""
				}
			}
		}
	}
	freePorts(t, ports)

	// The script: each block's lines as they are (ports swapped), with
	// map from the script's lines to README's, so a failure names README's.
	script := []string{
		"set -eE -o pipefail",
		`trap 'echo "readme-test: exit $? at script line $LINENO: $BASH_COMMAND" >&2' ERR`,
	}
	readmeLine := map[int]int{}
	for _, b := range run {
		script = append(script, fmt.Sprintf(`echo "==> README.md:%d (at ${SECONDS}s)" >&2`, b.Line))
		readmeLine[len(script)] = b.Line
		for i, l := range b.Text {
			l = readmeLoopback.ReplaceAllStringFunc(l, func(s string) string {
				return "127.0.0.1:" + ports[strings.TrimPrefix(s, "127.0.0.1:")]
			})
			script = append(script, l)
			readmeLine[len(script)] = b.Line + 1 + i
		}
	}
	script = append(script, `echo "==> end (at ${SECONDS}s)" >&2`)

	dir := t.TempDir()
	copyCheckout(t, ".", dir)
	out, err := os.Create(filepath.Join(t.TempDir(), "readme.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()

	timeout := 4 * time.Minute
	if dl, ok := t.Deadline(); ok && time.Until(dl)-10*time.Second < timeout {
		timeout = time.Until(dl) - 10*time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", strings.Join(script, "\n")+"\n")
	cmd.Dir = dir
	cmd.Env = readmeEnv()
	cmd.Stdout, cmd.Stderr = out, out // files, not pipes: a sandbox left running cannot hold Wait
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	start := time.Now()
	runErr := cmd.Run()
	pgid := cmd.Process.Pid
	leftover := waitGroupGone(pgid, 5*time.Second)
	syscall.Kill(-pgid, syscall.SIGKILL)
	logText, _ := os.ReadFile(out.Name())
	log := string(logText)
	t.Logf("README.md's %d sh blocks ran in %s: %s", len(run), time.Since(start).Round(time.Second),
		strings.Join(regexp.MustCompile(`==> (\S+ \(at \d+s\))`).FindAllString(log, -1), ", "))
	if runErr != nil {
		where := "README.md: "
		if m := regexp.MustCompile(`readme-test: exit (\d+) at script line (\d+): (.*)`).FindStringSubmatch(log); m != nil {
			n, _ := strconv.Atoi(m[2])
			where = fmt.Sprintf("README.md:%d: exit %s: %s", readmeLine[n], m[1], m[3])
		} else if i := strings.LastIndex(log, "==> README.md:"); i >= 0 {
			where = fmt.Sprintf("%s: the block starting there did not finish in %s", strings.Fields(log[i+4:])[0], timeout)
		}
		t.Fatalf("%s (%v)\nports: %v\nlast output:\n%s", where, runErr, ports, tail(log, 60))
	}
	if !strings.Contains(log, "==> end") {
		t.Fatalf("the script stopped early\n%s", tail(log, 60))
	}
	checkReadmeFlags(t, filepath.Join(dir, "bulksend"), blocks)
	if leftover {
		t.Errorf("a process README.md started was still running after its last block: every section must stop its sandbox (kill $sandbox)\n%s", tail(log, 20))
	}
}

// freePorts gives each README port in ports a free loopback port, all
// held open together so no two get the same.
func freePorts(t *testing.T, ports map[string]string) {
	t.Helper()
	var ls []net.Listener
	for p := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports[p] = strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
}

// readmeEnv is the test's environment as a new reader's shell would have
// it: no vendor credentials, and no bulksend on PATH (testscript.Main put
// one there), so the README must build its own.
func readmeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "TWILIO_"), strings.HasPrefix(k, "GENESYSCLOUD_"),
			k == "API_TOKEN", k == "REDIS_PASSWORD":
			continue
		case k == "PATH":
			var keep []string
			for _, d := range filepath.SplitList(v) {
				if _, err := os.Stat(filepath.Join(d, "bulksend")); err == nil {
					continue
				}
				keep = append(keep, d)
			}
			kv = "PATH=" + strings.Join(keep, string(filepath.ListSeparator))
		}
		env = append(env, kv)
	}
	return append(env, "NO_COLOR=1")
}

// copyCheckout copies the checkout at src into dst as a fresh clone has
// it, so that what a reader left there by running README's examples (its
// reports, mixed.csv, the bulksend binary) cannot change the run: with git,
// the tracked files and untracked .go files (compiled as go test compiles
// them); without, every file but those at the top that are not Go, go.mod,
// go.sum or markdown. Dot folders and node_modules are left out, symbolic
// links are kept as links (testdata/recipients.csv is one).
func copyCheckout(t *testing.T, src, dst string) {
	t.Helper()
	keep, err := checkoutFiles(src)
	if err != nil {
		t.Logf("copy checkout without git: %v", err)
	}
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		switch {
		case d.IsDir() && rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules"):
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(to, 0o755)
		case keep != nil && !keep[filepath.ToSlash(rel)] && !strings.HasSuffix(rel, ".go"):
			return nil
		case keep == nil && !strings.ContainsRune(rel, filepath.Separator) &&
			!strings.HasSuffix(rel, ".go") && !strings.HasSuffix(rel, ".md") && rel != "go.mod" && rel != "go.sum":
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, to)
		case !d.Type().IsRegular():
			return nil
		}
		return copyFile(path, to)
	})
	if err != nil {
		t.Fatalf("copy checkout: %v", err)
	}
}

// checkoutFiles returns the files git tracks in the checkout at dir, or nil
// and why not when it is not a git checkout.
func checkoutFiles(dir string) (map[string]bool, error) {
	cmd := exec.Command("git", "ls-files", "-z")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-files: %w", err)
	}
	files := map[string]bool{}
	for _, f := range strings.Split(string(out), "\x00") {
		if f != "" {
			files[f] = true
		}
	}
	if len(files) == 0 {
		return nil, errors.New("git ls-files: no files")
	}
	return files, nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// waitGroupGone waits up to d for every process of group pgid to exit and
// reports whether one was still there.
func waitGroupGone(pgid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			return false
		}
		if time.Now().After(deadline) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// readmeCommand is one bulksend command line of README, continuation lines
// joined.
type readmeCommand struct {
	Line  int      // README line where it starts
	Sub   []string // the subcommand: [send], [report merge], ...
	Flags []string // its --flags, without values
}

var readmeFlag = regexp.MustCompile(`(?:^|\s)(--[a-z][a-z0-9-]*)`)

// readmeCommands finds the bulksend commands of sh and cron blocks (run or
// not), so that a flag in an example nobody runs is still a real flag.
func readmeCommands(blocks []readmeBlock) []readmeCommand {
	var cmds []readmeCommand
	for _, b := range blocks {
		if b.Lang != "sh" && b.Lang != "cron" {
			continue
		}
		for i := 0; i < len(b.Text); i++ {
			start, line := i, b.Text[i]
			for strings.HasSuffix(line, "\\") && i+1 < len(b.Text) {
				i++
				line = strings.TrimSuffix(line, "\\") + " " + b.Text[i]
			}
			if c, _, ok := strings.Cut(line, " #"); ok {
				line = c
			}
			fields := strings.Fields(line)
			for j, f := range fields {
				if f != "bulksend" && !strings.HasSuffix(f, "/bulksend") {
					continue
				}
				var sub []string
				for _, w := range fields[j+1:] {
					if w != "send" && w != "status" && w != "probe" && w != "sandbox" && w != "report" && w != "merge" && w != "demo" && w != "version" {
						break
					}
					sub = append(sub, w)
				}
				if len(sub) == 0 {
					continue
				}
				c := readmeCommand{Line: b.Line + 1 + start, Sub: sub}
				for _, m := range readmeFlag.FindAllStringSubmatch(strings.Join(fields[j+1:], " "), -1) {
					c.Flags = append(c.Flags, m[1])
				}
				cmds = append(cmds, c)
				break
			}
		}
	}
	return cmds
}

// checkReadmeFlags fails for a flag of a README command that the command's
// --help does not list.
func checkReadmeFlags(t *testing.T, bin string, blocks []readmeBlock) {
	t.Helper()
	help := map[string]string{}
	for _, c := range readmeCommands(blocks) {
		key := strings.Join(c.Sub, " ")
		if _, ok := help[key]; !ok {
			out, err := exec.Command(bin, append(c.Sub, "--help")...).CombinedOutput()
			if err != nil {
				t.Errorf("README.md:%d: bulksend %s --help: %v\n%s", c.Line, key, err, out)
			}
			help[key] = string(out)
		}
		for _, f := range c.Flags {
			if !regexp.MustCompile(`(^|[\s,])` + regexp.QuoteMeta(f) + `([\s=]|$)`).MatchString(help[key]) {
				t.Errorf("README.md:%d: bulksend %s has no flag %s", c.Line, key, f)
			}
		}
	}
}
