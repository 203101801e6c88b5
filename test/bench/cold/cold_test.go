// Package cold measures cold admissions against their floor: the latency of
// reading the volumes of an image never seen, through a proxy adding a fixed
// round-trip time to an in-process registry, once the registry's ping (and
// token) are cached. It runs only when asked (make bench-cold, make bench):
// its figures go to docs/benchmarks.md, never into an assertion.
package cold

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/internal/testimage"
	"github.com/volumeguard/volumeguard/test/internal/delayproxy"
)

// recorder is a registry that logs the requests it serves and, when
// bearer is set, demands a token as Docker Hub does: 401 with a
// WWW-Authenticate challenge naming /token on the host asked (the proxy, so
// that the token round trip is delayed too), which hands one to anyone.
type recorder struct {
	next   http.Handler
	bearer atomic.Bool
	mu     sync.Mutex
	log    []string
}

func (rr *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rr.mu.Lock()
	rr.log = append(rr.log, r.Method+" "+r.URL.Path)
	rr.mu.Unlock()
	if r.URL.Path == "/token" {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"token":"t0k3n","expires_in":300}`)
		return
	}
	if rr.bearer.Load() && r.Header.Get("Authorization") != "Bearer t0k3n" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="http://`+r.Host+`/token",service="bench"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	rr.next.ServeHTTP(w, r)
}

func (rr *recorder) take() []string {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	out := rr.log
	rr.log = nil
	return out
}

type scenario struct {
	name     string
	index    bool
	bearer   bool
	required int // round trips a cold lookup cannot do without
}

func TestColdAdmission(t *testing.T) {
	if os.Getenv("VOLUMEGUARD_BENCH_COLD") == "" {
		t.Skip("set VOLUMEGUARD_BENCH_COLD=1 (make bench-cold) to measure cold lookups")
	}
	rtt := 20 * time.Millisecond
	if v := os.Getenv("VOLUMEGUARD_BENCH_RTT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		rtt = d
	}
	const trials = 9
	scenarios := []scenario{
		{name: "(a) single-platform image", required: 2},
		{name: "(b) index of two linux platforms", index: true, required: 3},
		{name: "(c) single-platform, bearer token", bearer: true, required: 2},
		{name: "(c) index, bearer token", index: true, bearer: true, required: 3},
	}
	fmt.Printf("cold lookups of a new tag through a proxy adding %s per round trip (ping and token cached), %d trials each\n", rtt, trials)
	fmt.Printf("%-36s %8s %8s %8s %8s %8s %9s  %s\n", "scenario", "floor_ms", "goal_ms", "min_ms", "p50_ms", "max_ms", "requests", "requests of one lookup")
	for _, sc := range scenarios {
		rr := &recorder{next: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
		srv := httptest.NewServer(rr)
		host := strings.TrimPrefix(srv.URL, "http://")
		// Push straight to the registry, then read through the proxy.
		refs := make([]string, trials+1)
		for k := range refs {
			refs[k] = fmt.Sprintf("%s/bench/app:v%d", host, k)
			push(t, refs[k], sc.index, k)
		}
		rr.bearer.Store(sc.bearer)
		proxy, err := delayproxy.Start(host, rtt)
		if err != nil {
			t.Fatal(err)
		}
		insp, err := imageinspect.New(imageinspect.WithKeychain(authn.NewMultiKeychain()), imageinspect.WithInsecureRegistries(proxy.Addr))
		if err != nil {
			t.Fatal(err)
		}
		via := func(ref string) string { return strings.Replace(ref, host, proxy.Addr, 1) }
		ctx := context.Background()
		// The first lookup pays the ping, the token and the connections.
		if _, err := insp.Inspect(ctx, via(refs[0]), nil); err != nil {
			t.Fatal(err)
		}
		rr.take()
		var lat []time.Duration
		var reqs []string
		for _, ref := range refs[1:] {
			start := time.Now()
			if _, err := insp.Inspect(ctx, via(ref), nil); err != nil {
				t.Fatal(err)
			}
			lat = append(lat, time.Since(start))
			reqs = rr.take()
		}
		slices.Sort(lat)
		floor := time.Duration(sc.required) * rtt
		goal := time.Duration(float64(floor)*1.2) + 5*time.Millisecond
		fmt.Printf("%-36s %8.1f %8.1f %8.1f %8.1f %8.1f %9d  %s\n", sc.name, ms(floor), ms(goal), ms(lat[0]), ms(lat[len(lat)/2]), ms(lat[len(lat)-1]), len(reqs), summarize(reqs))
		proxy.Close()
		srv.Close()
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// summarize shortens each request to its kind: "GET manifests/v2", "GET blobs".
func summarize(reqs []string) string {
	var out []string
	for _, r := range reqs {
		method, path, _ := strings.Cut(r, " ")
		switch {
		case strings.Contains(path, "/manifests/sha256:"):
			path = "manifest by digest"
		case strings.Contains(path, "/manifests/"):
			path = "manifest by tag"
		case strings.Contains(path, "/blobs/"):
			path = "blob"
		}
		out = append(out, method+" "+path)
	}
	return strings.Join(out, ", ")
}

// push writes a distinct image (or a two-platform index) declaring a VOLUME
// to ref.
func push(t *testing.T, ref string, index bool, n int) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	vol := fmt.Sprintf("/data%d", n)
	if !index {
		img, err := testimage.New(vol)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(r, img); err != nil {
			t.Fatal(err)
		}
		return
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range []string{"amd64", "arm64"} {
		p := v1.Platform{OS: "linux", Architecture: arch}
		img, err := testimage.ForPlatform(p, vol)
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
}
