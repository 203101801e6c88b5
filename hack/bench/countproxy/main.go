// Command countproxy is a reverse proxy on loopback that counts the registry
// requests passing through it, by method and kind (manifest, blob, other),
// and prints the counts when asked at /_count or when it stops. It can add
// a round-trip time to each request (PUT /_rtt?d=10ms).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type counter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *counter) add(key string) {
	c.mu.Lock()
	c.counts[key]++
	c.counts["total"]++
	c.mu.Unlock()
}

func (c *counter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.counts))
	for k, v := range c.counts {
		out[k] = v
	}
	return out
}

func kind(path string) string {
	switch {
	case strings.Contains(path, "/manifests/"):
		return "manifest"
	case strings.Contains(path, "/blobs/"):
		return "blob"
	}
	return "other"
}

func main() {
	listen := flag.String("listen", "127.0.0.1:5001", "loopback address to listen on")
	upstream := flag.String("upstream", "http://127.0.0.1:5000", "registry to forward to")
	flag.Parse()
	target, err := url.Parse(*upstream)
	if err != nil {
		log.Fatal(err)
	}
	c := &counter{counts: map[string]int{}}
	proxy := httputil.NewSingleHostReverseProxy(target)
	// Keep a connection to the registry per client connection: with
	// net/http's default of 2 idle connections per host, a client making
	// requests in parallel would make the proxy dial the registry again for
	// most of them, a cost that a client making one request at a time never
	// pays, and that no client pays without the proxy.
	upstreamTransport := http.DefaultTransport.(*http.Transport).Clone()
	upstreamTransport.MaxIdleConnsPerHost = 256
	proxy.Transport = upstreamTransport
	mux := http.NewServeMux()
	mux.HandleFunc("/_count", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			c.mu.Lock()
			c.counts = map[string]int{}
			c.mu.Unlock()
		}
		_ = json.NewEncoder(w).Encode(c.snapshot())
	})
	// PUT /_rtt?d=10ms delays every request after it by d before it is
	// forwarded: a registry a network round trip away, for the requests
	// that are measured (not the pushes that fill the registry).
	var rtt atomic.Int64
	mux.HandleFunc("/_rtt", func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.URL.Query().Get("d"))
		if r.Method != http.MethodPut || err != nil || d < 0 {
			http.Error(w, "PUT /_rtt?d=DURATION", http.StatusBadRequest)
			return
		}
		rtt.Store(int64(d))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c.add(r.Method + " " + kind(r.URL.Path))
		if d := time.Duration(rtt.Load()); d > 0 {
			time.Sleep(d)
		}
		proxy.ServeHTTP(w, r)
	})
	srv := &http.Server{Addr: *listen, Handler: mux}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		log.Fatal(err)
	}
	_ = json.NewEncoder(os.Stdout).Encode(c.snapshot())
}
