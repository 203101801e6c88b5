package policy

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestMutateNeverMountsWhereThePodCannot(t *testing.T) {
	limit := resource.MustParse("1Gi")
	tests := []struct {
		name       string
		path       string
		devices    []string
		wantReason string
	}{
		{name: "root", path: "/", wantReason: "a mount at / would hide the container's whole filesystem"},
		{name: "double slash", path: "//", wantReason: "a mount at / would hide"},
		{name: "dot", path: "/.", wantReason: "a mount at / would hide"},
		{name: "dot-dot", path: "/..", wantReason: "a mount at / would hide"},
		{name: "up and back", path: "/a/../../.", wantReason: "a mount at / would hide"},
		{name: "NUL", path: "/data\x00x", wantReason: "NUL"},
		{name: "invalid UTF-8", path: "/data\xff", wantReason: "not valid UTF-8"},
		{name: "a volumeDevice at the path", path: "/dev/xvda", devices: []string{"/dev/xvda/"}, wantReason: "volumeDevice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := container("app", "img")
			for _, d := range tt.devices {
				c.VolumeDevices = append(c.VolumeDevices, corev1.VolumeDevice{Name: "block", DevicePath: d})
			}
			spec := &corev1.PodSpec{Containers: []corev1.Container{c}}
			before := spec.DeepCopy()
			findings := Findings(spec, map[string]ImageFacts{"img": single("sha256:a", tt.path)})
			if len(findings) != 1 {
				t.Fatalf("findings = %q, want the one path", keys(findings))
			}
			m := Mutate(spec, findings, limit)
			if len(m.Added) != 0 || len(m.Unfixable) != 1 || !strings.Contains(m.Unfixable[0].Reason, tt.wantReason) {
				t.Errorf("Mutate = %+v, want one unfixable finding whose reason says %q", m, tt.wantReason)
			}
			if !reflect.DeepEqual(spec, before) {
				t.Errorf("the spec changed:\n got %+v\nwant %+v", spec, before)
			}
			if tt.devices == nil {
				f := findings[0]
				if f.Fixable() || FixYAML(findings, limit) != "" || !strings.Contains(f.Fix(limit), "rebuild image") {
					t.Errorf("Fixable() = %v, FixYAML = %q, Fix() = %q; want no YAML and advice to rebuild", f.Fixable(), FixYAML(findings, limit), f.Fix(limit))
				}
			}
		})
	}
}

func TestMutateAddsAtMostMaxAddedVolumes(t *testing.T) {
	var paths []string
	for i := range MaxAddedVolumes + 72 {
		paths = append(paths, fmt.Sprintf("/data/%03d", i))
	}
	images := map[string]ImageFacts{"img": single("sha256:a", paths...)}
	spec := &corev1.PodSpec{
		Volumes:    []corev1.Volume{{Name: "own", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		Containers: []corev1.Container{container("app", "img")},
	}
	limit := resource.MustParse("1Gi")
	m := Mutate(spec, Findings(spec, images), limit)
	if len(m.Added) != MaxAddedVolumes || len(m.Unfixable) != 72 {
		t.Fatalf("added %d, unfixable %d; want %d and 72", len(m.Added), len(m.Unfixable), MaxAddedVolumes)
	}
	if len(spec.Volumes) != 1+MaxAddedVolumes {
		t.Errorf("the spec has %d volumes, want 1+%d", len(spec.Volumes), MaxAddedVolumes)
	}
	for _, u := range m.Unfixable {
		if !strings.Contains(u.Reason, fmt.Sprintf("at most %d emptyDirs", MaxAddedVolumes)) {
			t.Fatalf("reason %q does not say the bound", u.Reason)
		}
	}
	// A second pass (reinvocation) counts what the first added: it adds
	// nothing more, and says why for each path left.
	once := spec.DeepCopy()
	again := Mutate(spec, Findings(spec, images), limit)
	if len(again.Added) != 0 || len(again.Unfixable) != 72 || !reflect.DeepEqual(spec, once) {
		t.Errorf("second pass added %d, left %d unfixable, changed the spec: %v", len(again.Added), len(again.Unfixable), !reflect.DeepEqual(spec, once))
	}
}

func TestVolumeNamesSkipEveryTakenSuffix(t *testing.T) {
	base := VolumeName(Container, "app", "/data")
	volumes := []corev1.Volume{{Name: base}}
	for i := 2; i <= 50; i++ {
		volumes = append(volumes, corev1.Volume{Name: fmt.Sprintf("%s-%d", base, i)})
	}
	names := newVolumeNames(volumes)
	if got, want := names.claim(base), base+"-51"; got != want {
		t.Errorf("first claim = %q, want %q", got, want)
	}
	// The same base again (a 32-bit hash collision) resumes after the last.
	if got, want := names.claim(base), base+"-52"; got != want {
		t.Errorf("second claim = %q, want %q", got, want)
	}
	long := strings.Repeat("x", maxVolumeName)
	names = newVolumeNames([]corev1.Volume{{Name: long}})
	if got := names.claim(long); len(got) > maxVolumeName || got != long[:maxVolumeName-2]+"-2" {
		t.Errorf("claim of a taken 63-character name = %q, want it cut to fit its suffix", got)
	}
}
