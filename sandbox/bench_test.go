package sandbox

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
)

// discard is a ResponseWriter that keeps nothing, so the benchmark measures
// the handler, not a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

type rewind struct{ *bytes.Reader }

func (rewind) Close() error { return nil }

func BenchmarkServeHTTP(b *testing.B) {
	body := []byte(`{"to":"+15551234567","text":"hello there"}`)
	newReq := func() (*http.Request, rewind) {
		r, err := http.NewRequest("POST", "/send", nil)
		if err != nil {
			b.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/json")
		rd := rewind{bytes.NewReader(body)}
		r.Body = rd
		return r, rd
	}
	b.Run("send", func(b *testing.B) {
		s, err := New(Config{})
		if err != nil {
			b.Fatal(err)
		}
		r, rd := newReq()
		w := &discard{h: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			rd.Reset(body)
			clear(w.h)
			s.ServeHTTP(w, r)
		}
		if st := s.Stats(); st.Delivered != int64(b.N) {
			b.Fatalf("delivered %d of %d", st.Delivered, b.N)
		}
	})
	b.Run("send-parallel", func(b *testing.B) {
		s, err := New(Config{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			r, rd := newReq()
			w := &discard{h: http.Header{}}
			for pb.Next() {
				rd.Reset(body)
				clear(w.h)
				s.ServeHTTP(w, r)
			}
		})
	})
	b.Run("loopback", func(b *testing.B) {
		s, err := New(Config{})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		addr, done, err := Start(ctx, "127.0.0.1:0", s)
		if err != nil {
			b.Fatal(err)
		}
		defer func() { cancel(); <-done }()
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		defer client.CloseIdleConnections()
		url := "http://" + addr + "/send"
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				resp, err := client.Post(url, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	})
}
