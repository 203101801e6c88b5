package certs

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// watch starts informers on the Secret and the two webhook configurations,
// each narrowed to its one object by name (which is also what lets RBAC
// restrict list and watch by resourceNames), and pokes Run on any change.
// The returned stop waits for the informers to end once ctx is done.
func (m *Manager) watch(ctx context.Context) (stop func(), err error) {
	byName := func(name string) informers.SharedInformerOption {
		return informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
		})
	}
	handler := func(name string) cache.ResourceEventHandler {
		// The name is checked again: a fake or old server may ignore the field selector.
		mine := func(obj any) bool {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			o, ok := obj.(metav1.Object)
			return ok && o.GetName() == name
		}
		return cache.FilteringResourceEventHandler{
			FilterFunc: mine,
			Handler: cache.ResourceEventHandlerFuncs{
				AddFunc:    func(any) { m.poke() },
				UpdateFunc: func(any, any) { m.poke() },
				DeleteFunc: func(any) { m.poke() },
			},
		}
	}

	var factories []informers.SharedInformerFactory
	add := func(name string, informer func(informers.SharedInformerFactory) cache.SharedIndexInformer, opts ...informers.SharedInformerOption) error {
		if name == "" {
			return nil
		}
		f := informers.NewSharedInformerFactoryWithOptions(m.cfg.Client, 0, append(opts, byName(name))...)
		if _, err := informer(f).AddEventHandler(handler(name)); err != nil {
			return err
		}
		factories = append(factories, f)
		return nil
	}
	stop = func() {
		for _, f := range factories {
			f.Shutdown()
		}
	}
	for _, err := range []error{
		add(m.cfg.SecretName, func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
			return f.Core().V1().Secrets().Informer()
		}, informers.WithNamespace(m.cfg.Namespace)),
		add(m.cfg.MutatingWebhookConfigurationName, func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
			return f.Admissionregistration().V1().MutatingWebhookConfigurations().Informer()
		}),
		add(m.cfg.ValidatingWebhookConfigurationName, func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
			return f.Admissionregistration().V1().ValidatingWebhookConfigurations().Informer()
		}),
	} {
		if err != nil {
			stop()
			return nil, fmt.Errorf("watching certificate objects: %w", err)
		}
	}
	for _, f := range factories {
		f.StartWithContext(ctx)
	}
	return stop, nil
}
