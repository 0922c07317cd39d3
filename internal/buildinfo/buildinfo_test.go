package buildinfo

import (
	"net/http"
	"runtime/debug"
	"testing"

	"github.com/bulksend/bulksend/internal/testkit"
)

func TestFromBuildInfo(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "vcs.revision", Value: "3f9a81c2d7e4b5a6c7d8e9f0a1b2c3d4e5f6a7b8"},
		{Key: "vcs.time", Value: "2026-12-03T10:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	tests := []struct {
		name    string
		bi      *debug.BuildInfo
		linked  string
		str, ua string
	}{
		{"no build info", nil, "", "devel", "bulksend/devel (+https://github.com/bulksend/bulksend)"},
		{"go install @version", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}}, "dev",
			"v1.2.3 (go1.26.8)", "bulksend/v1.2.3 (+https://github.com/bulksend/bulksend)"},
		{"go build in a checkout", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs}, "",
			"devel 3f9a81c2d7e4+dirty 2026-12-03T10:00:00Z (go1.26.8)", "bulksend/devel-3f9a81c2d7e4 (+https://github.com/bulksend/bulksend)"},
		{"link-time version wins", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}}, "v2.0.0",
			"v2.0.0 (go1.26.8)", "bulksend/v2.0.0 (+https://github.com/bulksend/bulksend)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := FromBuildInfo(tt.bi, tt.linked)
			if got := info.String(); got != tt.str {
				t.Errorf("String() = %q, want %q", got, tt.str)
			}
			if got := info.UserAgent(); got != tt.ua {
				t.Errorf("UserAgent() = %q, want %q", got, tt.ua)
			}
		})
	}
}

func TestTransport(t *testing.T) {
	srv := testkit.NewServer(t, nil)
	c := &http.Client{Transport: &Transport{UserAgent: "bulksend/v1 (+x)"}}
	tests := []struct {
		name, set, want string
	}{
		{"default", "", "bulksend/v1 (+x)"},
		{"the user's header wins", "curl/8", "curl/8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.set != "" {
				req.Header.Set("User-Agent", tt.set)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			reqs := srv.Requests()
			if ua := reqs[len(reqs)-1].Header.Get("User-Agent"); ua != tt.want {
				t.Errorf("server saw User-Agent %q, want %q", ua, tt.want)
			}
			if tt.set == "" && req.Header.Get("User-Agent") != "" {
				t.Error("the caller's request was modified")
			}
		})
	}
}
