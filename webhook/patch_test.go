package webhook

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/policy"
)

// TestPodPatchAppliesToThePodAsSent mutates the partial pod the handler
// decodes, applies the patch to the raw pod the API server holds, and
// compares with the whole pod mutated: for pods with and without existing
// volumes and mounts, with fields unknown to k8s.io/api, and for a mutation
// that is not a pure append (an internal error).
func TestPodPatchAppliesToThePodAsSent(t *testing.T) {
	limit := resource.MustParse("1Gi")
	tests := []struct {
		name   string
		raw    string
		mutate func(*corev1.PodSpec)
		// copy: /data is populated and mutated with populated-volumes=copy,
		// which inserts init containers: not an append.
		copy bool
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
			name: "copy inserts init containers, lists absent",
			raw:  `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"zk","image":"zk"}]}}`,
			copy: true,
		},
		{
			name: "copy inserts init containers before existing ones, whose mounts are appended",
			raw: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"volumes":[{"name":"conf","emptyDir":{}}],` +
				`"initContainers":[{"name":"init","image":"zk","futureField":true,"volumeMounts":[{"name":"conf","mountPath":"/conf"}]},{"name":"init2","image":"other"}],` +
				`"containers":[{"name":"zk","image":"zk","securityContext":{"runAsUser":1000}},{"name":"side","image":"zk"}]}}`,
			copy: true,
		},
		{
			name: "a mutation that is not an append falls back to the diff",
			raw:  `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"zk","image":"zk"}]}}`,
			mutate: func(s *corev1.PodSpec) {
				s.Containers = append(s.Containers, corev1.Container{Name: "extra", Image: "x"})
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			images := map[string]policy.ImageFacts{"zk": {Digest: "sha256:a", Platforms: []policy.PlatformVolumes{{
				Platform: policy.Platform{OS: "linux", Architecture: "amd64"}, Volumes: []string{"/data", "/logs"},
			}}}}
			var opts []policy.Option
			if tt.copy {
				images["zk"].Platforms[0].Content = map[string]policy.Content{
					"/data": {State: policy.ContentPopulated, Entries: 2, Bytes: 10, Mode: 0o755},
					"/logs": {State: policy.ContentEmpty, Mode: 0o755},
				}
				opts = []policy.Option{policy.WithPopulated(policy.PopulatedCopy), policy.WithCopierImage("volumeguard:test")}
			}
			// The handler's path: the partial pod of decodePod, mutated.
			before, err := decodePod([]byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			mutated := before.Spec.DeepCopy()
			m := policy.Mutate(mutated, policy.Findings(mutated, images, opts...), limit, opts...)
			if tt.copy && len(m.InitContainers) == 0 {
				t.Fatalf("mutation %+v inserted no init container", m)
			}
			if tt.mutate != nil {
				tt.mutate(mutated)
				if resp := podPatch(&before.Spec, mutated, m.InitContainersAt); resp.Allowed || resp.Result == nil || resp.Result.Code != 500 {
					t.Errorf("a mutation that is not an append got %+v, want an internal error", resp.AdmissionResponse)
				}
				return
			}
			resp := podPatch(&before.Spec, mutated, m.InitContainersAt)
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

			// What it must equal: the whole pod as sent, mutated.
			var full, got corev1.Pod
			if err := json.Unmarshal([]byte(tt.raw), &full); err != nil {
				t.Fatal(err)
			}
			policy.Mutate(&full.Spec, policy.Findings(&full.Spec, images, opts...), limit, opts...)
			if err := json.Unmarshal(patched, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Spec, full.Spec) {
				t.Errorf("patched spec differs from the whole pod mutated\npatch: %s\n got: %+v\nwant: %+v", ops, got.Spec, full.Spec)
			}
			var sent, after map[string]any
			_ = json.Unmarshal([]byte(tt.raw), &sent)
			_ = json.Unmarshal(patched, &after)
			dropInserted(after, m.InitContainers)
			if !jsonContains(sent, after) {
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

// TestDecodePodKeepsWhatAdmissionReads compares the partial decode with the
// whole one on every field that analysis, mutation and pull secrets read.
func TestDecodePodKeepsWhatAdmissionReads(t *testing.T) {
	raw := []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"volumeguard.io/size-limit":"2Gi"}},` +
		`"spec":{"serviceAccountName":"sa","serviceAccount":"sa","imagePullSecrets":[{"name":"regcred"}],` +
		`"nodeSelector":{"kubernetes.io/arch":"arm64"},` +
		`"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"kubernetes.io/os","operator":"In","values":["linux"]}]}]}}},` +
		`"volumes":[{"name":"conf","configMap":{"name":"c"}},{"name":"vg-data-1234abcd","emptyDir":{"sizeLimit":"1Gi"}}],` +
		`"initContainers":[{"name":"init","image":"i","volumeMounts":[{"name":"conf","mountPath":"/conf","subPath":"x"}]}],` +
		`"containers":[{"name":"app","image":"a","env":[{"name":"X","value":"1"}],"volumeMounts":[{"name":"conf","mountPath":"/etc/app"}]}],` +
		`"ephemeralContainers":[{"name":"debug","image":"d","volumeMounts":[{"name":"conf","mountPath":"/c"}]}]}}`)
	got, err := decodePod(raw)
	if err != nil {
		t.Fatal(err)
	}
	var full corev1.Pod
	if err := json.Unmarshal(raw, &full); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		field     string
		got, want any
	}{
		{"annotations", got.Annotations, full.Annotations},
		{"nodeSelector", got.Spec.NodeSelector, full.Spec.NodeSelector},
		{"affinity", got.Spec.Affinity, full.Spec.Affinity},
		{"imagePullSecrets", got.Spec.ImagePullSecrets, full.Spec.ImagePullSecrets},
		{"serviceAccountName", got.Spec.ServiceAccountName, full.Spec.ServiceAccountName},
		{"serviceAccount", got.Spec.DeprecatedServiceAccount, full.Spec.DeprecatedServiceAccount},
		{"volume names", got.Spec.Volumes[0].Name, full.Spec.Volumes[0].Name},
		{"emptyDirs", []bool{got.Spec.Volumes[0].EmptyDir != nil, got.Spec.Volumes[1].EmptyDir != nil}, []bool{false, true}},
		{"containers", policy.Containers(&got.Spec), policy.Containers(&full.Spec)},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: partial decode %+v, whole decode %+v", c.field, c.got, c.want)
		}
	}
	if _, err := decodePod([]byte(`{"spec":{"containers":"no"}}`)); err == nil {
		t.Error("a pod of the wrong shape decoded without error")
	}
}

// dropInserted removes the init containers a mutation inserted from a pod
// decoded as JSON, so that the containers that were there line up again.
func dropInserted(pod map[string]any, names []string) {
	spec, _ := pod["spec"].(map[string]any)
	list, _ := spec["initContainers"].([]any)
	if len(names) == 0 || list == nil {
		return
	}
	var kept []any
	for _, c := range list {
		if name, _ := c.(map[string]any)["name"].(string); !slices.Contains(names, name) {
			kept = append(kept, c)
		}
	}
	spec["initContainers"] = kept
}
