package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A registry on loopback, answering from handle; it counts requests by
// method and path.
type registry struct {
	url    string
	mu     sync.Mutex
	counts map[string]int
}

func startRegistry(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, n int)) *registry {
	t.Helper()
	reg := &registry{counts: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reg.mu.Lock()
		reg.counts[r.Method+" "+r.URL.Path]++
		n := reg.counts[r.Method+" "+r.URL.Path]
		reg.mu.Unlock()
		handle(w, r, n)
	}))
	t.Cleanup(srv.Close)
	reg.url = srv.URL
	return reg
}

func (r *registry) count(methodPath string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[methodPath]
}

// testConfig retries quickly, as a test needs; the rest as imageinspect's
// defaults.
func testConfig() Config {
	return Config{
		Retry:        RetryPolicy{Attempts: 3, Backoff: time.Millisecond, MaxWait: 10 * time.Second, MinLeft: time.Millisecond},
		Caps:         BodyCaps{Manifest: 1 << 10, Config: 1 << 10},
		MaxRedirects: 5,
		UserAgent:    "volumeguard-test",
	}
}

func get(t *testing.T, rt http.RoundTripper, method, url string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func TestRedirects(t *testing.T) {
	reg := startRegistry(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		p := r.URL.Path
		switch {
		case strings.HasSuffix(p, "/loop"):
			http.Redirect(w, r, p, http.StatusFound)
		case strings.Contains(p, "/chain"):
			n, _ := strconv.Atoi(r.URL.Query().Get("n"))
			http.Redirect(w, r, fmt.Sprintf("%s?n=%d", p, n+1), http.StatusTemporaryRedirect)
		case strings.HasPrefix(p, "/storage/"):
			fmt.Fprint(w, "{}")
		default:
			http.Redirect(w, r, "/storage"+p+"?X-Amz-Signature=secret", http.StatusTemporaryRedirect)
		}
	})
	tests := []struct {
		name         string
		path         string
		maxRedirects int
		wantSays     string // "": read
		wantHops     int
	}{
		{name: "a blob redirected to storage is read", path: "/v2/app/blobs/sha256:0", maxRedirects: 5, wantHops: 1},
		{name: "a loop is refused at once", path: "/v2/app/manifests/loop", maxRedirects: 5, wantSays: "redirect loop", wantHops: 1},
		{name: "more than the bound is refused", path: "/v2/app/manifests/chain", maxRedirects: 3, wantSays: "more than 3 redirects", wantHops: 4},
		{name: "the signed URL stays out of the error", path: "/v2/app/blobs/sha256:1", maxRedirects: 0, wantSays: "more than 0 redirects", wantHops: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.MaxRedirects = tt.maxRedirects
			_, _, err := get(t, New(cfg), http.MethodGet, reg.url+tt.path)
			if tt.wantSays == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else if err = RedactError(err); !errors.Is(err, ErrRedirectRefused) || !strings.Contains(err.Error(), tt.wantSays) {
				t.Errorf("error %v, want ErrRedirectRefused saying %q", err, tt.wantSays)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("the error shows the signed URL: %v", err)
			}
			if n := reg.count("GET " + tt.path); n != tt.wantHops {
				t.Errorf("the registry answered %d times at %s, want %d", n, tt.path, tt.wantHops)
			}
		})
	}
}

// TestRequestKinds: every request on the wire is counted once, a retry
// included, by what it is for; pings answered from the cache are not.
func TestRequestKinds(t *testing.T) {
	reg := startRegistry(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch {
		case strings.Contains(r.URL.Path, "/blobs/") && !strings.HasPrefix(r.URL.Path, "/storage"):
			http.Redirect(w, r, "/storage"+r.URL.Path, http.StatusTemporaryRedirect)
		case strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodGet && n == 1:
			w.WriteHeader(http.StatusBadGateway)
		default:
			fmt.Fprint(w, "{}")
		}
	})
	var mu sync.Mutex
	got := map[string]int{}
	cfg := testConfig()
	cfg.OnRequest = func(kind RequestKind, code int) {
		mu.Lock()
		defer mu.Unlock()
		got[fmt.Sprintf("%s %d", kind, code)]++
	}
	rt := New(cfg)
	for _, r := range []struct{ method, path string }{
		{http.MethodGet, "/v2/"}, {http.MethodGet, "/v2/"},
		{http.MethodGet, "/v2/app/manifests/1"}, {http.MethodHead, "/v2/app/manifests/1"},
		{http.MethodGet, "/v2/app/blobs/sha256:0"},
	} {
		if _, _, err := get(t, rt, r.method, reg.url+r.path); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]int{"other 200": 1, "manifest 502": 1, "manifest 200": 1, "manifest_head 200": 1, "config 307": 1, "config 200": 1}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("requests %v, want %v", got, want)
	}
}

// TestUserAgent: every request says who sends it.
func TestUserAgent(t *testing.T) {
	var agent atomic.Value
	reg := startRegistry(t, func(w http.ResponseWriter, r *http.Request, _ int) { agent.Store(r.UserAgent()) })
	if _, _, err := get(t, New(testConfig()), http.MethodGet, reg.url+"/v2/app/manifests/1"); err != nil {
		t.Fatal(err)
	}
	if ua, _ := agent.Load().(string); !strings.HasPrefix(ua, "volumeguard-test") {
		t.Errorf("User-Agent %q, want it to start with volumeguard-test", ua)
	}
}
