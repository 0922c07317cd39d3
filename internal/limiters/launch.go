package limiters

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// launch writes the limiter's configuration into c.Dir and returns the
// process that serves it on port, passing allowed requests to backendAddr,
// and a description of the configuration.
func (c Config) launch(port int, backendAddr string) (*process, string, error) {
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p := &process{name: string(c.Kind), dir: c.Dir, addr: addr, logPath: filepath.Join(c.Dir, string(c.Kind)+".log")}
	var err error
	switch c.Kind {
	case Nginx:
		conf := filepath.Join(c.Dir, "nginx.conf")
		if err = writeFile(conf, c.nginxConf(addr, backendAddr)); err != nil {
			return nil, "", err
		}
		if p.path, err = lookPath("nginx"); err != nil {
			return nil, "", err
		}
		// -p and -e keep nginx away from its compiled-in prefix and
		// /var/log before it has read the config.
		p.args = []string{"-p", c.Dir, "-c", conf, "-e", filepath.Join(c.Dir, "nginx-error.log")}
		if c.Conn > 0 {
			return p, fmt.Sprintf("nginx limit_conn %d, refused %d, backend latency %v", c.Conn, c.refusal(), c.Latency), nil
		}
		return p, fmt.Sprintf("nginx limit_req rate=%s%s, refused %d", nginxRate(c.Limit, c.Window), c.nginxBurst(), c.refusal()), nil
	case HAProxy:
		conf := filepath.Join(c.Dir, "haproxy.cfg")
		if err = writeFile(conf, c.haproxyConf(addr, backendAddr)); err != nil {
			return nil, "", err
		}
		if p.path, err = lookPath("haproxy"); err != nil {
			return nil, "", err
		}
		p.args = []string{"-f", conf, "-db"} // -db: foreground, no daemon
		return p, fmt.Sprintf("haproxy http_req_rate(%s) > %d denied %d, denied requests count", haproxyTime(c.Window), c.Limit, c.refusal()), nil
	case Express:
		if p.path, err = lookPath("node"); err != nil {
			return nil, "", err
		}
		p.dir = filepath.Join(c.Root, expressDir)
		style := c.expressStyle()
		p.args = []string{"server.js", strconv.Itoa(port), strconv.Itoa(c.Limit), strconv.FormatInt(c.Window.Milliseconds(), 10), "http://" + backendAddr, style}
		return p, fmt.Sprintf("express-rate-limit %s limit=%d windowMs=%d %s", expressVersion(c.Root), c.Limit, c.Window.Milliseconds(), expressStyleDesc[style]), nil
	case Fastify, Flexible, Rolling:
		if p.path, err = lookPath("node"); err != nil {
			return nil, "", err
		}
		p.dir = filepath.Join(c.Root, nodeDir)
		script, pkg := "fastify.js", "@fastify/rate-limit"
		switch c.Kind {
		case Flexible:
			script, pkg = "flexible.js", "rate-limiter-flexible"
		case Rolling:
			script, pkg = "rolling.js", "rolling-rate-limiter"
		}
		style := c.nodeStyle()
		p.args = []string{script, strconv.Itoa(port), strconv.Itoa(c.Limit), strconv.FormatInt(c.Window.Milliseconds(), 10), "http://" + backendAddr, style}
		return p, fmt.Sprintf("%s %s limit=%d window=%dms %s", pkg, nodeVersion(c.Root, nodeDir, pkg), c.Limit, c.Window.Milliseconds(), style), nil
	case HTTPRate:
		p.path = c.HTTPRateBin
		p.args = []string{"-listen", addr, "-limit", strconv.Itoa(c.Limit), "-window", c.Window.String(), "-backend", "http://" + backendAddr}
		return p, fmt.Sprintf("go-chi/httprate Limit(%d, %s) by IP", c.Limit, c.Window), nil
	case ULule, Throttled, GoLimiter, Tollbooth:
		p.path = c.GoLimitersBin
		p.args = []string{"-kind", string(c.Kind), "-listen", addr, "-limit", strconv.Itoa(c.Limit), "-window", c.Window.String(), "-backend", "http://" + backendAddr}
		return p, c.goLimiterDesc(), nil
	}
	return nil, "", fmt.Errorf("launch %q: unknown limiter", c.Kind)
}

// expressStyle is c's express-rate-limit header style, the default for "".
func (c Config) expressStyle() string {
	if c.Style == "" {
		return StyleDraft8
	}
	return c.Style
}

