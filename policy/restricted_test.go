package policy

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
)

// TestCopyStaysRestricted runs PodSecurity's own checks (the code the API
// server's admission plugin runs) on pods mutated under PopulatedCopy: a pod
// valid under restricted stays valid, whether it sets the required fields
// on its containers or on the pod.
func TestCopyStaysRestricted(t *testing.T) {
	evaluator, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	restricted := psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}
	podLevel := func() *corev1.PodSpec {
		app := container("app", "app")
		app.SecurityContext = &corev1.SecurityContext{
			AllowPrivilegeEscalation: new(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		}
		return &corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   new(true),
				RunAsUser:      new(int64(65532)),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{app},
		}
	}
	for name, spec := range map[string]*corev1.PodSpec{
		"container level": copySpecRestricted(),
		"pod level":       podLevel(),
	} {
		t.Run(name, func(t *testing.T) {
			assertAllowed(t, evaluator, restricted, spec, "before")
			m := Mutate(spec, Findings(spec, appImages(), copyOpts()...), resource.MustParse("1Gi"), copyOpts()...)
			if len(m.InitContainers) < 2 {
				t.Fatalf("Mutate added init containers %q, want the install and a copy", m.InitContainers)
			}
			assertAllowed(t, evaluator, restricted, spec, "after mutation")

			// The check can fail: an install container without its
			// securityContext is forbidden.
			bare := spec.DeepCopy()
			bare.InitContainers[0].SecurityContext = nil
			if psapolicy.AggregateCheckResults(evaluator.EvaluatePod(restricted, &metav1.ObjectMeta{Name: "p"}, bare)).Allowed {
				t.Error("PodSecurity restricted allows an install container without securityContext")
			}
		})
	}
}

// copySpecRestricted is copySpec with every container valid under restricted.
func copySpecRestricted() *corev1.PodSpec {
	return &corev1.PodSpec{
		InitContainers: []corev1.Container{restrictedApp("plugins", "tool")},
		Containers:     []corev1.Container{restrictedApp("app", "app"), restrictedApp("sidecar", "busybox")},
	}
}

func assertAllowed(t *testing.T, e psapolicy.Evaluator, lv psaapi.LevelVersion, spec *corev1.PodSpec, when string) {
	t.Helper()
	result := psapolicy.AggregateCheckResults(e.EvaluatePod(lv, &metav1.ObjectMeta{Name: "p"}, spec))
	if !result.Allowed {
		t.Errorf("%s: PodSecurity %s forbids the pod: %s: %s", when, lv.Level, result.ForbiddenReason(), result.ForbiddenDetail())
	}
}
