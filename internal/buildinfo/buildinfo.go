// Package buildinfo says which bulksend is running: the version set at
// link time, or else what the Go toolchain recorded in the binary (the
// module version of `go install ...@v1.2.3`, the VCS revision of a
// `go build` in a checkout, the Go version), and the User-Agent every
// request carries so a server's operator can tell bulksend's traffic apart
// and find the project.
package buildinfo

import (
	"fmt"
	"maps"
	"net/http"
	"runtime/debug"
	"strings"
)

// ProjectURL is where a server operator who sees bulksend's User-Agent can
// read what it is.
const ProjectURL = "https://github.com/bulksend/bulksend"

// Info describes a build.
type Info struct {
	Version   string // "v1.2.3", or "devel" when nothing better is known
	Revision  string // VCS revision, "" when not recorded
	Time      string // VCS commit time (RFC 3339), "" when not recorded
	Modified  bool   // built from a work tree with uncommitted changes
	GoVersion string // "go1.26.8"
}

// Read returns this binary's Info; linked is the version set at link time
// ("" or "dev" when none was).
func Read(linked string) Info {
	bi, _ := debug.ReadBuildInfo()
	return FromBuildInfo(bi, linked)
}

// FromBuildInfo is Read over the given build information (nil when the
// binary has none), so tests can pin it.
func FromBuildInfo(bi *debug.BuildInfo, linked string) Info {
	info := Info{Version: "devel"}
	if bi != nil {
		info.GoVersion = bi.GoVersion
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			info.Version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Revision = s.Value
			case "vcs.time":
				info.Time = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
	}
	if linked != "" && linked != "dev" {
		info.Version = linked
	}
	return info
}

// String is the line `bulksend version` prints after "bulksend ":
// "v1.2.3 (go1.26.8)" or "devel 3f9a81c2d7e4+dirty 2026-12-03T10:00:00Z (go1.26.8)".
func (i Info) String() string {
	var b strings.Builder
	b.WriteString(i.Version)
	if i.Revision != "" {
		b.WriteString(" ")
		b.WriteString(short(i.Revision))
		if i.Modified {
			b.WriteString("+dirty")
		}
	}
	if i.Time != "" {
		b.WriteString(" ")
		b.WriteString(i.Time)
	}
	if i.GoVersion != "" {
		fmt.Fprintf(&b, " (%s)", i.GoVersion)
	}
	return b.String()
}

// UserAgent is the User-Agent header of every request:
// "bulksend/v1.2.3 (+https://github.com/bulksend/bulksend)"; a build with no
// version names its revision ("bulksend/devel-3f9a81c2d7e4").
func (i Info) UserAgent() string {
	v := i.Version
	if v == "devel" && i.Revision != "" {
		v += "-" + short(i.Revision)
	}
	return "bulksend/" + v + " (+" + ProjectURL + ")"
}

func short(rev string) string { return rev[:min(len(rev), 12)] }

// Transport sets the User-Agent of every request that has none, so a
// --header User-Agent of the user's wins.
type Transport struct {
	Base      http.RoundTripper // nil means http.DefaultTransport
	UserAgent string
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if _, ok := req.Header["User-Agent"]; ok || t.UserAgent == "" {
		return base.RoundTrip(req)
	}
	// A RoundTripper must not modify the request it was given: a shallow
	// copy with its own header map (as Request.WithContext makes) is enough,
	// and much cheaper per request than Clone.
	r := *req
	r.Header = make(http.Header, len(req.Header)+1)
	maps.Copy(r.Header, req.Header)
	r.Header["User-Agent"] = []string{t.UserAgent}
	return base.RoundTrip(&r)
}
