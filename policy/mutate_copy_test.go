package policy

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

const copierImage = "ghcr.io/volumeguard/volumeguard:v1"

func copyOpts() []Option {
	return []Option{WithPopulated(PopulatedCopy), WithCopierImage(copierImage)}
}

// appImages: "app" ships content under two VOLUMEs and has an empty one;
// "tool" ships content under one.
func appImages() map[string]ImageFacts {
	return map[string]ImageFacts{
		"app":     scanned("sha256:app", map[string]Content{"/srv/app": populated, "/srv/conf/": populated, "/cache": emptyDir}),
		"tool":    scanned("sha256:tool", map[string]Content{"/plugins": populated}),
		"busybox": single("sha256:bb"),
	}
}

// restrictedApp is a container valid under PodSecurity restricted, with
// resources (and a device claim the copy must not take).
func restrictedApp(name, image string) corev1.Container {
	c := container(name, image)
	c.SecurityContext = restrictedContext()
	c.SecurityContext.RunAsUser = new(int64(1000))
	c.ImagePullPolicy = corev1.PullAlways
	c.Resources = corev1.ResourceRequirements{
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
		Claims:   []corev1.ResourceClaim{{Name: "gpu"}},
	}
	return c
}

func copySpec() *corev1.PodSpec {
	return &corev1.PodSpec{
		InitContainers: []corev1.Container{container("plugins", "tool"), container("setup", "busybox")},
		Containers:     []corev1.Container{restrictedApp("app", "app"), container("sidecar", "busybox")},
	}
}

func TestMutateCopyAddsInitContainersFirst(t *testing.T) {
	spec := copySpec()
	limit := resource.MustParse("1Gi")
	m := Mutate(spec, Findings(spec, appImages(), copyOpts()...), limit, copyOpts()...)

	install, copyPlugins, copyApp := "vg-copier", copyContainerName(containerKey{InitContainer, "plugins"}), copyContainerName(containerKey{Container, "app"})
	if want := []string{install, copyPlugins, copyApp}; !reflect.DeepEqual(m.InitContainers, want) {
		t.Fatalf("added init containers %q, want %q", m.InitContainers, want)
	}
	var order []string
	for _, c := range spec.InitContainers {
		order = append(order, c.Name)
		if errs := validation.IsDNS1123Label(c.Name); len(errs) > 0 {
			t.Errorf("init container name %q: %v", c.Name, errs)
		}
	}
	if want := []string{install, copyPlugins, copyApp, "plugins", "setup"}; !reflect.DeepEqual(order, want) {
		t.Errorf("init containers %q, want %q", order, want)
	}

	app := spec.Containers[0]
	got := spec.InitContainers[2]
	want := corev1.Container{
		Name:            copyApp,
		Image:           "app",
		ImagePullPolicy: corev1.PullAlways,
		Command:         []string{installedCopier, "copy-up", "/srv/app", "/volumeguard-copy/0", "/srv/conf", "/volumeguard-copy/1"},
		VolumeMounts: []corev1.VolumeMount{
			{Name: toolsVolumeName, MountPath: CopierToolsDir, ReadOnly: true},
			{Name: VolumeName(Container, "app", "/srv/app"), MountPath: "/volumeguard-copy/0"},
			{Name: VolumeName(Container, "app", "/srv/conf"), MountPath: "/volumeguard-copy/1"},
		},
		SecurityContext: app.SecurityContext,
		Resources: corev1.ResourceRequirements{
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
		},
	}
	if !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("copy container\n got %+v\nwant %+v", got, want)
	}
	if got.SecurityContext == app.SecurityContext {
		t.Error("the copy container shares the app's securityContext instead of a copy")
	}
	if inst := spec.InitContainers[0]; inst.Image != copierImage || !slices.Equal(inst.Command, installCommand()) ||
		!equality.Semantic.DeepEqual(inst.Resources, corev1.ResourceRequirements{}) {
		// The first copy is for "plugins", which sets no resources.
		t.Errorf("install container %+v", inst)
	}

	var copied []string
	for _, a := range m.Added {
		if a.CopiedBy != "" {
			copied = append(copied, a.CopiedBy+":"+a.MountPath)
			if !strings.Contains(a.Note(), "copied into it first by init container") {
				t.Errorf("Note() = %q", a.Note())
			}
		}
	}
	if want := []string{copyPlugins + ":/plugins", copyApp + ":/srv/app", copyApp + ":/srv/conf"}; !reflect.DeepEqual(copied, want) {
		t.Errorf("copied %q, want %q", copied, want)
	}
	if n := len(spec.Volumes); n != 5 {
		t.Errorf("%d volumes, want 5: 4 emptyDirs and the tools volume", n)
	}
}

