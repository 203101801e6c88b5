package workload

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// content parses YAML into JSON values as Decode does (int64 numbers).
func content(t *testing.T, y string) map[string]any {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := utiljson.Unmarshal(j, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

const setBase = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: zk}
spec:
  replicas: 2
  template:
    spec:
      futureField: {keep: me}
      containers:
      - name: zk
        image: zookeeper:3.4.13
        futureToo: 1
        ports: [{containerPort: 2181}]
      - name: sidecar
        image: busybox
`

func addDataVolume(s *corev1.PodSpec) {
	limit := resource.MustParse("1Gi")
	s.Volumes = append(s.Volumes, corev1.Volume{Name: "vg-data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &limit}}})
	s.Containers[0].VolumeMounts = append(s.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "vg-data", MountPath: "/data"})
}

func TestSetPodSpec(t *testing.T) {
	path := []string{"spec", "template", "spec"}
	tests := []struct {
		name    string
		obj     string
		path    []string
		mutate  func(*corev1.PodSpec)
		want    string // the object afterwards; "" for unchanged
		wantErr string
	}{
		{name: "unchanged spec leaves the object as written", obj: setBase, path: path, mutate: func(*corev1.PodSpec) {}},
		{
			name: "added volume and mount, unknown fields kept, no zero values added",
			obj:  setBase, path: path, mutate: addDataVolume,
			want: strings.Replace(strings.Replace(setBase,
				"        ports: [{containerPort: 2181}]\n",
				"        ports: [{containerPort: 2181}]\n        volumeMounts: [{name: vg-data, mountPath: /data}]\n", 1),
				"      futureField: {keep: me}\n",
				"      futureField: {keep: me}\n      volumes: [{name: vg-data, emptyDir: {sizeLimit: 1Gi}}]\n", 1),
		},
		{
			name: "changed image",
			obj:  setBase, path: path, mutate: func(s *corev1.PodSpec) { s.Containers[1].Image = "busybox:1.36" },
			want: strings.Replace(setBase, "image: busybox", "image: busybox:1.36", 1),
		},
		{
			name: "removed container takes the new list",
			obj:  setBase, path: path, mutate: func(s *corev1.PodSpec) { s.Containers = s.Containers[1:] },
			want: strings.Replace(setBase, "      - name: zk\n        image: zookeeper:3.4.13\n        futureToo: 1\n        ports: [{containerPort: 2181}]\n", "", 1),
		},
		{
			name: "reordered containers keep their fields",
			obj:  setBase, path: path, mutate: func(s *corev1.PodSpec) { s.Containers[0], s.Containers[1] = s.Containers[1], s.Containers[0] },
			want: strings.Replace(setBase,
				"      - name: zk\n        image: zookeeper:3.4.13\n        futureToo: 1\n        ports: [{containerPort: 2181}]\n      - name: sidecar\n        image: busybox\n",
				"      - name: sidecar\n        image: busybox\n      - name: zk\n        image: zookeeper:3.4.13\n        futureToo: 1\n        ports: [{containerPort: 2181}]\n", 1),
		},
		{
			name: "missing path is created",
			obj:  `{apiVersion: apps/v1, kind: Deployment, spec: {replicas: 1}}`, path: path,
			mutate: func(s *corev1.PodSpec) { s.Containers = []corev1.Container{{Name: "a", Image: "b"}} },
			want:   `{apiVersion: apps/v1, kind: Deployment, spec: {replicas: 1, template: {spec: {containers: [{name: a, image: b, resources: {}}]}}}}`,
		},
		{
			name: "unreadable spec is replaced",
			obj:  `{apiVersion: v1, kind: Pod, spec: {containers: x}}`, path: []string{"spec"},
			mutate: func(s *corev1.PodSpec) { s.Containers = []corev1.Container{{Name: "a", Image: "b"}} },
			want:   `{apiVersion: v1, kind: Pod, spec: {containers: [{name: a, image: b, resources: {}}]}}`,
		},
		{name: "step that is not an object", obj: `{spec: {template: x}}`, path: path, wantErr: "spec.template: expected an object, got string"},
		{name: "empty path", obj: setBase, path: nil, wantErr: "path is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := content(t, tt.obj)
			var spec corev1.PodSpec
			if tt.mutate != nil {
				// An unreadable spec is set from scratch.
				if specs, err := Find(obj); err == nil && len(specs) == 1 {
					spec = *specs[0].Spec
				}
				tt.mutate(&spec)
			}
			err := SetPodSpec(obj, tt.path, &spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("SetPodSpec() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("SetPodSpec() error = %v", err)
			}
			want := tt.obj
			if tt.want != "" {
				want = tt.want
			}
			if !reflect.DeepEqual(obj, content(t, want)) {
				got, _ := yaml.Marshal(obj)
				t.Errorf("object after SetPodSpec:\n%s\nwant:\n%s", got, want)
			}

			// The object reads back as the spec that was set, and setting
			// it again changes nothing (webhook reinvocation).
			specs, err := Find(obj)
			if err != nil || len(specs) != 1 {
				t.Fatalf("Find() after SetPodSpec = %v, %v", specs, err)
			}
			if !reflect.DeepEqual(*specs[0].Spec, spec) {
				t.Errorf("spec read back = %+v, want %+v", *specs[0].Spec, spec)
			}
			before, _ := yaml.Marshal(obj)
			if err := SetPodSpec(obj, tt.path, specs[0].Spec); err != nil {
				t.Fatal(err)
			}
			if after, _ := yaml.Marshal(obj); string(after) != string(before) {
				t.Errorf("second SetPodSpec changed the object:\n%s\nto\n%s", before, after)
			}
		})
	}
}

func TestSetPodSpecArguments(t *testing.T) {
	spec := &corev1.PodSpec{}
	tests := []struct {
		name string
		obj  map[string]any
		path []string
		spec *corev1.PodSpec
	}{
		{"nil object", nil, []string{"spec"}, spec},
		{"empty path", map[string]any{}, nil, spec},
		{"nil spec", map[string]any{}, []string{"spec"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := SetPodSpec(tt.obj, tt.path, tt.spec); err == nil {
				t.Error("SetPodSpec() error = nil, want an error")
			}
		})
	}
}
