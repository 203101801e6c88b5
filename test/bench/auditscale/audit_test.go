// Package auditscale measures `volumeguard audit -A` on a cluster of 10,000
// pods in 1,000 workloads (ReplicaSets of Deployments) on the real
// kube-apiserver: wall time, peak RSS and the API requests it made, read
// off the API server's own apiserver_request_total, with every owner
// readable and with ReplicaSets forbidden. It runs only when asked
// (make bench-audit, make bench): its figures go to docs/benchmarks.md,
// never into an assertion.
package auditscale

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/volumeguard/volumeguard/internal/testimage"
	"github.com/volumeguard/volumeguard/test/internal/harness"
)

func TestAuditScale(t *testing.T) {
	if os.Getenv("VOLUMEGUARD_BENCH_AUDIT") == "" {
		t.Skip("set VOLUMEGUARD_BENCH_AUDIT=1 (make bench-audit) to measure audit at scale")
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set; run `make bench-audit`")
	}
	const namespaces, workloadsPerNS, podsPerWorkload, images = 10, 100, 10, 100
	bin, err := harness.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cp, err := harness.StartControlPlane(assets, harness.Webhooks{TimeoutSeconds: 10, Validate: admissionregistrationv1.Ignore})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Stop)
	cfg := rest.CopyConfig(cp.Config)
	cfg.QPS, cfg.Burst = 2000, 2000
	client := kubernetes.NewForConfigOrDie(cfg)

	reg := harness.StartRegistry(t)
	refs := make([]string, images)
	for i := range refs {
		var vols []string
		if i%4 != 0 {
			vols = []string{"/data" + strconv.Itoa(i)}
		}
		img, err := testimage.New(vols...)
		if err != nil {
			t.Fatal(err)
		}
		reg.AddImage(t, "app"+strconv.Itoa(i), "v1", img)
		refs[i] = reg.Ref("app"+strconv.Itoa(i), "v1")
	}
	start := time.Now()
	populate(t, client, namespaces, workloadsPerNS, podsPerWorkload, refs)
	fmt.Printf("audit -A of %d pods in %d ReplicaSets of Deployments, %d namespaces, %d images on a loopback registry (created in %s)\n",
		namespaces*workloadsPerNS*podsPerWorkload, namespaces*workloadsPerNS, namespaces, images, time.Since(start).Round(time.Second))
	fmt.Printf("%-28s %8s %8s %6s  %s\n", "case", "wall_s", "RSS_MiB", "exit", "API requests (verb resource: count)")

	dir := t.TempDir()
	admin, err := harness.WriteKubeconfig(cp.Config, dir)
	if err != nil {
		t.Fatal(err)
	}
	limited := limitedKubeconfig(t, cp, client, dir)
	for _, c := range []struct{ name, kubeconfig string }{
		{"every owner readable", admin},
		{"ReplicaSets forbidden", limited},
	} {
		before := requestCounts(t, client)
		cmd := exec.Command(bin, "audit", "-A", "--kubeconfig", c.kubeconfig, "-o", "json")
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dir)
		t0 := time.Now()
		out, _ := cmd.Output() // exit 1: findings
		wall := time.Since(t0)
		after := requestCounts(t, client)
		rss := float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024
		fmt.Printf("%-28s %8.2f %8.1f %6d  %s\n", c.name, wall.Seconds(), rss, cmd.ProcessState.ExitCode(), diff(before, after))
		if len(out) == 0 {
			t.Errorf("%s: audit printed nothing", c.name)
		}
	}
}

// populate creates, per namespace, Deployments each owning a ReplicaSet
// owning pods, as the controllers would (envtest runs none).
func populate(t *testing.T, client kubernetes.Interface, namespaces, workloads, pods int, refs []string) {
	ctx := context.Background()
	type job struct {
		ns   string
		rs   *appsv1.ReplicaSet
		n    int
		refI int
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	var failed atomic.Value
	for range 16 {
		wg.Go(func() {
			for j := range jobs {
				for p := range pods {
					pod := &corev1.Pod{
						ObjectMeta: metav1.ObjectMeta{
							Name: j.rs.Name + "-" + strconv.Itoa(p), Namespace: j.ns,
							OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: j.rs.Name, UID: j.rs.UID, Controller: ptr(true)}},
						},
						Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: refs[j.refI]}}},
					}
					if _, err := client.CoreV1().Pods(j.ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
						failed.Store(err)
					}
				}
			}
		})
	}
	for n := range namespaces {
		ns := "audit-" + strconv.Itoa(n)
		if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for w := range workloads {
			name := "w" + strconv.Itoa(w)
			labels := map[string]string{"app": name}
			tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: refs[(n*workloads+w)%len(refs)]}}}}
			d, err := client.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Name: name},
				Spec:       appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl},
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rs, err := client.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{
				ObjectMeta: metav1.ObjectMeta{Name: name + "-5d8f7c", OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID, Controller: ptr(true)}}},
				Spec:       appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl},
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			jobs <- job{ns: ns, rs: rs, n: pods, refI: (n*workloads + w) % len(refs)}
		}
	}
	close(jobs)
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
}

// limitedKubeconfig is a user who may list pods and nothing else, as an
// audit role without the owners' rule.
func limitedKubeconfig(t *testing.T, cp *harness.ControlPlane, client kubernetes.Interface, dir string) string {
	ctx := context.Background()
	user, err := cp.Env.ControlPlane.AddUser(envtest.User{Name: "pods-only"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "pods-only"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "pods-only"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "pods-only"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "pods-only"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	path, err := harness.WriteKubeconfig(user.Config(), filepath.Join(dir, "limited"))
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// requestCounts reads apiserver_request_total by verb and resource.
func requestCounts(t *testing.T, client kubernetes.Interface) map[string]float64 {
	raw, err := client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "apiserver_request_total{") {
			continue
		}
		labels, value, _ := strings.Cut(line[len("apiserver_request_total{"):], "} ")
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		out[label(labels, "verb")+" "+label(labels, "resource")+" "+label(labels, "code")] += v
	}
	return out
}

func label(labels, name string) string {
	for _, kv := range strings.Split(labels, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// diff lists the requests made between two counts, leaving out the
// harness's own metrics reads.
func diff(before, after map[string]float64) string {
	var parts []string
	for k, v := range after {
		if d := v - before[k]; d > 0 && !strings.HasPrefix(k, "GET  ") {
			parts = append(parts, fmt.Sprintf("%s: %.0f", k, d))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func ptr[T any](v T) *T { return &v }
