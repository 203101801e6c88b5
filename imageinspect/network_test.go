package imageinspect

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

func TestRedirects(t *testing.T) {
	var hops atomic.Int64
	host := startRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := r.URL.Path
			switch {
			case strings.HasSuffix(p, "/manifests/loop"):
				hops.Add(1)
				http.Redirect(w, r, p, http.StatusFound) // to itself
			case strings.Contains(p, "/manifests/chain"):
				n := hops.Add(1)
				http.Redirect(w, r, fmt.Sprintf("%s-%d", p, n), http.StatusTemporaryRedirect)
			case strings.HasPrefix(p, "/storage/"):
				// A blob redirected once, as to object storage: served from there.
				r.URL.Path = strings.TrimPrefix(p, "/storage")
				next.ServeHTTP(w, r)
			case strings.Contains(p, "/blobs/sha256:") && r.Method == http.MethodGet:
				http.Redirect(w, r, "/storage"+p+"?moved=1&X-Amz-Signature=secret", http.StatusTemporaryRedirect)
			default:
				next.ServeHTTP(w, r)
			}
		})
	})
	pushImage(t, host, "moved:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/data"}})

	t.Run("a blob redirected to storage is read", func(t *testing.T) {
		img, err := newTestInspector(t).Inspect(context.Background(), host+"/moved:1", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(img.Platforms[0].Volumes, []string{"/data"}) {
			t.Errorf("volumes = %v", img.Platforms[0].Volumes)
		}
	})
	t.Run("a loop is refused at once", func(t *testing.T) {
		hops.Store(0)
		_, err := newTestInspector(t).Inspect(context.Background(), host+"/moved:loop", nil)
		assertErr(t, err, ErrRedirectRefused, "redirect loop", host+"/moved:loop")
		if n := hops.Load(); n != 1 {
			t.Errorf("followed %d redirects of the loop, want 1", n)
		}
	})
	t.Run("more than the limit is refused", func(t *testing.T) {
		hops.Store(0)
		_, err := newTestInspector(t, WithMaxRedirects(3)).Inspect(context.Background(), host+"/moved:chain", nil)
		assertErr(t, err, ErrRedirectRefused, "more than 3 redirects")
		if n := hops.Load(); n != 4 {
			t.Errorf("the registry answered %d redirects, want 4 (the fourth refused)", n)
		}
	})
	t.Run("signed storage URLs stay out of errors", func(t *testing.T) {
		_, err := newTestInspector(t, WithMaxRedirects(0)).Inspect(context.Background(), host+"/moved:1", nil)
		assertErr(t, err, ErrRedirectRefused)
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("error shows the signed URL: %v", err)
		}
	})
}

func TestRegistryPatterns(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		repo    string
		want    bool
	}{
		{"docker.io", "nginx", true},
		{"docker.io", "index.docker.io/bitnami/redis", true},
		{"docker.io/library", "nginx", true},
		{"docker.io/library", "bitnami/redis", false},
		{"docker.io/bitnami", "bitnami/redis", true},
		{"ghcr.io/my-org", "ghcr.io/my-org/app", true},
		{"ghcr.io/my-org", "ghcr.io/my-organization/app", false},
		{"ghcr.io/my-org/", "ghcr.io/my-org/team/app", true},
		{"ghcr.io/*/app", "ghcr.io/anyone/app", true},
		{"*.dkr.ecr.*.amazonaws.com", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app", true},
		{"*.dkr.ecr.*.amazonaws.com", "evil.example/app", false},
		{"registry.local", "registry.local:5000/app", false},
		{"registry.local:*", "registry.local:5000/app", true},
		{"https://quay.io", "quay.io/prometheus/node-exporter", true},
		{"*", "anything.example/x", true},
	} {
		repo, err := name.NewRepository(tc.repo)
		if err != nil {
			t.Fatal(err)
		}
		p, err := parsePattern(tc.pattern)
		if err != nil {
			t.Fatalf("pattern %q is invalid: %v", tc.pattern, err)
		}
		if got := p.matches(repo); got != tc.want {
			t.Errorf("%q matches %s = %v, want %v", tc.pattern, repo, got, tc.want)
		}
	}
	for _, bad := range []string{"[", "ghcr.io/[x", ""} {
		if ValidateRegistryPattern(bad) == nil {
			t.Errorf("pattern %q accepted", bad)
		}
	}
}

