package policy

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// Node labels through which a pod pins the platform it runs on.
const (
	LabelOS   = "kubernetes.io/os"
	LabelArch = "kubernetes.io/arch"
)

// PlatformConstraint is the set of operating systems and architectures a pod
// can be scheduled on; a nil slice means unconstrained.
type PlatformConstraint struct {
	OS   []string
	Arch []string
}

// Pinned returns the single platform the constraint allows, if exactly one
// OS and one architecture remain; a registry lookup can then skip the others.
func (c PlatformConstraint) Pinned() (Platform, bool) {
	if len(c.Arch) != 1 {
		return Platform{}, false
	}
	os := "linux"
	if c.OS != nil {
		if len(c.OS) != 1 {
			return Platform{}, false
		}
		os = c.OS[0]
	}
	return Platform{OS: os, Architecture: c.Arch[0]}, true
}

// Allows reports whether a platform satisfies the constraint.
func (c PlatformConstraint) Allows(p Platform) bool {
	return (c.OS == nil || slices.Contains(c.OS, p.OS)) &&
		(c.Arch == nil || slices.Contains(c.Arch, p.Architecture))
}

// ConstraintOf reads the platform a pod pins through nodeSelector and
// required node affinity, the two places the scheduler enforces.
func ConstraintOf(spec *corev1.PodSpec) PlatformConstraint {
	var c PlatformConstraint
	for label, dst := range map[string]*[]string{LabelOS: &c.OS, LabelArch: &c.Arch} {
		if v, ok := spec.NodeSelector[label]; ok {
			*dst = []string{v}
		}
		if values, ok := affinityValues(spec, label); ok {
			*dst = intersect(*dst, values)
		}
	}
	return c
}

// affinityValues returns the values a label may take under required node
// affinity. Terms are ORed, so the label is constrained only when every term
// constrains it; the allowed values are then the union over the terms.
func affinityValues(spec *corev1.PodSpec, label string) ([]string, bool) {
	if spec.Affinity == nil || spec.Affinity.NodeAffinity == nil ||
		spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return nil, false
	}
	terms := spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) == 0 {
		return nil, false
	}
	var union []string
	for _, term := range terms {
		values, ok := termValues(term, label)
		if !ok {
			return nil, false
		}
		for _, v := range values {
			if !slices.Contains(union, v) {
				union = append(union, v)
			}
		}
	}
	return union, true
}

// termValues intersects the In expressions of one term on label; NotIn and
// the other operators do not pin a value, so they leave it unconstrained.
func termValues(term corev1.NodeSelectorTerm, label string) ([]string, bool) {
	var values []string
	constrained := false
	for _, expr := range term.MatchExpressions {
		if expr.Key != label || expr.Operator != corev1.NodeSelectorOpIn {
			continue
		}
		if !constrained {
			values, constrained = slices.Clone(expr.Values), true
			continue
		}
		values = intersect(values, expr.Values)
	}
	return values, constrained
}

// intersect keeps the values of a that are in b; a nil a means "anything".
func intersect(a, b []string) []string {
	if a == nil {
		return slices.Clone(b)
	}
	out := []string{}
	for _, v := range a {
		if slices.Contains(b, v) {
			out = append(out, v)
		}
	}
	return out
}
