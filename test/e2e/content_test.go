package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/volumeguard/volumeguard/internal/testimage"
)

// pushContentImages writes images whose layers put files under their
// VOLUME paths: "app" ships 2 files at /opt/app/data and an empty
// /opt/app/logs; "postgres" is postgres 18's layout (VOLUME
// /var/lib/postgresql, the data in 18/docker beneath it).
func pushContentImages(t *testing.T) (app, postgres string) {
	t.Helper()
	push := func(repo string, volumes []string, entries ...testimage.Entry) string {
		img, err := testimage.WithContent(volumes, entries)
		if err != nil {
			t.Fatal(err)
		}
		ref := s.registry + "/" + repo + ":e2e"
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(r, img); err != nil {
			t.Fatal(err)
		}
		return ref
	}
	app = push("content/app", []string{"/opt/app/data", "/opt/app/logs"},
		testimage.Dir("opt/app/data", 0o750, 1000, 1000), testimage.File("opt/app/data/plugin.jar", 1000), testimage.File("opt/app/data/conf", 126),
		testimage.Dir("opt/app/logs", 0o755, 1000, 1000))
	postgres = push("content/postgres", []string{"/var/lib/postgresql"},
		testimage.Dir("var/lib/postgresql", 0o755, 999, 999), testimage.Dir("var/lib/postgresql/18/docker", 0o700, 999, 999),
		testimage.File("var/lib/postgresql/18/docker/PG_VERSION", 3))
	return app, postgres
}

// restrictedPod passes PodSecurity restricted as it is.
func restrictedPod(name, image string, mounts ...string) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{Name: "app", Image: image, SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr(false), RunAsUser: ptr(int64(1000)),
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			}}},
		},
	}
	for i, m := range mounts {
		v := string(rune('a' + i))
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: v, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		pod.Spec.Containers[0].VolumeMounts = append(pod.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: v, MountPath: m})
	}
	return pod
}

func contentNamespace(t *testing.T, base, mode, populated string, restricted bool) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: uniqueName(base), Labels: map[string]string{"volumeguard.io/mode": mode}}}
	if populated != "" {
		ns.Annotations = map[string]string{"volumeguard.io/populated-volumes": populated}
	}
	if restricted {
		ns.Labels["pod-security.kubernetes.io/enforce"] = "restricted"
	}
	if _, err := s.client.CoreV1().Namespaces().Create(ctx(t), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeNamespace(t, ns.Name) })
	return ns.Name
}