// nodeStyle is c's @fastify/rate-limit, rate-limiter-flexible or
// rolling-rate-limiter style, the default for "".
func (c Config) nodeStyle() string {
	switch {
	case c.Style != "":
		return c.Style
	case c.Kind == Fastify:
		return StyleFastifyLegacy
	case c.Kind == Rolling:
		return StyleRollingReadme
	}
	return StyleFlexibleReadme
}

// expressStyleDesc says what each style answers, for Desc.
var expressStyleDesc = map[string]string{
	StyleDraft8:     "draft-8 + legacy headers",
	StyleDraft7:     "draft-7 headers",
	StyleDraft6:     "draft-6 headers",
	StyleRetryAfter: "headers off, Retry-After on 429 only",
	StyleNone:       "headers off, bare 429",
}

func (c Config) burst() int {
	switch {
	case c.NoBurst:
		return 0
	case c.Burst > 0:
		return c.Burst
	}
	return c.Limit
}

// nginxConf is a single-worker nginx in the foreground whose pid, logs and
// temp files all stay in c.Dir.
func (c Config) nginxConf(addr, backendAddr string) string {
	user := ""
	if os.Geteuid() == 0 {
		// As root nginx would switch its worker to nobody:nobody, a group
		// Debian lacks; the test's own user can read its temp dir.
		user = "user root root;\n"
	}
	d := c.Dir
	return user + `worker_processes 1;
daemon off;
pid ` + filepath.Join(d, "nginx.pid") + `;
error_log ` + filepath.Join(d, "nginx-error.log") + ` warn;
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path ` + filepath.Join(d, "client_body") + `;
    proxy_temp_path ` + filepath.Join(d, "proxy") + `;
    fastcgi_temp_path ` + filepath.Join(d, "fastcgi") + `;
    uwsgi_temp_path ` + filepath.Join(d, "uwsgi") + `;
    scgi_temp_path ` + filepath.Join(d, "scgi") + `;
    ` + c.nginxZone() + `
    upstream backend {
        server ` + backendAddr + `;
        keepalive 16;
    }
    server {
        listen ` + addr + `;
        location / {
            ` + c.nginxLimit() + `
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
`
}

// nginxZone declares what nginx counts: requests per client in flight
// (limit_conn) or per second (limit_req), and the status of a refusal.
func (c Config) nginxZone() string {
	if c.Conn > 0 {
		return "limit_conn_zone $binary_remote_addr zone=bulksend:1m;\n    limit_conn_status " + strconv.Itoa(c.refusal()) + ";"
	}
	return "limit_req_zone $binary_remote_addr zone=bulksend:1m rate=" + nginxRate(c.Limit, c.Window) + ";\n    limit_req_status " + strconv.Itoa(c.refusal()) + ";"
}

// nginxLimit applies the zone to every request.
func (c Config) nginxLimit() string {
	if c.Conn > 0 {
		return "limit_conn bulksend " + strconv.Itoa(c.Conn) + ";"
	}
	return "limit_req zone=bulksend" + c.nginxBurst() + ";"
}

// nginxBurst is limit_req's burst clause: none for NoBurst (nginx takes
// no burst=0); nodelay unless the excess queues (Queue, Delay).
func (c Config) nginxBurst() string {
	switch {
	case c.NoBurst:
		return ""
	case c.Delay > 0:
		return " burst=" + strconv.Itoa(c.burst()) + " delay=" + strconv.Itoa(c.Delay)
	case c.Queue:
		return " burst=" + strconv.Itoa(c.burst())
	}
	return " burst=" + strconv.Itoa(c.burst()) + " nodelay"
}

// refusal is the status nginx and HAProxy answer a refused request with.
func (c Config) refusal() int {
	if c.Status == 0 {
		return http.StatusTooManyRequests
	}
	return c.Status
}

// nginxRate spells limit per window in nginx's syntax, which takes whole
// requests per second or per minute: 15 per 150ms is "100r/s", 1 per 2s
// "30r/m". A rate neither can express is rounded to the nearer per minute.
func nginxRate(limit int, window time.Duration) string {
	perSecond := float64(limit) / window.Seconds()
	if r := math.Round(perSecond); r >= 1 && math.Abs(perSecond-r) < 1e-9 {
		return strconv.FormatFloat(r, 'f', 0, 64) + "r/s"
	}
	return strconv.FormatFloat(max(math.Round(perSecond*60), 1), 'f', 0, 64) + "r/m"
}

