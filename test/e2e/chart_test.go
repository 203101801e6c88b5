package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/volumeguard/volumeguard/test/chart"
)

// TestChartInstall creates charts/volumeguard, rendered with its defaults
// and with each group of values (chart.ValueGroups), on the real API
// server, as TestInstall does the kustomize overlays: each object with
// strict field validation, and no warning allowed (PodSecurity at the
// restricted level included). Each render goes into a fresh namespace,
// left out of the suite's own webhooks, and is removed afterwards.
//
// The webhook configurations are created as a server-side dry run: the API
// server validates them in full but never stores them, so they never
// intercept the suite's other requests. The RBAC is asked (SubjectAccessReview)
// whether the release's ServiceAccount may do what its serve flags need,
// and serve itself parses the flags the chart gives it.
func TestChartInstall(t *testing.T) {
	helm := chart.HelmBinary(t)
	ca, err := chart.TestCA()
	if err != nil {
		t.Fatal(err)
	}
	c, w := runtimeClientWithWarnings(t)
	for _, g := range chart.ValueGroups(ca) {
		t.Run(g.Name, func(t *testing.T) {
			ns := uniqueName("vg-chart-" + g.Name)
			createChartNamespace(t, ns, g.PrivilegedNamespace)
			objs, err := chart.Template(ctx(t), helm, "vg-"+g.Name, ns, g.Values)
			if err != nil {
				t.Fatal(err)
			}
			var created []*unstructured.Unstructured
			t.Cleanup(func() { uninstall(t, c, created) })
			for _, obj := range objs {
				opts := []client.CreateOption{client.FieldValidation("Strict")}
				webhooks := strings.HasSuffix(obj.GetKind(), "WebhookConfiguration")
				if webhooks {
					opts = append(opts, client.DryRunAll)
				}
				w.reset()
				if err := c.Create(ctx(t), obj.DeepCopy(), opts...); err != nil {
					t.Errorf("creating %s: %v", describe(obj), err)
					continue
				}
				if !webhooks {
					created = append(created, obj)
				}
				if got := w.all(); got != "" {
					t.Errorf("creating %s: warnings:\n%s", describe(obj), got)
				}
			}
			t.Logf("created %d objects: %s", len(objs), describeAll(objs))
			serve := serveArgs(t, objs)
			checkServeParses(t, serve, ca)
			checkChartPermissions(t, ns, objs, serve)
		})
	}
}

// createChartNamespace makes a namespace that the suite's webhooks skip,
// at Pod Security level restricted (as manifests/base/namespace.yaml and
// the chart's README ask), or privileged where the values need it.
func createChartNamespace(t *testing.T, name string, privileged bool) {
	t.Helper()
	level := "restricted"
	if privileged {
		level = "privileged"
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		isolatedLabel:                        "true",
		"pod-security.kubernetes.io/enforce": level,
		"pod-security.kubernetes.io/warn":    level,
	}}}
	if _, err := s.client.CoreV1().Namespaces().Create(ctx(t), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeNamespace(t, name) })
}

// serveArgs are the arguments of the Deployment's container.
func serveArgs(t *testing.T, objs []*unstructured.Unstructured) []string {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
		if len(args) == 0 || args[0] != "serve" {
			t.Fatalf("container args %v, want serve and its flags", args)
		}
		return args
	}
	t.Fatal("no Deployment")
	return nil
}

// checkServeParses runs `volumeguard serve ARGS --help`: cobra parses (and
// serve's flag types check) every flag before it prints the help, so an
// unknown flag or a malformed value fails. The registry CA file, read as
// it is parsed, is put where the pod would mount it from.
func checkServeParses(t *testing.T, args []string, ca string) {
	t.Helper()
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, []byte(ca), 0o600); err != nil {
		t.Fatal(err)
	}
	args = append([]string(nil), args...)
	for i, a := range args {
		if strings.HasPrefix(a, "--registry-ca-file=") {
			args[i] = "--registry-ca-file=" + caFile
		}
	}
	out, err := exec.Command(s.bin, append(args, "--help")...).CombinedOutput()
	if err != nil {
		t.Errorf("volumeguard %s --help: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// checkChartPermissions asks the RBAC authorizer what the release's
// ServiceAccount may do: read namespaces always; every Secret only with
// --pull-secrets; its certificate Secret and webhook configurations only
// with --manage-certs; nothing more.
func checkChartPermissions(t *testing.T, ns string, objs []*unstructured.Unstructured, args []string) {
	t.Helper()
	flags := map[string]string{}
	for _, a := range args[1:] {
		name, value, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		flags[name] = value
	}
	var sa string
	for _, o := range objs {
		if o.GetKind() == "ServiceAccount" {
			sa = o.GetName()
		}
	}
	type access struct {
		verb, group, resource, namespace, name string
		want                                   bool
	}
	manage, pull := flags["manage-certs"] == "true", flags["pull-secrets"] == "true"
	for _, a := range []access{
		{"watch", "", "namespaces", "", "", true},
		{"list", "", "secrets", "", "", pull},
		{"update", "", "secrets", ns, flags["cert-secret"], manage},
		{"create", "", "secrets", ns, "", manage},
		{"patch", "admissionregistration.k8s.io", "validatingwebhookconfigurations", "", flags["webhook-config-name"], manage},
		{"patch", "admissionregistration.k8s.io", "mutatingwebhookconfigurations", "", flags["webhook-config-name"], manage},
		{"patch", "admissionregistration.k8s.io", "validatingwebhookconfigurations", "", "someone-elses", false},
		{"update", "", "secrets", ns, "someone-elses", false},
		{"create", "", "pods", "default", "", false},
	} {
		review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   "system:serviceaccount:" + ns + ":" + sa,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: a.verb, Group: a.group, Resource: a.resource, Namespace: a.namespace, Name: a.name,
			},
		}}
		got, err := s.client.AuthorizationV1().SubjectAccessReviews().Create(ctx(t), review, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Allowed != a.want {
			t.Errorf("ServiceAccount %s/%s may %s %s %q in %q: %v, want %v (%s)",
				ns, sa, a.verb, a.resource, a.name, a.namespace, got.Status.Allowed, a.want, got.Status.Reason)
		}
	}
}