func TestPopulatedVolumesThroughTheAPIServer(t *testing.T) {
	app, postgres := pushContentImages(t)
	// Nothing runs the pods here: the copier image is only named.
	startServer(t, "--copier-image", s.registry+"/volumeguard:e2e")

	t.Run("skip: the populated path is left to the runtime, with a warning; the empty one is covered", func(t *testing.T) {
		ns := contentNamespace(t, "vg-content-skip", "mutate", "", false)
		c, w := clientWithWarnings(t)
		created, err := c.CoreV1().Pods(ns).Create(ctx(t), restrictedPod("app", app), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		added := emptyDirMounts(created, "app")
		if _, ok := added["/opt/app/data"]; ok || added["/opt/app/logs"] != "1Gi" || len(created.Spec.InitContainers) != 0 {
			t.Errorf("emptyDirs %v, init containers %d; want only /opt/app/logs covered", added, len(created.Spec.InitContainers))
		}
		wantAll(t, "warnings", w.all(), "/opt/app/data", "ships 2 files, 1.1 KiB", "would hide them")
	})

	t.Run("copy: init containers fill the emptyDir first, under PodSecurity restricted", func(t *testing.T) {
		ns := contentNamespace(t, "vg-content-copy", "mutate", "copy", true)
		// The namespace does enforce restricted: a pod that is not refused.
		loose := restrictedPod("loose", app)
		loose.Spec.Containers[0].SecurityContext = nil
		if _, err := s.client.CoreV1().Pods(ns).Create(ctx(t), loose, metav1.CreateOptions{}); err == nil || !strings.Contains(err.Error(), "restricted") {
			t.Fatalf("a pod breaking PodSecurity restricted got %v, want refused", err)
		}
		created, err := s.client.CoreV1().Pods(ns).Create(ctx(t), restrictedPod("app", app), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("creating the pod in a restricted namespace: %v", err)
		}
		got, err := s.client.CoreV1().Pods(ns).Get(ctx(t), created.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, ic := range got.Spec.InitContainers {
			names = append(names, ic.Name)
		}
		if len(names) != 2 || names[0] != "vg-copier" || !strings.HasPrefix(names[1], "vg-copy-app-") {
			t.Fatalf("init containers %v, want vg-copier then vg-copy-app-<hash>", names)
		}
		copyC := got.Spec.InitContainers[1]
		if copyC.Image != app || copyC.SecurityContext == nil || *copyC.SecurityContext.RunAsUser != 1000 {
			t.Errorf("copy container %+v, want the app's image and securityContext", copyC)
		}
		added := emptyDirMounts(got, "app")
		if added["/opt/app/data"] != "1Gi" || added["/opt/app/logs"] != "1Gi" {
			t.Errorf("app's emptyDirs %v, want /opt/app/data and /opt/app/logs", added)
		}
		// The copy writes into the app's /opt/app/data emptyDir.
		dataVolume := ""
		for _, m := range got.Spec.Containers[0].VolumeMounts {
			if m.MountPath == "/opt/app/data" {
				dataVolume = m.Name
			}
		}
		mountsData := false
		for _, m := range copyC.VolumeMounts {
			mountsData = mountsData || m.Name == dataVolume
		}
		if !mountsData {
			t.Errorf("copy container mounts %v, want the app's /opt/app/data emptyDir %q", copyC.VolumeMounts, dataVolume)
		}
	})

	t.Run("deny: the pod is refused, naming the path and what it holds", func(t *testing.T) {
		ns := contentNamespace(t, "vg-content-deny", "mutate", "deny", false)
		_, err := s.client.CoreV1().Pods(ns).Create(ctx(t), restrictedPod("app", app), metav1.CreateOptions{})
		if err == nil {
			t.Fatal("the pod was admitted, want a denial")
		}
		wantAll(t, "denial", err.Error(), "/opt/app/data", "ships 2 files", "populated-volumes=deny")
	})

	t.Run("enforce: a postgres-18-style near miss is denied, saying where the data goes", func(t *testing.T) {
		ns := contentNamespace(t, "vg-content-enforce", "enforce", "", false)
		_, err := s.client.CoreV1().Pods(ns).Create(ctx(t), restrictedPod("db", postgres, "/var/lib/postgresql/data"), metav1.CreateOptions{})
		if err == nil {
			t.Fatal("the pod was admitted, want a denial")
		}
		wantAll(t, "denial", err.Error(), "/var/lib/postgresql/data", "goes to an anonymous volume", "mount at /var/lib/postgresql itself")
	})

	t.Run("check: the near miss with its content and nearMounts", func(t *testing.T) {
		dir := t.TempDir()
		pod := restrictedPod("db", postgres, "/var/lib/postgresql/data")
		pod.APIVersion, pod.Kind = "v1", "Pod"
		raw, err := json.Marshal(pod)
		if err != nil {
			t.Fatal(err)
		}
		manifest := filepath.Join(dir, "db.json")
		if err := os.WriteFile(manifest, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		out, _ := exec.Command(s.bin, "check", "-o", "json", manifest).Output() // exit 1: findings
		var doc struct {
			Findings []struct {
				Path    string `json:"path"`
				Content struct {
					State   string `json:"state"`
					Entries int    `json:"entries"`
					UID     int    `json:"uid"`
					Mode    string `json:"mode"`
				} `json:"content"`
				NearMounts []string `json:"nearMounts"`
			} `json:"findings"`
		}
		if err := json.Unmarshal(out, &doc); err != nil || len(doc.Findings) != 1 {
			t.Fatalf("check output %s (%v), want one finding", out, err)
		}
		f := doc.Findings[0]
		if f.Path != "/var/lib/postgresql" || f.Content.State != "populated" || f.Content.Entries != 3 || f.Content.UID != 999 || f.Content.Mode != "0755" ||
			len(f.NearMounts) != 1 || f.NearMounts[0] != "/var/lib/postgresql/data" {
			t.Errorf("finding %+v, want /var/lib/postgresql populated (3 entries, 999, 0755) with the near mount", f)
		}
	})
}
