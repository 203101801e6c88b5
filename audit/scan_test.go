package audit

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/internal/report"
	"github.com/volumeguard/volumeguard/policy"
	"github.com/volumeguard/volumeguard/settings"
)

// fakeInspector answers from a map and records what it was asked.
type fakeInspector struct {
	mu     sync.Mutex
	images map[string]*imageinspect.Image
	calls  []string
}

func (f *fakeInspector) Inspect(_ context.Context, ref string, _ *imageinspect.Platform, _ ...imageinspect.InspectOption) (*imageinspect.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, ref)
	img, ok := f.images[ref]
	if !ok {
		return nil, fmt.Errorf("reading image %q: %w", ref, imageinspect.ErrNotFound)
	}
	return img, nil
}

func image(digest string, volumes ...string) *imageinspect.Image {
	return &imageinspect.Image{Digest: digest, Platforms: []imageinspect.PlatformVolumes{{
		Platform: imageinspect.Platform{OS: "linux", Architecture: "amd64"}, Volumes: volumes,
	}}}
}

const (
	zkDigest  = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	oldDigest = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

func images() map[string]*imageinspect.Image {
	return map[string]*imageinspect.Image{
		"zookeeper:3.4":                image(zkDigest, "/data", "/datalog"),
		"zookeeper@" + oldDigest:       image(oldDigest, "/data", "/datalog", "/logs"),
		"registry.local:5000/nginx:1":  image("sha256:n"),
		"registry.local:5000/redis:7":  image("sha256:r", "/data"),
		"registry.local:5000/init:1.0": image("sha256:i", "/cache"),
	}
}

type podOpts struct {
	node    string
	phase   corev1.PodPhase
	imageID string // of the first container
}

// pod runs containers written "name=image" or, with mounts, "name=image=/a,/b".
func pod(name string, o podOpts, owner *metav1.OwnerReference, containers ...string) *corev1.Pod {
	p := ownedPod(name)
	if owner != nil {
		p.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	p.Spec.NodeName = o.node
	p.Status.Phase = o.phase
	for i, c := range containers {
		parts := strings.SplitN(c, "=", 3)
		ctr := corev1.Container{Name: parts[0], Image: parts[1]}
		if len(parts) == 3 {
			for j, m := range strings.Split(parts[2], ",") {
				ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: fmt.Sprintf("v%d", j), MountPath: m})
			}
		}
		p.Spec.Containers = append(p.Spec.Containers, ctr)
		if i == 0 && o.imageID != "" {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ctr.Name, Image: ctr.Image, ImageID: o.imageID}}
		}
	}
	return p
}

func run(t *testing.T, client *fake.Clientset, opts Options) (*Report, *fakeInspector) {
	t.Helper()
	in := &fakeInspector{images: images()}
	return Run(context.Background(), client, analysis.New(in), opts), in
}

// short is a finding without the policy finding it was made from, for
// comparing.
func short(fs []Finding) []Finding {
	out := []Finding{}
	for _, f := range fs {
		f.Finding = report.Finding{Container: f.Container, ContainerType: f.ContainerType, Image: f.Image,
			Digest: f.Digest, Path: f.Path, Relative: f.Relative, Platforms: f.Platforms}
		f.finding = policy.Finding{}
		f.Workload.APIVersion, f.Workload.UID = "", ""
		out = append(out, f)
	}
	return out
}

