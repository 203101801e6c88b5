package webhook

import (
	"reflect"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestPodUpdate: a running pod's volumes cannot change, so a new image
// with VOLUMEs is warned about or denied, never patched.
func TestPodUpdate(t *testing.T) {
	old := zkPod(nil)
	old.Spec.Containers[0].Image = plainImg
	changedImage := zkPod(nil)
	labelOnly := old.DeepCopy()
	labelOnly.Labels = map[string]string{"touched": "yes"}
	withDebug := old.DeepCopy()
	withDebug.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: debugImg}}}

	tests := []struct {
		name        string
		subresource string
		cur         *corev1.Pod
		mode        Mode
		endpoint    Endpoint
		allowed     bool
		lookups     bool
		want        []string // in a warning, or in the denial
	}{
		{name: "label only", cur: labelOnly, mode: ModeEnforce, endpoint: Validating, allowed: true},
		{name: "image audit", cur: changedImage, mode: ModeAudit, endpoint: Validating, allowed: true, lookups: true,
			want: []string{`container "zk"`, zkImage, "at /data", "volumes cannot be added to a running pod"}},
		{name: "image mutate", cur: changedImage, mode: ModeMutate, endpoint: Mutating, allowed: true, lookups: true,
			want: []string{`container "zk"`, zkImage, "at /datalog", "recreate the pod"}},
		{name: "image enforce", cur: changedImage, mode: ModeEnforce, endpoint: Validating, allowed: false, lookups: true,
			want: []string{`container "zk"`, zkImage, "/logs", "volumes cannot be added to a running pod", "emptyDir"}},
		{name: "ephemeral audit", subresource: "ephemeralcontainers", cur: withDebug, mode: ModeAudit, endpoint: Validating, allowed: true, lookups: true,
			want: []string{`ephemeralContainer "debug"`, debugImg, "at /cache", "mount an existing pod volume at /cache"}},
		{name: "ephemeral mutate", subresource: "ephemeralcontainers", cur: withDebug, mode: ModeMutate, endpoint: Mutating, allowed: true, lookups: true,
			want: []string{`ephemeralContainer "debug"`, debugImg, "/cache"}},
		{name: "ephemeral enforce", subresource: "ephemeralcontainers", cur: withDebug, mode: ModeEnforce, endpoint: Validating, allowed: false, lookups: true,
			want: []string{`ephemeralContainer "debug"`, debugImg, "/cache", "mount an existing pod volume"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(tt.mode, nil)
			req := request(t, admissionv1.Update, podKind, "default", tt.cur, old)
			req.SubResource = tt.subresource
			resp := env.handle(t, tt.endpoint, req)
			if resp.Allowed != tt.allowed {
				t.Fatalf("allowed = %v, want %v: %s", resp.Allowed, tt.allowed, resultMessage(resp))
			}
			if len(resp.Patches) != 0 {
				t.Errorf("patched a running pod: %v", resp.Patches)
			}
			if got := env.inspector.Calls(); (got > 0) != tt.lookups {
				t.Errorf("registry lookups = %d, want some: %v", got, tt.lookups)
			}
			if env.inspector.Calls() > 1 {
				t.Errorf("looked up %d images; only the changed one should be", env.inspector.Calls())
			}
			if len(tt.want) == 0 {
				return
			}
			if tt.allowed && !hasWarning(resp.Warnings, tt.want...) {
				t.Errorf("no warning with %q in %q", tt.want, resp.Warnings)
			}
			for _, w := range tt.want {
				if !tt.allowed && !strings.Contains(resultMessage(resp), w) {
					t.Errorf("denial lacks %q:\n%s", w, resultMessage(resp))
				}
			}
		})
	}
}

func TestMirrorPodSkipped(t *testing.T) {
	env := newEnv(ModeEnforce, nil)
	pod := zkPod(map[string]string{"kubernetes.io/config.mirror": "0a1b"})
	resp := env.handle(t, Validating, request(t, admissionv1.Create, podKind, "kube-system", pod, nil))
	if !resp.Allowed || env.inspector.Calls() != 0 {
		t.Errorf("allowed %v after %d lookups, want allowed without any", resp.Allowed, env.inspector.Calls())
	}
}

// TestDryRunSameAsReal: a dry run must be answered exactly like the real
// request, in every mode.
func TestDryRunSameAsReal(t *testing.T) {
	for _, mode := range []Mode{ModeAudit, ModeMutate, ModeEnforce} {
		for _, endpoint := range []Endpoint{Mutating, Validating} {
			t.Run(string(mode)+"/"+string(endpoint), func(t *testing.T) {
				env := newEnv(mode, nil)
				req := request(t, admissionv1.Create, podKind, "default", zkPod(nil), nil)
				real := env.handle(t, endpoint, req)
				yes := true
				req.DryRun = &yes
				dry := env.handle(t, endpoint, req)
				// The patch operations come in map order: compare what they do.
				if len(real.Patches) > 0 || len(dry.Patches) > 0 {
					if got, want := applyPatch(t, req.Object.Raw, dry), applyPatch(t, req.Object.Raw, real); string(got) != string(want) {
						t.Errorf("dry run patched the pod to\n%s\nreal request to\n%s", got, want)
					}
					real.Patches, dry.Patches = nil, nil
				}
				if !reflect.DeepEqual(dry, real) {
					t.Errorf("dry run answered\n%+v\nreal request\n%+v", dry, real)
				}
			})
		}
	}
}
