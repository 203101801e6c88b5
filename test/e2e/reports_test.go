package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

var (
	openReports   = schema.GroupVersionResource{Group: "openreports.io", Version: "v1alpha1", Resource: "reports"}
	policyReports = schema.GroupVersionResource{Group: "wgpolicyk8s.io", Version: "v1alpha2", Resource: "policyreports"}
)

// reportCRDPath is a CRD file of manifests/components.
func reportCRDPath(component, file string) string {
	return filepath.Join("..", "..", "manifests", "components", component, file)
}

// served reports whether discovery serves gvr.
func served(t *testing.T, gvr schema.GroupVersionResource) bool {
	t.Helper()
	d, err := discovery.NewDiscoveryClientForConfig(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	list, err := d.ServerResourcesForGroupVersion(gvr.GroupVersion().String())
	if err != nil {
		return false
	}
	for _, r := range list.APIResources {
		if r.Name == gvr.Resource {
			return true
		}
	}
	return false
}

// uninstallReportCRDs removes the report CRDs that other tests may have
// installed, and waits until discovery no longer serves them.
func uninstallReportCRDs(t *testing.T) {
	t.Helper()
	paths := []string{reportCRDPath("openreports-crds", "openreports.io_reports.yaml"), reportCRDPath("wgpolicyk8s-crds", "wgpolicyk8s.io_policyreports.yaml")}
	if err := envtest.UninstallCRDs(s.cfg, envtest.CRDInstallOptions{Paths: paths, ErrorIfPathMissing: true}); err != nil {
		t.Fatalf("uninstalling the report CRDs: %v", err)
	}
	waitUntil(t, "the report APIs are no longer served", func() bool {
		return !served(t, openReports) && !served(t, policyReports)
	})
}

// installReportCRD installs a CRD of manifests/components and waits until
// discovery serves it; installing one that is there already is a no-op.
func installReportCRD(t *testing.T, component, file string, gvr schema.GroupVersionResource) {
	t.Helper()
	path := reportCRDPath(component, file)
	if _, err := envtest.InstallCRDs(s.cfg, envtest.CRDInstallOptions{Paths: []string{path}, ErrorIfPathMissing: true}); err != nil {
		t.Fatalf("installing %s: %v", path, err)
	}
	waitUntil(t, "discovery serves "+gvr.String(), func() bool { return served(t, gvr) })
}

// waitUntil polls cond until it holds, failing t after 60s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := eventually(60*time.Second, func() error {
		if cond() {
			return nil
		}
		return fmt.Errorf("timed out waiting until %s", what)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func dynamicClient(t *testing.T) dynamic.Interface {
	t.Helper()
	c, err := dynamic.NewForConfig(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func listReports(t *testing.T, gvr schema.GroupVersionResource, namespace string) map[string]*unstructured.Unstructured {
	t.Helper()
	list, err := dynamicClient(t).Resource(gvr).Namespace(namespace).List(ctx(t), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing %s in %s: %v", gvr.Resource, namespace, err)
	}
	out := map[string]*unstructured.Unstructured{}
	for i := range list.Items {
		out[list.Items[i].GetName()] = &list.Items[i]
	}
	return out
}

// resultPaths lists the "path" property of each result of a report.
func resultPaths(obj *unstructured.Unstructured) []string {
	results, _, _ := unstructured.NestedSlice(obj.Object, "results")
	var out []string
	for _, r := range results {
		props, _, _ := unstructured.NestedStringMap(r.(map[string]any), "properties")
		out = append(out, props["path"])
	}
	return out
}

// TestReports runs `volumeguard audit --reports` as workloads change. The
// API server runs no garbage collector: a report that goes, volumeguard
// deleted.
func TestReports(t *testing.T) {
	ns := uniqueName("reports-e2e")
	auditNamespace(t, ns)
	zk := s.images["zookeeper"]
	labels := map[string]string{"app": "zk"}
	template := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "zk", Image: zk}}}}
	deploy := create(t, s.client.AppsV1().Deployments(ns).Create, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "zk"},
		Spec:       appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template},
	})
	rs := create(t, s.client.AppsV1().ReplicaSets(ns).Create, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "zk-1", OwnerReferences: []metav1.OwnerReference{controlledBy(deploy, "apps/v1", "Deployment")}},
		Spec:       appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template},
	})
	dbLabels := map[string]string{"app": "db"}
	sts := create(t, s.client.AppsV1().StatefulSets(ns).Create, &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: appsv1.StatefulSetSpec{Selector: &metav1.LabelSelector{MatchLabels: dbLabels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: dbLabels}, Spec: template.Spec}},
	})
	zkContainer := func(mounts ...string) corev1.Container {
		c := corev1.Container{Name: "zk", Image: zk}
		for i, m := range mounts {
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: fmt.Sprintf("v%d", i), MountPath: m})
		}
		return c
	}
	createRunning(t, ns, auditPod("zk-1-a", "node-1", labels, ptr(controlledBy(rs, "apps/v1", "ReplicaSet")), zkContainer()), corev1.PodRunning, "")
	createRunning(t, ns, auditPod("db-0", "node-2", dbLabels, ptr(controlledBy(sts, "apps/v1", "StatefulSet")), zkContainer()), corev1.PodRunning, "")
	createRunning(t, ns, auditPod("web", "node-1", nil, nil, corev1.Container{Name: "web", Image: s.images["nginx"]}), corev1.PodRunning, "")
	zkReport, dbReport := "volumeguard-"+string(deploy.UID), "volumeguard-"+string(sts.UID)

	t.Run("CRDs absent: said clearly, findings and exit code unchanged", func(t *testing.T) {
		uninstallReportCRDs(t)
		plain := runAudit(t, "-o", "json", "-n", ns)
		res := runAudit(t, "-o", "json", "-n", ns, "--reports")
		if res.code != plain.code || plain.code != 1 || res.stdout != plain.stdout {
			t.Errorf("with --reports: exit %d and the same report %v; want %d and true", res.code, res.stdout == plain.stdout, plain.code)
		}
		wantAll(t, "stderr", res.stderr, "error: writing reports", "does not serve the report API", "openreports.io/v1alpha1", "manifests/components/openreports-crds")
	})

	installReportCRD(t, "openreports-crds", "openreports.io_reports.yaml", openReports)

	t.Run("created: one per workload with findings", func(t *testing.T) {
		res := runAudit(t, "-n", ns, "--reports")
		if res.code != 1 {
			t.Fatalf("exit %d, want 1; stderr:\n%s", res.code, res.stderr)
		}
		wantAll(t, "stderr", res.stderr, "reports (Report openreports.io/v1alpha1): 2 written, 0 unchanged, 0 deleted")
		got := listReports(t, openReports, ns)
		if len(got) != 2 || got[zkReport] == nil || got[dbReport] == nil {
			t.Fatalf("reports %v, want %s and %s", keys(got), zkReport, dbReport)
		}
		r := got[zkReport]
		if r.GetLabels()["app.kubernetes.io/managed-by"] != "volumeguard" {
			t.Errorf("labels %v", r.GetLabels())
		}
		if o := r.GetOwnerReferences(); len(o) != 1 || o[0].UID != deploy.UID || o[0].Kind != "Deployment" {
			t.Errorf("ownerReferences %+v, want the Deployment", o)
		}
		scopeKind, _, _ := unstructured.NestedString(r.Object, "scope", "kind")
		scopeUID, _, _ := unstructured.NestedString(r.Object, "scope", "uid")
		source, _, _ := unstructured.NestedString(r.Object, "source")
		fail, _, _ := unstructured.NestedInt64(r.Object, "summary", "fail")
		if scopeKind != "Deployment" || scopeUID != string(deploy.UID) || source != "volumeguard" || fail != 3 {
			t.Errorf("scope %s %s, source %q, summary.fail %d; want Deployment %s, volumeguard, 3", scopeKind, scopeUID, source, fail, deploy.UID)
		}
		if paths := strings.Join(resultPaths(r), ","); paths != "/data,/datalog,/logs" {
			t.Errorf("result paths %s", paths)
		}
	})

	t.Run("unchanged findings: nothing written", func(t *testing.T) {
		before := listReports(t, openReports, ns)
		res := runAudit(t, "-n", ns, "--reports")
		wantAll(t, "stderr", res.stderr, "0 written, 2 unchanged, 0 deleted")
		after := listReports(t, openReports, ns)
		for name, r := range before {
			if after[name].GetResourceVersion() != r.GetResourceVersion() {
				t.Errorf("%s rewritten", name)
			}
		}
	})

	// Someone else's report, without volumeguard's label, is never touched.
	foreign := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "openreports.io/v1alpha1", "kind": "Report",
		"metadata": map[string]any{"name": "kyverno-report", "namespace": ns}, "source": "kyverno",
	}}
	if _, err := dynamicClient(t).Resource(openReports).Namespace(ns).Create(ctx(t), foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	t.Run("updated: a path fixed", func(t *testing.T) {
		before := listReports(t, openReports, ns)[zkReport]
		replacePod(t, ns, auditPod("zk-1-a", "node-1", labels, ptr(controlledBy(rs, "apps/v1", "ReplicaSet")), zkContainer("/data")))
		res := runAudit(t, "-n", ns, "--reports")
		wantAll(t, "stderr", res.stderr, "1 written, 1 unchanged, 0 deleted")
		after := listReports(t, openReports, ns)[zkReport]
		if after.GetResourceVersion() == before.GetResourceVersion() || after.GetUID() != before.GetUID() {
			t.Errorf("report not updated in place")
		}
		if paths := strings.Join(resultPaths(after), ","); paths != "/datalog,/logs" {
			t.Errorf("result paths %s, want /datalog,/logs", paths)
		}
	})

	t.Run("deleted: the workload fixed", func(t *testing.T) {
		replacePod(t, ns, auditPod("db-0", "node-2", dbLabels, ptr(controlledBy(sts, "apps/v1", "StatefulSet")), zkContainer("/data", "/datalog", "/logs")))
		res := runAudit(t, "-n", ns, "--reports")
		wantAll(t, "stderr", res.stderr, "0 written, 1 unchanged, 1 deleted")
		got := listReports(t, openReports, ns)
		if got[dbReport] != nil || got[zkReport] == nil || got["kyverno-report"] == nil {
			t.Errorf("reports %v, want %s and kyverno-report", keys(got), zkReport)
		}
	})

	t.Run("deleted: the workload gone", func(t *testing.T) {
		for _, err := range []error{
			s.client.CoreV1().Pods(ns).Delete(ctx(t), "zk-1-a", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}),
			s.client.AppsV1().ReplicaSets(ns).Delete(ctx(t), rs.Name, metav1.DeleteOptions{}),
			s.client.AppsV1().Deployments(ns).Delete(ctx(t), deploy.Name, metav1.DeleteOptions{}),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		res := runAudit(t, "-n", ns, "--reports")
		if res.code != 0 {
			t.Errorf("exit %d, want 0: no finding left", res.code)
		}
		wantAll(t, "stderr", res.stderr, "0 written, 0 unchanged, 1 deleted")
		got := listReports(t, openReports, ns)
		if len(got) != 1 || got["kyverno-report"] == nil {
			t.Errorf("reports %v, want kyverno-report alone", keys(got))
		}
	})

	t.Run("wgpolicyk8s: a PolicyReport", func(t *testing.T) {
		installReportCRD(t, "wgpolicyk8s-crds", "wgpolicyk8s.io_policyreports.yaml", policyReports)
		replacePod(t, ns, auditPod("db-0", "node-2", dbLabels, ptr(controlledBy(sts, "apps/v1", "StatefulSet")), zkContainer("/data")))
		res := runAudit(t, "-n", ns, "--reports", "--report-api", "wgpolicyk8s")
		wantAll(t, "stderr", res.stderr, "reports (PolicyReport wgpolicyk8s.io/v1alpha2): 1 written")
		got := listReports(t, policyReports, ns)
		if r := got[dbReport]; r == nil || strings.Join(resultPaths(r), ",") != "/datalog,/logs" {
			t.Errorf("policy reports %v, want %s with /datalog and /logs", keys(got), dbReport)
		}
	})
}

// replacePod deletes a pod and creates pod, running, in its place: pod
// specs cannot change, so a controller replaces them.
func replacePod(t *testing.T, ns string, pod *corev1.Pod) {
	t.Helper()
	err := s.client.CoreV1().Pods(ns).Delete(ctx(t), pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	waitUntil(t, "pod "+pod.Name+" is gone", func() bool {
		_, err := s.client.CoreV1().Pods(ns).Get(ctx(t), pod.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	createRunning(t, ns, pod, corev1.PodRunning, "")
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
