package policy

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func multiArch() map[string]ImageFacts {
	return map[string]ImageFacts{"multi": {Digest: "sha256:idx", Platforms: []PlatformVolumes{
		{Platform: amd64, Volumes: []string{"/data"}},
		{Platform: arm64, Volumes: []string{"/data", "/logs"}},
		{Platform: Platform{OS: "windows", Architecture: "amd64"}, Volumes: []string{`C:\data`}},
	}}}
}

func requiredAffinity(terms ...corev1.NodeSelectorTerm) *corev1.Affinity {
	return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms},
	}}
}

func archIn(values ...string) corev1.NodeSelectorTerm {
	return corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{
		{Key: LabelArch, Operator: corev1.NodeSelectorOpIn, Values: values},
	}}
}

func TestPlatformSelection(t *testing.T) {
	tests := []struct {
		name string
		spec corev1.PodSpec
		want []string
	}{
		{
			name: "unpinned: union over linux platforms, naming who declares what",
			want: []string{"container/app:/data", "container/app:/logs[linux/arm64/v8]"},
		},
		{
			name: "nodeSelector pins amd64",
			spec: corev1.PodSpec{NodeSelector: map[string]string{LabelArch: "amd64", LabelOS: "linux"}},
			want: []string{"container/app:/data"},
		},
		{
			name: "nodeSelector pins arm64",
			spec: corev1.PodSpec{NodeSelector: map[string]string{LabelArch: "arm64"}},
			want: []string{"container/app:/data", "container/app:/logs"},
		},
		{
			name: "required affinity pins amd64",
			spec: corev1.PodSpec{Affinity: requiredAffinity(archIn("amd64"))},
			want: []string{"container/app:/data"},
		},
		{
			name: "affinity terms are ORed: one unconstrained term leaves the union",
			spec: corev1.PodSpec{Affinity: requiredAffinity(archIn("amd64"), corev1.NodeSelectorTerm{})},
			want: []string{"container/app:/data", "container/app:/logs[linux/arm64/v8]"},
		},
		{
			name: "a pin the image does not offer falls back to every linux platform",
			spec: corev1.PodSpec{NodeSelector: map[string]string{LabelArch: "s390x"}},
			want: []string{"container/app:/data", "container/app:/logs[linux/arm64/v8]"},
		},
		{
			name: "preferred affinity does not pin",
			spec: corev1.PodSpec{Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{Weight: 1, Preference: archIn("amd64")}},
			}}},
			want: []string{"container/app:/data", "container/app:/logs[linux/arm64/v8]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Containers = []corev1.Container{container("app", "multi")}
			got := keys(Findings(&tt.spec, multiArch()))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("findings = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConstraintOf(t *testing.T) {
	tests := []struct {
		name       string
		spec       corev1.PodSpec
		want       PlatformConstraint
		pinned     string
		wantPinned bool
	}{
		{name: "none"},
		{
			name:   "nodeSelector",
			spec:   corev1.PodSpec{NodeSelector: map[string]string{LabelArch: "arm64"}},
			want:   PlatformConstraint{Arch: []string{"arm64"}},
			pinned: "linux/arm64", wantPinned: true,
		},
		{
			name: "nodeSelector and affinity intersect",
			spec: corev1.PodSpec{
				NodeSelector: map[string]string{LabelArch: "arm64"},
				Affinity:     requiredAffinity(archIn("amd64", "arm64")),
			},
			want:   PlatformConstraint{Arch: []string{"arm64"}},
			pinned: "linux/arm64", wantPinned: true,
		},
		{
			name: "affinity union over terms",
			spec: corev1.PodSpec{Affinity: requiredAffinity(archIn("amd64"), archIn("arm64"))},
			want: PlatformConstraint{Arch: []string{"amd64", "arm64"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ConstraintOf(&tt.spec)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("constraint = %+v, want %+v", got, tt.want)
			}
			p, ok := got.Pinned()
			if ok != tt.wantPinned || (ok && p.String() != tt.pinned) {
				t.Errorf("Pinned() = %v, %v; want %v, %v", p, ok, tt.pinned, tt.wantPinned)
			}
		})
	}
}
