package webhook

import (
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
)

func deployment(image string, templateAnnotations map[string]any, replicas int) map[string]any {
	return map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "zk", "namespace": "default"},
		"spec": map[string]any{
			"replicas": replicas,
			"selector": map[string]any{"matchLabels": map[string]any{"app": "zk"}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": "zk"}, "annotations": templateAnnotations},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": "zk", "image": image}}},
			},
		},
	}
}

func cronJob(image string) map[string]any {
	return map[string]any{
		"apiVersion": "batch/v1", "kind": "CronJob",
		"metadata": map[string]any{"name": "backup", "namespace": "default"},
		"spec": map[string]any{
			"schedule": "@daily",
			"jobTemplate": map[string]any{"spec": map[string]any{"template": map[string]any{
				"spec": map[string]any{"restartPolicy": "OnFailure", "containers": []any{map[string]any{"name": "zk", "image": image}}},
			}}},
		},
	}
}

func TestWorkloads(t *testing.T) {
	tests := []struct {
		name     string
		obj      map[string]any
		old      map[string]any
		mode     Mode
		endpoint Endpoint
		allowed  bool
		lookups  bool
		warn     []string // every zookeeper path is checked in a warning with these
		deny     []string
	}{
		{name: "deployment audit", obj: deployment(zkImage, nil, 1), mode: ModeAudit, endpoint: Validating, allowed: true, lookups: true,
			warn: []string{`pods of Deployment "zk" would create an anonymous volume at `, `container "zk"`, zkImage, "fix: mount an emptyDir"}},
		{name: "deployment mutate", obj: deployment(zkImage, nil, 1), mode: ModeMutate, endpoint: Validating, allowed: true, lookups: true,
			warn: []string{`pods of Deployment "zk" will get an emptyDir (sizeLimit 1Gi) at `, zkImage}},
		{name: "deployment mutate, template size limit", obj: deployment(zkImage, map[string]any{AnnotationSizeLimit: "3Gi"}, 1), mode: ModeMutate, endpoint: Validating, allowed: true, lookups: true,
			warn: []string{`will get an emptyDir (sizeLimit 3Gi) at `}},
		{name: "deployment enforce", obj: deployment(zkImage, nil, 1), mode: ModeEnforce, endpoint: Validating, allowed: false, lookups: true,
			deny: []string{`denies Deployment "zk"`, `container "zk"`, zkImage, "/data", "/datalog", "/logs", "emptyDir"}},
		{name: "deployment off", obj: deployment(zkImage, nil, 1), mode: ModeOff, endpoint: Validating, allowed: true},
		{name: "deployment on /mutate", obj: deployment(zkImage, nil, 1), mode: ModeMutate, endpoint: Mutating, allowed: true},
		{name: "deployment scaled", obj: deployment(zkImage, nil, 3), old: deployment(zkImage, nil, 1), mode: ModeEnforce, endpoint: Validating, allowed: true},
		{name: "deployment new image", obj: deployment(zkImage, nil, 1), old: deployment(plainImg, nil, 1), mode: ModeEnforce, endpoint: Validating, allowed: false, lookups: true,
			deny: []string{zkImage, "/data"}},
		{name: "cronjob audit", obj: cronJob(zkImage), mode: ModeAudit, endpoint: Validating, allowed: true, lookups: true,
			warn: []string{`pods of CronJob "backup" would create an anonymous volume at `, zkImage}},
		{name: "cronjob enforce", obj: cronJob(zkImage), mode: ModeEnforce, endpoint: Validating, allowed: false, lookups: true,
			deny: []string{`denies CronJob "backup"`, zkImage, "/data", "/datalog", "/logs", "emptyDir"}},
		{name: "cronjob clean", obj: cronJob(plainImg), mode: ModeEnforce, endpoint: Validating, allowed: true, lookups: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(tt.mode, nil)
			kind, op := deploymentKind, admissionv1.Create
			if tt.obj["kind"] == "CronJob" {
				kind = cronJobKind
			}
			var old any
			if tt.old != nil {
				op, old = admissionv1.Update, tt.old
			}
			resp := env.handle(t, tt.endpoint, request(t, op, kind, "default", tt.obj, old))
			if resp.Allowed != tt.allowed {
				t.Fatalf("allowed = %v, want %v: %s", resp.Allowed, tt.allowed, resultMessage(resp))
			}
			if len(resp.Patches) != 0 {
				t.Errorf("patched a %s: %v", kind.Kind, resp.Patches)
			}
			if got := env.inspector.Calls() > 0; got != tt.lookups {
				t.Errorf("registry looked up: %v, want %v", got, tt.lookups)
			}
			if tt.warn != nil {
				for _, p := range zkPaths {
					if !hasWarning(resp.Warnings, append([]string{p}, tt.warn...)...) {
						t.Errorf("no warning with %s and %q in %q", p, tt.warn, resp.Warnings)
					}
				}
			} else if tt.allowed && len(resp.Warnings) > 0 {
				t.Errorf("warnings %q, want none", resp.Warnings)
			}
			for _, want := range tt.deny {
				if !strings.Contains(resultMessage(resp), want) {
					t.Errorf("denial lacks %q:\n%s", want, resultMessage(resp))
				}
			}
		})
	}
}
