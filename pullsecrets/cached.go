package pullsecrets

import (
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
)

// ownCredentialsTTL is how long the webhook's own credentials for a registry
// are reused. authn.DefaultKeychain stats and reads the docker config on
// every Resolve, which is the admission hot path; a credential rotated in
// that file is picked up within this time.
const ownCredentialsTTL = time.Minute

// CachedKeychain remembers what kc resolves per registry for ttl. Only
// registries are keys: docker config credentials are per registry, never per
// repository.
func CachedKeychain(kc authn.Keychain, ttl time.Duration, now func() time.Time) authn.Keychain {
	return &cachedKeychain{inner: kc, ttl: ttl, now: now, entries: map[string]cachedAuth{}}
}

type cachedKeychain struct {
	inner authn.Keychain
	ttl   time.Duration
	now   func() time.Time

	mu      sync.Mutex
	entries map[string]cachedAuth
}

type cachedAuth struct {
	auth    authn.Authenticator
	expires time.Time
}

// maxCachedRegistries bounds the map; a cluster pulls from a handful.
const maxCachedRegistries = 1024

func (c *cachedKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	key := r.RegistryStr()
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.auth, nil
	}
	auth, err := c.inner.Resolve(r)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.entries) >= maxCachedRegistries {
		c.entries = map[string]cachedAuth{}
	}
	c.entries[key] = cachedAuth{auth: auth, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return auth, nil
}
