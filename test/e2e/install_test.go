package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/volumeguard/volumeguard/manifests"
)

// TestInstall creates every object of each overlay on the real API server,
// in the order `kubectl apply -k` sends them, with strict field validation:
// an unknown or duplicated field, a wrong type or enum, a missing
// cert-manager CRD or a PodSecurity violation of the Deployment fails it,
// where a render-only test sees nothing. The overlays share names, so each
// is removed again (namespace included) before the next.
//
// The overlays' webhook configurations point at a Service that nothing
// serves here; they are deleted right after they are accepted, so they never
// intercept another request (failurePolicy Fail in overlays/enforce would
// deny pods everywhere).
func TestInstall(t *testing.T) {
	c, w := runtimeClientWithWarnings(t)
	for _, overlay := range manifests.Overlays() {
		t.Run(overlay, func(t *testing.T) {
			objs, err := manifests.Render(overlay)
			if err != nil {
				t.Fatal(err)
			}
			var created []*unstructured.Unstructured
			t.Cleanup(func() { uninstall(t, c, created) })
			for _, obj := range objs {
				w.reset()
				if err := c.Create(ctx(t), obj.DeepCopy(), client.FieldValidation("Strict")); err != nil {
					t.Errorf("creating %s: %v", describe(obj), err)
					continue
				}
				created = append(created, obj)
				// PodSecurity warns when the Deployment's pods would break the
				// namespace's restricted level; the API server warns about
				// deprecated APIs and dropped fields. All are defects.
				if got := w.all(); got != "" {
					t.Errorf("creating %s: warnings:\n%s", describe(obj), got)
				}
				if strings.HasSuffix(obj.GetKind(), "WebhookConfiguration") {
					if err := c.Delete(ctx(t), obj); err != nil {
						t.Fatalf("deleting %s right after creating it: %v", describe(obj), err)
					}
				}
			}
			if len(created) != len(objs) {
				t.Fatalf("%d of %d objects created", len(created), len(objs))
			}
			t.Logf("created %d objects: %s", len(objs), describeAll(objs))
			checkPermissions(t, overlay != "overlays/cert-manager")
			uninstall(t, c, created)
			created = nil
		})
	}

	// The "no warning" checks above mean something only if the API server
	// runs PodSecurity admission: a privileged pod template must be warned of.
	t.Run("PodSecurity admission is on", func(t *testing.T) {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "vg-psa-check", Labels: map[string]string{
			"pod-security.kubernetes.io/warn": "restricted", isolatedLabel: "true",
		}}}
		if _, err := s.client.CoreV1().Namespaces().Create(ctx(t), ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { removeNamespace(t, ns.Name) })
		deploy := zkDeployment("privileged")
		deploy.Spec.Template.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr(true)}
		obj, err := toUnstructured(deploy)
		if err != nil {
			t.Fatal(err)
		}
		obj.SetAPIVersion("apps/v1")
		obj.SetKind("Deployment")
		obj.SetNamespace(ns.Name)
		w.reset()
		if err := c.Create(ctx(t), obj, client.DryRunAll); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(w.all(), "privileged") {
			t.Errorf("no PodSecurity warning for a privileged Deployment; warnings: %q", w.all())
		}
	})
}

