package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/bulksend/bulksend/ratelimit"
	"github.com/bulksend/bulksend/redislimit"
	"github.com/bulksend/bulksend/sender"
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

// rowsSource yields one message per id ("" for a row without one; odd
// lines are invalid).
func rowsSource(ids []string) sender.Source {
	i := 0
	return sourceFunc(func(context.Context) (*sender.Message, error) {
		if i == len(ids) {
			return nil, io.EOF
		}
		i++
		m := &sender.Message{Line: i + 1, ID: ids[i-1]}
		if i%2 == 1 {
			m.Invalid = errors.New("bad row")
		}
		return m, nil
	})
}

// TestShardSource: every row, invalid or without an id included, comes out
// of exactly one of n shards.
func TestShardSource(t *testing.T) {
	var ids []string
	for i := range 300 {
		id := fmt.Sprintf("r%05d", i)
		if i%10 == 0 {
			id = "" // placed by its line number
		}
		ids = append(ids, id)
	}
	for _, n := range []int{1, 2, 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			seen := make(map[int]int)
			for i := 1; i <= n; i++ {
				src, err := shardSource(rowsSource(ids), fmt.Sprintf("%d/%d", i, n))
				if err != nil {
					t.Fatal(err)
				}
				got := 0
				for {
					m, err := src.Next(context.Background())
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					seen[m.Line]++
					got++
				}
				if n > 1 && (got < len(ids)/n*7/10 || got > len(ids)/n*13/10) {
					t.Errorf("shard %d/%d got %d of %d rows", i, n, got, len(ids))
				}
			}
			for line := 2; line <= len(ids)+1; line++ {
				if seen[line] != 1 {
					t.Errorf("line %d came out of %d shards, want 1", line, seen[line])
				}
			}
		})
	}
	if _, err := shardSource(rowsSource(ids), "0/2"); err == nil || exitCode(err) != ExitUsage {
		t.Errorf("shardSource(0/2): %v, want a usage error", err)
	}
	src := rowsSource(ids)
	if got, _ := shardSource(src, ""); got == nil {
		t.Error(`shardSource("") returned no source`)
	}
}
