// Package delayproxy is a TCP proxy on loopback that adds a fixed round-trip
// time, so that benchmarks can count a client's round trips in
// milliseconds: each direction's bytes arrive half an RTT after they were
// sent, and a new connection costs one RTT before its first byte passes,
// as a TCP handshake does.
package delayproxy

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy forwards connections to one upstream address with a delay.
type Proxy struct {
	// Addr is where the proxy listens (127.0.0.1:port).
	Addr     string
	upstream string
	rtt      time.Duration
	ln       net.Listener
	wg       sync.WaitGroup
	conns    atomic.Int64

	mu     sync.Mutex
	open   map[net.Conn]struct{}
	closed bool
}

// Start listens on a free loopback port and forwards to upstream, adding rtt
// to every round trip.
func Start(upstream string, rtt time.Duration) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{Addr: ln.Addr().String(), upstream: upstream, rtt: rtt, ln: ln, open: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Conns is the number of connections accepted so far.
func (p *Proxy) Conns() int64 { return p.conns.Load() }

// Close stops listening and cuts every connection.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.open {
		c.Close()
	}
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.open[c] = struct{}{}
	return true
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.conns.Add(1)
		if !p.track(c) {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.forward(c)
		}()
	}
}

func (p *Proxy) forward(c net.Conn) {
	defer c.Close()
	time.Sleep(p.rtt) // the handshake
	up, err := net.Dial("tcp", p.upstream)
	if err != nil {
		return
	}
	if !p.track(up) {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { pipe(up, c, p.rtt/2); done <- struct{}{} }()
	go func() { pipe(c, up, p.rtt/2); done <- struct{}{} }()
	<-done
	<-done
}

type chunk struct {
	b  []byte
	at time.Time
}

// pipe copies src to dst, each chunk delay after it was read, in order.
func pipe(dst, src net.Conn, delay time.Duration) {
	ch := make(chan chunk, 1024)
	go func() {
		defer close(ch)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				ch <- chunk{buf[:n], time.Now().Add(delay)}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range ch {
		time.Sleep(time.Until(c.at))
		if _, err := dst.Write(c.b); err != nil {
			break
		}
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite() // src said all it had to say
	}
	for range ch { // until src ends
	}
}
