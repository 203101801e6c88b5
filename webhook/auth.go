package webhook

import (
	"context"

	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/pullsecrets"
)

var _ analysis.KeychainSource = (*pullsecrets.Source)(nil)

// analyze reads the images of spec, a pod's or a pod template's in
// namespace, with the credentials its pods would be pulled with.
//
// Every lookup counts against its namespace's share of registry work
// (analysis.ForTenant): one namespace's slow registry or flood of new images
// waits in its own queue, never in front of another namespace's pods.
func (h *Handler) analyze(ctx context.Context, namespace string, spec *corev1.PodSpec, opts ...analysis.AnalyzeOption) analysis.Result {
	opts = append([]analysis.AnalyzeOption{analysis.ForTenant(namespace), analysis.MaxFindings(maxFindingsPerPod)}, opts...)
	res := h.cfg.Analyzer.AnalyzePod(ctx, namespace, spec, h.cfg.Keychains, opts...)
	if res.CredentialsErr != nil {
		// The error names secrets by namespace/name only. The images the
		// webhook's own credentials could not read are reported as
		// unreadable like any other.
		logr.FromContextOrDiscard(ctx).Error(res.CredentialsErr, "reading the pod's pull secrets; using volumeguard's own registry credentials", "namespace", namespace)
	}
	return res
}

// pullSecretsSource returns where pods' registry credentials come from. When
// enabled, it reads Secrets from a factory of its own (only those that can
// be pull secrets, trimmed to their docker config) and ServiceAccounts from
// shared; the caller starts shared and the returned factory, if any. When
// not, no Secret or ServiceAccount is ever read (RBAC need not allow it) and
// every pod gets fallback. A nil fallback keeps pullsecrets' default, the
// process's own docker config.
func pullSecretsSource(client kubernetes.Interface, shared informers.SharedInformerFactory, enabled bool, fallback authn.Keychain, log logr.Logger) (*pullsecrets.Source, informers.SharedInformerFactory) {
	opts := []pullsecrets.Option{pullsecrets.WithFallback(fallback), pullsecrets.WithLogger(log)}
	if !enabled {
		return pullsecrets.Disabled(opts...), nil
	}
	// Watch events keep the cache current: no resync needed.
	secrets := pullsecrets.SecretsFactory(client, 0)
	return pullsecrets.NewFromFactories(secrets, shared, opts...), secrets
}
