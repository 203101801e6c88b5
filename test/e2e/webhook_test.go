package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func zkPod(name string, mounts ...string) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "zk", Image: s.images["zookeeper"]},
			{Name: "web", Image: s.images["nginx"]},
		}},
	}
	for i, m := range mounts {
		v := string(rune('a' + i))
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: v, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		pod.Spec.Containers[0].VolumeMounts = append(pod.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: v, MountPath: m})
	}
	return pod
}

// emptyDirMounts maps mount path -> sizeLimit of every emptyDir mounted in
// the container.
func emptyDirMounts(pod *corev1.Pod, container string) map[string]string {
	sizes := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		if v.EmptyDir != nil && v.EmptyDir.SizeLimit != nil {
			sizes[v.Name] = v.EmptyDir.SizeLimit.String()
		}
	}
	out := map[string]string{}
	for _, c := range pod.Spec.Containers {
		if c.Name != container {
			continue
		}
		for _, m := range c.VolumeMounts {
			if size, ok := sizes[m.Name]; ok {
				out[m.MountPath] = size
			}
		}
	}
	return out
}

func wantAll(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

func TestAdmission(t *testing.T) {
	startServer(t)
	cleanModeNamespaces(t)
	zkPaths := []string{"/data", "/datalog", "/logs"}

	t.Run("mutate adds an emptyDir with sizeLimit for every uncovered path, once", func(t *testing.T) {
		c, w := clientWithWarnings(t)
		created, err := c.CoreV1().Pods("vg-mutate").Create(ctx(t), zkPod("zk-mutated", "/data"), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("creating pod: %v", err)
		}
		got, err := c.CoreV1().Pods("vg-mutate").Get(ctx(t), created.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		added := emptyDirMounts(got, "zk")
		if len(added) != 2 || added["/datalog"] != "1Gi" || added["/logs"] != "1Gi" {
			t.Errorf("emptyDirs with sizeLimit in container zk = %v, want /datalog and /logs at 1Gi (the two webhooks must not add twice)", added)
		}
		if n := len(got.Spec.Volumes); n != 3 {
			t.Errorf("pod has %d volumes, want the user's one plus two added", n)
		}
		if len(emptyDirMounts(got, "web")) != 0 {
			t.Error("the nginx container, whose image declares nothing, got a mount")
		}
		wantAll(t, "warnings", w.all(), "/datalog", "/logs")
	})

	t.Run("mutate honours the pod's size-limit annotation", func(t *testing.T) {
		pod := zkPod("zk-small")
		pod.Annotations = map[string]string{"volumeguard.io/size-limit": "256Mi"}
		created, err := s.client.CoreV1().Pods("vg-mutate").Create(ctx(t), pod, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		added := emptyDirMounts(created, "zk")
		for _, p := range zkPaths {
			if added[p] != "256Mi" {
				t.Errorf("emptyDir at %s = %q, want 256Mi (all: %v)", p, added[p], added)
			}
		}
	})

	t.Run("mutate on a server-side dry run answers the same and stores nothing", func(t *testing.T) {
		created, err := s.client.CoreV1().Pods("vg-mutate").Create(ctx(t), zkPod("zk-dry"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(emptyDirMounts(created, "zk")); n != 3 {
			t.Errorf("dry-run answer has %d added emptyDirs, want 3", n)
		}
		if _, err := s.client.CoreV1().Pods("vg-mutate").Get(ctx(t), "zk-dry", metav1.GetOptions{}); err == nil {
			t.Error("the dry-run pod was stored")
		}
	})

	t.Run("enforce denies naming image and every path, dry run or not", func(t *testing.T) {
		for _, dryRun := range [][]string{nil, {metav1.DryRunAll}} {
			_, err := s.client.CoreV1().Pods("vg-enforce").Create(ctx(t), zkPod("zk-denied"), metav1.CreateOptions{DryRun: dryRun})
			if err == nil {
				t.Fatalf("dryRun=%v: pod admitted, want a denial", dryRun)
			}
			t.Logf("denial: %v", err)
			wantAll(t, "denial", err.Error(), append([]string{s.images["zookeeper"], `"zk"`, "emptyDir"}, zkPaths...)...)
		}
	})

	t.Run("enforce admits a pod that covers every path", func(t *testing.T) {
		if _, err := s.client.CoreV1().Pods("vg-enforce").Create(ctx(t), zkPod("zk-covered", "/data/", "/datalog", "/logs"), metav1.CreateOptions{}); err != nil {
			t.Fatalf("covered pod denied: %v", err)
		}
	})

	t.Run("audit admits unchanged and the warnings reach the client", func(t *testing.T) {
		c, w := clientWithWarnings(t)
		created, err := c.CoreV1().Pods("vg-audit").Create(ctx(t), zkPod("zk-audited"), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("audit denied: %v", err)
		}
		if len(created.Spec.Volumes) != 0 {
			t.Errorf("audit changed the pod: volumes %v", created.Spec.Volumes)
		}
		t.Logf("warnings:\n%s", w.all())
		wantAll(t, "warnings", w.all(), append([]string{s.images["zookeeper"]}, zkPaths...)...)
	})

	t.Run("off admits without a word", func(t *testing.T) {
		c, w := clientWithWarnings(t)
		if _, err := c.CoreV1().Pods("vg-off").Create(ctx(t), zkPod("zk-off"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := w.all(); got != "" {
			t.Errorf("mode off warned: %s", got)
		}
	})

	t.Run("a Deployment gets template warnings in audit and is denied in enforce", func(t *testing.T) {
		c, w := clientWithWarnings(t)
		if _, err := c.AppsV1().Deployments("vg-audit").Create(ctx(t), zkDeployment("zk"), metav1.CreateOptions{}); err != nil {
			t.Fatalf("audit denied the Deployment: %v", err)
		}
		t.Logf("Deployment warnings:\n%s", w.all())
		wantAll(t, "warnings", w.all(), append([]string{"Deployment", s.images["zookeeper"]}, zkPaths...)...)

		_, err := s.client.AppsV1().Deployments("vg-enforce").Create(ctx(t), zkDeployment("zk"), metav1.CreateOptions{})
		if err == nil {
			t.Fatal("enforce admitted the Deployment")
		}
		wantAll(t, "denial", err.Error(), append([]string{s.images["zookeeper"]}, zkPaths...)...)
	})

	t.Run("an ephemeral container with an uncovered VOLUME is denied in enforce", func(t *testing.T) {
		pod, err := s.client.CoreV1().Pods("vg-enforce").Get(ctx(t), "zk-covered", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pod.Spec.EphemeralContainers = append(pod.Spec.EphemeralContainers, corev1.EphemeralContainer{
			EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: s.images["zookeeper"], TerminationMessagePolicy: corev1.TerminationMessageReadFile, ImagePullPolicy: corev1.PullIfNotPresent},
		})
		_, err = s.client.CoreV1().Pods("vg-enforce").UpdateEphemeralContainers(ctx(t), pod.Name, pod, metav1.UpdateOptions{})
		if err == nil {
			t.Fatal("ephemeral container admitted")
		}
		wantAll(t, "denial", err.Error(), `"debug"`, "/data")
	})
}

func zkDeployment(name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       zkPod("").Spec,
			},
		},
	}
}

// TestRegistryUnavailable: a registry that never answers must not hold the
// API server past the webhook's deadline; the configured policy decides.
func TestRegistryUnavailable(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); hang.Close() })
	image := path.Join(strings.TrimPrefix(hang.URL, "http://"), "stuck/app:v1")
	pod := func(name string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
		}
	}

	cleanModeNamespaces(t)
	t.Run("default policy admits with a warning naming the image", func(t *testing.T) {
		startServer(t, "--admission-timeout", "2s")
		c, w := clientWithWarnings(t)
		if _, err := c.CoreV1().Pods("vg-enforce").Create(ctx(t), pod("stuck-allowed"), metav1.CreateOptions{}); err != nil {
			t.Fatalf("pod denied under --on-registry-error=allow: %v", err)
		}
		wantAll(t, "warnings", w.all(), image)
	})

	t.Run("deny policy denies naming the image", func(t *testing.T) {
		startServer(t, "--admission-timeout", "2s", "--on-registry-error", "deny")
		_, err := s.client.CoreV1().Pods("vg-enforce").Create(ctx(t), pod("stuck-denied"), metav1.CreateOptions{})
		if err == nil {
			t.Fatal("pod admitted under --on-registry-error=deny")
		}
		wantAll(t, "denial", err.Error(), image)
	})
}

// cleanModeNamespaces deletes, when the test ends, the pods and Deployments
// it made in the vg-<mode> namespaces, so that the suite can run again
// (go test -count=N) on the same API server. Unscheduled pods go at once.
func cleanModeNamespaces(t *testing.T) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		now := metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}
		for mode := range modes {
			ns := "vg-" + mode
			if err := s.client.CoreV1().Pods(ns).DeleteCollection(ctx, now, metav1.ListOptions{}); err != nil {
				t.Errorf("deleting the pods of %s: %v", ns, err)
			}
			if err := s.client.AppsV1().Deployments(ns).DeleteCollection(ctx, now, metav1.ListOptions{}); err != nil {
				t.Errorf("deleting the Deployments of %s: %v", ns, err)
			}
		}
	})
}
