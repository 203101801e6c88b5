package webhook

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/policy"
)

var zkPaths = []string{"/data", "/datalog", "/logs"}

// TestPodCreateModes: what each mode does to a zookeeper pod on each endpoint.
func TestPodCreateModes(t *testing.T) {
	tests := []struct {
		mode       Mode
		endpoint   Endpoint
		allowed    bool
		lookups    bool
		warnings   int
		warnParts  []string // every warning contains these
		annotation bool
	}{
		{mode: ModeEnforce, endpoint: Validating, allowed: false, lookups: true, annotation: true},
		{mode: ModeEnforce, endpoint: Mutating, allowed: true},
		{mode: ModeAudit, endpoint: Validating, allowed: true, lookups: true, warnings: 3,
			warnParts: []string{`container "zk"`, zkImage, "would create an anonymous volume at /", "fix: mount an emptyDir"}, annotation: true},
		{mode: ModeAudit, endpoint: Mutating, allowed: true},
		// The pod reaches /validate unmutated: the mutating webhook did not run.
		{mode: ModeMutate, endpoint: Validating, allowed: true, lookups: true, warnings: 3,
			warnParts: []string{`container "zk"`, zkImage, "mutating webhook did not cover it"}, annotation: true},
		{mode: ModeOff, endpoint: Validating, allowed: true},
		{mode: ModeOff, endpoint: Mutating, allowed: true},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode)+"/"+string(tt.endpoint), func(t *testing.T) {
			env := newEnv(tt.mode, nil)
			resp := env.handle(t, tt.endpoint, request(t, admissionv1.Create, podKind, "default", zkPod(nil), nil))

			if resp.Allowed != tt.allowed {
				t.Fatalf("allowed = %v, want %v (%s)", resp.Allowed, tt.allowed, resultMessage(resp))
			}
			if len(resp.Patches) != 0 {
				t.Errorf("patches = %v, want none", resp.Patches)
			}
			if got := env.inspector.Calls() > 0; got != tt.lookups {
				t.Errorf("registry looked up: %v, want %v", got, tt.lookups)
			}
			if len(resp.Warnings) != tt.warnings {
				t.Errorf("warnings = %q, want %d", resp.Warnings, tt.warnings)
			}
			for i, w := range resp.Warnings {
				for _, p := range tt.warnParts {
					if !strings.Contains(w, p) {
						t.Errorf("warning %q lacks %q", w, p)
					}
				}
				if i < len(zkPaths) && !strings.Contains(w, zkPaths[i]) {
					t.Errorf("warning %q does not name %s", w, zkPaths[i])
				}
			}
			if got := resp.AuditAnnotations[AuditFindings]; tt.annotation != (got != "") {
				t.Errorf("findings audit annotation = %q, want one: %v", got, tt.annotation)
			} else if tt.annotation {
				for _, p := range zkPaths {
					if !strings.Contains(got, `"path":"`+p+`"`) {
						t.Errorf("findings audit annotation %s lacks %s", got, p)
					}
				}
				if resp.AuditAnnotations[AuditMode] != string(tt.mode) {
					t.Errorf("mode audit annotation = %q", resp.AuditAnnotations[AuditMode])
				}
			}
			if !tt.allowed {
				if resp.Result.Code != http.StatusForbidden {
					t.Errorf("code = %d, want 403", resp.Result.Code)
				}
				msg := resultMessage(resp)
				for _, want := range append([]string{`container "zk"`, zkImage, "emptyDir", "sizeLimit: 1Gi"}, zkPaths...) {
					if !strings.Contains(msg, want) {
						t.Errorf("denial lacks %q:\n%s", want, msg)
					}
				}
				if strings.Contains(msg, "sidecar") {
					t.Errorf("denial names the sidecar, which has no finding:\n%s", msg)
				}
			}
		})
	}
}

// expectedMutation is zkPod with an emptyDir of limit and a mount for
// each zookeeper VOLUME.
func expectedMutation(pod *corev1.Pod, limit string) *corev1.Pod {
	want := pod.DeepCopy()
	for _, p := range zkPaths {
		name := policy.VolumeName(policy.Container, "zk", p)
		q := resource.MustParse(limit)
		want.Spec.Volumes = append(want.Spec.Volumes, corev1.Volume{Name: name,
			VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &q}}})
		want.Spec.Containers[0].VolumeMounts = append(want.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: name, MountPath: p})
	}
	return want
}

