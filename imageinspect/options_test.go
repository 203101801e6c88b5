package imageinspect

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestOptionsRefuseWhatTheyCannotUse: New fails on a value an option cannot
// use, naming it, instead of ignoring it or letting it match everything.
func TestOptionsRefuseWhatTheyCannotUse(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want []string // in this order
	}{
		{name: "the defaults"},
		{name: "zeros that mean something", opts: []Option{WithTagTTL(0), WithNotFoundTTL(0), WithMaxStale(0), WithFailureTTL(0),
			WithRetries(1, 0), WithCircuitBreaker(0, 0), WithMaxRedirects(0), WithKeychain(nil), WithClock(nil), WithUserAgent("")}},
		{name: "an invalid mirror", opts: []Option{WithMirrors(map[string][]string{"docker.io": {"mirror.example", "bad host"}})},
			want: []string{`imageinspect.WithMirrors: mirror of docker.io: parsing mirror "bad host"`}},
		{name: "an invalid mirrored registry", opts: []Option{WithMirrors(map[string][]string{"a b": {"mirror.example"}})},
			want: []string{`parsing registry host "a b"`}},
		{name: "mirrors in the order of their registries", opts: []Option{WithMirrors(map[string][]string{"z.example": {"bad z"}, "a.example": {"bad a"}, "m.example": {"bad m"}})},
			want: []string{`"bad a"`, `"bad m"`, `"bad z"`}},
		{name: "an invalid allowed pattern", opts: []Option{WithAllowedRegistries("ghcr.io", "[")},
			want: []string{`imageinspect.WithAllowedRegistries: parsing registry pattern "["`}},
		{name: "an invalid denied pattern", opts: []Option{WithDeniedRegistries("ghcr.io/[x")},
			want: []string{`imageinspect.WithDeniedRegistries: parsing registry pattern "ghcr.io/[x"`}},
		{name: "an invalid insecure registry", opts: []Option{WithInsecureRegistries("registry.local:5000", "a/b")},
			want: []string{`imageinspect.WithInsecureRegistries: parsing registry host "a/b"`}},
		{name: "no network", opts: []Option{WithBlockedNetworks(netip.MustParsePrefix("10.96.0.0/12"), netip.Prefix{})},
			want: []string{"imageinspect.WithBlockedNetworks: network 2 of 2 is not a valid prefix"}},
		{name: "sizes, counts and durations", opts: []Option{WithMaxManifestBytes(0), WithMaxConfigBytes(-1), WithMaxVolumes(0), WithCacheSize(-5),
			WithHostConcurrency(0), WithTenantConcurrency(-1), WithTagTTL(-time.Second), WithRetries(0, time.Second), WithCircuitBreaker(-1, 0), WithMaxRedirects(-1)},
			want: []string{"WithMaxManifestBytes(0): want more than 0", "WithMaxConfigBytes(-1)", "WithMaxVolumes(0)", "WithCacheSize(-5)",
				"WithHostConcurrency(0)", "WithTenantConcurrency(-1)", "WithTagTTL(-1s): want 0 or more", "WithRetries(0, 1s)", "WithCircuitBreaker(-1, 0s)", "WithMaxRedirects(-1)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := New(tt.opts...)
			if len(tt.want) == 0 {
				if err != nil || in == nil {
					t.Fatalf("New() = %v, %v; want an Inspector", in, err)
				}
				return
			}
			if err == nil || in != nil {
				t.Fatalf("New() = %v, %v; want an error", in, err)
			}
			at := -1
			for _, w := range tt.want {
				i := strings.Index(err.Error(), w)
				if i <= at {
					t.Errorf("error lacks %q after the previous problem:\n%v", w, err)
				}
				at = i
			}
		})
	}
}

func TestParseBlockedNetwork(t *testing.T) {
	tests := []struct {
		in, want string // want "": refused
	}{
		{"10.96.0.0/12", "10.96.0.0/12"},
		{" fd00::/8 ", "fd00::/8"},
		{"10.0.0.1", "10.0.0.1/32"},
		{"::1", "::1/128"},
		{"10.0.0.0/33", ""},
		{"cluster", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParseBlockedNetwork(tt.in)
			switch {
			case tt.want == "" && (err == nil || !strings.Contains(err.Error(), `"`+strings.TrimSpace(tt.in)+`"`)):
				t.Errorf("ParseBlockedNetwork(%q) = %v, %v; want an error naming it", tt.in, p, err)
			case tt.want != "" && (err != nil || p.String() != tt.want):
				t.Errorf("ParseBlockedNetwork(%q) = %v, %v; want %s", tt.in, p, err, tt.want)
			}
		})
	}
}

// TestBlockedNetworks: a registry in a blocked network is refused before
// any request reaches it; the dial guard's decision for names is tested in
// internal/transport.
func TestBlockedNetworks(t *testing.T) {
	host := startRegistry(t, nil)
	pushImage(t, host, "app:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/data"}})
	if _, err := newTestInspector(t).Inspect(context.Background(), host+"/app:1", nil); err != nil {
		t.Fatalf("without blocked networks: %v", err)
	}
	in := newTestInspector(t, WithBlockedNetworks(netip.MustParsePrefix("127.0.0.0/8")))
	_, err := in.Inspect(context.Background(), host+"/app:1", nil)
	assertErr(t, err, ErrRegistryNotAllowed, "in a blocked network (127.0.0.0/8)", "no request was sent")
}
