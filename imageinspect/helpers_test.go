package imageinspect

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
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
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// startRegistry serves go-containerregistry's in-process registry on
// 127.0.0.1, behind wrap when not nil, and returns its host:port.
func startRegistry(t testing.TB, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	return serve(t, h)
}

func serve(t testing.TB, h http.Handler) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// imageSpec describes a test image.
type imageSpec struct {
	mediaType       types.MediaType // manifest media type; Docker schema 2 when empty
	configMediaType types.MediaType // config media type; matching the manifest's when empty
	platform        Platform
	volumes         []string
}

func buildImage(t testing.TB, s imageSpec) v1.Image {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = s.platform.OS, s.platform.Architecture, s.platform.Variant
	cf.Config.Volumes = map[string]struct{}{}
	for _, v := range s.volumes {
		cf.Config.Volumes[v] = struct{}{}
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	mt, cmt := s.mediaType, s.configMediaType
	if mt == "" {
		mt = types.DockerManifestSchema2
	}
	if cmt == "" {
		cmt = types.DockerConfigJSON
		if mt == types.OCIManifestSchema1 {
			cmt = types.OCIConfigJSON
		}
	}
	return mutate.ConfigMediaType(mutate.MediaType(img, mt), cmt)
}

// pushImage builds and pushes s to host/repo:tag.
func pushImage(t testing.TB, host, repoTag string, s imageSpec) v1.Image {
	t.Helper()
	img := buildImage(t, s)
	write(t, host+"/"+repoTag, img)
	return img
}

func write(t testing.TB, ref string, img v1.Image) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, remote.WithAuth(pushAuth)); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
}

// multiArch is the index of the tests: linux/amd64 declares /data,
// linux/arm64/v8 /data and /logs, windows/amd64 C:\data, plus a BuildKit
// attestation entry that is not a platform.
func buildMultiArch(t testing.TB, mt types.MediaType) v1.ImageIndex {
	t.Helper()
	manifestType := types.DockerManifestSchema2
	if mt == types.OCIImageIndex {
		manifestType = types.OCIManifestSchema1
	}
	add := func(p Platform, ann map[string]string, volumes ...string) mutate.IndexAddendum {
		img := buildImage(t, imageSpec{mediaType: manifestType, platform: p, volumes: volumes})
		return mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform:    &v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant},
			Annotations: ann,
		}}
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, mt),
		add(Platform{"linux", "amd64", ""}, nil, "/data"),
		add(Platform{"linux", "arm64", "v8"}, nil, "/logs", "/data"),
		add(Platform{"windows", "amd64", ""}, nil, `C:\data`),
		add(Platform{"unknown", "unknown", ""}, map[string]string{"vnd.docker.reference.type": "attestation-manifest"}, "/attestation"),
	)
}

func pushIndex(t testing.TB, host, repoTag string, idx v1.ImageIndex) {
	t.Helper()
	r, err := name.ParseReference(host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx, remote.WithAuth(pushAuth)); err != nil {
		t.Fatalf("pushing %s: %v", r, err)
	}
}

func digestOf(t testing.TB, d interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// Credentials of the registries that demand basic auth; pushes always send them.
const testUser, testPass = "ci", "s3cret"

var pushAuth = &authn.Basic{Username: testUser, Password: testPass}

// requireBasicAuth answers 401 with a Basic challenge to requests without
// the test credentials, as a registry behind htpasswd does.
func requireBasicAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != testUser || p != testPass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// staticKeychain holds one set of credentials for one registry host and is
// anonymous elsewhere; the zero value is anonymous everywhere, so tests never
// read the docker config of whoever runs them.
type staticKeychain struct{ host, user, pass string }

func (k staticKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if k.host != "" && r.RegistryStr() == k.host {
		return authn.FromConfig(authn.AuthConfig{Username: k.user, Password: k.pass}), nil
	}
	return authn.Anonymous, nil
}

// countingTransport counts the manifest and blob GETs and manifest HEADs
// really sent.
type countingTransport struct {
	inner                   http.RoundTripper
	manifests, blobs, heads atomic.Int64
}

func newCountingTransport() *countingTransport {
	return &countingTransport{inner: http.DefaultTransport.(*http.Transport).Clone()}
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodHead && strings.Contains(req.URL.Path, "/manifests/") {
		c.heads.Add(1)
	}
	if req.Method == http.MethodGet {
		switch {
		case strings.Contains(req.URL.Path, "/manifests/"):
			c.manifests.Add(1)
		case strings.Contains(req.URL.Path, "/blobs/"):
			c.blobs.Add(1)
		}
	}
	return c.inner.RoundTrip(req)
}

// newTestInspector is anonymous unless opts say otherwise.
func newTestInspector(t testing.TB, opts ...Option) *Inspector {
	t.Helper()
	return mustNew(t, append([]Option{WithKeychain(staticKeychain{})}, opts...)...)
}

// mustNew is New, failing the test on an option it refuses.
func mustNew(t testing.TB, opts ...Option) *Inspector {
	t.Helper()
	in, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func platformStrings(ps []PlatformVolumes) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Platform.String())
	}
	return out
}

// counts returns manifest GETs, manifest HEADs and blob GETs so far.
func (c *countingTransport) counts() [3]int64 {
	return [3]int64{c.manifests.Load(), c.heads.Load(), c.blobs.Load()}
}

// clock is a settable time source for WithClock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Unix(1_700_000_000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