func fullPod(t *testing.T, raw []byte) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{}
	if err := json.Unmarshal(raw, pod); err != nil {
		t.Fatal(err)
	}
	return pod
}

// TestMutatePatch applies the returned patch and compares pods, then sends
// the mutated pod again (reinvocation), which must change nothing.
func TestMutatePatch(t *testing.T) {
	env := newEnv(ModeMutate, nil)
	pod := zkPod(nil)
	req := request(t, admissionv1.Create, podKind, "default", pod, nil)
	resp := env.handle(t, Mutating, req)
	if !resp.Allowed || len(resp.Patches) == 0 {
		t.Fatalf("allowed %v with %d patch operations, want a patch (%s)", resp.Allowed, len(resp.Patches), resultMessage(resp))
	}
	mutatedRaw := applyPatch(t, req.Object.Raw, resp)
	if got, want := fullPod(t, mutatedRaw), expectedMutation(pod, "1Gi"); !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("mutated pod:\n%s\nwant:\n%s", mustJSON(t, got), mustJSON(t, want))
	}
	for _, p := range zkPaths {
		if !hasWarning(resp.Warnings, "added emptyDir", "(sizeLimit 1Gi) at "+p, `container "zk"`, zkImage) {
			t.Errorf("no warning says an emptyDir was added at %s: %q", p, resp.Warnings)
		}
	}

	t.Run("reinvocation changes nothing", func(t *testing.T) {
		again := request(t, admissionv1.Create, podKind, "default", json.RawMessage(mutatedRaw), nil)
		resp := env.handle(t, Mutating, again)
		if !resp.Allowed || len(resp.Patches) != 0 || len(resp.Warnings) != 0 {
			t.Errorf("allowed %v, patches %v, warnings %q; want allowed, nothing", resp.Allowed, resp.Patches, resp.Warnings)
		}
	})
	t.Run("validate after mutate is quiet", func(t *testing.T) {
		after := request(t, admissionv1.Create, podKind, "default", json.RawMessage(mutatedRaw), nil)
		resp := env.handle(t, Validating, after)
		if !resp.Allowed || len(resp.Warnings) != 0 {
			t.Errorf("allowed %v, warnings %q; want allowed without warnings", resp.Allowed, resp.Warnings)
		}
	})
}

// TestMutateKeepsUnknownFields: fields of a newer API than this build knows
// must survive the patch.
func TestMutateKeepsUnknownFields(t *testing.T) {
	var pod map[string]any
	if err := json.Unmarshal(mustJSON(t, zkPod(nil)), &pod); err != nil {
		t.Fatal(err)
	}
	spec := pod["spec"].(map[string]any)
	spec["futureField"] = "kept"
	spec["containers"].([]any)[0].(map[string]any)["futureContainerField"] = map[string]any{"x": 1}
	env := newEnv(ModeMutate, nil)
	req := request(t, admissionv1.Create, podKind, "default", pod, nil)
	resp := env.handle(t, Mutating, req)
	for _, op := range resp.Patches {
		if op.Operation != "add" {
			t.Errorf("patch operation %s %s, want only additions", op.Operation, op.Path)
		}
	}
	out := string(applyPatch(t, req.Object.Raw, resp))
	for _, want := range []string{`"futureField":"kept"`, `"futureContainerField":{"x":1}`, `"mountPath":"/data"`} {
		if !strings.Contains(out, want) {
			t.Errorf("patched pod lacks %s: %s", want, out)
		}
	}
}

func TestNamespaceMode(t *testing.T) {
	namespaces := fakeNamespaces{
		"strict":  namespace("strict", map[string]string{LabelMode: "enforce"}, nil),
		"legacy":  namespace("legacy", map[string]string{LabelMode: "off"}, nil),
		"typo":    namespace("typo", map[string]string{LabelMode: "enforcing"}, nil),
		"default": namespace("default", nil, nil),
	}
	tests := []struct {
		ns       string
		allowed  bool
		lookups  bool
		warnPart string
	}{
		{ns: "strict", allowed: false, lookups: true},
		{ns: "legacy", allowed: true, lookups: false},
		{ns: "typo", allowed: true, lookups: true, warnPart: `label volumeguard.io/mode="enforcing" is not off, audit, mutate or enforce; using the default mode audit`},
		{ns: "default", allowed: true, lookups: true, warnPart: "would create an anonymous volume"},
		{ns: "missing", allowed: true, lookups: true, warnPart: `reading namespace "missing"`},
	}
	for _, tt := range tests {
		t.Run(tt.ns, func(t *testing.T) {
			env := newEnv(ModeAudit, namespaces)
			resp := env.handle(t, Validating, request(t, admissionv1.Create, podKind, tt.ns, zkPod(nil), nil))
			if resp.Allowed != tt.allowed {
				t.Errorf("allowed = %v, want %v", resp.Allowed, tt.allowed)
			}
			if got := env.inspector.Calls() > 0; got != tt.lookups {
				t.Errorf("registry looked up: %v, want %v", got, tt.lookups)
			}
			if tt.warnPart != "" && !hasWarning(resp.Warnings, tt.warnPart) {
				t.Errorf("warnings %q lack %q", resp.Warnings, tt.warnPart)
			}
		})
	}
}

