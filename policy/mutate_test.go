package policy

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

func TestMutateCoversEveryFixableFinding(t *testing.T) {
	zk := map[string]ImageFacts{"zookeeper:3.4.13": single("sha256:zk", "/data", "/datalog/", "logs")}
	limit := resource.MustParse("2Gi")
	tests := []struct {
		name          string
		spec          corev1.PodSpec
		wantMounts    map[string][]string // container -> mount paths added
		wantUnfixable []string
	}{
		{
			name:          "containers and init containers get their own emptyDirs",
			spec:          corev1.PodSpec{InitContainers: []corev1.Container{container("init", "zookeeper:3.4.13")}, Containers: []corev1.Container{container("zk", "zookeeper:3.4.13", "/data")}},
			wantMounts:    map[string][]string{"init": {"/data", "/datalog"}, "zk": {"/datalog"}},
			wantUnfixable: []string{"initContainer/init:logs(relative)", "container/zk:logs(relative)"},
		},
		{
			name: "ephemeral containers cannot be mutated",
			spec: corev1.PodSpec{
				Containers: []corev1.Container{container("main", "zookeeper:3.4.13", "/data", "/datalog")},
				EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
					Name: "debug", Image: "zookeeper:3.4.13",
				}}},
			},
			wantMounts:    map[string][]string{},
			wantUnfixable: []string{"container/main:logs(relative)", "ephemeralContainer/debug:/data", "ephemeralContainer/debug:/datalog/", "ephemeralContainer/debug:logs(relative)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.spec.DeepCopy()
			findings := Findings(spec, zk)
			m := Mutate(spec, findings, limit)

			gotMounts := map[string][]string{}
			for _, a := range m.Added {
				gotMounts[a.Finding.Container] = append(gotMounts[a.Finding.Container], a.MountPath)
				assertEmptyDir(t, spec, a.VolumeName, limit)
			}
			if !reflect.DeepEqual(gotMounts, tt.wantMounts) {
				t.Errorf("added mounts = %v, want %v", gotMounts, tt.wantMounts)
			}
			var unfixable []string
			for _, u := range m.Unfixable {
				unfixable = append(unfixable, key(u.Finding))
				if u.Reason == "" {
					t.Errorf("unfixable %s has no reason", key(u.Finding))
				}
			}
			if !reflect.DeepEqual(unfixable, tt.wantUnfixable) {
				t.Errorf("unfixable = %q, want %q", unfixable, tt.wantUnfixable)
			}
			// After mutation only the unfixable findings remain.
			if left := keys(Findings(spec, zk)); len(left) != len(tt.wantUnfixable) {
				t.Errorf("findings after mutation = %q, want only the unfixable %q", left, tt.wantUnfixable)
			}
		})
	}
}

func assertEmptyDir(t *testing.T, spec *corev1.PodSpec, name string, limit resource.Quantity) {
	t.Helper()
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		t.Errorf("volume name %q is not a DNS-1123 label: %v", name, errs)
	}
	for _, v := range spec.Volumes {
		if v.Name != name {
			continue
		}
		if v.EmptyDir == nil || v.EmptyDir.SizeLimit == nil || v.EmptyDir.SizeLimit.Cmp(limit) != 0 {
			t.Errorf("volume %q = %+v, want an emptyDir with sizeLimit %s", name, v.VolumeSource, limit.String())
		}
		return
	}
	t.Errorf("volume %q not added", name)
}

func TestMutateIsIdempotent(t *testing.T) {
	images := map[string]ImageFacts{"zookeeper:3.4.13": single("sha256:zk", "/data", "/datalog", "/logs")}
	spec := &corev1.PodSpec{Containers: []corev1.Container{container("zk", "zookeeper:3.4.13")}}
	findings := Findings(spec, images)
	limit := resource.MustParse("1Gi")

	Mutate(spec, findings, limit)
	once := spec.DeepCopy()

	// Same findings again (applying twice), then a fresh pass (reinvocation).
	if m := Mutate(spec, findings, limit); len(m.Added) != 0 {
		t.Errorf("second Mutate added %v", m.Added)
	}
	if m := Mutate(spec, Findings(spec, images), limit); len(m.Added) != 0 {
		t.Errorf("reinvocation added %v", m.Added)
	}
	if !reflect.DeepEqual(spec, once) {
		t.Errorf("spec changed on the second pass:\n got %+v\nwant %+v", spec, once)
	}
}

func TestMutateNamesAreDeterministicAndCollisionFree(t *testing.T) {
	images := map[string]ImageFacts{"img": single("sha256:a", "/data", "/da/ta", "/da-ta")}
	taken := VolumeName(Container, "app", "/data")
	spec := func() *corev1.PodSpec {
		return &corev1.PodSpec{
			Volumes: []corev1.Volume{
				{Name: taken, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}},
				{Name: taken + "-2"},
			},
			Containers: []corev1.Container{container("app", "img"), container("other", "img")},
		}
	}
	a, b := spec(), spec()
	Mutate(a, Findings(a, images), resource.MustParse("1Gi"))
	Mutate(b, Findings(b, images), resource.MustParse("1Gi"))
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two mutations of the same spec differ")
	}
	seen := map[string]bool{}
	for _, v := range a.Volumes {
		if seen[v.Name] {
			t.Errorf("volume name %q used twice", v.Name)
		}
		seen[v.Name] = true
	}
	if len(a.Volumes) != 2+6 {
		t.Errorf("got %d volumes, want 8 (2 existing + 3 paths x 2 containers)", len(a.Volumes))
	}
	if !seen[taken+"-3"] {
		t.Errorf("the colliding name was not suffixed past the taken -2: %v", seen)
	}
	if a.Volumes[0].ConfigMap == nil {
		t.Error("the user's own volume was changed")
	}
}

