package webhook

import (
	"bytes"
	"encoding/json"
	"testing"

	"gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// TestEncodePatchMatchesEncodingJSON: the direct encoding is byte for byte
// what json.Marshal makes of the same operations, for the shapes it writes
// itself and for those it hands on.
func TestEncodePatchMatchesEncodingJSON(t *testing.T) {
	limit := resource.MustParse("1Gi")
	odd := resource.MustParse("1500m")
	prop := corev1.MountPropagationHostToContainer
	emptyDir := func(name string, q *resource.Quantity, medium corev1.StorageMedium) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: medium, SizeLimit: q}}}
	}
	tests := []struct {
		name string
		ops  []jsonpatch.Operation
	}{
		{"none", nil},
		{"emptyDir appended", []jsonpatch.Operation{jsonpatch.NewOperation("add", "/spec/volumes/-", emptyDir("vg-zk-data", &limit, ""))}},
		{"emptyDir list", []jsonpatch.Operation{jsonpatch.NewOperation("add", "/spec/volumes", []corev1.Volume{emptyDir("a", &limit, ""), emptyDir("b", &odd, corev1.StorageMediumMemory)})}},
		{"emptyDir without limit", []jsonpatch.Operation{jsonpatch.NewOperation("add", "/spec/volumes/-", emptyDir("a", nil, ""))}},
		{"emptyDir with medium only", []jsonpatch.Operation{jsonpatch.NewOperation("add", "/spec/volumes/-", emptyDir("a", nil, corev1.StorageMediumMemory))}},
		{"other volume source", []jsonpatch.Operation{jsonpatch.NewOperation("add", "/spec/volumes/-", corev1.Volume{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/x"}}})}},
		{"list with another source", []jsonpatch.Operation{jsonpatch.NewOperation("add", "/spec/volumes", []corev1.Volume{emptyDir("a", &limit, ""), {Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}}})}},
		{"nil list", []jsonpatch.Operation{jsonpatch.NewOperation("add", "/spec/volumes", []corev1.Volume(nil))}},
		{"mount", []jsonpatch.Operation{jsonpatch.NewOperation("add", "/spec/containers/0/volumeMounts/-", corev1.VolumeMount{Name: "vg-zk-data", MountPath: "/data"})}},
		{"mount every plain field", []jsonpatch.Operation{jsonpatch.NewOperation("add", "/spec/containers/1/volumeMounts/-", corev1.VolumeMount{Name: "n", ReadOnly: true, MountPath: "/d", SubPath: "s", SubPathExpr: "$(X)"})}},
		{"mount with propagation", []jsonpatch.Operation{jsonpatch.NewOperation("add", "/spec/containers/0/volumeMounts/-", corev1.VolumeMount{Name: "n", MountPath: "/d", MountPropagation: &prop})}},
		{"mount list", []jsonpatch.Operation{jsonpatch.NewOperation("add", "/spec/containers/0/volumeMounts", []corev1.VolumeMount{{Name: "a", MountPath: "/a"}, {Name: "b", MountPath: "/b"}})}},
		{"escaped strings", []jsonpatch.Operation{jsonpatch.NewOperation("add", "/spec/containers/0/volumeMounts/-", corev1.VolumeMount{Name: "a<b>&\"c\\", MountPath: "/dä\u2028\x01\xff"})}},
		{"null value", []jsonpatch.Operation{jsonpatch.NewOperation("add", "/spec/x", nil), jsonpatch.NewOperation("remove", "/spec/y", nil)}},
		{"other value", []jsonpatch.Operation{jsonpatch.NewOperation("replace", "/spec/x", map[string]int{"b": 1, "a": 2})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(tt.ops)
			if err != nil {
				t.Fatal(err)
			}
			if tt.ops == nil {
				want = []byte("[]") // an answer never sends null: there is no patch then
			}
			got, err := encodePatch(tt.ops)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("encodePatch:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// FuzzAppendJSONString: any string encodes as encoding/json encodes it.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "/data", "a<b>", "\u2028", "\xff", `"\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}
