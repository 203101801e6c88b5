package certs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
)

// injectCABundle sets bundle as the caBundle of every webhook of both
// configurations, writing only those that differ. A configuration that does
// not exist yet is skipped: its creation is watched and triggers a new pass.
func (m *Manager) injectCABundle(ctx context.Context, bundle []byte) error {
	if name := m.cfg.MutatingWebhookConfigurationName; name != "" {
		api := m.cfg.Client.AdmissionregistrationV1().MutatingWebhookConfigurations()
		err := injectInto(ctx, m, "MutatingWebhookConfiguration", name, bundle, api,
			func(c *admissionregistrationv1.MutatingWebhookConfiguration) (string, map[string][]byte) {
				bundles := map[string][]byte{}
				for _, w := range c.Webhooks {
					bundles[w.Name] = w.ClientConfig.CABundle
				}
				return c.ResourceVersion, bundles
			})
		if err != nil {
			return err
		}
	}
	if name := m.cfg.ValidatingWebhookConfigurationName; name != "" {
		api := m.cfg.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
		return injectInto(ctx, m, "ValidatingWebhookConfiguration", name, bundle, api,
			func(c *admissionregistrationv1.ValidatingWebhookConfiguration) (string, map[string][]byte) {
				bundles := map[string][]byte{}
				for _, w := range c.Webhooks {
					bundles[w.Name] = w.ClientConfig.CABundle
				}
				return c.ResourceVersion, bundles
			})
	}
	return nil
}

// configurationAPI is what inject needs of the client of a kind of webhook
// configuration: the mutating and the validating ones differ only in C.
type configurationAPI[C any] interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (C, error)
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (C, error)
}

// injectInto is inject over api, bundlesOf reading a configuration's
// resourceVersion and caBundle per webhook name.
func injectInto[C any](ctx context.Context, m *Manager, kind, name string, bundle []byte, api configurationAPI[C], bundlesOf func(C) (string, map[string][]byte)) error {
	return m.inject(ctx, kind, name, bundle,
		func(ctx context.Context) (string, map[string][]byte, error) {
			c, err := api.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return "", nil, err
			}
			resourceVersion, bundles := bundlesOf(c)
			return resourceVersion, bundles, nil
		},
		func(ctx context.Context, patch []byte) error {
			_, err := api.Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
			return err
		})
}

// inject reads a configuration's caBundle per webhook name with get and
// patches those that differ from bundle, retrying when the configuration
// changed in between.
func (m *Manager) inject(ctx context.Context, kind, name string, bundle []byte,
	get func(context.Context) (string, map[string][]byte, error),
	patch func(context.Context, []byte) error,
) error {
	var stale []string
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		resourceVersion, bundles, err := get(ctx)
		if err != nil {
			return err
		}
		stale = stale[:0]
		for webhook, current := range bundles {
			if !bytes.Equal(current, bundle) {
				stale = append(stale, webhook)
			}
		}
		if len(stale) == 0 {
			return nil
		}
		slices.Sort(stale)
		data, err := caBundlePatch(resourceVersion, stale, bundle)
		if err != nil {
			return err
		}
		return patch(ctx, data)
	})
	switch {
	case apierrors.IsNotFound(err):
		m.cfg.Log.Info("webhook configuration not found; its caBundle is set once it exists", "kind", kind, "name", name)
		return nil
	case err != nil:
		return fmt.Errorf("updating caBundle of %s %q: %w", kind, name, err)
	case len(stale) > 0:
		m.cfg.Log.Info("updated caBundle", "kind", kind, "name", name, "webhooks", stale)
	}
	return nil
}

// caBundlePatch is a strategic merge patch: webhooks merge by name, so
// fields this client does not know (a newer API server's) are kept, unlike
// with an Update. The resourceVersion makes a concurrent change a Conflict.
func caBundlePatch(resourceVersion string, webhooks []string, bundle []byte) ([]byte, error) {
	type webhook struct {
		Name         string                                      `json:"name"`
		ClientConfig admissionregistrationv1.WebhookClientConfig `json:"clientConfig"`
	}
	type metadata struct {
		ResourceVersion string `json:"resourceVersion,omitempty"`
	}
	type patch struct {
		Metadata metadata  `json:"metadata"`
		Webhooks []webhook `json:"webhooks"`
	}
	p := patch{Metadata: metadata{ResourceVersion: resourceVersion}}
	for _, name := range webhooks {
		p.Webhooks = append(p.Webhooks, webhook{Name: name, ClientConfig: admissionregistrationv1.WebhookClientConfig{CABundle: bundle}})
	}
	return json.Marshal(p)
}
