package imageinspect

import (
	"context"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// hostile is a registry on loopback that answers pings and blobs, and
// answers manifest GETs as its mode says: serve them, hang, or fail.
type hostile struct {
	host      string
	mode      atomic.Value // a hostileMode
	manifests atomic.Int64 // manifest GETs received
	arrived   chan string  // paths of manifest GETs, as they arrive
	stop      chan struct{}
}

type hostileMode string

const (
	serveOK    hostileMode = "ok"    // as a registry does
	hang       hostileMode = "hang"  // accept and never answer, until the client leaves
	holdThenOK hostileMode = "hold"  // wait until released (release), then answer
	answer500  hostileMode = "500"   // 500 Internal Server Error
	answer404  hostileMode = "404"   // manifest unknown
	answer401  hostileMode = "401"   // unauthorized, no challenge
	answer429  hostileMode = "429"   // rate-limited for an hour
	hangSlow   hostileMode = "slow/" // hang for repositories under slow/, serve the others
)

func startHostile(t *testing.T, mode hostileMode) *hostile {
	t.Helper()
	h := &hostile{arrived: make(chan string, 1000), stop: make(chan struct{})}
	h.mode.Store(mode)
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	h.host = serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Only manifest GETs: pushes (PUT, HEAD) pass.
		if !strings.Contains(r.URL.Path, "/manifests/") || r.Method != http.MethodGet {
			reg.ServeHTTP(w, r)
			return
		}
		h.manifests.Add(1)
		select {
		case h.arrived <- r.URL.Path:
		default:
		}
		switch mode := h.mode.Load().(hostileMode); {
		case mode == hang, mode == hangSlow && strings.HasPrefix(r.URL.Path, "/v2/slow/"):
			select {
			case <-r.Context().Done():
			case <-h.stop:
			}
			return
		case mode == holdThenOK:
			select {
			case <-r.Context().Done():
				return
			case <-h.stop:
			}
		case mode == answer500:
			w.WriteHeader(http.StatusInternalServerError)
			return
		case mode == answer404:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`)
			return
		case mode == answer401:
			w.WriteHeader(http.StatusUnauthorized)
			return
		case mode == answer429:
			tooMany("3600")(w, r)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	// Registered after the server: runs before it closes, which waits for
	// the handlers.
	t.Cleanup(h.release)
	return h
}

// release ends the hangs and holds.
func (h *hostile) release() {
	select {
	case <-h.stop:
	default:
		close(h.stop)
	}
}

func (h *hostile) setMode(m hostileMode) { h.mode.Store(m) }

// waitArrived waits for n more manifest GETs to reach h.
func (h *hostile) waitArrived(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-h.arrived:
		case <-time.After(30 * time.Second):
			t.Fatalf("still waiting for a manifest request to %s", h.host)
		}
	}
}

// refusedHost is a loopback address where nothing listens.
func refusedHost(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// eventually waits until cond holds, failing the test after a long while.
// It synchronises with goroutines; it asserts nothing about time.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
	}
}

// background runs lookups that the test ends by cancelling their context.
type background struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startBackground(t *testing.T) *background {
	b := &background{}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	t.Cleanup(func() { b.cancel(); b.wg.Wait() })
	return b
}

func (b *background) inspect(in *Inspector, ref string, opts ...InspectOption) {
	b.wg.Go(func() { in.Inspect(b.ctx, ref, nil, opts...) })
}

// recordedMetrics keeps what the new callbacks were told.
type recordedMetrics struct {
	mu      sync.Mutex
	waits   map[SlotKind]int
	events  []CircuitEvent
	gaveUp  int
	lookups map[CacheKind][2]int // misses, hits
}

func (r *recordedMetrics) metrics() Metrics {
	r.waits, r.lookups = map[SlotKind]int{}, map[CacheKind][2]int{}
	return Metrics{
		SlotWait: func(kind SlotKind, _ time.Duration, ok bool) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.waits[kind]++
			if !ok {
				r.gaveUp++
			}
		},
		Circuit: func(ev CircuitEvent) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.events = append(r.events, ev)
		},
		CacheLookup: func(kind CacheKind, hit bool) {
			r.mu.Lock()
			defer r.mu.Unlock()
			c := r.lookups[kind]
			if hit {
				c[1]++
			} else {
				c[0]++
			}
			r.lookups[kind] = c
		},
	}
}

func (r *recordedMetrics) slotWaits() (map[SlotKind]int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.waits), r.gaveUp
}

func (r *recordedMetrics) circuitEvents() []CircuitEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]CircuitEvent(nil), r.events...)
}

func shortContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	t.Cleanup(cancel)
	return ctx
}

// failed waits until in counted n failures against hosts: a lookup that
// times out returns as its deadline passes, and the flight it led counts
// the failure a moment later.
func failed(t *testing.T, in *Inspector, n int64) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d host failures", n), func() bool { return in.Stats().HostFailures == n })
}
