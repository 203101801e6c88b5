package webhook

import (
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/volumeguard/volumeguard/policy"
	settingsfile "github.com/volumeguard/volumeguard/settings"
)

func TestExceptions(t *testing.T) {
	file, err := settingsfile.Parse([]byte("ignore:\n- images: ['docker.io/library/zookeeper:*']\n  paths: [/datalog]\n"))
	if err != nil {
		t.Fatal(err)
	}
	allowing := namespace("default", map[string]string{LabelAllowIgnore: "true"}, nil)
	plain := namespace("default", nil, nil)
	ignoreAll := map[string]string{policy.IgnoreAnnotation: "/data,/datalog,/logs"}
	tests := []struct {
		name         string
		ns           *corev1.Namespace
		allowAll     bool
		settings     *settingsfile.Settings
		annotations  map[string]string
		wantAllowed  bool
		wantWarning  string // a part of some warning
		wantIgnored  string // a part of the ignored audit annotation, "" for none
		wantFindings string // a part of the findings audit annotation, "" for none
	}{
		{"an annotation without the namespace's allowance: denied, saying why", plain, false, nil, ignoreAll,
			false, "not honoured: namespace \"default\" does not allow exceptions", "", "/logs"},
		{"an annotation where the namespace allows it", allowing, false, nil, ignoreAll,
			true, "not reported, by exception", "/datalog", ""},
		{"an annotation with --allow-pod-ignore", plain, true, nil, ignoreAll,
			true, "not reported, by exception", "/logs", ""},
		{"the settings file applies everywhere", plain, false, file, map[string]string{policy.IgnoreAnnotation: "/data,/logs"},
			false, "not honoured", "/datalog", "/logs"},
		{"the settings file and an allowed annotation together", allowing, false, file, map[string]string{policy.IgnoreAnnotation: "/data,/logs"},
			true, "not reported, by exception", "/datalog", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(ModeEnforce, fakeNamespaces{"default": tt.ns})
			env.cfg.Settings, env.cfg.AllowPodIgnore = tt.settings, tt.allowAll
			resp := env.handle(t, Validating, request(t, admissionv1.Create, podKind, "default", zkPod(tt.annotations), nil))
			if resp.Allowed != tt.wantAllowed {
				t.Fatalf("allowed = %v, want %v (%s)", resp.Allowed, tt.wantAllowed, resultMessage(resp))
			}
			if !hasWarning(resp.Warnings, tt.wantWarning) {
				t.Errorf("warnings %q lack %q", resp.Warnings, tt.wantWarning)
			}
			if got := resp.AuditAnnotations[AuditIgnored]; !strings.Contains(got, tt.wantIgnored) || (tt.wantIgnored == "") != (got == "") {
				t.Errorf("ignored audit annotation %q, want one naming %q", got, tt.wantIgnored)
			}
			if got := resp.AuditAnnotations[AuditFindings]; !strings.Contains(got, tt.wantFindings) || (tt.wantFindings == "") != (got == "") {
				t.Errorf("findings audit annotation %q, want one naming %q", got, tt.wantFindings)
			}
		})
	}
}

func TestWorkloadExceptions(t *testing.T) {
	deployment := func(own, template map[string]string) *appsv1.Deployment {
		pod := zkPod(template)
		return &appsv1.Deployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: metav1.ObjectMeta{Name: "zk", Namespace: "default", Annotations: own},
			Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Annotations: template}, Spec: pod.Spec,
			}},
		}
	}
	allowing := fakeNamespaces{"default": namespace("default", map[string]string{LabelAllowIgnore: "true"}, nil)}
	tests := []struct {
		name        string
		obj         *appsv1.Deployment
		wantAllowed bool
	}{
		{"the workload's own annotation", deployment(map[string]string{policy.IgnoreAnnotation: "/data,/datalog,/logs"}, nil), true},
		{"the template's", deployment(nil, map[string]string{policy.IgnoreAnnotation: "/data,/datalog,/logs"}), true},
		{"split between them", deployment(map[string]string{policy.IgnoreAnnotation: "/data"}, map[string]string{policy.IgnoreAnnotation: "/datalog,/logs"}), true},
		{"not all paths", deployment(map[string]string{policy.IgnoreAnnotation: "/data"}, nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(ModeEnforce, allowing)
			resp := env.handle(t, Validating, request(t, admissionv1.Create, deploymentKind, "default", tt.obj, nil))
			if resp.Allowed != tt.wantAllowed {
				t.Errorf("allowed = %v, want %v (%s)", resp.Allowed, tt.wantAllowed, resultMessage(resp))
			}
		})
	}
}
