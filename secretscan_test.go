package main

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/bulksend/bulksend/cmd"
)

// The secret scan: every bulksend run of every testscript scenario has its
// stdout and stderr scanned, and at the end of each scenario every file the
// scenario created (reports, --json output saved with cp), for each secret
// the run knew, in each form it takes on the wire: as written, in base64,
// and inside a Basic credential. Stderr is also scanned for terminal
// control sequences, which only a server or a row could have put there.
// The secrets are the values of environment variables whose names say
// they are secrets (API_TOKEN, TWILIO_AUTH_TOKEN,
// GENESYSCLOUD_OAUTHCLIENT_SECRET, ...), the passwords of URLs on the
// command line, and ECHO_OAUTH_TOKEN, the token the echo server issues.

// leakFile and secretFile live in a scenario's $WORK: what runs found, and
// the secrets they knew, for the scan at the end of the scenario.
const (
	leakFile   = ".bulksend-leaks"
	secretFile = ".bulksend-secrets"
)

// secretName matches the names of environment variables holding secrets.
var secretName = regexp.MustCompile(`(?i)(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY)`)

// userNames are the variables holding the user half of a Basic credential.
var userNames = []string{"TWILIO_ACCOUNT_SID", "GENESYSCLOUD_OAUTHCLIENT_ID"}

// runScanned is bulksend's main under the secret scan.
func runScanned() int {
	secrets, users := knownSecrets(os.Environ(), os.Args[1:])
	work := os.Getenv("WORK")
	realOut, realErr := os.Stdout, os.Stderr
	var (
		wg            sync.WaitGroup
		stdout, stder bytes.Buffer
	)
	tee := func(dst io.Writer, keep *bytes.Buffer) *os.File {
		r, w, err := os.Pipe()
		if err != nil {
			panic(err)
		}
		wg.Go(func() { _, _ = io.Copy(io.MultiWriter(dst, keep), r) })
		return w
	}
	os.Stdout, os.Stderr = tee(realOut, &stdout), tee(realErr, &stder)
	code := cmd.Main()
	os.Stdout.Close()
	os.Stderr.Close()
	wg.Wait()
	os.Stdout, os.Stderr = realOut, realErr

	if work == "" {
		return code
	}
	forms := leakForms(secrets, users)
	var found []string
	for _, l := range findLeaks(stdout.Bytes(), forms) {
		found = append(found, "stdout: "+l)
	}
	for _, l := range findLeaks(stder.Bytes(), forms) {
		found = append(found, "stderr: "+l)
	}
	if i := bytes.IndexAny(stder.Bytes(), "\x1b\a\x9b"); i >= 0 {
		found = append(found, fmt.Sprintf("stderr: terminal control byte at %d: %q", i, stder.Bytes()[max(0, i-20):min(len(stder.Bytes()), i+20)]))
	}
	appendLines(filepath.Join(work, leakFile), prefixAll("bulksend "+strings.Join(os.Args[1:], " ")+": ", found))
	appendLines(filepath.Join(work, secretFile), encodeSecrets(secrets, users))
	return code
}

// knownSecrets lists the secrets and the Basic users a run knows from its
// environment and arguments.
func knownSecrets(environ, args []string) (secrets, users []string) {
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case len(v) < 4:
		case slices.Contains(userNames, k):
			users = append(users, v)
		case secretName.MatchString(k):
			secrets = append(secrets, v)
		}
	}
	for _, a := range args {
		for _, f := range strings.Fields(a) {
			u, err := url.Parse(f)
			if err != nil || u.User == nil {
				continue
			}
			if p, ok := u.User.Password(); ok && len(p) >= 4 {
				secrets = append(secrets, p)
				users = append(users, u.User.Username())
			}
		}
	}
	return secrets, users
}

// leakForms is each secret as it may leak: as written, in base64 (both
// alphabets, padded or not), and as the Basic credential it makes with a
// user or another secret.
func leakForms(secrets, users []string) []string {
	var forms []string
	add := func(s string) {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			forms = append(forms, enc.EncodeToString([]byte(s)))
		}
	}
	for _, s := range secrets {
		forms = append(forms, s)
		add(s)
		for _, u := range append(slices.Clone(users), secrets...) {
			if u != s {
				add(u + ":" + s)
			}
		}
	}
	sort.Strings(forms)
	return slices.Compact(forms)
}

// findLeaks returns the forms found in b, described.
func findLeaks(b []byte, forms []string) []string {
	var out []string
	for _, f := range forms {
		if i := bytes.Index(b, []byte(f)); i >= 0 {
			out = append(out, fmt.Sprintf("secret form %q at byte %d", f, i))
		}
	}
	return out
}

func prefixAll(p string, lines []string) []string {
	for i := range lines {
		lines[i] = p + lines[i]
	}
	return lines
}

