package webhook

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/internal/testimage"
)

// Credentials of the test registries that demand basic auth.
const regUser, regPass = "ci", "s3cret-pull-password"

// startRegistry serves go-containerregistry's in-process registry on
// 127.0.0.1 (plain HTTP, as for any loopback registry), demanding basic
// auth when private, and returns its host:port.
func startRegistry(t *testing.T, private bool) string {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); private && (!ok || u != regUser || p != regPass) {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// pushImage writes a linux/amd64 image declaring volumes to ref.
func pushImage(t *testing.T, ref string, volumes ...string) {
	t.Helper()
	if _, err := testimage.Push(ref, volumes, remote.WithAuth(&authn.Basic{Username: regUser, Password: regPass})); err != nil {
		t.Fatal(err)
	}
}

// anonymous resolves every registry to no credentials: tests never read
// the docker config of whoever runs them.
var anonymous = authn.NewMultiKeychain()

// TestInspectorMetrics counts what a real Inspector does against a real
// (in-process) registry.
func TestInspectorMetrics(t *testing.T) {
	host := startRegistry(t, false)
	image := host + "/library/zookeeper:3.4.13"
	pushImage(t, image, "/data")
	m := NewMetrics()
	in := newInspector(t, imageinspect.WithKeychain(anonymous), imageinspect.WithTagTTL(5*time.Minute),
		imageinspect.WithMetrics(m.InspectorMetrics()))
	ctx := context.Background()

	cache := func(kind, result string) float64 { return counterValue(t, m.cache.WithLabelValues(kind, result)) }
	requests := func(kind, code string) float64 {
		return counterValue(t, m.registryRequests.WithLabelValues(kind, code))
	}
	lookups := func(reason string) float64 { return counterValue(t, m.lookups.WithLabelValues(reason)) }

	if _, err := in.Inspect(ctx, image, nil); err != nil {
		t.Fatal(err)
	}
	if cache("tag", "miss") != 1 || cache("tag", "hit") != 0 || cache("config", "miss") != 1 {
		t.Errorf("after the first lookup: tag miss %v hit %v, config miss %v; want 1, 0, 1", cache("tag", "miss"), cache("tag", "hit"), cache("config", "miss"))
	}
	if requests("manifest", "200") != 1 || requests("config", "200") != 1 || lookups("ok") != 1 {
		t.Errorf("manifest GETs %v, config GETs %v, lookups ok %v; want 1 each", requests("manifest", "200"), requests("config", "200"), lookups("ok"))
	}

	if _, err := in.Inspect(ctx, image, nil); err != nil {
		t.Fatal(err)
	}
	if cache("tag", "hit") != 1 || cache("config", "hit") != 1 || lookups("ok") != 2 {
		t.Errorf("after the second lookup: tag hits %v, config hits %v, lookups ok %v; want 1, 1, 2", cache("tag", "hit"), cache("config", "hit"), lookups("ok"))
	}
	if requests("manifest", "200") != 1 || requests("config", "200") != 1 {
		t.Errorf("the second lookup went to the registry: manifest GETs %v, config GETs %v", requests("manifest", "200"), requests("config", "200"))
	}

	missing := host + "/library/nope:1"
	for range 2 {
		if _, err := in.Inspect(ctx, missing, nil); !errors.Is(err, imageinspect.ErrNotFound) {
			t.Fatalf("Inspect(%s) = %v, want ErrNotFound", missing, err)
		}
	}
	if lookups("not_found") != 2 || requests("manifest", "404") != 1 || cache("not_found", "hit") != 1 {
		t.Errorf("not found: lookups %v, manifest 404s %v, remembered %v; want 2, 1, 1", lookups("not_found"), requests("manifest", "404"), cache("not_found", "hit"))
	}

	// What Prometheus scrapes: the names above, and neither the registry
	// nor the image anywhere.
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`volumeguard_registry_cache_total{kind="tag",result="hit"} 1`,
		`volumeguard_registry_requests_total{code="200",kind="manifest"} 1`,
		`volumeguard_image_lookups_total{reason="ok"} 2`,
		`volumeguard_image_lookups_total{reason="not_found"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, leak := range []string{host, "zookeeper", "nope"} {
		if strings.Contains(body, leak) {
			t.Errorf("/metrics names %q", leak)
		}
	}
}

// TestCacheSeriesFromTheStart: a hit ratio is defined before any lookup.
func TestCacheSeriesFromTheStart(t *testing.T) {
	rec := httptest.NewRecorder()
	NewMetrics().Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, kind := range []string{"tag", "manifest", "config", "not_found"} {
		for _, result := range []string{"hit", "miss"} {
			if want := `volumeguard_registry_cache_total{kind="` + kind + `",result="` + result + `"} 0`; !strings.Contains(rec.Body.String(), want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	}
}

func TestCodeLabel(t *testing.T) {
	for code, want := range map[int]string{0: "none", 200: "200", 404: "404", 429: "429", 418: "4xx", 599: "5xx", 999: "other", -1: "other"} {
		if got := codeLabel(code); got != want {
			t.Errorf("codeLabel(%d) = %s, want %s", code, got, want)
		}
	}
}
