package analysis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/registry"
	corev1 "k8s.io/api/core/v1"

	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/internal/testimage"
)

// testRegistry is go-containerregistry's registry on loopback that, once
// told to, accepts requests and never answers them (until the client
// leaves), or answers 500.
type testRegistry struct {
	host     string
	mode     atomic.Value // "", "hang", "500"
	requests atomic.Int64 // reaching the registry while hanging or failing
}

func startTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	r := &testRegistry{}
	r.mode.Store("")
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch r.mode.Load() {
		case "hang":
			r.requests.Add(1)
			select {
			case <-req.Context().Done():
			case <-stop:
			}
			return
		case "500":
			r.requests.Add(1)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		reg.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) }) // before Close, which waits for the handlers
	r.host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

func (r *testRegistry) push(t *testing.T, repoTags ...string) {
	t.Helper()
	for _, rt := range repoTags {
		if _, err := testimage.Push(r.host+"/"+rt, []string{"/data"}); err != nil {
			t.Fatal(err)
		}
	}
}

func podOf(images ...string) *corev1.PodSpec {
	spec := &corev1.PodSpec{}
	for k, img := range images {
		spec.Containers = append(spec.Containers, corev1.Container{Name: fmt.Sprint("c", k), Image: img})
	}
	return spec
}

func tenantOpts(tenant string) []AnalyzeOption {
	if tenant == "" {
		return nil
	}
	return []AnalyzeOption{ForTenant(tenant)}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
	}
}

// TestFloodOfAHangingRegistry is issue 8's item 2: pods of eight images on a
// registry that accepts connections and never answers, sent faster than
// they time out, must not delay or fail the pods of other registries and
// tenants, nor lookups the cache answers.
func TestFloodOfAHangingRegistry(t *testing.T) {
	const floodPods, imagesPerPod = 4, 8
	tests := []struct {
		name         string
		flooder      string // tenant of the flood, "" none
		victim       string
		floodSlots   int64 // requests the hanging registry gets: its host's or its tenant's slots
		floodWaits   func(imageinspect.Stats) int64
		flooderWaits bool // the flooder's own new lookups wait behind its flood
	}{
		{
			name: "one tenant floods: it waits in its own queue", flooder: "attacker", victim: "victim",
			floodSlots: 4, floodWaits: func(s imageinspect.Stats) int64 { return s.TenantWaits }, flooderWaits: true,
		},
		{
			name:       "no tenants: the flood waits for the hanging host's slots",
			floodSlots: 8, floodWaits: func(s imageinspect.Stats) int64 { return s.HostWaits },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			healthy, hanging := startTestRegistry(t), startTestRegistry(t)
			var victims []string
			for k := range imagesPerPod {
				victims = append(victims, fmt.Sprintf("%s/team/app%d:1", healthy.host, k))
			}
			healthy.push(t, "team/app0:1", "team/app1:1", "team/app2:1", "team/app3:1",
				"team/app4:1", "team/app5:1", "team/app6:1", "team/app7:1", "team/mine:1")
			hanging.push(t, "hang/cached:1")

			in := newInspector(t, imageinspect.WithKeychain(authn.NewMultiKeychain()))
			a := New(in)
			cached := podOf(hanging.host + "/hang/cached:1")
			if res := a.Analyze(context.Background(), cached, tenantOpts(tt.flooder)...); len(res.Errors) != 0 {
				t.Fatalf("caching %v", res.Errors)
			}
			hanging.mode.Store("hang")

			flood, stopFlood := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			t.Cleanup(func() { stopFlood(); wg.Wait() })
			for p := range floodPods {
				var images []string
				for k := range imagesPerPod {
					images = append(images, fmt.Sprintf("%s/hang/p%d-%d:1", hanging.host, p, k))
				}
				wg.Go(func() { a.Analyze(flood, podOf(images...), tenantOpts(tt.flooder)...) })
			}
			waiting := floodPods*imagesPerPod - tt.floodSlots
			waitFor(t, "the flood to hold every slot it can", func() bool {
				return tt.floodWaits(in.Stats()) == waiting && hanging.requests.Load() == tt.floodSlots
			})

			t.Run("another tenant's pod on a healthy registry is checked", func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				res := a.Analyze(ctx, podOf(victims...), tenantOpts(tt.victim)...)
				if len(res.Errors) != 0 || len(res.Findings) != imagesPerPod {
					t.Errorf("errors %v, %d findings; want none and %d", res.Errors, len(res.Findings), imagesPerPod)
				}
			})
			t.Run("a cached image of the hanging registry needs no slot", func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				res := a.Analyze(ctx, cached, tenantOpts(tt.flooder)...)
				if len(res.Errors) != 0 || len(res.Findings) != 1 {
					t.Errorf("errors %v, findings %v; want the cached /data finding", res.Errors, res.Findings)
				}
			})
			t.Run("the flooder's own new lookup", func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				defer cancel()
				res := a.Analyze(ctx, podOf(healthy.host+"/team/mine:1"), tenantOpts(tt.flooder)...)
				waited := len(res.Errors) == 1 && strings.Contains(res.Errors[0].Error(), "lookup slots of tenant")
				if waited != tt.flooderWaits || (!waited && len(res.Errors) != 0) {
					t.Errorf("errors %v; want a wait in the flooder's queue: %v", res.Errors, tt.flooderWaits)
				}
			})
			if n := hanging.requests.Load(); n != tt.floodSlots {
				t.Errorf("the hanging registry got %d requests, want %d: one per slot", n, tt.floodSlots)
			}
		})
	}
}

