package analysis

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"

	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/internal/testimage"
)

// hostKeychain holds one password for one registry host.
type hostKeychain struct{ host, pass string }

func (k hostKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() == k.host {
		return &authn.Basic{Username: "ci", Password: k.pass}, nil
	}
	return authn.Anonymous, nil
}

func TestAnalyzeWithKeychainReadsPrivateImages(t *testing.T) {
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "ci" || p != "right" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	ref := host + "/private/zk:1"
	if _, err := testimage.Push(ref, []string{"/data"}, remote.WithAuth(&authn.Basic{Username: "ci", Password: "right"})); err != nil {
		t.Fatal(err)
	}

	// The Inspector's own keychain knows nothing: only the pod's does.
	a := New(newInspector(t, imageinspect.WithKeychain(authn.NewMultiKeychain())))
	spec := &corev1.PodSpec{Containers: []corev1.Container{{Name: "zk", Image: ref}}}

	if res := a.Analyze(context.Background(), spec); len(res.Errors) != 1 || !errors.Is(res.Errors[0], imageinspect.ErrUnauthorized) {
		t.Fatalf("without the pod's keychain: errors %v, want one ErrUnauthorized", res.Errors)
	}
	res := a.Analyze(context.Background(), spec, WithKeychain(hostKeychain{host: host, pass: "right"}))
	if len(res.Errors) != 0 || len(res.Findings) != 1 || res.Findings[0].Path != "/data" {
		t.Errorf("with it: findings %v, errors %v; want the /data finding", res.Findings, res.Errors)
	}
	res = a.Analyze(context.Background(), spec, WithKeychain(hostKeychain{host: host, pass: "wrong"}))
	if len(res.Errors) != 1 || !errors.Is(res.Errors[0], imageinspect.ErrUnauthorized) {
		t.Errorf("with a wrong password after a success: errors %v, want ErrUnauthorized, not the cached answer", res.Errors)
	}
}
