package testenv

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// TCPProxy forwards a loopback port to a target address (a database, say), so
// that a test can make the target unreachable for a while without touching it.
type TCPProxy struct {
	target string
	addr   string

	mu       sync.Mutex
	listener net.Listener // nil while down
	conns    map[net.Conn]struct{}
	stats    TCPProxyStats
	wg       sync.WaitGroup
}

// TCPProxyStats counts what a TCPProxy did.
type TCPProxyStats struct {
	Accepted int // connections accepted
	Reset    int // open connections Down reset
	Downs    int // calls to Down
}

// StartTCPProxy starts a proxy on a free loopback port forwarding to target
// (host:port). It is closed when t ends.
func StartTCPProxy(t testing.TB, target string) *TCPProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("TCP proxy: listen: %v", err)
	}
	p := &TCPProxy{target: target, addr: l.Addr().String(), conns: map[net.Conn]struct{}{}}
	p.serve(l)
	t.Cleanup(p.close)
	return p
}

// Addr is the proxy's host:port.
func (p *TCPProxy) Addr() string { return p.addr }

// Stats returns the proxy's counters.
func (p *TCPProxy) Stats() TCPProxyStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Down closes the proxy's port (new connections are refused) and resets every
// open connection, until Up.
func (p *TCPProxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Downs++
	if p.listener != nil {
		_ = p.listener.Close()
		p.listener = nil
	}
	for c := range p.conns {
		reset(c)
		p.stats.Reset++
	}
	clear(p.conns)
}

// Up listens on the proxy's port again (retrying for up to 5 s while it is busy).
func (p *TCPProxy) Up() error {
	p.mu.Lock()
	up := p.listener != nil
	p.mu.Unlock()
	if up {
		return nil
	}
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var l net.Listener
		if l, err = net.Listen("tcp", p.addr); err == nil {
			p.serve(l)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("TCP proxy: listen on %s again: %w", p.addr, err)
		}
	}
}

// serve accepts on l until it is closed.
func (p *TCPProxy) serve(l net.Listener) {
	p.mu.Lock()
	p.listener = l
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			p.mu.Lock()
			if p.listener != l { // went down meanwhile
				p.mu.Unlock()
				reset(c)
				continue
			}
			p.stats.Accepted++
			p.conns[c] = struct{}{}
			p.mu.Unlock()
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.forward(c)
			}()
		}
	}()
}

// forward copies between c and a new connection to the target until either ends.
func (p *TCPProxy) forward(c net.Conn) {
	defer p.drop(c)
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	p.mu.Lock()
	if _, open := p.conns[c]; !open { // reset meanwhile
		p.mu.Unlock()
		_ = up.Close()
		return
	}
	p.conns[up] = struct{}{}
	p.mu.Unlock()
	defer p.drop(up)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
}

// drop closes c and forgets it.
func (p *TCPProxy) drop(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	_ = c.Close()
}

// close stops the proxy for good.
func (p *TCPProxy) close() {
	p.Down()
	p.wg.Wait()
}

// reset closes c with an RST rather than a FIN, as a dropped connection looks.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// FreeHostPort returns a loopback host:port nobody listens on (a moment ago).
func FreeHostPort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}