func TestVolumeName(t *testing.T) {
	tests := []struct {
		container, path string
		wantPrefix      string
	}{
		{"zk", "/data", "vg-zk-data-"},
		{"My_App", "/var/lib/MySQL", "vg-my-app-var-lib-mysql-"},
		{"app", "/", "vg-app-"},
		{strings.Repeat("c", 63), "/" + strings.Repeat("p", 200), "vg-ccc"},
	}
	for _, tt := range tests {
		t.Run(tt.wantPrefix, func(t *testing.T) {
			got := VolumeName(Container, tt.container, tt.path)
			if !strings.HasPrefix(got, tt.wantPrefix) {
				t.Errorf("VolumeName = %q, want prefix %q", got, tt.wantPrefix)
			}
			if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
				t.Errorf("VolumeName = %q is not a DNS-1123 label: %v", got, errs)
			}
			if VolumeName(InitContainer, tt.container, tt.path) == got {
				t.Error("init container and container share a name")
			}
		})
	}
}

func TestMessagesNameContainerImagePathAndFix(t *testing.T) {
	f := Finding{Container: "zk", ContainerType: Container, Image: "zookeeper:3.4.13", Path: "/data/"}
	problem, fix := f.Problem(), f.Fix(resource.MustParse("1Gi"))
	for _, want := range []string{`"zk"`, `"zookeeper:3.4.13"`, "/data/"} {
		if !strings.Contains(problem, want) {
			t.Errorf("Problem() = %q, missing %s", problem, want)
		}
	}
	for _, want := range []string{"emptyDir", "sizeLimit: 1Gi", "mountPath: /data\n", "name: zk"} {
		if !strings.Contains(fix, want) {
			t.Errorf("Fix() = %q, missing %q", fix, want)
		}
	}
	rel := Finding{Container: "zk", ContainerType: Container, Image: "img", Path: "data", Relative: true}
	if !strings.Contains(rel.Fix(resource.MustParse("1Gi")), "absolute VOLUME") {
		t.Errorf("relative Fix() = %q, want advice to rebuild with an absolute path", rel.Fix(resource.MustParse("1Gi")))
	}
}

// TestFixYAMLIsWhatMutateDoes parses the suggested fix as a pod spec and
// compares it with what Mutate adds, so the advice and the webhook agree.
func TestFixYAMLIsWhatMutateDoes(t *testing.T) {
	images := map[string]ImageFacts{
		"zk":  single("sha256:zk", "/data", "/logs/", "rel"),
		"db":  single("sha256:db", "/var/lib/mysql"),
		"off": single("sha256:o"),
	}
	spec := &corev1.PodSpec{
		InitContainers: []corev1.Container{container("init", "db")},
		Containers:     []corev1.Container{container("zk", "zk"), container("db", "db"), container("clean", "off")},
	}
	limit := resource.MustParse("512Mi")
	findings := Findings(spec, images)

	fix := parseFix(t, FixYAML(findings, limit))
	mutated := spec.DeepCopy()
	Mutate(mutated, findings, limit)

	if !reflect.DeepEqual(fix.Volumes, mutated.Volumes) {
		t.Errorf("fix volumes %+v, Mutate added %+v", fix.Volumes, mutated.Volumes)
	}
	if got, want := mountsOf(fix.Containers), mountsOf(mutated.Containers); !reflect.DeepEqual(got, want) {
		t.Errorf("fix mounts %+v, Mutate added %+v", got, want)
	}
	if got, want := mountsOf(fix.InitContainers), mountsOf(mutated.InitContainers); !reflect.DeepEqual(got, want) {
		t.Errorf("fix init mounts %+v, Mutate added %+v", got, want)
	}
	if FixYAML([]Finding{{Container: "zk", ContainerType: Container, Path: "rel", Relative: true}}, limit) != "" {
		t.Error("a fix was suggested for a relative VOLUME")
	}
}

func parseFix(t *testing.T, fix string) corev1.PodSpec {
	t.Helper()
	var spec corev1.PodSpec
	if err := yaml.UnmarshalStrict([]byte(fix), &spec); err != nil {
		t.Fatalf("the fix is not pod spec YAML: %v\n%s", err, fix)
	}
	return spec
}

func mountsOf(cs []corev1.Container) map[string][]corev1.VolumeMount {
	out := map[string][]corev1.VolumeMount{}
	for _, c := range cs {
		if len(c.VolumeMounts) > 0 {
			out[c.Name] = c.VolumeMounts
		}
	}
	return out
}