func TestRunGroupsByWorkload(t *testing.T) {
	rs := func(name string) *metav1.OwnerReference { return new(controllerRef("apps/v1", "ReplicaSet", name)) }
	jobRef := new(controllerRef("batch/v1", "Job", "backup-1"))
	client := fake.NewClientset(
		replicaSet("zk-rev1", controllerRef("apps/v1", "Deployment", "zk")),
		replicaSet("zk-rev2", controllerRef("apps/v1", "Deployment", "zk")),
		replicaSet("cache-1"), // orphan
		job("backup-1", controllerRef("batch/v1", "CronJob", "backup")),
		// Revision 1 mounts nothing, revision 2 covers /data.
		pod("zk-rev1-a", podOpts{node: "node-2", phase: corev1.PodRunning}, rs("zk-rev1"), "zk=zookeeper:3.4", "web=registry.local:5000/nginx:1"),
		pod("zk-rev1-b", podOpts{node: "node-1", phase: corev1.PodRunning}, rs("zk-rev1"), "zk=zookeeper:3.4", "web=registry.local:5000/nginx:1"),
		pod("zk-rev2-a", podOpts{node: "node-3", phase: corev1.PodRunning}, rs("zk-rev2"), "zk=zookeeper:3.4=/data", "web=registry.local:5000/nginx:1"),
		pod("zk-rev2-b", podOpts{phase: corev1.PodPending}, rs("zk-rev2"), "zk=zookeeper:3.4=/data", "web=registry.local:5000/nginx:1"),
		// Finished pods hold no volume: never counted.
		pod("zk-rev1-done", podOpts{node: "node-9", phase: corev1.PodSucceeded}, rs("zk-rev1"), "zk=zookeeper:3.4"),
		pod("zk-rev1-failed", podOpts{node: "node-9", phase: corev1.PodFailed}, rs("zk-rev1"), "zk=zookeeper:3.4"),
		// The Job's pod runs an older zookeeper than its tag names now.
		pod("backup-1-x", podOpts{node: "node-1", phase: corev1.PodRunning, imageID: "docker-pullable://zookeeper@" + oldDigest}, jobRef, "zk=zookeeper:3.4=/data,/datalog"),
		pod("cache-1-x", podOpts{node: "node-2", phase: corev1.PodRunning}, rs("cache-1"), "redis=registry.local:5000/redis:7"),
		pod("web", podOpts{node: "node-1", phase: corev1.PodRunning}, nil, "web=registry.local:5000/nginx:1"),
	)
	r, in := run(t, client, Options{Concurrency: 4})

	f := func(kind, name, container, image, digest, path string, pods int, nodes ...string) Finding {
		return Finding{Workload: Workload{Namespace: ns, Kind: kind, Name: name}, Finding: report.Finding{Container: container, ContainerType: "container",
			Image: image, Digest: digest, Path: path}, Pods: pods, Nodes: append([]string{}, nodes...)}
	}
	want := []Finding{
		f("CronJob", "backup", "zk", "zookeeper:3.4", oldDigest, "/logs", 1, "node-1"),
		f("Deployment", "zk", "zk", "zookeeper:3.4", zkDigest, "/data", 2, "node-1", "node-2"),
		f("Deployment", "zk", "zk", "zookeeper:3.4", zkDigest, "/datalog", 4, "node-1", "node-2", "node-3"),
		f("ReplicaSet", "cache-1", "redis", "registry.local:5000/redis:7", "sha256:r", "/data", 1, "node-2"),
	}
	if got := short(r.Findings); !reflect.DeepEqual(got, want) {
		t.Errorf("findings:\n got %+v\nwant %+v", got, want)
	}
	// Reports and Events refer to the workload itself: its API version and UID.
	wantCron := Workload{Namespace: ns, Kind: "CronJob", Name: "backup", APIVersion: "batch/v1", UID: uid("CronJob", "backup")}
	if got := r.Findings[0].Workload; got != wantCron {
		t.Errorf("workload of the CronJob's finding = %+v, want %+v", got, wantCron)
	}
	if len(r.Problems) != 0 || len(r.Notes) != 0 {
		t.Errorf("errors %v, notes %v; want none", r.Problems, r.Notes)
	}
	if code := r.ExitCode(); code != report.ExitFindings {
		t.Errorf("exit code %d, want %d", code, report.ExitFindings)
	}
	// One analysis per distinct spec of each workload (two revisions of zk
	// with two images each, backup, cache, web), not one per pod.
	slices.Sort(in.calls)
	wantCalls := []string{
		"registry.local:5000/nginx:1", "registry.local:5000/nginx:1", "registry.local:5000/nginx:1",
		"registry.local:5000/redis:7", "zookeeper:3.4", "zookeeper:3.4", "zookeeper@" + oldDigest,
	}
	if !reflect.DeepEqual(in.calls, wantCalls) {
		t.Errorf("inspected %v, want %v", in.calls, wantCalls)
	}
}

// TestRunNotesIgnoredFindings: what the settings file's exceptions drop is
// counted in a note, once per workload and path, as findings are merged.
func TestRunNotesIgnoredFindings(t *testing.T) {
	rs := func(name string) *metav1.OwnerReference { return new(controllerRef("apps/v1", "ReplicaSet", name)) }
	client := fake.NewClientset(
		replicaSet("zk-rev1", controllerRef("apps/v1", "Deployment", "zk")),
		replicaSet("zk-rev2", controllerRef("apps/v1", "Deployment", "zk")),
		pod("zk-rev1-a", podOpts{node: "node-1", phase: corev1.PodRunning}, rs("zk-rev1"), "zk=zookeeper:3.4"),
		pod("zk-rev2-a", podOpts{node: "node-2", phase: corev1.PodRunning}, rs("zk-rev2"), "zk=zookeeper:3.4=/data"),
	)
	s, err := settings.Parse([]byte("ignore:\n- images: [\"zookeeper*\"]\n  paths: [/datalog]\n"))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := run(t, client, Options{Concurrency: 1, Settings: s})
	var paths []string
	for _, f := range r.Findings {
		paths = append(paths, f.Path)
	}
	if !reflect.DeepEqual(paths, []string{"/data"}) {
		t.Errorf("findings at %v, want /data alone", paths)
	}
	if !reflect.DeepEqual(r.Notes, []string{report.IgnoredNote(1)}) {
		t.Errorf("notes %q, want %q", r.Notes, report.IgnoredNote(1))
	}
}