func TestSizeLimit(t *testing.T) {
	ns := func(limit string) fakeNamespaces {
		return fakeNamespaces{"default": namespace("default", nil, map[string]string{AnnotationSizeLimit: limit})}
	}
	tests := []struct {
		name       string
		namespaces fakeNamespaces
		pod        map[string]string
		want       string
		warnPart   string
	}{
		{name: "default", want: "1Gi"},
		{name: "namespace", namespaces: ns("2Gi"), want: "2Gi"},
		{name: "pod over namespace", namespaces: ns("2Gi"), pod: map[string]string{AnnotationSizeLimit: "512Mi"}, want: "512Mi"},
		{name: "invalid namespace", namespaces: ns("lots"), want: "1Gi", warnPart: `namespace "default" annotation volumeguard.io/size-limit: "lots" is not a quantity`},
		{name: "invalid pod", pod: map[string]string{AnnotationSizeLimit: "-1Gi"}, want: "1Gi", warnPart: `pod annotation volumeguard.io/size-limit: "-1Gi" is not a positive size; using 1Gi`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(ModeMutate, tt.namespaces)
			pod := zkPod(tt.pod)
			req := request(t, admissionv1.Create, podKind, "default", pod, nil)
			resp := env.handle(t, Mutating, req)
			got := fullPod(t, applyPatch(t, req.Object.Raw, resp))
			if want := expectedMutation(pod, tt.want); !equality.Semantic.DeepEqual(got, want) {
				t.Errorf("mutated pod:\n%s\nwant sizeLimit %s:\n%s", mustJSON(t, got), tt.want, mustJSON(t, want))
			}
			if tt.warnPart != "" && !hasWarning(resp.Warnings, tt.warnPart) {
				t.Errorf("warnings %q lack %q", resp.Warnings, tt.warnPart)
			}
		})
	}
}

// TestMutateCountsEarlierEmptyDirs: the emptyDirs an earlier pass added
// count against policy.MaxAddedVolumes, as the webhook decodes pods only in
// part: a pod that already carries that many gets no more.
func TestMutateCountsEarlierEmptyDirs(t *testing.T) {
	env := newEnv(ModeMutate, nil)
	pod := zkPod(nil)
	for i := range policy.MaxAddedVolumes {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{
			Name: fmt.Sprintf("vg-earlier-%03d", i), VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
		})
	}
	resp := env.handle(t, Mutating, request(t, admissionv1.Create, podKind, "default", pod, nil))
	if len(resp.Patches) != 0 || !hasWarning(resp.Warnings, "at most", "emptyDirs") {
		t.Errorf("patches %v, warnings %q; want none added and a warning that says why", resp.Patches, resp.Warnings)
	}
}

// TestMutateLeavesDevicePaths: a VOLUME path where the container has a
// volumeDevice gets no volumeMount, which the API server would refuse, as
// the webhook decodes pods only in part.
func TestMutateLeavesDevicePaths(t *testing.T) {
	env := newEnv(ModeMutate, nil)
	pod := zkPod(nil)
	pod.Spec.Containers[0].VolumeDevices = []corev1.VolumeDevice{{Name: "block", DevicePath: "/data"}}
	resp := env.handle(t, Mutating, request(t, admissionv1.Create, podKind, "default", pod, nil))
	for _, c := range fullPod(t, applyPatch(t, mustJSON(t, pod), resp)).Spec.Containers {
		for _, m := range c.VolumeMounts {
			if m.MountPath == "/data" {
				t.Errorf("container %q got a volumeMount at its volumeDevice's path", c.Name)
			}
		}
	}
	if !hasWarning(resp.Warnings, "/data", "volumeDevice") {
		t.Errorf("warnings %q; want one saying why /data is left", resp.Warnings)
	}
}
