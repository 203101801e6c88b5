package pullsecrets

import (
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/volumeguard/volumeguard/internal/lru"
)

// ownCredentialsTTL is how long the webhook's own credentials for a registry
// are reused. authn.DefaultKeychain stats and reads the docker config on
// every Resolve, which is the admission hot path; a credential rotated in
// that file is picked up within this time.
const ownCredentialsTTL = time.Minute

// Registries whose credentials are kept at most: a cluster pulls from a
// handful, and registries come from pod specs. An authenticator is small:
// the count binds before the bytes.
const (
	maxCachedRegistries = 1024
	maxCachedBytes      = 1 << 20
	cachedAuthBytes     = 256
)

// CachedKeychain remembers what kc resolves per registry for ttl (0 or less:
// nothing is remembered). Only registries are keys: docker config
// credentials are per registry, never per repository.
func CachedKeychain(kc authn.Keychain, ttl time.Duration, now func() time.Time) authn.Keychain {
	if ttl <= 0 {
		return kc
	}
	return &cachedKeychain{inner: kc, ttl: ttl, auths: lru.New[authn.Authenticator](maxCachedRegistries, maxCachedBytes, now)}
}

type cachedKeychain struct {
	inner authn.Keychain
	ttl   time.Duration
	auths lru.Cache[authn.Authenticator] // by registry
}

func (c *cachedKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	key := r.RegistryStr()
	if auth, ok := c.auths.Get(key); ok {
		return auth, nil
	}
	auth, err := c.inner.Resolve(r)
	if err != nil {
		return nil, err
	}
	c.auths.Add(key, auth, cachedAuthBytes, c.ttl)
	return auth, nil
}
