package policy

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// TestFindingsTrustOnlyTheCopiersExactShape: Findings skips the init
// containers Mutate added, and nothing shaped otherwise. Each case breaks
// one rule on a mutated pod; the copy container (whose image declares the
// VOLUMEs, so the runtime gives it anonymous volumes) must then be reported.
func TestFindingsTrustOnlyTheCopiersExactShape(t *testing.T) {
	images := map[string]ImageFacts{
		"app":           scanned("sha256:app", map[string]Content{"/srv/app": populated}),
		"attacker:1":    single("sha256:x"),
		copierImage:     single("sha256:vg"),
		"volumeguard:0": single("sha256:vg0"),
	}
	mutated := func() *corev1.PodSpec {
		spec := &corev1.PodSpec{Containers: []corev1.Container{container("app", "app")}}
		Mutate(spec, Findings(spec, images, copyOpts()...), resource.MustParse("1Gi"), copyOpts()...)
		return spec
	}
	install := func(s *corev1.PodSpec) *corev1.Container { return &s.InitContainers[0] }
	copier := func(s *corev1.PodSpec) *corev1.Container { return &s.InitContainers[1] }
	tests := []struct {
		name    string
		opts    []Option
		change  func(*corev1.PodSpec)
		trusted bool
	}{
		{name: "as Mutate made it", change: func(*corev1.PodSpec) {}, trusted: true},
		{name: "an image of an earlier release, known", opts: []Option{WithKnownCopierImages("volumeguard:0")},
			change: func(s *corev1.PodSpec) { install(s).Image = "volumeguard:0" }, trusted: true},
		{name: "no copier image configured", opts: []Option{}, change: func(*corev1.PodSpec) {}},
		{name: "the install runs another image", change: func(s *corev1.PodSpec) { install(s).Image = "attacker:1" }},
		{name: "an earlier image, not known", change: func(s *corev1.PodSpec) { install(s).Image = "volumeguard:0" }},
		{name: "the install runs another command", change: func(s *corev1.PodSpec) {
			install(s).Command = []string{"/bin/sh", "-c", "cp /evil /volumeguard-tools/volumeguard"}
		}},
		{name: "the install has args", change: func(s *corev1.PodSpec) { install(s).Args = []string{"--help"} }},
		{name: "the install has env", change: func(s *corev1.PodSpec) { install(s).Env = []corev1.EnvVar{{Name: "GODEBUG", Value: "x"}} }},
		{name: "the install is not named so", change: func(s *corev1.PodSpec) { install(s).Name = "setup" }},
		{name: "the install runs after the copy", change: func(s *corev1.PodSpec) {
			s.InitContainers[0], s.InitContainers[1] = s.InitContainers[1], s.InitContainers[0]
		}},
		{name: "the tools volume is not an emptyDir", change: func(s *corev1.PodSpec) {
			s.Volumes[len(s.Volumes)-1].VolumeSource = corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/usr/bin"}}
		}},
		{name: "another init container writes the tools volume", change: func(s *corev1.PodSpec) {
			evil := container("swap", "attacker:1")
			evil.VolumeMounts = []corev1.VolumeMount{{Name: toolsVolumeName, MountPath: "/t"}}
			s.InitContainers = slices.Insert(s.InitContainers, 1, evil)
		}},
		{name: "the app container mounts the tools volume", change: func(s *corev1.PodSpec) {
			s.Containers[0].VolumeMounts = append(s.Containers[0].VolumeMounts, corev1.VolumeMount{Name: toolsVolumeName, MountPath: "/t", ReadOnly: true})
		}},
		{name: "the copy mounts the tools volume writable", change: func(s *corev1.PodSpec) { copier(s).VolumeMounts[0].ReadOnly = false }},
		{name: "the copy is not named so", change: func(s *corev1.PodSpec) { copier(s).Name = "copy" }},
		{name: "the copy runs another binary", change: func(s *corev1.PodSpec) { copier(s).Command[0] = "/bin/sh" }},
		{name: "the copy has a flag", change: func(s *corev1.PodSpec) { copier(s).Command[2] = "--install" }},
		{name: "the copy writes into a VOLUME path", change: func(s *corev1.PodSpec) {
			copier(s).Command[3], copier(s).VolumeMounts[1].MountPath = "/srv/app/x", "/srv/app/x"
		}},
		{name: "the copy's destination is not an emptyDir", change: func(s *corev1.PodSpec) {
			s.Volumes[0].VolumeSource = corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}
		}},
		{name: "the copy has a subPath", change: func(s *corev1.PodSpec) { copier(s).VolumeMounts[1].SubPath = "x" }},
		{name: "the copy has env", change: func(s *corev1.PodSpec) { copier(s).Env = []corev1.EnvVar{{Name: "A", Value: "b"}} }},
		{name: "the copy is a sidecar", change: func(s *corev1.PodSpec) { copier(s).RestartPolicy = new(corev1.ContainerRestartPolicyAlways) }},
		{name: "the copy has an extra mount", change: func(s *corev1.PodSpec) {
			copier(s).VolumeMounts = append(copier(s).VolumeMounts, corev1.VolumeMount{Name: s.Volumes[0].Name, MountPath: "/elsewhere"})
		}},
		{name: "the copy is a regular container", change: func(s *corev1.PodSpec) {
			s.Containers = append(s.Containers, *copier(s))
			s.InitContainers = s.InitContainers[:1]
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := mutated()
			tt.change(spec)
			opts := tt.opts
			if opts == nil {
				opts = copyOpts()
			}
			// The app container is covered: any finding is the copy's.
			reported := len(Findings(spec, images, opts...)) > 0
			if reported == tt.trusted {
				t.Errorf("the copy container reported: %v; want %v", reported, !tt.trusted)
			}
		})
	}
}

// TestFindingsReportAnAttackersOwnCopier: a pod's author names their own
// init containers as Mutate would, installing their own binary from their
// own image; their "copy" container would write without bound into its
// anonymous volumes, and must be reported.
func TestFindingsReportAnAttackersOwnCopier(t *testing.T) {
	images := map[string]ImageFacts{"app": single("sha256:app", "/data"), "attacker/tools:1": single("sha256:t")}
	spec := &corev1.PodSpec{
		Volumes: []corev1.Volume{
			{Name: "vg-copier-tools", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "stage", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		},
		InitContainers: []corev1.Container{
			{Name: "vg-copier", Image: "attacker/tools:1", Command: installCommand(),
				VolumeMounts: []corev1.VolumeMount{{Name: "vg-copier-tools", MountPath: CopierToolsDir}}},
			{Name: "vg-copy-mine", Image: "app", Command: []string{installedCopier, "copy-up", "/data", stagingPath(0)},
				VolumeMounts: []corev1.VolumeMount{{Name: "vg-copier-tools", MountPath: CopierToolsDir, ReadOnly: true}, {Name: "stage", MountPath: stagingPath(0)}}},
		},
		Containers: []corev1.Container{container("app", "app", "/data")},
	}
	got := keys(Findings(spec, images, copyOpts()...))
	if want := []string{"initContainer/vg-copy-mine:/data"}; !slices.Equal(got, want) {
		t.Errorf("findings = %q, want %q", got, want)
	}
	// The same pod with volumeguard's image is what Mutate makes: trusted.
	spec.InitContainers[0].Image = copierImage
	images[copierImage] = single("sha256:vg")
	if got := Findings(spec, images, copyOpts()...); len(got) != 0 {
		t.Errorf("findings = %q, want none", keys(got))
	}
}
