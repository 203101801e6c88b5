package certs

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	k8stesting "k8s.io/client-go/testing"
)

const (
	testNamespace = "guard"
	testSecret    = "guard-tls"
	testService   = "guard-svc"
	testWebhooks  = "guard-webhooks"
)

// newFakeClient is a fake clientset holding both webhook configurations
// (one mutating webhook, three validating ones) that, unlike the plain
// fake, keeps resourceVersions and answers stale writes with Conflict, as
// the API server does.
func newFakeClient() *fake.Clientset {
	service := &admissionregistrationv1.ServiceReference{Namespace: testNamespace, Name: testService}
	cs := fake.NewClientset(
		&admissionregistrationv1.MutatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: testWebhooks, ResourceVersion: "1"},
			Webhooks: []admissionregistrationv1.MutatingWebhook{
				{Name: "mutate.guard.io", ClientConfig: admissionregistrationv1.WebhookClientConfig{Service: service}},
			},
		},
		&admissionregistrationv1.ValidatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: testWebhooks, ResourceVersion: "1"},
			Webhooks: []admissionregistrationv1.ValidatingWebhook{
				{Name: "pods.guard.io", ClientConfig: admissionregistrationv1.WebhookClientConfig{Service: service}},
				{Name: "pod-updates.guard.io", ClientConfig: admissionregistrationv1.WebhookClientConfig{Service: service, CABundle: []byte("stale")}},
				{Name: "workloads.guard.io", ClientConfig: admissionregistrationv1.WebhookClientConfig{Service: service}},
			},
		},
	)
	withResourceVersions(cs)
	return cs
}

func withResourceVersions(cs *fake.Clientset) {
	// Reactors run one at a time under the fake's lock.
	next := 100
	current := func(a k8stesting.Action, name string) (string, bool) {
		obj, err := cs.Tracker().Get(a.GetResource(), a.GetNamespace(), name)
		if err != nil {
			return "", false
		}
		m, _ := meta.Accessor(obj)
		return m.GetResourceVersion(), true
	}
	conflict := func(a k8stesting.Action, name string) error {
		return apierrors.NewConflict(a.GetResource().GroupResource(), name, errors.New("the object has been modified"))
	}
	cs.PrependReactor("create", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		m, _ := meta.Accessor(a.(k8stesting.CreateAction).GetObject())
		next++
		m.SetResourceVersion(strconv.Itoa(next))
		return false, nil, nil // the default reactor stores it
	})
	cs.PrependReactor("update", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		m, _ := meta.Accessor(a.(k8stesting.UpdateAction).GetObject())
		if rv, ok := current(a, m.GetName()); ok && m.GetResourceVersion() != "" && m.GetResourceVersion() != rv {
			return true, nil, conflict(a, m.GetName())
		}
		next++
		m.SetResourceVersion(strconv.Itoa(next))
		return false, nil, nil
	})
	cs.PrependReactor("patch", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pa := a.(k8stesting.PatchAction)
		var p struct {
			Metadata struct {
				ResourceVersion string `json:"resourceVersion"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(pa.GetPatch(), &p); err != nil {
			return true, nil, apierrors.NewBadRequest(err.Error())
		}
		if rv, ok := current(a, pa.GetName()); ok && p.Metadata.ResourceVersion != "" && p.Metadata.ResourceVersion != rv {
			return true, nil, conflict(a, pa.GetName())
		}
		return false, nil, nil
	})
}

// writes are the create, update and patch actions recorded by cs.
func writes(cs *fake.Clientset) []k8stesting.Action {
	var out []k8stesting.Action
	for _, a := range cs.Actions() {
		switch a.GetVerb() {
		case "create", "update", "patch", "delete":
			out = append(out, a)
		}
	}
	return out
}

// hookedClient calls afterGet after each Secret Get returned, before the
// caller sees the result: a seam to interleave another replica's writes.
type hookedClient struct {
	kubernetes.Interface
	afterGet func(n int)
	mu       sync.Mutex
	gets     int
}

func (c *hookedClient) CoreV1() corev1client.CoreV1Interface {
	return hookedCore{c.Interface.CoreV1(), c}
}

type hookedCore struct {
	corev1client.CoreV1Interface
	c *hookedClient
}

func (h hookedCore) Secrets(ns string) corev1client.SecretInterface {
	return hookedSecrets{h.CoreV1Interface.Secrets(ns), h.c}
}

type hookedSecrets struct {
	corev1client.SecretInterface
	c *hookedClient
}

func (h hookedSecrets) Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Secret, error) {
	s, err := h.SecretInterface.Get(ctx, name, opts)
	h.c.mu.Lock()
	h.c.gets++
	n := h.c.gets
	h.c.mu.Unlock()
	h.c.afterGet(n)
	return s, err
}

// clock is a settable time source for Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func testConfig(t *testing.T, client kubernetes.Interface, now func() time.Time) Config {
	return Config{
		Client:                             client,
		Namespace:                          testNamespace,
		SecretName:                         testSecret,
		ServiceName:                        testService,
		MutatingWebhookConfigurationName:   testWebhooks,
		ValidatingWebhookConfigurationName: testWebhooks,
		CertDir:                            t.TempDir(),
		Now:                                now,
	}
}

func newTestManager(t *testing.T, cfg Config) *Manager {
	t.Helper()
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