func TestRunErrors(t *testing.T) {
	t.Run("an unreadable image is an error naming workload, container and image", func(t *testing.T) {
		client := fake.NewClientset(
			pod("ghost-a", podOpts{node: "n", phase: corev1.PodRunning}, new(controllerRef("apps/v1", "StatefulSet", "ghost")), "g=no/such:1"),
			pod("ghost-b", podOpts{node: "n", phase: corev1.PodRunning}, new(controllerRef("apps/v1", "StatefulSet", "ghost")), "g=no/such:1"),
		)
		r, _ := run(t, client, Options{})
		if len(r.Problems) != 1 {
			t.Fatalf("errors = %+v, want one for both pods", r.Problems)
		}
		e := r.Problems[0]
		if e.Kind != "StatefulSet" || e.Name != "ghost" || e.Container != "g" || e.Image != "no/such:1" || !strings.Contains(e.Message, "no/such:1") {
			t.Errorf("error = %+v", e)
		}
		if r.ExitCode() != report.ExitUnchecked {
			t.Errorf("exit code %d, want %d", r.ExitCode(), report.ExitUnchecked)
		}
	})
	t.Run("a forbidden list is an error", func(t *testing.T) {
		client := fake.NewClientset()
		client.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", nil)
		})
		r, _ := run(t, client, Options{Namespace: "secret-ns"})
		if len(r.Problems) != 1 || !strings.Contains(r.Problems[0].Message, "listing pods in namespace secret-ns") ||
			!strings.Contains(r.Problems[0].Message, "forbidden") {
			t.Errorf("errors = %+v, want the forbidden list", r.Problems)
		}
		if r.ExitCode() != report.ExitUnchecked {
			t.Errorf("exit code %d, want %d", r.ExitCode(), report.ExitUnchecked)
		}
	})
}

func TestListPodsPages(t *testing.T) {
	all := []corev1.Pod{}
	for i := range 5 {
		p := pod(fmt.Sprintf("p%d", i), podOpts{phase: corev1.PodRunning}, nil, "c=i")
		p.Labels = map[string]string{"app": "x"} // the fake client filters by label
		all = append(all, *p)
	}
	var asked []metav1.ListOptions
	client := fake.NewClientset()
	client.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		opts := a.(k8stesting.ListActionImpl).ListOptions
		asked = append(asked, opts)
		// Pages of two; the token "4" has expired, and the API server
		// offers "4-now" to go on inconsistently.
		switch opts.Continue {
		case "":
			return true, &corev1.PodList{Items: all[0:2], ListMeta: metav1.ListMeta{Continue: "2"}}, nil
		case "2":
			return true, &corev1.PodList{Items: all[2:4], ListMeta: metav1.ListMeta{Continue: "4"}}, nil
		case "4":
			err := apierrors.NewResourceExpired("too old")
			err.ErrStatus.ListMeta.Continue = "4-now"
			return true, nil, err
		case "4-now":
			return true, &corev1.PodList{Items: all[4:]}, nil
		}
		return true, nil, fmt.Errorf("unexpected token %q", opts.Continue)
	})
	var got []string
	err := listPods(context.Background(), client, Options{Namespace: ns, Selector: "app=x"}, func(_ context.Context, p *corev1.Pod) {
		got = append(got, p.Name)
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"p0", "p1", "p2", "p3", "p4"}; !reflect.DeepEqual(got, want) {
		t.Errorf("pods %v, want %v", got, want)
	}
	for _, o := range asked {
		if o.Limit != pageSize || o.LabelSelector != "app=x" || o.FieldSelector != "status.phase!=Succeeded,status.phase!=Failed" {
			t.Errorf("listed with %+v, want limit %d, the selector and unfinished pods only", o, pageSize)
		}
	}
	if len(asked) != 4 {
		t.Errorf("%d list calls, want 4", len(asked))
	}
}

func TestRunningImage(t *testing.T) {
	const d = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
	tests := []struct{ image, imageID, want string }{
		{"zookeeper:3.4", "", "zookeeper:3.4"},
		{"zookeeper:3.4", "docker-pullable://zookeeper@" + d, "zookeeper@" + d},
		{"zookeeper:3.4", "docker.io/library/zookeeper@" + d, "zookeeper@" + d},
		{"127.0.0.1:5000/zk:e2e", "127.0.0.1:5000/zk@" + d, "127.0.0.1:5000/zk@" + d},
		{"127.0.0.1:5000/zk", "127.0.0.1:5000/zk@" + d, "127.0.0.1:5000/zk@" + d},
		{"zk:1@" + oldDigest, "zk@" + d, "zk@" + d},
		{"zookeeper:3.4", "sha256:" + d[7:], "zookeeper:3.4"},          // an image ID, not pullable
		{"zookeeper:3.4", "docker://sha256:" + d[7:], "zookeeper:3.4"}, // the same, from Docker
		{"zookeeper:3.4", "zookeeper@sha256:short", "zookeeper:3.4"},
	}
	for _, tt := range tests {
		if got := runningImage(tt.image, tt.imageID); got != tt.want {
			t.Errorf("runningImage(%q, %q) = %q, want %q", tt.image, tt.imageID, got, tt.want)
		}
	}
}