// checkPermissions asks the API server's RBAC authorizer whether the
// installed ServiceAccount may do what `serve` does, and no more: what
// namespaces look like, and, with --manage-certs, its own Secret and the
// caBundle of its own webhook configurations.
func checkPermissions(t *testing.T, manageCerts bool) {
	t.Helper()
	const sa = "system:serviceaccount:volumeguard:volumeguard"
	type access struct {
		verb, group, resource, namespace, name string
	}
	var allowed, denied []access
	for _, verb := range []string{"list", "watch"} {
		allowed = append(allowed, access{verb, "", "namespaces", "", ""})
	}
	// What --manage-certs writes; without it, none of it. (Reading Secrets
	// may be granted anyway, for image pull secrets.)
	certWrites := []access{
		{"create", "", "secrets", "volumeguard", ""},
		{"update", "", "secrets", "volumeguard", "volumeguard-tls"},
	}
	var certReads []access
	for _, verb := range []string{"get", "list", "watch"} {
		certReads = append(certReads, access{verb, "", "secrets", "volumeguard", "volumeguard-tls"})
	}
	for _, kind := range []string{"mutatingwebhookconfigurations", "validatingwebhookconfigurations"} {
		certWrites = append(certWrites, access{"patch", "admissionregistration.k8s.io", kind, "", "volumeguard"})
		for _, verb := range []string{"get", "list", "watch"} {
			certReads = append(certReads, access{verb, "admissionregistration.k8s.io", kind, "", "volumeguard"})
		}
	}
	if manageCerts {
		allowed = append(allowed, append(certWrites, certReads...)...)
	} else {
		denied = append(denied, certWrites...)
	}
	denied = append(denied,
		access{"patch", "admissionregistration.k8s.io", "validatingwebhookconfigurations", "", "someone-elses"},
		access{"update", "", "secrets", "volumeguard", "someone-elses"},
		access{"create", "", "secrets", "default", ""},
		access{"delete", "", "secrets", "volumeguard", "volumeguard-tls"},
		access{"create", "", "pods", "default", ""},
	)
	check := func(a access, want bool) {
		review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   sa,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:volumeguard", "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: a.verb, Group: a.group, Resource: a.resource, Namespace: a.namespace, Name: a.name,
			},
		}}
		got, err := s.client.AuthorizationV1().SubjectAccessReviews().Create(ctx(t), review, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Allowed != want {
			t.Errorf("ServiceAccount volumeguard may %+v: %v, want %v (%s)", a, got.Status.Allowed, want, got.Status.Reason)
		}
	}
	for _, a := range allowed {
		check(a, true)
	}
	for _, a := range denied {
		check(a, false)
	}
}

// uninstall deletes objs, newest first, and then their namespaces. Nothing
// runs the namespace controller here, so it does the controller's last step
// itself: it finalizes the (by then empty) namespace, which removes it.
func uninstall(t *testing.T, c client.Client, objs []*unstructured.Unstructured) {
	t.Helper()
	var namespaces []string
	for _, obj := range slices.Backward(objs) {
		if obj.GetKind() == "Namespace" {
			namespaces = append(namespaces, obj.GetName())
			continue
		}
		if err := c.Delete(ctx(t), obj); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting %s: %v", describe(obj), err)
		}
	}
	for _, ns := range namespaces {
		removeNamespace(t, ns)
	}
}

// removeNamespace deletes an empty namespace and finalizes it, as the
// namespace controller would once it had deleted the namespace's content.
func removeNamespace(t *testing.T, name string) {
	t.Helper()
	namespaces := s.client.CoreV1().Namespaces()
	if err := namespaces.Delete(ctx(t), name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("deleting namespace %s: %v", name, err)
		return
	}
	err := eventually(10*time.Second, func() error {
		ns, err := namespaces.Get(ctx(t), name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		ns.Spec.Finalizers = nil
		if _, err := namespaces.Finalize(ctx(t), ns, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		return fmt.Errorf("namespace %s still exists", name)
	})
	if err != nil {
		t.Errorf("removing namespace %s: %v", name, err)
	}
}

// eventually calls f until it returns nil or timeout passes, and returns its last error.
func eventually(timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runtimeClientWithWarnings is a controller-runtime client, which maps any
// kind the API server serves (CRDs included) to its resource.
func runtimeClientWithWarnings(t *testing.T) (client.Client, *warnings) {
	t.Helper()
	w := &warnings{}
	cfg := rest.CopyConfig(s.cfg)
	cfg.WarningHandler = w
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c, w
}

func (w *warnings) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = nil
}

func toUnstructured(obj any) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}

func describe(obj *unstructured.Unstructured) string {
	if ns := obj.GetNamespace(); ns != "" {
		return obj.GetKind() + " " + ns + "/" + obj.GetName()
	}
	return obj.GetKind() + " " + obj.GetName()
}

func describeAll(objs []*unstructured.Unstructured) string {
	var names []string
	for _, o := range objs {
		names = append(names, describe(o))
	}
	return strings.Join(names, ", ")
}
