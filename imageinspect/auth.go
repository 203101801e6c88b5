package imageinspect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

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

// MultiResolver is a keychain that lists every credential matching a
// resource, in the order to try them, as the kubelet's keyring does for
// pull secrets (pullsecrets' keychains implement it). A lookup tries them
// in turn while the registry refuses them (401 or 403) and goes on with the
// first it accepts. A keychain without it offers only what Resolve returns.
type MultiResolver interface {
	ResolveAll(ctx context.Context, target authn.Resource) ([]authn.Authenticator, error)
}

// maxCredentialsTried bounds the credentials tried per repository: each
// refused one costs a request, and a pod may list many pull secrets.
const maxCredentialsTried = 8

// credSet is every credential offered for one repository, in order.
type credSet struct {
	all []*creds // never empty: anonymous when nothing matches
	// fp identifies them all in cache keys: what a lookup may read depends
	// on every credential it may try.
	fp string

	mu   sync.Mutex
	good int // index of the credentials that last worked: tried first
}

func newCredSet(all []*creds) *credSet {
	if len(all) == 1 {
		return &credSet{all: all, fp: all[0].fp}
	}
	h := sha256.New()
	for _, c := range all {
		fmt.Fprintf(h, "%s;", c.fp)
	}
	return &credSet{all: all, fp: hex.EncodeToString(h.Sum(nil))[:32]}
}

func (s *credSet) first() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.good
}

func (s *credSet) worked(k int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.good = k
}

// lookup is the state of one Inspect call: whose credentials it reads with.
type lookup struct {
	keychain authn.Keychain

	mu       sync.Mutex
	resolved map[string]*credSet // by repository name on its host
}

// forgetter is a keychain that caches what it resolves and can be told to
// read it again (keychain.Cached, the Inspector's default).
type forgetter interface {
	Forget(authn.Resource)
}

// credsFor resolves the credentials of repo, once per call: a keychain
// whose resolving costs (the docker config's) caches what it resolves
// itself (keychain.Cached).
func (i *Inspector) credsFor(ctx context.Context, lk *lookup, repo name.Repository) (*credSet, error) {
	key := repo.Name()
	lk.mu.Lock()
	s, ok := lk.resolved[key]
	lk.mu.Unlock()
	if ok {
		return s, nil
	}
	s, err := resolveCreds(ctx, lk.keychain, repo)
	if err != nil {
		return nil, err
	}
	lk.mu.Lock()
	defer lk.mu.Unlock()
	if lk.resolved == nil {
		lk.resolved = map[string]*credSet{}
	}
	lk.resolved[key] = s
	return s, nil
}

// resolveCreds reads what kc offers for repo: every match when kc is a
// MultiResolver, without repeats, else the one it resolves.
func resolveCreds(ctx context.Context, kc authn.Keychain, repo name.Repository) (*credSet, error) {
	var auths []authn.Authenticator
	if m, ok := kc.(MultiResolver); ok {
		all, err := m.ResolveAll(ctx, repo)
		if err != nil {
			return nil, fmt.Errorf("resolving credentials for %s: %w", repo.RegistryStr(), err)
		}
		auths = all
	} else {
		auth, err := authn.Resolve(ctx, kc, repo)
		if err != nil {
			return nil, fmt.Errorf("resolving credentials for %s: %w", repo.RegistryStr(), err)
		}
		auths = []authn.Authenticator{auth}
	}
	var all []*creds
	seen := map[string]bool{}
	for _, auth := range auths {
		cfg, err := authn.Authorization(ctx, auth)
		if err != nil {
			return nil, fmt.Errorf("reading credentials for %s: %w", repo.RegistryStr(), err)
		}
		c := &creds{cfg: *cfg, fp: fingerprint(*cfg)}
		if seen[c.fp] {
			continue
		}
		seen[c.fp] = true
		if all = append(all, c); len(all) == maxCredentialsTried {
			break
		}
	}
	if len(all) == 0 {
		all = []*creds{{fp: anonymousFingerprint}}
	}
	return newCredSet(all), nil
}

// withCreds runs op with the credentials of repo, and while the registry
// refuses them (401, 403) with the next that match, as the kubelet tries
// each matching pull secret in turn. The credentials that last worked go
// first. All refused, the first refusal is returned.
func (i *Inspector) withCreds(ctx context.Context, lk *lookup, repo name.Repository, op func(*creds) error) error {
	s, err := i.credsFor(ctx, lk, repo)
	if err != nil {
		return err
	}
	start := s.first()
	var refused error
	tried := 0
	for tried < len(s.all) && (tried == 0 || ctx.Err() == nil) {
		n := (start + tried) % len(s.all)
		tried++
		err := op(s.all[n])
		if kind, _ := classify(ctx, err, ""); kind != ErrUnauthorized {
			if err == nil {
				s.worked(n)
			}
			return err
		}
		i.forgetCreds(lk, repo, s.all[n])
		if refused == nil {
			refused = err
		}
	}
	switch {
	case tried < len(s.all):
		return fmt.Errorf("%w (%d of the %d credentials matching %s were tried before the deadline)", refused, tried, len(s.all), repo.RegistryStr())
	case tried > 1:
		return fmt.Errorf("%w (each of the %d credentials matching %s was tried)", refused, tried, repo.RegistryStr())
	}
	return refused
}

// forgetCreds drops what a 401 showed to be wrong, so that the next lookup
// reads credentials again and authenticates anew: rotation (ECR tokens
// last 12 hours) costs one failed lookup.
func (i *Inspector) forgetCreds(lk *lookup, repo name.Repository, c *creds) {
	if f, ok := lk.keychain.(forgetter); ok {
		f.Forget(repo)
	}
	i.transports.Remove(transportKey(repo, c))
}

// fingerprintFor identifies the credentials a lookup of repo would use, on
// every host that may serve it (mirrors, then the origin). Tag resolutions
// are cached under it: a caller with other credentials must not be told what
// a tag resolved to for someone else.
func (i *Inspector) fingerprintFor(ctx context.Context, lk *lookup, repo name.Repository) (string, error) {
	eps := i.hostsFor(repo)
	if len(eps) == 1 {
		s, err := i.credsFor(ctx, lk, eps[0].repo)
		if err != nil {
			return "", err
		}
		return s.fp, nil
	}
	h := sha256.New()
	for _, ep := range eps {
		s, err := i.credsFor(ctx, lk, ep.repo)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s=%s;", ep.repo.Name(), s.fp)
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}
