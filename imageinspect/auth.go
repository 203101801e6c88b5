package imageinspect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// Resolved credentials of the Inspector's own keychain are kept this long:
// the docker config keychain reads a file, or runs a credential helper
// process, on every resolution. Credentials are read again at once after a
// 401, so rotation (ECR tokens last 12 hours) costs one failed lookup.
const ownCredentialsTTL = 5 * time.Minute

// anonymousFingerprint names "no credentials".
const anonymousFingerprint = "anonymous"

// creds are credentials resolved for one repository on one host.
type creds struct {
	cfg authn.AuthConfig
	// fp identifies cfg in cache keys: a hash, never the secret; it is not
	// logged either, since equal fingerprints tell who shares credentials.
	fp string
}

func (c *creds) authenticator() authn.Authenticator {
	if c.fp == anonymousFingerprint {
		return authn.Anonymous
	}
	return authn.FromConfig(c.cfg)
}

func fingerprint(cfg authn.AuthConfig) string {
	if cfg == (authn.AuthConfig{}) {
		return anonymousFingerprint
	}
	h := sha256.New()
	for _, f := range []string{cfg.Username, cfg.Password, cfg.Auth, cfg.IdentityToken, cfg.RegistryToken} {
		fmt.Fprintf(h, "%d:%s", len(f), f) // length-prefixed: no two configs hash alike by shifting bytes
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// lookup is the state of one Inspect call: whose credentials it reads with.
type lookup struct {
	keychain authn.Keychain
	own      bool // keychain is the Inspector's own: resolutions are shared across calls

	mu       sync.Mutex
	resolved map[string]*creds // by repository name on its host
}

// credsFor resolves the credentials of repo, once per call.
func (i *Inspector) credsFor(ctx context.Context, lk *lookup, repo name.Repository) (*creds, error) {
	key := repo.Name()
	lk.mu.Lock()
	c, ok := lk.resolved[key]
	lk.mu.Unlock()
	if ok {
		return c, nil
	}
	if lk.own {
		if v, ok := i.ownCreds.get(key); ok {
			c = v.(*creds)
		}
	}
	if c == nil {
		auth, err := authn.Resolve(ctx, lk.keychain, repo)
		if err != nil {
			return nil, fmt.Errorf("resolving credentials for %s: %w", repo.RegistryStr(), err)
		}
		cfg, err := authn.Authorization(ctx, auth)
		if err != nil {
			return nil, fmt.Errorf("reading credentials for %s: %w", repo.RegistryStr(), err)
		}
		c = &creds{cfg: *cfg, fp: fingerprint(*cfg)}
		if lk.own {
			i.ownCreds.add(key, c, 256, ownCredentialsTTL)
		}
	}
	lk.mu.Lock()
	defer lk.mu.Unlock()
	if lk.resolved == nil {
		lk.resolved = map[string]*creds{}
	}
	lk.resolved[key] = c
	return c, nil
}

// forgetCreds drops what a 401 showed to be wrong, so that the next lookup
// reads credentials again and authenticates anew.
func (i *Inspector) forgetCreds(lk *lookup, repo name.Repository, c *creds) {
	if lk.own {
		i.ownCreds.remove(repo.Name())
	}
	i.transports.remove(transportKey(repo, c))
}

// fingerprintFor identifies the credentials a lookup of repo would use, on
// every host that may serve it (mirrors, then the origin). Tag resolutions
// are cached under it: a caller with other credentials must not be told what
// a tag resolved to for someone else.
func (i *Inspector) fingerprintFor(ctx context.Context, lk *lookup, repo name.Repository) (string, error) {
	eps := i.hostsFor(repo)
	if len(eps) == 1 {
		c, err := i.credsFor(ctx, lk, eps[0].repo)
		if err != nil {
			return "", err
		}
		return c.fp, nil
	}
	h := sha256.New()
	for _, ep := range eps {
		c, err := i.credsFor(ctx, lk, ep.repo)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s=%s;", ep.repo.Name(), c.fp)
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}
