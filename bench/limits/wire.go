package main

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"time"
)

// A long network path in front of a real limiter (-custom's wire=D): a
// TCP proxy on loopback that holds every chunk of bytes D/2 on its way in
// and D/2 on its way back, so that every round trip is D longer, as to a
// remote API, while the server decides at once. Each connection gets its
// own upstream connection; order within a direction is kept.

// wireProxy is a delaying proxy to one upstream address.
type wireProxy struct {
	ln       net.Listener
	upstream string
	oneWay   time.Duration
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]bool
}

// startWire starts a proxy to base's host that adds rtt to every round
// trip, and returns the base URL that goes through it.
func startWire(base string, rtt time.Duration) (*wireProxy, string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, "", fmt.Errorf("wire: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("wire: %w", err)
	}
	p := &wireProxy{ln: ln, upstream: u.Host, oneWay: rtt / 2, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	u.Host = ln.Addr().String()
	return p, u.String(), nil
}

func (p *wireProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.upstream)
		if err != nil {
			c.Close()
			continue
		}
		if !p.track(c, up) {
			return
		}
		p.wg.Add(2)
		go p.pipe(up, c)
		go p.pipe(c, up)
	}
}

// track keeps c and up to close at Close; false once closed.
func (p *wireProxy) track(c, up net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		c.Close()
		up.Close()
		return false
	}
	p.conns[c], p.conns[up] = true, true
	return true
}

// wireChunk is bytes read at a time, due on the other side oneWay later.
type wireChunk struct {
	due  time.Time
	data []byte
}

// pipe copies from src to dst, each chunk oneWay after it was read; at
// src's end it closes dst's writing side once the chunks before are out.
func (p *wireProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	ch := make(chan wireChunk, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range ch {
			if d := time.Until(c.due); d > 0 {
				time.Sleep(d)
			}
			if _, err := dst.Write(c.data); err != nil {
				// Drain so the reader never blocks.
				for range ch {
				}
				return
			}
		}
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			ch <- wireChunk{due: time.Now().Add(p.oneWay), data: append([]byte(nil), buf[:n]...)}
		}
		if err != nil {
			if err != io.EOF {
				dst.Close()
			}
			break
		}
	}
	close(ch)
	<-done
}

// Close stops the proxy and its connections.
func (p *wireProxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
	return err
}
