package webhook

import (
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

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

// TestUnusedIgnoreWarning: an honoured annotation's path that ignores
// nothing (a typo) is warned of, on pods and workloads alike; not where
// the namespace does not honour the annotation (its own warning says so),
// nor for a running pod, whose unchanged containers go unanalysed.
func TestUnusedIgnoreWarning(t *testing.T) {
	allowing := fakeNamespaces{"default": namespace("default", map[string]string{LabelAllowIgnore: "true"}, nil)}
	plain := fakeNamespaces{"default": namespace("default", nil, nil)}
	typo := map[string]string{policy.IgnoreAnnotation: "/dta,/logs"}
	const warning = "volumeguard.io/ignore names /dta, but no image of the pod declares an uncovered VOLUME there"
	deployment := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "zk", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Annotations: typo}, Spec: zkPod(nil).Spec,
		}},
	}
	tests := []struct {
		name       string
		namespaces fakeNamespaces
		req        func(t *testing.T) admission.Request
		want       string // the warning's start, "" for none
	}{
		{"a pod's typo", allowing, func(t *testing.T) admission.Request {
			return request(t, admissionv1.Create, podKind, "default", zkPod(typo), nil)
		}, "volumeguard: the pod's " + warning},
		{"a pod's paths all used", allowing, func(t *testing.T) admission.Request {
			return request(t, admissionv1.Create, podKind, "default", zkPod(map[string]string{policy.IgnoreAnnotation: "/logs"}), nil)
		}, ""},
		{"not honoured here", plain, func(t *testing.T) admission.Request {
			return request(t, admissionv1.Create, podKind, "default", zkPod(typo), nil)
		}, ""},
		{"a running pod", allowing, func(t *testing.T) admission.Request {
			return request(t, admissionv1.Update, podKind, "default", zkPod(typo), zkPod(typo))
		}, ""},
		{"a workload's template", allowing, func(t *testing.T) admission.Request {
			return request(t, admissionv1.Create, deploymentKind, "default", deployment, nil)
		}, "volumeguard: the deployment's " + warning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(ModeMutate, tt.namespaces)
			endpoint := Mutating
			if tt.req(t).Kind == deploymentKind {
				endpoint = Validating // workloads are judged there
			}
			resp := env.handle(t, endpoint, tt.req(t))
			var got []string
			for _, w := range resp.Warnings {
				if strings.Contains(w, "ignores nothing") {
					got = append(got, w)
				}
			}
			if tt.want == "" && len(got) > 0 || tt.want != "" && (len(got) != 1 || !strings.HasPrefix(got[0], tt.want)) {
				t.Errorf("warnings %q, want one starting %q", got, tt.want)
			}
		})
	}
}
