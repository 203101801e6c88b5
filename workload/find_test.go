package workload

import (
	"reflect"
	"strings"
	"testing"
)

// template is a pod template with one container, indented for a spec.
const template = `
      metadata:
        labels: {app: zk}
        annotations: {volumeguard.io/size-limit: 2Gi}
      spec:
        containers:
        - {name: zk, image: zookeeper:3.4.13}`

func TestFind(t *testing.T) {
	tests := []struct {
		name        string
		obj         string
		wantPaths   []string // dotted
		wantImage   string
		wantLabels  map[string]string
		wantAnnots  map[string]string
		wantErrText string
	}{
		{
			name: "Pod",
			obj: `{apiVersion: v1, kind: Pod, metadata: {name: p, labels: {a: b}, annotations: {x: z}},
			       spec: {containers: [{name: c, image: nginx}]}}`,
			wantPaths: []string{"spec"}, wantImage: "nginx",
			wantLabels: map[string]string{"a": "b"}, wantAnnots: map[string]string{"x": "z"},
		},
		{
			name: "PodTemplate",
			obj: `
apiVersion: v1
kind: PodTemplate
template:
  metadata: {labels: {t: "1"}}
  spec: {containers: [{name: c, image: nginx}]}`,
			wantPaths: []string{"template.spec"}, wantImage: "nginx", wantLabels: map[string]string{"t": "1"},
		},
		{name: "Deployment", obj: "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:" + indent(template, 2)},
		{name: "StatefulSet", obj: "apiVersion: apps/v1\nkind: StatefulSet\nspec:\n  template:" + indent(template, 2)},
		{name: "DaemonSet", obj: "apiVersion: apps/v1\nkind: DaemonSet\nspec:\n  template:" + indent(template, 2)},
		{name: "ReplicaSet", obj: "apiVersion: apps/v1\nkind: ReplicaSet\nspec:\n  template:" + indent(template, 2)},
		{name: "ReplicationController", obj: "apiVersion: v1\nkind: ReplicationController\nspec:\n  template:" + indent(template, 2)},
		{name: "Job", obj: "apiVersion: batch/v1\nkind: Job\nspec:\n  template:" + indent(template, 2)},
		{name: "extensions/v1beta1 Deployment", obj: "apiVersion: extensions/v1beta1\nkind: Deployment\nspec:\n  template:" + indent(template, 2)},
		{
			name:      "CronJob",
			obj:       "apiVersion: batch/v1\nkind: CronJob\nspec:\n  schedule: '*/5 * * * *'\n  jobTemplate:\n    spec:\n      template:" + indent(template, 6),
			wantPaths: []string{"spec.jobTemplate.spec.template.spec"},
		},
		{
			name:      "batch/v1beta1 CronJob",
			obj:       "apiVersion: batch/v1beta1\nkind: CronJob\nspec:\n  jobTemplate:\n    spec:\n      template:" + indent(template, 6),
			wantPaths: []string{"spec.jobTemplate.spec.template.spec"},
		},
		{name: "Argo Rollout", obj: "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nspec:\n  strategy: {canary: {}}\n  template:" + indent(template, 2)},
		{name: "OpenKruise CloneSet", obj: "apiVersion: apps.kruise.io/v1alpha1\nkind: CloneSet\nspec:\n  template:" + indent(template, 2)},
		{name: "custom kind with an empty containers list", obj: `{apiVersion: x.io/v1, kind: Thing, spec: {template: {spec: {containers: []}}}}`, wantPaths: []string{"spec.template.spec"}, wantImage: "-"},

		{name: "Service", obj: `{apiVersion: v1, kind: Service, spec: {ports: [{port: 80}]}}`},
		{name: "ConfigMap", obj: `{apiVersion: v1, kind: ConfigMap, data: {a: b}}`},
		{name: "custom kind without containers", obj: `{apiVersion: x.io/v1, kind: Thing, spec: {template: {spec: {steps: []}}}}`},
		{name: "custom kind with containers of another shape", obj: `{apiVersion: x.io/v1, kind: Thing, spec: {template: {spec: {containers: x}}}}`},
		{name: "custom kind with a string template", obj: `{apiVersion: x.io/v1, kind: Thing, spec: {template: x}}`},
		{name: "custom Job of another group", obj: `{apiVersion: x.io/v1, kind: Job, spec: {template: "echo hi"}}`},
		{name: "Deployment patch without template", obj: `{apiVersion: apps/v1, kind: Deployment, spec: {replicas: 3}}`},
		{name: "Pod without spec", obj: `{apiVersion: v1, kind: Pod, spec: null}`},
		{name: "unknown and mis-cased fields are ignored", obj: `{apiVersion: v1, kind: Pod, spec: {futureField: {a: 1}, Containers: 5, containers: [{name: c, image: nginx, futureToo: 1}]}}`, wantPaths: []string{"spec"}, wantImage: "nginx"},

		{name: "Deployment with a string template", obj: `{apiVersion: apps/v1, kind: Deployment, spec: {template: x}}`, wantErrText: "spec.template: expected an object, got string"},
		{name: "containers of wrong type", obj: `{apiVersion: apps/v1, kind: Deployment, spec: {template: {spec: {containers: x}}}}`, wantErrText: "spec.template.spec.containers: expected a list, got string"},
		{name: "image of wrong type", obj: `{apiVersion: v1, kind: Pod, spec: {containers: [{name: a, image: a}, {name: b, image: 5}]}}`, wantErrText: "spec.containers[1].image: expected a string, got number"},
		{name: "fraction for an integer", obj: `{apiVersion: v1, kind: Pod, spec: {containers: [{name: a, securityContext: {runAsUser: 1}}, {name: b, securityContext: {runAsUser: 1.5}}]}}`, wantErrText: "spec.containers[1].securityContext.runAsUser: expected an integer, got 1.5"},
		{name: "number in a string map", obj: `{apiVersion: v1, kind: Pod, spec: {nodeSelector: {a: b, c: 5}, containers: []}}`, wantErrText: "spec.nodeSelector.c: expected a string, got number"},
		{name: "number in a string list", obj: `{apiVersion: v1, kind: Pod, spec: {containers: [{name: a, command: [sh, 5]}]}}`, wantErrText: "spec.containers[0].command[1]: expected a string, got number"},
		{name: "embedded struct field", obj: `{apiVersion: v1, kind: Pod, spec: {containers: [{name: a, livenessProbe: {httpGet: {port: true}}}]}}`, wantErrText: "spec.containers[0].livenessProbe.httpGet.port: expected an integer, got boolean"},
		{name: "bad quantity", obj: `{apiVersion: v1, kind: Pod, spec: {containers: [{name: a, resources: {limits: {cpu: lots}}}]}}`, wantErrText: "spec: quantities must match"},
		{name: "template labels of wrong type", obj: `{apiVersion: apps/v1, kind: Deployment, spec: {template: {metadata: {labels: {app: 1}}, spec: {containers: []}}}}`, wantErrText: "spec.template.metadata.labels.app: expected a string, got number"},
		{name: "template metadata of wrong type", obj: `{apiVersion: apps/v1, kind: Deployment, spec: {template: {metadata: [], spec: {containers: []}}}}`, wantErrText: "spec.template.metadata: expected an object, got list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			specs, err := Find(object(t, tt.obj))
			if tt.wantErrText != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrText) {
					t.Fatalf("Find() error = %v, want one containing %q", err, tt.wantErrText)
				}
				if specs != nil {
					t.Errorf("Find() = %v with an error, want nil", specs)
				}
				return
			}
			if err != nil {
				t.Fatalf("Find() error = %v", err)
			}
			wantPaths, image := tt.wantPaths, tt.wantImage
			if wantPaths == nil && strings.Contains(tt.obj, "zookeeper") {
				wantPaths = []string{"spec.template.spec"}
			}
			if image == "" && strings.Contains(tt.obj, "zookeeper") {
				image = "zookeeper:3.4.13"
				tt.wantLabels = map[string]string{"app": "zk"}
				tt.wantAnnots = map[string]string{"volumeguard.io/size-limit": "2Gi"}
			}
			var paths []string
			for _, s := range specs {
				paths = append(paths, dotted(s.Path))
			}
			if !reflect.DeepEqual(paths, wantPaths) {
				t.Fatalf("paths = %q, want %q", paths, wantPaths)
			}
			if len(specs) == 0 {
				return
			}
			ps := specs[0]
			if image != "-" && (len(ps.Spec.Containers) != 1 || ps.Spec.Containers[0].Image != image) {
				t.Errorf("containers = %+v, want one with image %q", ps.Spec.Containers, image)
			}
			if !reflect.DeepEqual(ps.Labels, tt.wantLabels) || !reflect.DeepEqual(ps.Annotations, tt.wantAnnots) {
				t.Errorf("labels %v, annotations %v, want %v, %v", ps.Labels, ps.Annotations, tt.wantLabels, tt.wantAnnots)
			}
		})
	}
}

// indent shifts every line of s right by n spaces.
func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	return strings.ReplaceAll(s, "\n", "\n"+pad)
}
