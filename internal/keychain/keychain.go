// Package keychain is volumeguard's own registry credentials: the docker
// config of the process, credential helpers included, which
// authn.DefaultKeychain reads from disk, or gets by running a helper, on
// every Resolve. A program makes one (Own) and gives it to both the
// Inspector (imageinspect.WithKeychain) and the pull secrets' fallback
// (pullsecrets.WithFallback), so that the same credentials are cached once,
// for one time.
package keychain

import (
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/volumeguard/volumeguard/internal/lru"
)

// OwnTTL is how long volumeguard's own credentials for a registry are
// reused: Resolve is on the admission hot path, and a credential rotated in
// the docker config is picked up within a minute, or at once after a
// registry refuses the old one (Forget).
const OwnTTL = time.Minute

// Registries whose credentials are kept at most: a cluster pulls from a
// handful, and registries come from pod specs. An authenticator is small:
// the count binds before the bytes.
const (
	maxRegistries = 1024
	maxBytes      = 1 << 20
	authBytes     = 256
)

// Own returns volumeguard's own credentials, authn.DefaultKeychain cached
// for OwnTTL.
func Own() *Cached { return NewCached(authn.DefaultKeychain, OwnTTL, nil) }

// Cached remembers what a keychain resolves per registry: docker config
// credentials are per registry, never per repository. It is safe for
// concurrent use.
type Cached struct {
	inner authn.Keychain
	ttl   time.Duration
	auths lru.Cache[authn.Authenticator] // by registry
}

// NewCached remembers what kc resolves for ttl (0 or less: nothing is
// remembered); now tells the time (nil: time.Now).
func NewCached(kc authn.Keychain, ttl time.Duration, now func() time.Time) *Cached {
	return &Cached{inner: kc, ttl: ttl, auths: lru.New[authn.Authenticator](maxRegistries, maxBytes, now)}
}

// Resolve returns what the keychain resolved for r's registry less than
// the TTL ago, or asks it.
func (c *Cached) Resolve(r authn.Resource) (authn.Authenticator, error) {
	key := r.RegistryStr()
	if auth, ok := c.auths.Get(key); ok {
		return auth, nil
	}
	auth, err := c.inner.Resolve(r)
	if err != nil {
		return nil, err
	}
	if c.ttl > 0 {
		c.auths.Add(key, auth, authBytes, c.ttl)
	}
	return auth, nil
}

// Forget drops what was resolved for r's registry, so that the next Resolve
// asks the keychain again: the registry refused it (imageinspect calls it
// after a 401).
func (c *Cached) Forget(r authn.Resource) { c.auths.Remove(r.RegistryStr()) }
