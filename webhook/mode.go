package webhook

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/policy"
)

// Kubernetes-facing names (DESIGN.md section 4).
const (
	// LabelMode on a Namespace overrides the server's --mode for its pods.
	LabelMode = "volumeguard.io/mode"
	// AnnotationSizeLimit on a Namespace or a Pod (template) sets the
	// sizeLimit of the emptyDirs that mutation adds; the pod's wins.
	AnnotationSizeLimit = policy.AnnotationSizeLimit
	// annotationMirror marks the kubelet's API copy of a static pod, which
	// the kubelet runs from its own manifest whatever admission says.
	annotationMirror = "kubernetes.io/config.mirror"
)

// Mode is what the webhook does with the findings of a namespace's pods.
type Mode string

const (
	// ModeOff admits everything at once, without reading any image.
	ModeOff Mode = "off"
	// ModeAudit admits unchanged, with warnings and audit annotations: the
	// safe way to roll volumeguard out.
	ModeAudit Mode = "audit"
	// ModeMutate covers each finding with an emptyDir bounded by a sizeLimit.
	ModeMutate Mode = "mutate"
	// ModeEnforce denies pods with findings.
	ModeEnforce Mode = "enforce"
)

// ParseMode accepts off, audit, mutate and enforce.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeOff, ModeAudit, ModeMutate, ModeEnforce:
		return m, nil
	}
	return "", fmt.Errorf("invalid mode %q: want off, audit, mutate or enforce", s)
}

// RegistryErrorPolicy says what happens to a pod whose image cannot be read.
type RegistryErrorPolicy string

const (
	// AllowOnRegistryError admits, with a warning naming the image and why.
	AllowOnRegistryError RegistryErrorPolicy = "allow"
	// DenyOnRegistryError denies in modes mutate and enforce. Audit never
	// denies: it is the mode that must not break anything.
	DenyOnRegistryError RegistryErrorPolicy = "deny"
)

// ParseRegistryErrorPolicy accepts allow and deny.
func ParseRegistryErrorPolicy(s string) (RegistryErrorPolicy, error) {
	switch p := RegistryErrorPolicy(s); p {
	case AllowOnRegistryError, DenyOnRegistryError:
		return p, nil
	}
	return "", fmt.Errorf("invalid registry error policy %q: want allow or deny", s)
}

// NamespaceGetter returns a namespace, from an informer's cache in the
// server; tests use a map.
type NamespaceGetter interface {
	GetNamespace(ctx context.Context, name string) (*corev1.Namespace, error)
}

// settings are what a request is judged by: the namespace's mode and its
// size limit, and warnings about values that could not be used.
type settings struct {
	mode      Mode
	sizeLimit resource.Quantity
	populated policy.PopulatedPolicy
	warnings  []string
	// allowIgnore: the pods' volumeguard.io/ignore annotations are honoured
	// (LabelAllowIgnore, or HandlerConfig.AllowPodIgnore).
	allowIgnore bool
}

// settingsFor reads the namespace's label and annotation over the server's
// defaults. Bad values never fail a request: they fall back to the default
// and say so in a warning, since the person creating the pod may not be the
// one who can fix the namespace.
func (h *Handler) settingsFor(ctx context.Context, namespace string) settings {
	s := settings{mode: h.cfg.DefaultMode, sizeLimit: h.cfg.DefaultSizeLimit, allowIgnore: h.cfg.AllowPodIgnore, populated: h.cfg.Populated}
	if namespace == "" || h.cfg.Namespaces == nil {
		return s
	}
	ns, err := h.cfg.Namespaces.GetNamespace(ctx, namespace)
	if err != nil {
		s.warnings = append(s.warnings, fmt.Sprintf("volumeguard: reading namespace %q: %v; using the default mode %s", namespace, err, s.mode))
		return s
	}
	if v, ok := ns.Labels[LabelMode]; ok {
		if m, err := ParseMode(v); err == nil {
			s.mode = m
		} else {
			s.warnings = append(s.warnings, fmt.Sprintf("volumeguard: namespace %q label %s=%q is not off, audit, mutate or enforce; using the default mode %s", namespace, LabelMode, v, s.mode))
		}
	}
	s.allowIgnore = s.allowIgnore || ns.Labels[LabelAllowIgnore] == "true"
	if v, ok := ns.Annotations[AnnotationSizeLimit]; ok {
		s.sizeLimit = s.parseSizeLimit("namespace "+fmt.Sprintf("%q", namespace), v, s.sizeLimit)
	}
	s.populatedFrom(fmt.Sprintf("namespace %q", namespace), ns.Annotations, false)
	return s
}

// withPodSizeLimit applies a pod's (or pod template's) annotation.
func (s settings) withPodSizeLimit(what string, annotations map[string]string) settings {
	if v, ok := annotations[AnnotationSizeLimit]; ok {
		s.warnings = append([]string(nil), s.warnings...)
		s.sizeLimit = s.parseSizeLimit(what, v, s.sizeLimit)
	}
	return s
}

func (s *settings) parseSizeLimit(what, value string, fallback resource.Quantity) resource.Quantity {
	q, err := ParseSizeLimit(value)
	if err != nil {
		s.warnings = append(s.warnings, fmt.Sprintf("volumeguard: %s annotation %s: %v; using %s", what, AnnotationSizeLimit, err, fallback.String()))
		return fallback
	}
	return q
}

// ParseSizeLimit parses a positive quantity such as 512Mi or 2Gi.
func ParseSizeLimit(s string) (resource.Quantity, error) {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return q, fmt.Errorf("%q is not a quantity such as 512Mi or 2Gi", s)
	}
	if q.Sign() <= 0 {
		return q, fmt.Errorf("%q is not a positive size", s)
	}
	return q, nil
}
