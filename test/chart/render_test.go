package chart

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// render is one `helm template`, decoded into client-go's types.
type render struct {
	release, namespace string
	objects            []*unstructured.Unstructured
	deployment         *appsv1.Deployment
	container          corev1.Container
	flags              map[string][]string // serve's flags, in order of appearance
	service            *corev1.Service
	pdb                *policyv1.PodDisruptionBudget
	network            *networkingv1.NetworkPolicy
	mutating           *admissionregistrationv1.MutatingWebhookConfiguration
	validating         *admissionregistrationv1.ValidatingWebhookConfiguration
	clusterRoles       map[string]*rbacv1.ClusterRole
	roles              map[string]*rbacv1.Role
	subjects           []rbacv1.Subject                      // of every binding
	other              map[string]*unstructured.Unstructured // by kind/name: ConfigMap, ServiceMonitor, cert-manager's
}

// templateGroup renders g as release vg-<name> in namespace ns-<name>.
func templateGroup(t *testing.T, helm string, g ValueGroup) *render {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := &render{release: "vg-" + g.Name, namespace: "ns-" + g.Name}
	objs, err := Template(ctx, helm, r.release, r.namespace, g.Values)
	if err != nil {
		t.Fatal(err)
	}
	r.objects = objs
	r.clusterRoles, r.roles, r.other = map[string]*rbacv1.ClusterRole{}, map[string]*rbacv1.Role{}, map[string]*unstructured.Unstructured{}
	for _, u := range objs {
		switch u.GetKind() {
		case "Deployment":
			r.deployment = into[appsv1.Deployment](t, u)
		case "Service":
			r.service = into[corev1.Service](t, u)
		case "PodDisruptionBudget":
			r.pdb = into[policyv1.PodDisruptionBudget](t, u)
		case "NetworkPolicy":
			r.network = into[networkingv1.NetworkPolicy](t, u)
		case "MutatingWebhookConfiguration":
			r.mutating = into[admissionregistrationv1.MutatingWebhookConfiguration](t, u)
		case "ValidatingWebhookConfiguration":
			r.validating = into[admissionregistrationv1.ValidatingWebhookConfiguration](t, u)
		case "ClusterRole":
			r.clusterRoles[u.GetName()] = into[rbacv1.ClusterRole](t, u)
		case "Role":
			r.roles[u.GetName()] = into[rbacv1.Role](t, u)
		case "ClusterRoleBinding":
			r.subjects = append(r.subjects, into[rbacv1.ClusterRoleBinding](t, u).Subjects...)
		case "RoleBinding":
			r.subjects = append(r.subjects, into[rbacv1.RoleBinding](t, u).Subjects...)
		case "ServiceAccount":
		default:
			r.other[u.GetKind()+"/"+u.GetName()] = u
		}
	}
	if r.deployment == nil || r.service == nil || r.mutating == nil || r.validating == nil {
		t.Fatalf("the render lacks a Deployment, Service or webhook configuration: %d objects", len(objs))
	}
	if n := len(r.deployment.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("%d containers, want 1", n)
	}
	r.container = r.deployment.Spec.Template.Spec.Containers[0]
	r.flags = map[string][]string{}
	for _, a := range r.container.Args[1:] {
		name, value, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		r.flags[name] = append(r.flags[name], value)
	}
	return r
}

// flag is the value of a flag given once; "" when absent.
func (r *render) flag(t *testing.T, name string) string {
	t.Helper()
	switch v := r.flags[name]; len(v) {
	case 0:
		return ""
	case 1:
		return v[0]
	default:
		t.Errorf("--%s given %d times: %v", name, len(v), v)
		return v[0]
	}
}

// webhooks are the clientConfig, selectors, failurePolicy and timeout of
// every webhook, mutating and validating, by name.
func (r *render) webhooks() map[string]admissionregistrationv1.ValidatingWebhook {
	out := map[string]admissionregistrationv1.ValidatingWebhook{}
	for _, w := range r.mutating.Webhooks {
		out[w.Name] = admissionregistrationv1.ValidatingWebhook{Name: w.Name, ClientConfig: w.ClientConfig, Rules: w.Rules,
			FailurePolicy: w.FailurePolicy, NamespaceSelector: w.NamespaceSelector, ObjectSelector: w.ObjectSelector,
			TimeoutSeconds: w.TimeoutSeconds, SideEffects: w.SideEffects, AdmissionReviewVersions: w.AdmissionReviewVersions}
	}
	for _, w := range r.validating.Webhooks {
		out[w.Name] = w
	}
	return out
}

// into decodes u strictly: a field client-go's type lacks fails the test.
func into[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, out, true); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
	return out
}

// writeValues writes values to a file of the test's and returns its path.
func writeValues(t *testing.T, values string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(path, []byte(values), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func testCA(t *testing.T) string {
	t.Helper()
	ca, err := TestCA()
	if err != nil {
		t.Fatal(err)
	}
	return ca
}
