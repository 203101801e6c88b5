package analysis

import (
	"context"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
)

// KeychainSource gives the registry credentials a pod pulls its images
// with: *pullsecrets.Source (the pod's imagePullSecrets, its service
// account's, then volumeguard's own), or audit's one-shot reader of them.
type KeychainSource interface {
	Keychain(ctx context.Context, namespace string, spec *corev1.PodSpec) (authn.Keychain, error)
}

// AnalyzePod analyses spec, a pod's or a pod template's in namespace, reading
// its images with the credentials its pods are pulled with (secrets; nil:
// the Inspector's own), as the webhook and audit do.
//
// Credentials that cannot be read (a Secret the API server will not give)
// do not fail the analysis: public images, and those volumeguard's own
// credentials reach, can still be read, and the others' errors say why they
// were not. Result.CredentialsErr says what happened, for the caller to log
// or report; it names secrets by namespace/name only.
func (a *Analyzer) AnalyzePod(ctx context.Context, namespace string, spec *corev1.PodSpec, secrets KeychainSource, opts ...AnalyzeOption) Result {
	if secrets == nil {
		return a.Analyze(ctx, spec, opts...)
	}
	kc, err := secrets.Keychain(ctx, namespace, spec)
	if err != nil {
		res := a.Analyze(ctx, spec, opts...)
		res.CredentialsErr = err
		return res
	}
	return a.Analyze(ctx, spec, append(opts[:len(opts):len(opts)], WithKeychain(kc))...)
}
