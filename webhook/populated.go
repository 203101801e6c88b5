package webhook

import (
	"fmt"

	"github.com/volumeguard/volumeguard/policy"
)

// AnnotationPopulatedVolumes on a Namespace or a Pod sets what mode mutate
// does with a VOLUME path the image ships files under: skip, copy or deny
// (policy.PopulatedPolicy), over the server's --populated-volumes.
//
// A Pod's annotation overrides its namespace's, except that a pod cannot
// leave deny: deny is the namespace owner's refusal of pods that leave
// populated paths to the runtime, which a pod author must not opt out of.
// Within it a pod may choose copy (its application needs the files) or
// skip, or deny for itself.
const AnnotationPopulatedVolumes = "volumeguard.io/populated-volumes"

// populatedFrom reads the annotation of what (a namespace or the pod) over
// s.populated, warning about a bad value or a pod leaving its namespace's
// deny.
func (s *settings) populatedFrom(what string, annotations map[string]string, isPod bool) {
	v, ok := annotations[AnnotationPopulatedVolumes]
	if !ok {
		return
	}
	p, err := policy.ParsePopulatedPolicy(v)
	switch {
	case err != nil:
		s.warnings = append(s.warnings, fmt.Sprintf("volumeguard: %s annotation %s: %v; using %s", what, AnnotationPopulatedVolumes, err, s.populated))
	case isPod && s.populated == policy.PopulatedDeny && p != policy.PopulatedDeny:
		s.warnings = append(s.warnings, fmt.Sprintf("volumeguard: %s annotation %s=%s is ignored: the namespace denies pods that leave populated VOLUME paths to the runtime (deny)", what, AnnotationPopulatedVolumes, v))
	default:
		s.populated = p
	}
}

// policyOptions are what policy.Findings and policy.Mutate decide by for
// this request.
func (h *Handler) policyOptions(s settings) []policy.Option {
	return []policy.Option{
		policy.WithPopulated(s.populated), policy.WithUnknown(h.cfg.PopulatedUnknown),
		policy.WithCopierImage(h.cfg.CopierImage), policy.WithKnownCopierImages(h.cfg.KnownCopierImages...),
	}
}
