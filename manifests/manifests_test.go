package manifests

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// install is one rendered overlay, decoded.
type install struct {
	objects     []*unstructured.Unstructured
	deployment  *appsv1.Deployment
	config      *corev1.ConfigMap
	service     *corev1.Service
	pdb         *policyv1.PodDisruptionBudget
	network     *networkingv1.NetworkPolicy
	mutating    *admissionregistrationv1.MutatingWebhookConfiguration
	validating  *admissionregistrationv1.ValidatingWebhookConfiguration
	clusterRole map[string]*rbacv1.ClusterRole
	role        map[string]*rbacv1.Role
	bindings    []rbacv1.Subject                      // of every RoleBinding and ClusterRoleBinding
	certManager map[string]*unstructured.Unstructured // cert-manager.io objects by kind/name
}

// load renders overlay from the files on disk, checks that the embedded copy
// renders the same, and decodes it.
func load(t *testing.T, overlay string) *install {
	t.Helper()
	objects, err := RenderFS(filesys.MakeFsOnDisk(), filepath.FromSlash(overlay))
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := Render(overlay)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(objects, embedded) {
		t.Errorf("%s: the embedded manifests render differently from the files on disk", overlay)
	}
	return decode(t, overlay, objects)
}

// decode decodes every object of a rendered overlay strictly with
// client-go's scheme: an unknown or misspelt field fails.
func decode(t *testing.T, overlay string, objects []*unstructured.Unstructured) *install {
	t.Helper()
	in := &install{objects: objects, clusterRole: map[string]*rbacv1.ClusterRole{}, role: map[string]*rbacv1.Role{},
		certManager: map[string]*unstructured.Unstructured{}}
	for _, u := range objects {
		gvk := u.GroupVersionKind()
		if gvk.Group == "cert-manager.io" {
			in.certManager[gvk.Kind+"/"+u.GetName()] = u
			continue
		}
		obj, err := scheme.Scheme.New(gvk)
		if err != nil {
			t.Errorf("%s: %s %s is not a client-go type: %v", overlay, gvk, u.GetName(), err)
			continue
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, obj, true); err != nil {
			t.Errorf("%s: decoding %s %s: %v", overlay, gvk.Kind, u.GetName(), err)
			continue
		}
		switch o := obj.(type) {
		case *appsv1.Deployment:
			setOnce(t, &in.deployment, o)
		case *corev1.ConfigMap:
			setOnce(t, &in.config, o)
		case *corev1.Service:
			setOnce(t, &in.service, o)
		case *policyv1.PodDisruptionBudget:
			setOnce(t, &in.pdb, o)
		case *networkingv1.NetworkPolicy:
			setOnce(t, &in.network, o)
		case *admissionregistrationv1.MutatingWebhookConfiguration:
			setOnce(t, &in.mutating, o)
		case *admissionregistrationv1.ValidatingWebhookConfiguration:
			setOnce(t, &in.validating, o)
		case *rbacv1.ClusterRole:
			in.clusterRole[o.Name] = o
		case *rbacv1.Role:
			in.role[o.Name] = o
		case *rbacv1.ClusterRoleBinding:
			in.bindings = append(in.bindings, o.Subjects...)
		case *rbacv1.RoleBinding:
			in.bindings = append(in.bindings, o.Subjects...)
		}
	}
	for name, present := range map[string]bool{
		"Deployment": in.deployment != nil, "ConfigMap": in.config != nil, "Service": in.service != nil,
		"PodDisruptionBudget": in.pdb != nil, "NetworkPolicy": in.network != nil, "MutatingWebhookConfiguration": in.mutating != nil,
		"ValidatingWebhookConfiguration": in.validating != nil,
	} {
		if !present {
			t.Fatalf("%s: no %s", overlay, name)
		}
	}
	return in
}

func setOnce[T any](t *testing.T, dst **T, v *T) {
	t.Helper()
	if *dst != nil {
		t.Errorf("two objects of type %T", v)
	}
	*dst = v
}

// flags are the container's `serve` flags as the kubelet passes them:
// $(VAR) expanded from env, itself from the ConfigMap or the downward API.
func (in *install) flags(t *testing.T) map[string]string {
	t.Helper()
	c := in.deployment.Spec.Template.Spec.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			value, ok := in.config.Data[ref.Key]
			if ref.Name != in.config.Name || !ok {
				t.Errorf("env %s refers to ConfigMap %s key %s, which the overlay lacks (it has %s)", e.Name, ref.Name, ref.Key, in.config.Name)
			}
			env[e.Name] = value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			env[e.Name] = in.deployment.Namespace
		}
	}
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Fatalf("container args %v do not run serve", c.Args)
	}
	flags := map[string]string{}
	for _, arg := range c.Args[1:] {
		name, value, ok := strings.Cut(arg, "=")
		if !ok || !strings.HasPrefix(name, "--") {
			t.Errorf("arg %q is not --flag=value", arg)
			continue
		}
		for v, val := range env {
			value = strings.ReplaceAll(value, "$("+v+")", val)
		}
		if strings.Contains(value, "$(") {
			t.Errorf("arg %q refers to an undefined variable", arg)
		}
		flags[strings.TrimPrefix(name, "--")] = value
	}
	if _, ok := flags["cert-namespace"]; !ok {
		flags["cert-namespace"] = env["POD_NAMESPACE"] // serve's default for --cert-namespace
	}
	return flags
}

func TestOverlaysRenderAndDecode(t *testing.T) {
	for _, overlay := range Overlays() {
		t.Run(overlay, func(t *testing.T) {
			in := load(t, overlay)
			for _, u := range in.objects {
				namespaced := u.GetKind() != "Namespace" && u.GetKind() != "ClusterRole" && u.GetKind() != "ClusterRoleBinding" &&
					!strings.HasSuffix(u.GetKind(), "WebhookConfiguration")
				if namespaced && u.GetNamespace() != "volumeguard" {
					t.Errorf("%s %s is in namespace %q, want volumeguard", u.GetKind(), u.GetName(), u.GetNamespace())
				}
				if u.GetLabels()["app.kubernetes.io/name"] != "volumeguard" {
					t.Errorf("%s %s lacks the label app.kubernetes.io/name=volumeguard", u.GetKind(), u.GetName())
				}
			}
			if first, last := in.objects[0], in.objects[len(in.objects)-1]; first.GetKind() != "Namespace" || !strings.HasSuffix(last.GetKind(), "WebhookConfiguration") {
				t.Errorf("objects run from %s to %s; creating them in order needs the Namespace first and the webhooks last", first.GetKind(), last.GetKind())
			}
		})
	}
}

func TestRenderUnknownOverlay(t *testing.T) {
	if _, err := Render("overlays/nope"); err == nil || !strings.Contains(err.Error(), "overlays/nope") {
		t.Errorf("error = %v, want one naming the overlay", err)
	}
}
