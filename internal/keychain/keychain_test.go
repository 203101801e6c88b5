package keychain

import (
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// countingKeychain hands out one Basic authenticator per registry and counts
// how often it is asked.
type countingKeychain struct{ calls map[string]int }

func (k *countingKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	k.calls[r.RegistryStr()]++
	return &authn.Basic{Username: "u", Password: r.RegistryStr()}, nil
}

func TestCached(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	inner := &countingKeychain{calls: map[string]int{}}
	kc := NewCached(inner, time.Minute, func() time.Time { return now })
	resolve := func(ref string) string {
		t.Helper()
		repo, err := name.NewRepository(ref)
		if err != nil {
			t.Fatal(err)
		}
		auth, err := kc.Resolve(repo)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := auth.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		return cfg.Password
	}

	for _, ref := range []string{"reg.example/a", "reg.example/b", "other.example/c", "reg.example/a"} {
		resolve(ref)
	}
	if inner.calls["reg.example"] != 1 || inner.calls["other.example"] != 1 {
		t.Errorf("inner keychain asked %v, want once per registry", inner.calls)
	}
	if got := resolve("other.example/x"); got != "other.example" {
		t.Errorf("registries share credentials: got %q", got)
	}
	now = now.Add(time.Minute + time.Second)
	resolve("reg.example/a")
	if inner.calls["reg.example"] != 2 {
		t.Errorf("after the TTL the inner keychain was asked %d times, want 2", inner.calls["reg.example"])
	}
	resolve("reg.example/a")
	kc.Forget(name.MustParseReference("reg.example/a").Context())
	resolve("reg.example/a")
	if inner.calls["reg.example"] != 3 {
		t.Errorf("after Forget the inner keychain was asked %d times in all, want 3", inner.calls["reg.example"])
	}
}

func TestCachedWithoutTTL(t *testing.T) {
	inner := &countingKeychain{calls: map[string]int{}}
	kc := NewCached(inner, 0, nil)
	for range 2 {
		if _, err := kc.Resolve(name.MustParseReference("reg.example/a").Context()); err != nil {
			t.Fatal(err)
		}
	}
	if inner.calls["reg.example"] != 2 {
		t.Errorf("with no TTL the inner keychain was asked %d times, want every time", inner.calls["reg.example"])
	}
}
