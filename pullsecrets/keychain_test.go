package pullsecrets

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/volumeguard/volumeguard/imageinspect"
)

// What imageinspect looks for to try every matching credential.
var _ imageinspect.MultiResolver = (*podKeychain)(nil)

// usersFor lists the user names kc offers for image, in order.
func usersFor(t *testing.T, kc authn.Keychain, image string) []string {
	t.Helper()
	ref, err := name.ParseReference(image)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := kc.(imageinspect.MultiResolver)
	if !ok {
		return []string{userFor(t, kc, image)}
	}
	auths, err := m.ResolveAll(context.Background(), ref.Context())
	if err != nil {
		t.Fatal(err)
	}
	var users []string
	for _, a := range auths {
		cfg, err := authn.Authorization(context.Background(), a)
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, cfg.Username)
	}
	return users
}

func TestKeychainListsEveryMatch(t *testing.T) {
	objs := []runtime.Object{
		dockerConfigJSON("team", "pod-secret", "private.example", "pod-user", "p1"),
		dockerConfigJSON("team", "sa-secret", "https://private.example/v2/", "sa-user", "p2"),
		dockerConfigJSON("team", "team-path", "private.example/team", "team-user", "p3"),
		dockerConfigJSON("team", "glob", "*.example", "glob-user", "p4"),
		dockerConfigJSON("team", "port", "private.example:5000", "port-user", "p5"),
		dockerConfigJSON("team", "hub", "docker.io", "hub-user", "p6"),
		dockerConfigJSON("team", "hub-v1", "https://index.docker.io/v1/", "hub-v1-user", "p7"),
		serviceAccount("team", "default", "sa-secret"),
	}
	src, _ := startSource(t, objs)
	all := pullSecrets("pod-secret", "team-path", "glob", "port", "hub", "hub-v1")

	for _, tc := range []struct {
		name  string
		spec  corev1.PodSpec
		image string
		want  []string
	}{
		{name: "the pod's secret, the service account's, then the fallback", spec: corev1.PodSpec{ImagePullSecrets: pullSecrets("pod-secret")},
			image: "private.example/app:1", want: []string{"pod-user", "sa-user", "webhook"}},
		{name: "a more specific location first, a glob after the host", spec: corev1.PodSpec{ImagePullSecrets: all},
			image: "private.example/team/app:1", want: []string{"team-user", "pod-user", "sa-user", "glob-user", "webhook"}},
		{name: "a path that does not match is left out", spec: corev1.PodSpec{ImagePullSecrets: all},
			image: "private.example/other/app:1", want: []string{"pod-user", "sa-user", "glob-user", "webhook"}},
		{name: "ports must match", spec: corev1.PodSpec{ImagePullSecrets: all},
			image: "private.example:5000/app:1", want: []string{"port-user", "webhook"}},
		{name: "Docker Hub: docker.io, then index.docker.io", spec: corev1.PodSpec{ImagePullSecrets: all},
			image: "nginx", want: []string{"hub-user", "hub-v1-user", "webhook"}},
		{name: "no secret matches: the fallback", spec: corev1.PodSpec{ImagePullSecrets: all},
			image: "public.registry.io/app:1", want: []string{"webhook"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kc, err := src.Keychain(context.Background(), "team", &tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := usersFor(t, kc, tc.image); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("users = %q, want %q", got, tc.want)
			}
			if got := userFor(t, kc, tc.image); got != tc.want[0] {
				t.Errorf("Resolve gave %q, want the first, %q", got, tc.want[0])
			}
		})
	}
}

// The kubelet tries each matching pull secret until one works; so does a
// lookup with a pod's keychain, against a registry demanding basic auth.
func TestInspectTriesEachPullSecret(t *testing.T) {
	const user, pass = "ci", "s3cret"
	images := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		images.ServeHTTP(w, r)
	}))
	defer reg.Close()
	u, _ := url.Parse(reg.URL)
	host := u.Host
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(host + "/private:1")
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: user, Password: pass})); err != nil {
		t.Fatal(err)
	}

	src, _ := startSource(t, []runtime.Object{
		dockerConfigJSON("team", "expired", host, user, "old-password"),
		dockerConfigJSON("team", "current", host, user, pass),
	})
	for _, tc := range []struct {
		name    string
		secrets []string
		ok      bool
	}{
		{name: "the first is wrong, the second right", secrets: []string{"expired", "current"}, ok: true},
		{name: "only the wrong one", secrets: []string{"expired"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kc, err := src.Keychain(context.Background(), "team", &corev1.PodSpec{ImagePullSecrets: pullSecrets(tc.secrets...)})
			if err != nil {
				t.Fatal(err)
			}
			in := newInspector(t, imageinspect.WithKeychain(staticKeychain{}))
			_, err = in.Inspect(context.Background(), host+"/private:1", nil, imageinspect.UsingKeychain(kc))
			switch {
			case tc.ok && err != nil:
				t.Errorf("inspecting with pull secrets %v: %v", tc.secrets, err)
			case !tc.ok && imageinspect.Reason(err) != "unauthorized":
				t.Errorf("inspecting with pull secrets %v: %v, want unauthorized", tc.secrets, err)
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
