package webhook

import (
	"encoding/json"
	"reflect"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/policy"
)

// TestPodPatchAppliesToThePodAsSent applies the patch to the raw pod the API
// server would hold and compares with the mutated spec, for pods with and
// without existing volumes and mounts, and for a mutation that is not a pure
// append (the generic diff must take over).
func TestPodPatchAppliesToThePodAsSent(t *testing.T) {
	limit := resource.MustParse("1Gi")
	tests := []struct {
		name   string
		raw    string
		mutate func(*corev1.PodSpec)
	}{
		{
			name: "no volumes anywhere, lists absent",
			raw:  `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"zk","image":"zk"}]}}`,
		},
		{
			name: "volumes null and existing mounts",
			raw: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"volumes":null,` +
				`"initContainers":[{"name":"init","image":"zk","volumeMounts":[{"name":"x","mountPath":"/x"}]}],` +
				`"containers":[{"name":"zk","image":"zk"},{"name":"side","image":"zk","futureField":true}]}}`,
		},
		{
			name: "existing volumes keep unknown fields",
			raw: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"volumes":[{"name":"conf","emptyDir":{},"futureField":1}],` +
				`"containers":[{"name":"zk","image":"zk","volumeMounts":[{"name":"conf","mountPath":"/conf"}]}]}}`,
		},
		{
			name: "a mutation that is not an append falls back to the diff",
			raw:  `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"zk","image":"zk"}]}}`,
			mutate: func(s *corev1.PodSpec) {
				s.Containers = append(s.Containers, corev1.Container{Name: "extra", Image: "x"})
			},
		},
	}
	images := map[string]policy.ImageFacts{"zk": {Digest: "sha256:a", Platforms: []policy.PlatformVolumes{{
		Platform: policy.Platform{OS: "linux", Architecture: "amd64"}, Volumes: []string{"/data", "/logs"},
	}}}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pod corev1.Pod
			if err := json.Unmarshal([]byte(tt.raw), &pod); err != nil {
				t.Fatal(err)
			}
			mutated := pod.Spec.DeepCopy()
			policy.Mutate(mutated, policy.Findings(mutated, images), limit)
			if tt.mutate != nil {
				tt.mutate(mutated)
			}
			resp := podPatch([]byte(tt.raw), &pod.Spec, mutated)
			if !resp.Allowed || len(resp.Patches) == 0 {
				t.Fatalf("response %+v, want allowed with patches", resp.AdmissionResponse)
			}
			ops, err := json.Marshal(resp.Patches)
			if err != nil {
				t.Fatal(err)
			}
			patch, err := jsonpatch.DecodePatch(ops)
			if err != nil {
				t.Fatal(err)
			}
			patched, err := patch.Apply([]byte(tt.raw))
			if err != nil {
				t.Fatalf("applying %s: %v", ops, err)
			}
			var got corev1.Pod
			if err := json.Unmarshal(patched, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(&got.Spec, mutated) {
				t.Errorf("patched spec differs from the mutated one\npatch: %s\n got: %+v\nwant: %+v", ops, got.Spec, *mutated)
			}
			var before, after map[string]any
			_ = json.Unmarshal([]byte(tt.raw), &before)
			_ = json.Unmarshal(patched, &after)
			if keep := jsonContains(before, after); !keep {
				t.Errorf("the patch dropped fields of the pod as sent:\n%s", patched)
			}
		})
	}
}

// jsonContains reports whether every field of want is in got with the same
// value, lists compared item by item over want's length.
func jsonContains(want, got any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range w {
			if v == nil {
				continue
			}
			if !jsonContains(v, g[k]) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) < len(w) {
			return false
		}
		for i := range w {
			if !jsonContains(w[i], g[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(want, got)
}
