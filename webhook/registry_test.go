package webhook

import (
	"fmt"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/volumeguard/volumeguard/imageinspect"
)

const privateImg = "registry.example/private/app:1"

// podWithPrivate is zkPod plus a container whose image cannot be read.
func podWithPrivate() *corev1.Pod {
	pod := zkPod(nil)
	pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "app", Image: privateImg})
	return pod
}

func TestRegistryErrors(t *testing.T) {
	unauthorized := fmt.Errorf("reading manifest %q: %w (check imagePullSecrets): 401", privateImg, imageinspect.ErrUnauthorized)
	tests := []struct {
		name     string
		policy   RegistryErrorPolicy
		mode     Mode
		endpoint Endpoint
		pod      *corev1.Pod
		allowed  bool
		patched  bool
	}{
		{name: "allow enforce", policy: AllowOnRegistryError, mode: ModeEnforce, endpoint: Validating, pod: zkPod(nil), allowed: false},
		{name: "allow enforce clean pod", policy: AllowOnRegistryError, mode: ModeEnforce, endpoint: Validating, allowed: true},
		{name: "deny enforce", policy: DenyOnRegistryError, mode: ModeEnforce, endpoint: Validating, allowed: false},
		{name: "deny audit never denies", policy: DenyOnRegistryError, mode: ModeAudit, endpoint: Validating, allowed: true},
		{name: "allow mutate mutates what it could read", policy: AllowOnRegistryError, mode: ModeMutate, endpoint: Mutating, pod: podWithPrivate(), allowed: true, patched: true},
		{name: "deny mutate", policy: DenyOnRegistryError, mode: ModeMutate, endpoint: Mutating, pod: podWithPrivate(), allowed: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(tt.mode, nil)
			env.inspector.errs = map[string]error{privateImg: unauthorized}
			env.cfg.OnRegistryError = tt.policy
			pod := tt.pod
			if pod == nil {
				pod = &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: privateImg}}}}
			}
			if pod.Spec.Containers[len(pod.Spec.Containers)-1].Image != privateImg {
				pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "app", Image: privateImg})
			}
			resp := env.handle(t, tt.endpoint, request(t, admissionv1.Create, podKind, "default", pod, nil))
			if resp.Allowed != tt.allowed {
				t.Fatalf("allowed = %v, want %v: %s", resp.Allowed, tt.allowed, resultMessage(resp))
			}
			if got := len(resp.Patches) > 0; got != tt.patched {
				t.Errorf("patched = %v, want %v", got, tt.patched)
			}
			// Whatever the outcome, the image and the reason are named.
			parts := []string{privateImg, `container "app"`, "(unauthorized)", "check imagePullSecrets"}
			if tt.policy == DenyOnRegistryError && !tt.allowed {
				for _, p := range parts {
					if !strings.Contains(resultMessage(resp), p) {
						t.Errorf("denial lacks %q:\n%s", p, resultMessage(resp))
					}
				}
			} else if !hasWarning(resp.Warnings, parts...) {
				t.Errorf("no warning with %q in %q", parts, resp.Warnings)
			}
			if !strings.Contains(resp.AuditAnnotations[AuditImageErrors], `"reason":"unauthorized"`) {
				t.Errorf("image-errors audit annotation = %q", resp.AuditAnnotations[AuditImageErrors])
			}
			if got := counterValue(t, env.cfg.Metrics.lookupErrors.WithLabelValues(string(tt.endpoint), "unauthorized")); got != 1 {
				t.Errorf("unauthorized lookup errors = %v, want 1", got)
			}
		})
	}
}

func TestErrorReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("x: %w", imageinspect.ErrNotFound), "not_found"},
		{fmt.Errorf("x: %w", imageinspect.ErrUnauthorized), "unauthorized"},
		{fmt.Errorf("x: %w", imageinspect.ErrTimeout), "timeout"},
		{fmt.Errorf("waiting: %w", contextDeadlineExceeded()), "timeout"},
		{fmt.Errorf("x: %w", imageinspect.ErrTooLarge), "too_large"},
		{fmt.Errorf("x: %w", imageinspect.ErrRegistryNotAllowed), "not_allowed"},
		{fmt.Errorf("the container names no image"), "other"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := errorReason(tt.err); got != tt.want {
				t.Errorf("errorReason(%v) = %s, want %s", tt.err, got, tt.want)
			}
		})
	}
}
