package audit

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/internal/report"
	"github.com/volumeguard/volumeguard/policy"
)

// TestJSONFieldNames pins the names check's contract shares, plus pods and nodes.
func TestJSONFieldNames(t *testing.T) {
	w := Workload{Namespace: "default", Kind: "Deployment", Name: "zk"}
	f := newFinding(w, policy.Finding{Container: "zk", ContainerType: policy.Container, Image: "zookeeper:3.4.13", Digest: "sha256:a", Path: "/data"})
	r := Report{Findings: []Finding{*f}, Problems: []Problem{{Problem: report.Problem{Kind: "Pod", Message: "m"}}}}
	var buf bytes.Buffer
	if err := r.Write(NewJSONWriter(&buf)); err != nil {
		t.Fatal(err)
	}
	var got map[string][]map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]any) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	want := []string{"container", "containerType", "digest", "image", "kind", "name", "namespace", "nodes", "path", "pods"}
	if !reflect.DeepEqual(keys(got["findings"][0]), want) {
		t.Errorf("finding keys %v, want %v", keys(got["findings"][0]), want)
	}
	if nodes, ok := got["findings"][0]["nodes"].([]any); !ok || len(nodes) != 0 {
		t.Errorf("nodes = %#v, want [] (never null)", got["findings"][0]["nodes"])
	}
	if want := []string{"image", "kind", "message", "name", "namespace"}; !reflect.DeepEqual(keys(got["errors"][0]), want) {
		t.Errorf("error keys %v, want %v", keys(got["errors"][0]), want)
	}
}

func TestWriteText(t *testing.T) {
	finding := func(w Workload, container, path string, pods int, nodes ...string) Finding {
		f := newFinding(w, policy.Finding{Container: container, ContainerType: policy.Container, Image: "zk:1", Digest: "sha256:z", Path: path, Relative: !strings.HasPrefix(path, "/")})
		f.Pods, f.Nodes = pods, nodes
		return *f
	}
	deploy := Workload{Namespace: "data", Kind: "Deployment", Name: "zk"}
	bare := Workload{Namespace: "data", Kind: "Pod", Name: "debug"}
	var many []string
	for _, n := range "abcdefghijkl" {
		many = append(many, "node-"+string(n))
	}
	r := &Report{
		Findings: []Finding{
			finding(deploy, "zk", "/data", 3, "node-1", "node-2"),
			finding(deploy, "zk", "/logs", 3, "node-1", "node-2"),
			finding(deploy, "exporter", "/tmp", 1, "node-1"),
			finding(deploy, "exporter", "data", 2, "node-1", "node-3"),
			finding(bare, "zk", "/data", 12, many...),
		},
		Problems: []Problem{{Namespace: "data", Problem: report.Problem{Kind: "StatefulSet", Name: "ghost", Container: "g", Image: "no/such", Message: `container "g": not found`}}},
	}
	var buf bytes.Buffer
	if err := r.Write(NewTextWriter(&buf, resource.MustParse("2Gi"))); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"Deployment data/zk\n",
		`  container "zk", image zk:1 @ sha256:z: 3 pods on node-1, node-2` + "\n    VOLUME /data: no volumeMount",
		"    fix: cover each path with an emptyDir that has a sizeLimit, in the pod template:\n      volumes:\n",
		"sizeLimit: 2Gi",
		"mountPath: /logs",
		// Paths of one container on different pods say where each is.
		`  container "exporter", image zk:1 @ sha256:z` + "\n    VOLUME /tmp: no volumeMount of this container covers it (1 pod on node-1)",
		"VOLUME data: a relative path, no volumeMount can cover it (2 pods on node-1, node-3)\n      fix: rebuild image",
		"Pod data/debug\n",
		"12 pods on node-a, node-b, node-c, node-d, node-e, node-f, node-g, node-h, node-i, node-j and 2 more nodes",
		"in the pod spec:",
		`error: StatefulSet data/ghost: container "g": not found`,
		"5 findings in 2 workloads on 15 nodes, 1 error\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "Deployment data/zk") != 1 {
		t.Errorf("the workload is not one group:\n%s", out)
	}
}

func TestAnalysedSpec(t *testing.T) {
	const d = "sha256:4444444444444444444444444444444444444444444444444444444444444444"
	base := func() *corev1.Pod {
		return &corev1.Pod{
			Spec: corev1.PodSpec{
				NodeName:       "node-1",
				InitContainers: []corev1.Container{{Name: "init", Image: "init:1"}},
				Containers: []corev1.Container{{Name: "zk", Image: "zk:1", Env: []corev1.EnvVar{{Name: "A", Value: "1"}},
					VolumeMounts: []corev1.VolumeMount{{Name: "a", MountPath: "/data"}}}},
				EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox"}}},
			},
			Status: corev1.PodStatus{InitContainerStatuses: []corev1.ContainerStatus{{Name: "init", ImageID: "init@" + d}}},
		}
	}
	spec, images := analysedSpec(base())
	if got := spec.InitContainers[0].Image; got != "init@"+d {
		t.Errorf("init container analysed as %q, want pinned to its status's digest", got)
	}
	if images[containerKey{policy.EphemeralContainer, "debug"}] != "busybox" || images[containerKey{policy.InitContainer, "init"}] != "init:1" {
		t.Errorf("spec images = %v", images)
	}

	// Pods that differ only in what the analysis does not read share a signature.
	other := base()
	other.Spec.NodeName = "node-2"
	other.Spec.Containers[0].Env = nil
	other.Spec.Containers[0].VolumeMounts[0].Name = "b"
	if a, b := signature(spec), sig(other); a != b {
		t.Errorf("signatures differ:\n%s\n%s", a, b)
	}
	for name, change := range map[string]func(*corev1.Pod){
		"mount path":   func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts[0].MountPath = "/other" },
		"image":        func(p *corev1.Pod) { p.Spec.Containers[0].Image = "zk:2" },
		"running":      func(p *corev1.Pod) { p.Status.InitContainerStatuses[0].ImageID = "" },
		"platform pin": func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{policy.LabelArch: "arm64"} },
		"pull secret":  func(p *corev1.Pod) { p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "x"}} },
		"account":      func(p *corev1.Pod) { p.Spec.ServiceAccountName = "builder" },
	} {
		p := base()
		change(p)
		if sig(p) == signature(spec) {
			t.Errorf("a different %s has the same signature", name)
		}
	}
}

func sig(p *corev1.Pod) string {
	spec, _ := analysedSpec(p)
	return signature(spec)
}

func TestWriteTextQuotesImagePaths(t *testing.T) {
	f := newFinding(Workload{Namespace: "data", Kind: "Deployment", Name: "app"}, policy.Finding{Container: "app", ContainerType: policy.Container, Image: "img", Path: "/data\r\nerror: none"})
	f.Pods = 1
	var buf bytes.Buffer
	r := &Report{Findings: []Finding{*f}}
	if err := r.Write(NewTextWriter(&buf, resource.MustParse("1Gi"))); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, `VOLUME "/data\r\nerror: none": no volumeMount`) || !strings.Contains(out, `mountPath: "/data\r\nerror: none"`) {
		t.Errorf("text does not quote the path:\n%s", out)
	}
	if strings.Contains(out, "\nerror: none") {
		t.Errorf("text prints the path raw:\n%q", out)
	}
}