func TestMutateCopyIsIdempotent(t *testing.T) {
	images := appImages()
	spec := copySpec()
	limit := resource.MustParse("1Gi")
	Mutate(spec, Findings(spec, images, copyOpts()...), limit, copyOpts()...)
	once := spec.DeepCopy()

	// A reinvocation: Findings does not report the copy containers (whose
	// image declares the VOLUMEs), so Mutate changes nothing.
	if fs := Findings(spec, images, copyOpts()...); len(fs) != 0 {
		t.Errorf("findings after mutation: %q", keys(fs))
	}
	if m := Mutate(spec, Findings(spec, images, copyOpts()...), limit, copyOpts()...); len(m.Added)+len(m.InitContainers) != 0 {
		t.Errorf("second pass did %+v", m)
	}
	if !reflect.DeepEqual(spec, once) {
		t.Error("the second pass changed the spec")
	}
	// Without the copier image, Findings cannot trust them.
	if fs := Findings(spec, images); len(fs) == 0 {
		t.Error("Findings without the copier image trusted the copy containers")
	}
	// Two mutations of the same spec are the same.
	again := copySpec()
	Mutate(again, Findings(again, images, copyOpts()...), limit, copyOpts()...)
	if !reflect.DeepEqual(again, once) {
		t.Error("two mutations of the same spec differ")
	}
}

// TestMutateCopyReusesTheInstall: a later pass copying for another
// container reuses the tools volume and install container, and puts its
// copy container after the earlier ones.
func TestMutateCopyReusesTheInstall(t *testing.T) {
	images := appImages()
	limit := resource.MustParse("1Gi")
	spec := copySpec()
	Mutate(spec, Findings(spec, images, copyOpts()...), limit, copyOpts()...)
	spec.Containers = append(spec.Containers, container("late", "tool"))
	m := Mutate(spec, Findings(spec, images, copyOpts()...), limit, copyOpts()...)
	late := copyContainerName(containerKey{Container, "late"})
	if !reflect.DeepEqual(m.InitContainers, []string{late}) {
		t.Fatalf("second pass added %q, want only %q", m.InitContainers, late)
	}
	if got := spec.InitContainers[3].Name; got != late || m.InitContainersAt != 3 {
		t.Errorf("init container 3 is %q, InitContainersAt %d; want %q at 3, after the earlier copies", got, m.InitContainersAt, late)
	}
	if fs := Findings(spec, images, copyOpts()...); len(fs) != 0 {
		t.Errorf("findings after the second pass: %q", keys(fs))
	}
}

func TestMutateCopyNamesAvoidTheUsersNames(t *testing.T) {
	images := appImages()
	spec := &corev1.PodSpec{
		Volumes:    []corev1.Volume{{Name: toolsVolumeName, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}}},
		Containers: []corev1.Container{container("app", "app"), container("vg-copier", "busybox")},
	}
	m := Mutate(spec, Findings(spec, images, copyOpts()...), resource.MustParse("1Gi"), copyOpts()...)
	if m.InitContainers[0] != "vg-copier-2" || spec.InitContainers[0].VolumeMounts[0].Name != toolsVolumeName+"-2" {
		t.Errorf("install container %q with tools volume %q; want both suffixed", m.InitContainers[0], spec.InitContainers[0].VolumeMounts[0].Name)
	}
	if fs := Findings(spec, images, copyOpts()...); len(fs) != 0 {
		t.Errorf("findings after mutation: %q", keys(fs))
	}
}

// TestFixYAMLIsWhatMutateDoesWhenCopying parses the suggested fix as a pod
// spec and compares it with what Mutate adds under PopulatedCopy.
func TestFixYAMLIsWhatMutateDoesWhenCopying(t *testing.T) {
	limit := resource.MustParse("512Mi")
	spec := copySpec()
	findings := Findings(spec, appImages(), copyOpts()...)
	fix := parseFix(t, FixYAML(findings, limit, copyOpts()...))
	mutated := spec.DeepCopy()
	m := Mutate(mutated, findings, limit, copyOpts()...)

	if !equality.Semantic.DeepEqual(fix.Volumes, mutated.Volumes) {
		t.Errorf("fix volumes %+v, Mutate added %+v", fix.Volumes, mutated.Volumes)
	}
	injected := mutated.InitContainers[:len(m.InitContainers)]
	if !equality.Semantic.DeepEqual(fix.InitContainers[:len(injected)], injected) {
		t.Errorf("fix init containers\n%+v\nMutate added\n%+v", fix.InitContainers[:len(injected)], injected)
	}
	if got, want := mountsOf(fix.InitContainers[len(injected):]), mountsOf(mutated.InitContainers[len(injected):]); !reflect.DeepEqual(got, want) {
		t.Errorf("fix init mounts %+v, Mutate added %+v", got, want)
	}
	if got, want := mountsOf(fix.Containers), mountsOf(mutated.Containers); !reflect.DeepEqual(got, want) {
		t.Errorf("fix mounts %+v, Mutate added %+v", got, want)
	}
	// Under the default, populated paths get no fix: Mutate skips them.
	if got := parseFix(t, FixYAML(findings, limit)); len(got.InitContainers) != 0 || len(got.Volumes) != 1 {
		t.Errorf("default fix = %+v, want only the empty /cache covered", got)
	}
}
