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
		err := m.inject(ctx, "MutatingWebhookConfiguration", name, bundle,
			func(ctx context.Context) (string, map[string][]byte, error) {
				c, err := api.Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return "", nil, err
				}
				bundles := map[string][]byte{}
				for _, w := range c.Webhooks {
					bundles[w.Name] = w.ClientConfig.CABundle
				}
				return c.ResourceVersion, bundles, nil
			},
			func(ctx context.Context, patch []byte) error {
				_, err := api.Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
				return err
			})
		if err != nil {
			return err
		}
	}
	if name := m.cfg.ValidatingWebhookConfigurationName; name != "" {
		api := m.cfg.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
		return m.inject(ctx, "ValidatingWebhookConfiguration", name, bundle,
			func(ctx context.Context) (string, map[string][]byte, error) {
				c, err := api.Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return "", nil, err
				}
				bundles := map[string][]byte{}
				for _, w := range c.Webhooks {
					bundles[w.Name] = w.ClientConfig.CABundle
				}
				return c.ResourceVersion, bundles, nil
			},
			func(ctx context.Context, patch []byte) error {
				_, err := api.Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
				return err
			})
	}
	return nil
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