func appendLines(path string, lines []string) {
	if len(lines) == 0 {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	for _, l := range lines {
		fmt.Fprintln(f, l)
	}
}

// encodeSecrets writes secrets ("s ") and users ("u ") one per line,
// quoted.
func encodeSecrets(secrets, users []string) []string {
	var out []string
	for _, s := range secrets {
		out = append(out, "s "+strconv.Quote(s))
	}
	for _, u := range users {
		out = append(out, "u "+strconv.Quote(u))
	}
	return out
}

func decodeSecrets(b []byte) (secrets, users []string) {
	for _, line := range strings.Split(string(b), "\n") {
		kind, q, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, err := strconv.Unquote(q)
		if err != nil {
			continue
		}
		if kind == "s" {
			secrets = append(secrets, v)
		} else {
			users = append(users, v)
		}
	}
	return secrets, users
}

// scanAtEnd registers the end-of-scenario scan: the leaks runs found, and
// every file the scenario created, for the secrets any run knew.
func scanAtEnd(env *testscript.Env) {
	before := map[string]bool{}
	_ = filepath.WalkDir(env.WorkDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			before[p] = true
		}
		return nil
	})
	env.Defer(func() {
		var problems []string
		if b, err := os.ReadFile(filepath.Join(env.WorkDir, leakFile)); err == nil {
			problems = append(problems, strings.Split(strings.TrimSpace(string(b)), "\n")...)
		}
		sb, _ := os.ReadFile(filepath.Join(env.WorkDir, secretFile))
		forms := leakForms(decodeSecrets(sb))
		_ = filepath.WalkDir(env.WorkDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || before[p] || filepath.Base(p) == leakFile || filepath.Base(p) == secretFile {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return nil
			}
			for _, l := range findLeaks(b, forms) {
				problems = append(problems, filepath.Base(p)+": "+l)
			}
			return nil
		})
		if len(problems) > 0 {
			env.T().Fatal("secret scan:\n  " + strings.Join(problems, "\n  "))
		}
	})
}

// cmdEchoServer starts a server that answers every request with the
// request's own headers and URL in an error body, as careless servers do,
// with a terminal escape sequence in it: echoserver [status=N]
// [tokenstatus=N] [tls=1]. /oauth/token answers a token (ECHO_OAUTH_TOKEN)
// unless tokenstatus says otherwise. With tls=1 it serves HTTPS with a
// certificate of its own CA, written to $WORK/ca.pem. It sets $ECHO (the
// base URL) and $ECHOHOST (host:port).
func cmdEchoServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! echoserver")
	}
	status, tokenStatus, useTLS := http.StatusBadRequest, http.StatusOK, false
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		n, err := strconv.Atoi(v)
		ts.Check(err)
		switch k {
		case "status":
			status = n
		case "tokenstatus":
			tokenStatus = n
		case "tls":
			useTLS = n == 1
		default:
			ts.Fatalf("echoserver: unknown key %q", k)
		}
	}
	const token = "echo-oauth-t0ken-5e1f2d3c"
	echo := func(w http.ResponseWriter, r *http.Request, code int) {
		var b strings.Builder
		fmt.Fprintf(&b, "\x1b]0;pwned\a\x1b[2J%s %s\r\nbulksend: all rows sent\n", r.Method, r.URL)
		keys := make([]string, 0, len(r.Header))
		for k := range r.Header {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(r.Header[k], ", "))
		}
		body, _ := io.ReadAll(r.Body)
		b.Write(body)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(code)
		io.WriteString(w, b.String())
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/oauth/token") {
			if tokenStatus != http.StatusOK {
				echo(w, r, tokenStatus)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":%q,"token_type":"bearer","expires_in":3600}`, token)
			return
		}
		echo(w, r, status)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	if useTLS {
		srv.StartTLS()
		ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
		ts.Check(os.WriteFile(ts.MkAbs("ca.pem"), ca, 0o600))
	} else {
		srv.Start()
	}
	ts.Defer(srv.Close)
	ts.Setenv("ECHO", srv.URL)
	host := strings.TrimPrefix(strings.TrimPrefix(srv.URL, "http://"), "https://")
	ts.Setenv("ECHOHOST", host)
	ts.Setenv("ECHO_OAUTH_TOKEN", token)
}

// TestFindLeaks checks that the scan finds what it looks for, so a clean
// scan means something.
func TestFindLeaks(t *testing.T) {
	forms := leakForms([]string{"tw1lio-auth-t0ken"}, []string{"AC123"})
	tests := []struct {
		name string
		out  string
		want bool
	}{
		{"as written", "echo: tw1lio-auth-t0ken", true},
		{"base64", "x " + base64.StdEncoding.EncodeToString([]byte("tw1lio-auth-t0ken")), true},
		{"basic credential", "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("AC123:tw1lio-auth-t0ken")), true},
		{"masked", "Authorization: Basic ***", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := len(findLeaks([]byte(tt.out), forms)) > 0; got != tt.want {
				t.Errorf("findLeaks(%q) found %v, want %v", tt.out, got, tt.want)
			}
		})
	}
	secrets, users := knownSecrets([]string{"API_TOKEN=abcd-1234", "TWILIO_ACCOUNT_SID=AC123", "HOME=/root"},
		[]string{"send", "--url", "http://alice:s3cret@h/x"})
	if !slices.Equal(secrets, []string{"abcd-1234", "s3cret"}) || !slices.Equal(users, []string{"AC123", "alice"}) {
		t.Errorf("knownSecrets = %q, %q", secrets, users)
	}
}
