package imageinspect

import "github.com/google/go-containerregistry/pkg/authn"

// InspectOption configures one inspection.
type InspectOption func(*inspectOptions)

type inspectOptions struct {
	keychain authn.Keychain
	tenant   string // ForTenant

	contentBudget int64 // ContentBudget; 0: the Inspector's
}

// ContentBudget sets the compressed layer bytes this ScanContent may read,
// instead of the Inspector's WithContentBudget; n < 1 keeps the
// Inspector's.
func ContentBudget(n int64) InspectOption {
	return func(o *inspectOptions) {
		o.contentBudget = n
	}
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