func TestAllowedAndDeniedRegistries(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    []Option
		ref     string
		allowed bool
		says    string
	}{
		{name: "denied", opts: []Option{WithDeniedRegistries("docker.io")}, ref: "nginx", says: `denied by the registry pattern "docker.io"`},
		{name: "not allowed", opts: []Option{WithAllowedRegistries("ghcr.io/my-org", "quay.io")}, ref: "ghcr.io/other/app:1", says: `not among the allowed registries ("ghcr.io/my-org", "quay.io")`},
		{name: "denied wins over allowed", opts: []Option{WithAllowedRegistries("ghcr.io"), WithDeniedRegistries("ghcr.io/bad")}, ref: "ghcr.io/bad/app:1", says: "denied"},
		{name: "allowed", opts: []Option{WithAllowedRegistries("ghcr.io/my-org")}, ref: "ghcr.io/my-org/app:1", allowed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ft := &failTransport{}
			_, err := newTestInspector(t, append(tc.opts, WithTransport(ft))...).Inspect(context.Background(), tc.ref, nil)
			if tc.allowed {
				if ft.called.Load() == 0 {
					t.Errorf("an allowed registry was not asked (%v)", err)
				}
				return
			}
			assertErr(t, err, ErrRegistryNotAllowed, tc.says, "no request was sent")
			if n := ft.called.Load(); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}

func TestParseMirror(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want mirror
		bad  bool
	}{
		{in: "mirror.example:5000", want: mirror{registry: "mirror.example:5000"}},
		{in: "https://mirror.example/", want: mirror{registry: "mirror.example"}},
		{in: "http://10.0.0.5:5000", want: mirror{registry: "10.0.0.5:5000", insecure: true}},
		{in: "harbor.example/dockerhub-proxy", want: mirror{registry: "harbor.example", prefix: "dockerhub-proxy"}},
		{in: "https://harbor.example/v2/dockerhub-proxy", want: mirror{registry: "harbor.example", prefix: "dockerhub-proxy"}},
		{in: "harbor.example/v2proxy", want: mirror{registry: "harbor.example", prefix: "v2proxy"}},
		{in: "harbor.example/v2proxy/hub", want: mirror{registry: "harbor.example", prefix: "v2proxy/hub"}},
		{in: "harbor.example/v2/v2proxy", want: mirror{registry: "harbor.example", prefix: "v2proxy"}},
		{in: "https://harbor.example/v2/", want: mirror{registry: "harbor.example"}},
		{in: "harbor.example/v2", want: mirror{registry: "harbor.example"}},
		{in: "", bad: true},
		{in: "UPPER.example/Bad", bad: true},
		{in: "bad host", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseMirror(tc.in)
			if (err != nil) != tc.bad {
				t.Fatalf("parseMirror(%q) error = %v, want bad %v", tc.in, err, tc.bad)
			}
			if !tc.bad && got != tc.want {
				t.Errorf("parseMirror(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

// countRequests counts what reaches a registry, by path kind.
func countRequests(n *atomic.Int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/v2/" {
				n.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestMirrors(t *testing.T) {
	var originHits, mirrorHits atomic.Int64
	origin := startRegistry(t, countRequests(&originHits))
	mirrorHost := startRegistry(t, countRequests(&mirrorHits))
	down := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	pushImage(t, origin, "app:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/origin"}})
	pushImage(t, origin, "only-origin:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/origin"}})
	pushImage(t, mirrorHost, "app:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/mirror"}})
	pushImage(t, mirrorHost, "proxy/app:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/prefixed"}})

	for _, tc := range []struct {
		name    string
		mirrors []string
		ref     string
		want    string
		origin  bool // the origin was asked
	}{
		{name: "the mirror answers", mirrors: []string{mirrorHost}, ref: "app:1", want: "/mirror"},
		{name: "a repository prefix on the mirror", mirrors: []string{mirrorHost + "/proxy"}, ref: "app:1", want: "/prefixed"},
		{name: "not on the mirror: the origin", mirrors: []string{mirrorHost}, ref: "only-origin:1", want: "/origin", origin: true},
		{name: "mirror down: the next one", mirrors: []string{down, mirrorHost}, ref: "app:1", want: "/mirror"},
		{name: "every mirror down: the origin", mirrors: []string{down}, ref: "app:1", want: "/origin", origin: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			originHits.Store(0)
			in := newTestInspector(t, WithMirrors(map[string][]string{origin: tc.mirrors}), WithRetries(1, 0))
			img, err := in.Inspect(context.Background(), origin+"/"+tc.ref, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := img.Platforms[0].Volumes; !reflect.DeepEqual(got, []string{tc.want}) {
				t.Errorf("volumes = %v, want [%s]", got, tc.want)
			}
			if img.Reference != origin+"/"+tc.ref {
				t.Errorf("Reference = %s, want the origin's name", img.Reference)
			}
			if asked := originHits.Load() > 0; asked != tc.origin {
				t.Errorf("origin asked: %v, want %v", asked, tc.origin)
			}
		})
	}
	t.Run("every host failing: the first error, naming the others", func(t *testing.T) {
		in := newTestInspector(t, WithMirrors(map[string][]string{origin: {mirrorHost}}))
		_, err := in.Inspect(context.Background(), origin+"/nowhere:1", nil)
		assertErr(t, err, ErrNotFound, "mirror "+mirrorHost, "then tried "+origin)
	})
	t.Run("docker.io means index.docker.io", func(t *testing.T) {
		mirrorHits.Store(0)
		// Were the mirror not used, the lookup would go to Docker Hub: the
		// transport refuses anything but loopback so that it cannot.
		in := newTestInspector(t, WithMirrors(map[string][]string{"docker.io": {mirrorHost}}), WithTransport(loopbackOnly{}))
		pushImage(t, mirrorHost, "library/busybox:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/hub"}})
		img, err := in.Inspect(context.Background(), "busybox:1", nil)
		if err != nil {
			t.Fatal(err)
		}
		if img.Reference != "index.docker.io/library/busybox:1" || img.Platforms[0].Volumes[0] != "/hub" {
			t.Errorf("got %s %v from the mirror", img.Reference, img.Platforms[0].Volumes)
		}
	})
}

// loopbackOnly sends requests to 127.0.0.1 and refuses any other host, so
// that a test going wrong cannot reach out.
type loopbackOnly struct{}

func (loopbackOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Hostname() != "127.0.0.1" {
		return nil, fmt.Errorf("test transport: refusing %s, not loopback", req.URL.Host)
	}
	return http.DefaultTransport.RoundTrip(req)
}
