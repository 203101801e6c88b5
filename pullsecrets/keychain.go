package pullsecrets

import (
	"context"

	"github.com/google/go-containerregistry/pkg/authn"
)

// podKeychain is the credentials of one pod: its pull secrets, then the
// fallback. Besides authn.Keychain it implements imageinspect.MultiResolver,
// so that a lookup tries every matching credential in turn, as the kubelet
// does, rather than the first only.
type podKeychain struct {
	ring     *keyring
	fallback authn.Keychain
}

func (k *podKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), target)
}

// ResolveContext returns the first credential ResolveAll lists, or
// authn.Anonymous.
func (k *podKeychain) ResolveContext(ctx context.Context, target authn.Resource) (authn.Authenticator, error) {
	all, err := k.ResolveAll(ctx, target)
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return authn.Anonymous, nil
	}
	return all[0], nil
}

// ResolveAll lists every credential matching target in the order the
// kubelet tries them: the pull secrets' (the most specific registry
// location first, then the pod's secrets before its service account's),
// then the fallback's. Nothing matching, it is empty.
func (k *podKeychain) ResolveAll(ctx context.Context, target authn.Resource) ([]authn.Authenticator, error) {
	var out []authn.Authenticator
	for _, cfg := range k.ring.lookup(target) {
		out = append(out, authn.FromConfig(cfg))
	}
	more, err := resolveAll(ctx, k.fallback, target)
	if err != nil && len(out) == 0 {
		return nil, err
	}
	// A fallback that fails does not take away what the secrets offer.
	return append(out, more...), nil
}

// resolveAll lists what kc offers for target: all of it when kc lists
// several, else the one it resolves unless that is anonymous.
func resolveAll(ctx context.Context, kc authn.Keychain, target authn.Resource) ([]authn.Authenticator, error) {
	if m, ok := kc.(interface {
		ResolveAll(context.Context, authn.Resource) ([]authn.Authenticator, error)
	}); ok {
		return m.ResolveAll(ctx, target)
	}
	auth, err := authn.Resolve(ctx, kc, target)
	if err != nil || auth == authn.Anonymous {
		return nil, err
	}
	return []authn.Authenticator{auth}, nil
}