// haproxyConf is one frontend tracking each source address in a stick
// table; the track rule runs before the deny rule, so a denied request
// still counts against the rate.
func (c Config) haproxyConf(addr, backendAddr string) string {
	expire := max(2*c.Window, time.Second)
	return `global
    maxconn 512
    pidfile ` + filepath.Join(c.Dir, "haproxy.pid") + `
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend limited
    bind ` + addr + `
    stick-table type ip size 1k expire ` + haproxyTime(expire) + ` store http_req_rate(` + haproxyTime(c.Window) + `)
    http-request track-sc0 src
    http-request deny deny_status ` + strconv.Itoa(c.refusal()) + ` if { sc_http_req_rate(0) gt ` + strconv.Itoa(c.Limit) + ` }
    default_backend counting
backend counting
    server counting ` + backendAddr + `
`
}

// haproxyTime spells d in HAProxy's time syntax: whole milliseconds.
func haproxyTime(d time.Duration) string {
	return strconv.FormatInt(max(d.Milliseconds(), 1), 10) + "ms"
}

// expressVersion is the installed express-rate-limit's version, for Desc.
func expressVersion(root string) string {
	return nodeVersion(root, expressDir, "express-rate-limit")
}

// nodeVersion is the version of npm package pkg installed in dir (under
// root), for Desc.
func nodeVersion(root, dir, pkg string) string {
	b, err := os.ReadFile(filepath.Join(root, dir, "node_modules", pkg, "package.json"))
	if err != nil {
		return "?"
	}
	const key = `"version": "`
	if _, rest, ok := strings.Cut(string(b), key); ok {
		if v, _, ok := strings.Cut(rest, `"`); ok {
			return v
		}
	}
	return "?"
}

// goLimiterDesc says how the golimiters module configures c's library.
func (c Config) goLimiterDesc() string {
	switch c.Kind {
	case ULule:
		return fmt.Sprintf("ulule/limiter v3 Rate{Period: %s, Limit: %d}, memory store, by IP", c.Window, c.Limit)
	case Throttled:
		return fmt.Sprintf("throttled v2 GCRA PerDuration(%d, %s) MaxBurst %d, by IP", c.Limit, c.Window, c.Limit-1)
	case GoLimiter:
		return fmt.Sprintf("sethvargo/go-limiter memorystore Tokens %d Interval %s, by IP", c.Limit, c.Window)
	}
	return fmt.Sprintf("tollbooth v7 NewLimiter(%g/s) burst %d, by IP and path", float64(c.Limit)/c.Window.Seconds(), c.Limit)
}

// BuildHTTPRate builds the httprate limiter module (its own go.mod, so the
// main module never depends on httprate) into dir and returns the binary.
// The module's dependencies come through the Go module proxy.
func BuildHTTPRate(ctx context.Context, root, dir string) (string, error) {
	return buildModule(ctx, root, dir, httprateDir, "httprate-limiter")
}

// BuildGoLimiters builds the golimiters module (ulule/limiter, throttled,
// sethvargo/go-limiter and tollbooth behind one -kind flag, in its own
// go.mod) into dir and returns the binary. The module's dependencies come
// through the Go module proxy.
func BuildGoLimiters(ctx context.Context, root, dir string) (string, error) {
	return buildModule(ctx, root, dir, golimitersDir, "golimiters-limiter")
}

// buildModule builds the limiter module in moduleDir (relative to the
// repository root) into dir/name.
func buildModule(ctx context.Context, root, dir, moduleDir, name string) (string, error) {
	root, err := findRoot(root)
	if err != nil {
		return "", err
	}
	goBin, err := lookPath("go")
	if err != nil {
		return "", fmt.Errorf("%w: %s: no go on PATH", ErrUnavailable, moduleDir)
	}
	bin := filepath.Join(dir, name)
	// On the command line these override the caller's GOFLAGS, which are
	// about the main module (-mod=vendor, say); the module's own go.sum
	// must do, and it is no checkout of its own to stamp.
	cmd := exec.CommandContext(ctx, goBin, "build", "-mod=readonly", "-buildvcs=false", "-o", bin, ".")
	cmd.Dir = filepath.Join(root, moduleDir)
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build %s: %w: %s", moduleDir, err, strings.TrimSpace(string(out)))
	}
	return bin, nil
}

func writeFile(path, content string) error {
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}