// TestOneShotRunAgainstAFailingRegistry is issue 8's item 6 as check runs
// it: many pod specs, one at a time, naming images of a registry that hangs,
// fails or refuses connections. Each lookup is bounded, a failed lookup is
// shared by the specs naming the same image, and the breaker stops a host
// that keeps failing.
func TestOneShotRunAgainstAFailingRegistry(t *testing.T) {
	tests := []struct {
		name       string
		mode       string // "hang", "500", or "refused"
		specs      int
		sameImage  bool // every spec names the same image, else each its own
		failureTTL time.Duration
		kind       error // of the failures that reached the registry
		requests   int64 // reaching the registry
		hits       int64 // lookups answered by a remembered failure
		refusals   int64 // lookups failed fast by the breaker
		// slack: a lookup that times out returns as its deadline passes,
		// and its flight may count the failure a moment later: the next
		// lookup can slip through before the circuit opens.
		slack int64
	}{
		// One manifest GET that never answers; the rest is remembered.
		{name: "hanging, one image", mode: "hang", specs: 40, sameImage: true, failureTTL: time.Hour, kind: imageinspect.ErrTimeout, requests: 1, hits: 39},
		// One manifest GET, tried 3 times.
		{name: "500, one image", mode: "500", specs: 500, sameImage: true, failureTTL: time.Hour, kind: imageinspect.ErrUnavailable, requests: 3, hits: 499},
		{name: "refused, one image", mode: "refused", specs: 10000, sameImage: true, failureTTL: time.Hour, kind: imageinspect.ErrUnavailable, hits: 9999},
		// Five failed images open the circuit: the others are not asked.
		{name: "500, every spec its own image", mode: "500", specs: 50, kind: imageinspect.ErrUnavailable, requests: 15, refusals: 45},
		{name: "hanging, every spec its own image", mode: "hang", specs: 40, kind: imageinspect.ErrTimeout, requests: 5, refusals: 35, slack: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := startTestRegistry(t)
			host := reg.host
			if tt.mode == "refused" {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				host = l.Addr().String()
				l.Close()
			}
			// A clock that stands still: an open circuit stays open
			// however slow the machine.
			now := time.Now()
			in := newInspector(t, imageinspect.WithKeychain(authn.NewMultiKeychain()),
				imageinspect.WithFailureTTL(tt.failureTTL), imageinspect.WithRetries(3, time.Millisecond),
				imageinspect.WithClock(func() time.Time { return now }))
			// Long enough for the retries of a 500, short enough for a test.
			timeout := 10 * time.Second
			if tt.mode == "hang" {
				timeout = 100 * time.Millisecond
			}
			a := New(in, WithLookupTimeout(timeout))
			if tt.mode != "refused" {
				// The registry's answer to the ping is kept from a first
				// lookup, so that only manifest GETs reach it after.
				reg.push(t, "warm:1")
				if res := New(in).Analyze(context.Background(), podOf(host+"/warm:1")); len(res.Errors) != 0 {
					t.Fatal(res.Errors)
				}
				reg.mode.Store(tt.mode)
			}
			results := make([]Result, tt.specs)
			ForEach(context.Background(), tt.specs, 1, nil, func(i int) {
				image := host + "/app:1"
				if !tt.sameImage {
					image = fmt.Sprintf("%s/app%d:1", host, i)
				}
				results[i] = a.Analyze(context.Background(), podOf(image))
			})
			var refused int64
			for i, res := range results {
				if len(res.Errors) != 1 {
					t.Fatalf("spec %d: errors %v, want one", i, res.Errors)
				}
				switch err := res.Errors[0]; {
				case strings.Contains(err.Error(), "circuit open"):
					refused++
				case !errors.Is(err, tt.kind):
					t.Fatalf("spec %d: %v, want %v", i, err, tt.kind)
				}
			}
			st := in.Stats()
			n := reg.requests.Load()
			if extra := n - tt.requests; extra > 0 && extra <= tt.slack && st.CircuitRefusals == tt.refusals-extra {
				n, st.CircuitRefusals, refused = tt.requests, tt.refusals, refused+extra
			}
			if n != tt.requests || st.FailureHits != tt.hits || st.CircuitRefusals != tt.refusals || refused != tt.refusals {
				t.Errorf("%d requests, %d remembered failures, %d refusals (%d said so); want %d, %d, %d",
					n, st.FailureHits, st.CircuitRefusals, refused, tt.requests, tt.hits, tt.refusals)
			}
		})
	}
}

// newInspector is imageinspect.New, failing the test on an option it
// refuses.
func newInspector(t testing.TB, opts ...imageinspect.Option) *imageinspect.Inspector {
	t.Helper()
	in, err := imageinspect.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return in
}
