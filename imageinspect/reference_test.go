package imageinspect

import (
	"errors"
	"testing"
)

func TestNormalizeReference(t *testing.T) {
	const dig = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		in, want string
		wantErr  bool
	}{
		{in: "zookeeper:3.4.13", want: "index.docker.io/library/zookeeper:3.4.13"},
		{in: "zookeeper", want: "index.docker.io/library/zookeeper:latest"},
		{in: "docker.io/zookeeper", want: "index.docker.io/library/zookeeper:latest"},
		{in: "bitnami/redis:7", want: "index.docker.io/bitnami/redis:7"},
		{in: "registry.k8s.io/pause:3.10", want: "registry.k8s.io/pause:3.10"},
		{in: "localhost:5000/team/app", want: "localhost:5000/team/app:latest"},
		{in: "zookeeper@" + dig, want: "index.docker.io/library/zookeeper@" + dig},
		{in: "zookeeper:3.4.13@" + dig, want: "index.docker.io/library/zookeeper@" + dig},
		{in: "127.0.0.1:5000/app:v1@" + dig, want: "127.0.0.1:5000/app@" + dig},
		{in: "", wantErr: true},
		{in: " zookeeper", wantErr: true},
		{in: "Zookeeper", wantErr: true},
		{in: "zookeeper:", wantErr: true},
		{in: "zookeeper@sha256:short", wantErr: true},
		{in: "https://registry.example/app", wantErr: true},
		{in: "http://registry.example/app@" + dig, wantErr: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := NormalizeReference(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalidReference) {
					t.Fatalf("NormalizeReference(%q) = %q, %v; want ErrInvalidReference", tc.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("NormalizeReference(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestInsecureRegistries(t *testing.T) {
	in := mustNew(t, WithInsecureRegistries("registry.internal:5000", "https://mirror.example/"))
	for _, tc := range []struct{ ref, scheme string }{
		{"registry.internal:5000/app:1", "http"},
		{"mirror.example/app:1", "http"},
		{"registry.internal/app:1", "https"}, // another port is another host
		{"quay.io/app:1", "https"},
		{"localhost:5000/app:1", "http"}, // loopback: as go-containerregistry does
		{"127.0.0.1:5000/app:1", "http"},
		{"[::1]:5000/app:1", "http"},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			r, err := parseReference(tc.ref, in.opts.insecure)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Context().Scheme(); got != tc.scheme {
				t.Errorf("scheme = %s, want %s", got, tc.scheme)
			}
		})
	}
}
