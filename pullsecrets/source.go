package pullsecrets

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	corev1listers "k8s.io/client-go/listers/core/v1"

	"github.com/volumeguard/volumeguard/internal/keychain"
)

// Source builds the keychain of a pod from cached secrets and service
// accounts. It is safe for concurrent use.
type Source struct {
	secrets         corev1listers.SecretLister
	serviceAccounts corev1listers.ServiceAccountLister
	synced          []func() bool
	disabled        bool
	opts            options
}

// Option configures a Source.
type Option func(*options)

type options struct {
	fallback authn.Keychain
	log      logr.Logger
}

func makeOptions(opts []Option) options {
	o := options{
		// The webhook's own docker config, as the kubelet falls back to the
		// node's credentials; cached, since reading it is file I/O.
		fallback: keychain.Own(),
		log:      logr.Discard(),
	}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithFallback sets the keychain tried after the pod's pull secrets
// (default keychain.Own: the webhook's own docker config, cached). A
// program gives the one its Inspector reads with, so that they share one
// cache.
func WithFallback(kc authn.Keychain) Option {
	return func(o *options) {
		if kc != nil {
			o.fallback = kc
		}
	}
}

// WithLogger sets where skipped secrets are reported: missing ones at V(1),
// unreadable ones at V(0), by namespace/name only. Default: discarded.
func WithLogger(l logr.Logger) Option {
	return func(o *options) { o.log = l }
}

// New reads pull secrets through listers of a started informer factory.
func New(secrets corev1listers.SecretLister, serviceAccounts corev1listers.ServiceAccountLister, opts ...Option) *Source {
	return &Source{secrets: secrets, serviceAccounts: serviceAccounts, opts: makeOptions(opts)}
}

// Disabled returns a Source that reads no pull secret: every pod gets the
// fallback keychain (serve --pull-secrets=false, for clusters where the
// webhook may not read secrets).
func Disabled(opts ...Option) *Source {
	return &Source{disabled: true, opts: makeOptions(opts)}
}

// HasSynced reports whether the informer caches the Source reads are filled;
// true when it was given listers (their owner waits for them) or is disabled.
func (s *Source) HasSynced() bool {
	for _, synced := range s.synced {
		if !synced() {
			return false
		}
	}
	return true
}

// Keychain returns the credentials a pod in namespace with spec pulls its
// images with: its imagePullSecrets, then its service account's (default
// "default"), then the fallback. Like the kubelet, it skips secrets that do
// not exist (or are not docker registry secrets) instead of failing: the
// pull may still work with the others. Where several credentials match one
// registry, Resolve gives the first (the most specific registry location,
// then the pod's own secrets before its service account's, then the
// fallback) and ResolveAll all of them in that order, which
// imageinspect tries in turn after a refusal as the kubelet does.
//
// The service account's secrets are added even when the pod lists its own:
// for a Pod the ServiceAccount admission plugin has already copied them in
// when it had none, and for a workload template nothing has yet. Extra
// credentials only let more images be read.
func (s *Source) Keychain(ctx context.Context, namespace string, spec *corev1.PodSpec) (authn.Keychain, error) {
	if s.disabled || spec == nil {
		return s.opts.fallback, nil
	}
	if namespace == "" {
		namespace = corev1.NamespaceDefault
	}
	names, err := s.secretNames(namespace, spec)
	if err != nil {
		return nil, err
	}
	ring := &keyring{}
	for _, n := range names {
		secret, err := s.secrets.Secrets(namespace).Get(n)
		if apierrors.IsNotFound(err) {
			s.opts.log.V(1).Info("pull secret not found, skipped as the kubelet does", "secret", namespace+"/"+n)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading pull secret %s/%s: %w", namespace, n, err)
		}
		auths, why := dockerConfig(secret)
		if why != "" {
			s.opts.log.Info("pull secret skipped", "secret", namespace+"/"+n, "reason", why)
			continue
		}
		ring.add(auths)
	}
	if len(ring.index) == 0 {
		return s.opts.fallback, nil
	}
	return &podKeychain{ring: ring, fallback: s.opts.fallback}, nil
}

// secretNames lists the pod's pull secrets, then its service account's,
// without repeats.
func (s *Source) secretNames(namespace string, spec *corev1.PodSpec) ([]string, error) {
	var names []string
	seen := map[string]bool{}
	add := func(refs []corev1.LocalObjectReference) {
		for _, r := range refs {
			if r.Name != "" && !seen[r.Name] {
				seen[r.Name] = true
				names = append(names, r.Name)
			}
		}
	}
	add(spec.ImagePullSecrets)
	account := serviceAccountOf(spec)
	sa, err := s.serviceAccounts.ServiceAccounts(namespace).Get(account)
	switch {
	case apierrors.IsNotFound(err):
		s.opts.log.V(1).Info("service account not found, its pull secrets skipped", "serviceAccount", namespace+"/"+account)
	case err != nil:
		return nil, fmt.Errorf("reading service account %s/%s: %w", namespace, account, err)
	default:
		add(sa.ImagePullSecrets)
	}
	return names, nil
}

func serviceAccountOf(spec *corev1.PodSpec) string {
	switch {
	case spec.ServiceAccountName != "":
		return spec.ServiceAccountName
	case spec.DeprecatedServiceAccount != "":
		return spec.DeprecatedServiceAccount
	}
	return "default"
}
