package chaos

import (
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/volumeguard/volumeguard/test/internal/harness"
)

// balancer is what a Service is to the API server, on loopback: a TCP
// listener that spreads new connections round-robin over the replicas
// whose /readyz answers 200 (polled every 100 ms, as endpoints follow
// readiness), each connection pinned to its replica until either side
// closes it. A connection to a replica that refuses it is tried on the
// next one, as a load balancer retries a failed connect.
type balancer struct {
	ln       net.Listener
	backends []*backend
	next     atomic.Int64
	stop     chan struct{}
	wg       sync.WaitGroup

	mu      sync.Mutex
	clients map[net.Conn]bool // open, to close when the test ends
	routes  map[string]int    // client address -> backend index, for every connection piped
}

type backend struct {
	addr, readyz string
	ready        atomic.Bool
	conns        atomic.Int64 // open client connections
	mu           sync.Mutex
	failedAt     time.Time // first failed poll after being ready
}

// startBalancer listens on addr until t ends, in front of replicas; each
// gets connections once its /readyz answers 200.
func startBalancer(t *testing.T, addr string, replicas ...*harness.Serve) *balancer {
	t.Helper()
	var ln net.Listener
	var err error
	// The previous test's balancer may have closed this port a moment ago.
	for range 50 {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{ln: ln, stop: make(chan struct{}), clients: map[net.Conn]bool{}, routes: map[string]int{}}
	for _, r := range replicas {
		b.backends = append(b.backends, &backend{addr: r.Addr, readyz: "http://" + r.Metrics + "/readyz"})
	}
	client := http.Client{Timeout: 500 * time.Millisecond}
	b.pollOnce(&client) // the replicas are ready: so is the balancer, at once
	b.wg.Go(b.accept)
	b.wg.Go(b.poll)
	t.Cleanup(func() {
		close(b.stop)
		ln.Close()
		// The API server keeps idle connections for long.
		b.mu.Lock()
		for c := range b.clients {
			c.Close()
		}
		b.mu.Unlock()
		b.wg.Wait()
	})
	return b
}

// notReadyAt is when the balancer saw be's /readyz fail, zero if never.
func (be *backend) notReadyAt() time.Time {
	be.mu.Lock()
	defer be.mu.Unlock()
	return be.failedAt
}

func (b *balancer) poll() {
	client := http.Client{Timeout: 500 * time.Millisecond}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-tick.C:
		}
		b.pollOnce(&client)
	}
}

func (b *balancer) pollOnce(client *http.Client) {
	for _, be := range b.snapshot() {
		resp, err := client.Get(be.readyz)
		ok := err == nil && resp.StatusCode == http.StatusOK
		if err == nil {
			resp.Body.Close()
		}
		if be.ready.Swap(ok) && !ok {
			be.mu.Lock()
			be.failedAt = time.Now()
			be.mu.Unlock()
		}
	}
}

func (b *balancer) snapshot() []*backend { return b.backends }

func (b *balancer) accept() {
	for {
		client, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.wg.Go(func() { b.serve(client) })
	}
}

// serve pipes client to a ready replica, or closes it when there is none.
func (b *balancer) serve(client net.Conn) {
	b.mu.Lock()
	b.clients[client] = true
	b.mu.Unlock()
	defer func() {
		client.Close()
		b.mu.Lock()
		delete(b.clients, client)
		b.mu.Unlock()
	}()
	backends := b.snapshot()
	start := int(b.next.Add(1))
	for k := range backends {
		i := (start + k) % len(backends)
		be := backends[i]
		if !be.ready.Load() {
			continue
		}
		server, err := net.DialTimeout("tcp", be.addr, time.Second)
		if err != nil {
			be.ready.Store(false)
			continue
		}
		b.mu.Lock()
		b.routes[client.RemoteAddr().String()] = i
		b.mu.Unlock()
		be.conns.Add(1)
		defer be.conns.Add(-1)
		pipe(client, server)
		return
	}
}

// routeOf is the index of the backend the connection from client address
// addr was piped to, or -1.
func (b *balancer) routeOf(addr string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if i, ok := b.routes[addr]; ok {
		return i
	}
	return -1
}

// pipe copies both ways until one side ends, then closes both.
func pipe(a, b net.Conn) {
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(a, b); done <- struct{}{} }()
	go func() { _, _ = io.Copy(b, a); done <- struct{}{} }()
	<-done
	a.Close()
	b.Close()
	<-done
}
