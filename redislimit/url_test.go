package redislimit

import (
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		name     string
		url      string
		key      string
		addr     string
		db       int
		user     string
		password string
		tls      bool
		wantErr  string
	}{
		{name: "plain", url: "redis://localhost:6379/0?key=genesys", key: "genesys", addr: "localhost:6379"},
		{name: "user, password and db", url: "redis://bob:pw@10.0.0.5:6380/3?key=q", key: "q", addr: "10.0.0.5:6380",
			db: 3, user: "bob", password: "pw"},
		{name: "password only", url: "redis://:pw@h/1?key=q", key: "q", addr: "h:6379", db: 1, password: "pw"},
		{name: "tls", url: "rediss://h:6380?key=q", key: "q", addr: "h:6380", tls: true},
		{name: "go-redis options pass through", url: "redis://h?key=q&dial_timeout=2s", key: "q", addr: "h:6379"},
		{name: "key with spaces, escaped", url: "redis://h?key=org%20one", key: "org one", addr: "h:6379"},
		{name: "no key", url: "redis://h:6379/0", wantErr: "add ?key=NAME"},
		{name: "empty key", url: "redis://h:6379/0?key=", wantErr: "add ?key=NAME"},
		{name: "http", url: "http://h?key=q", wantErr: "want redis://"},
		{name: "no scheme", url: "h:6379?key=q", wantErr: "want redis://"},
		{name: "bad db", url: "redis://h/zero?key=q", wantErr: "invalid database number"},
		{name: "unknown option", url: "redis://h?key=q&colour=red", wantErr: "unexpected option"},
		{name: "bad port", url: "redis://h:port?key=q", wantErr: "invalid redis URL"},
		{name: "control character", url: "redis://h\x7f?key=q", wantErr: "invalid redis URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt, key, err := ParseURL(tt.url)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if key != tt.key || opt.Addr != tt.addr || opt.DB != tt.db || opt.Username != tt.user ||
				opt.Password != tt.password || (opt.TLSConfig != nil) != tt.tls {
				t.Errorf("got key %q addr %q db %d user %q password %q tls %v",
					key, opt.Addr, opt.DB, opt.Username, opt.Password, opt.TLSConfig != nil)
			}
		})
	}
}

// FuzzParseURL: ParseURL never panics, a success always names a key, and
// an error never shows the URL's password.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"redis://localhost:6379/0?key=q",
		"rediss://bob:hunter22@h:6380/2?key=q&dial_timeout=1s",
		"redis://bob:hunter22@h:port?key=q",
		"redis://bob:hunter22@h/x?key=q",
		"redis://bob:hunter22@h/0?colour=red&key=q",
		"redis://bob:hunter22@h/0",
		"redis://bob:hunter22@[::1/0?key=q",
		"http://bob:hunter22@h?key=q",
		"redis://%zz:hunter22@h?key=q",
		"#://:0000@", // a "password" in the fragment: messages never echo a fragment
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		opt, key, err := ParseURL(raw)
		if err == nil {
			if key == "" || opt == nil {
				t.Fatalf("ParseURL(%q) = %v, %q, nil", raw, opt, key)
			}
			return
		}
		pw, rest := password(raw)
		// A short password may appear in the message by chance (as part of
		// the host, say); only one that the rest of the URL lacks is a leak.
		if len(pw) < 4 || strings.Contains(rest, pw) {
			return
		}
		if strings.Contains(err.Error(), pw) {
			t.Fatalf("ParseURL(%q): error %q shows the password", raw, err)
		}
	})
}

// password finds the password of raw as url.Parse would, even when raw does
// not parse as a whole: between "scheme://user:" and the authority's last
// "@". rest is raw without it.
func password(raw string) (pw, rest string) {
	_, after, ok := strings.Cut(raw, "://")
	if !ok {
		return "", raw
	}
	auth := after
	if i := strings.IndexAny(auth, "/?#"); i >= 0 {
		auth = auth[:i]
	}
	at := strings.LastIndex(auth, "@")
	if at < 0 {
		return "", raw
	}
	_, pw, ok = strings.Cut(auth[:at], ":")
	if !ok {
		return "", raw
	}
	return pw, strings.Replace(raw, pw, "", 1)
}
