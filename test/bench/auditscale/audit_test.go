// Package auditscale measures `volumeguard audit -A` on a cluster of 10,000
// pods in 1,000 workloads (ReplicaSets of Deployments) on the real
// kube-apiserver: wall time, peak RSS and the API requests it made, counted
// by a proxy between it and the API server (which does not count requests
// its authorizer refuses), with every owner readable and with ReplicaSets
// forbidden. It runs only when asked
// (make bench-audit, make bench): its figures go to docs/benchmarks.md,
// never into an assertion.
package auditscale

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
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
	limited := limitedUser(t, cp, client)
	for _, c := range []struct {
		name string
		cfg  *rest.Config
	}{
		{"every owner readable", cp.Config},
		{"ReplicaSets forbidden", limited},
	} {
		proxy := startCountingProxy(t, c.cfg)
		cmd := exec.Command(bin, "audit", "-A", "--kubeconfig", proxy.kubeconfig(t, filepath.Join(dir, strconv.Itoa(len(c.name)))), "-o", "json")
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dir)
		t0 := time.Now()
		out, _ := cmd.Output() // exit 1: findings
		wall := time.Since(t0)
		rss := float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024
		fmt.Printf("%-28s %8.2f %8.1f %6d  %s\n", c.name, wall.Seconds(), rss, cmd.ProcessState.ExitCode(), proxy.summary())
		if len(out) == 0 {
			t.Errorf("%s: audit printed nothing", c.name)
		}
	}
}

// countingProxy forwards plain HTTP to the API server as the user of cfg,
// counting requests by method, resource and status.
type countingProxy struct {
	url    string
	mu     sync.Mutex
	counts map[string]int
}

func startCountingProxy(t *testing.T, cfg *rest.Config) *countingProxy {
	target, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{counts: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = rt
	rp.ModifyResponse = func(resp *http.Response) error {
		// /api/v1/pods is a list; .../namespaces/NS/KIND/NAME a get.
		parts := strings.Split(strings.Trim(resp.Request.URL.Path, "/"), "/")
		verb, resource := "LIST", parts[len(parts)-1]
		for i, part := range parts {
			if part == "namespaces" && i+2 < len(parts) {
				resource = parts[i+2]
				if i+3 < len(parts) {
					verb = resp.Request.Method
				}
				break
			}
		}
		p.mu.Lock()
		p.counts[verb+" "+resource+" "+strconv.Itoa(resp.StatusCode)]++
		p.mu.Unlock()
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

func (p *countingProxy) kubeconfig(t *testing.T, dir string) string {
	path, err := harness.WriteKubeconfig(&rest.Config{Host: p.url}, dir)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func (p *countingProxy) summary() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var parts []string
	total := 0
	for k, n := range p.counts {
		parts = append(parts, fmt.Sprintf("%s: %d", k, n))
		total += n
	}
	sort.Strings(parts)
	return fmt.Sprintf("%d in all; ", total) + strings.Join(parts, ", ")
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

// limitedUser is a user who may list pods and nothing else, as an audit
// role without the owners' rule.
func limitedUser(t *testing.T, cp *harness.ControlPlane, client kubernetes.Interface) *rest.Config {
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
	return user.Config()
}

func ptr[T any](v T) *T { return &v }
