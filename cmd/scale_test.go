package cmd

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/bulksend/bulksend/ratelimit"
	"github.com/bulksend/bulksend/redislimit"
)

func TestCheckScale(t *testing.T) {
	tests := []struct {
		name     string
		limiter  string
		shard    string
		adaptive bool
		wantErr  string
	}{
		{name: "neither"},
		{name: "adaptive alone", adaptive: true},
		{name: "both", limiter: "redis://h:6379/0?key=q", shard: "2/3"},
		{name: "limiter without rate", limiter: "redis://h:6379/0?key=q", adaptive: true, wantErr: "--limiter needs --rate"},
		{name: "limiter without key", limiter: "redis://h:6379/0", wantErr: "--limiter: "},
		{name: "limiter password never shown", limiter: "redis://u:hunter22@h/x?key=q", wantErr: "invalid database"},
		{name: "bad shard", shard: "3/2", wantErr: "--shard: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkScale(tt.limiter, tt.shard, tt.adaptive)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || exitCode(err) != ExitUsage || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("checkScale: %v (exit %d), want usage error with %q", err, exitCode(err), tt.wantErr)
			}
			if strings.Contains(err.Error(), "hunter22") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestBuildLimiter(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	cfg := ratelimit.Config{Rate: ratelimit.Rate{Count: 5, Per: 1e9}}

	lim, closeLim, err := buildLimiter(context.Background(), "", cfg, io.Discard, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := lim.(*ratelimit.Limiter); !ok {
		t.Errorf("no --limiter: got %T, want the process's own limiter", lim)
	}
	if err := closeLim(); err != nil {
		t.Error(err)
	}

	_, _, err = buildLimiter(context.Background(), "redis://u:hunter22@"+closed+"/0?key=q", cfg, io.Discard, true)
	if err == nil || exitCode(err) != ExitError || !strings.Contains(err.Error(), "cannot reach redis") {
		t.Fatalf("unreachable redis: %v (exit %d), want exit 1 saying so", err, exitCode(err))
	}
	if strings.Contains(err.Error(), "hunter22") {
		t.Errorf("error %q shows the password", err)
	}
	var _ runLimiter = (*redislimit.Limiter)(nil)
}
