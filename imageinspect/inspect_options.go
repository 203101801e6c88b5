package imageinspect

import "github.com/google/go-containerregistry/pkg/authn"

// InspectOption configures one inspection.
type InspectOption func(*inspectOptions)

type inspectOptions struct {
	keychain authn.Keychain
	tenant   string // ForTenant
}

// UsingKeychain reads this inspection with the credentials of kc (a pod's
// pull secrets, chained before the webhook's own) instead of the Inspector's
// keychain. Tags it resolves are cached for callers with the same
// credentials only; manifests and configs, named by their digest, are
// shared by all.
func UsingKeychain(kc authn.Keychain) InspectOption {
	return func(o *inspectOptions) {
		o.keychain = kc
	}
}
