package webhook

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/policy"
)

// outcome gathers what the analysis of a request's pod specs means under
// the namespace's mode, before it becomes one response.
type outcome struct {
	subject  subject
	mode     Mode
	endpoint Endpoint
	warnings []string
	// deny holds what denies the request; empty admits it. reason, if
	// set, says why these deny in a mode that does not deny findings.
	deny   []denial
	reason string
	// findings and errors are everything seen, for the audit annotations;
	// omitted counts the findings past maxFindingsPerPod, not in findings.
	findings []policy.Finding
	omitted  int
	errors   []*analysis.ImageError
	ignored  []policy.Finding // dropped by exceptions (exceptions.go)
	// policy is what Mutate decides populated and unknown paths by.
	policy []policy.Option
}

// denial is one reason to deny: a finding or an unreadable image.
type denial struct {
	finding   policy.Finding
	sizeLimit resource.Quantity
	running   bool // the pod exists: its volumes cannot change
	imageErr  *analysis.ImageError
	reason    string // populated-volumes=deny: why, and the fixes
}

func (o *outcome) warn(w ...string) { o.warnings = append(o.warnings, w...) }

// judge adds one analysed pod spec to o. running says the pod exists
// already (an UPDATE), so nothing can be added to it. In mode mutate on a pod
// that is not running, spec is mutated in place and the mutation returned.
func (h *Handler) judge(o *outcome, res analysis.Result, spec *corev1.PodSpec, limit resource.Quantity, running bool) policy.Mutation {
	var m policy.Mutation
	o.findings = append(o.findings, res.Findings...)
	o.omitted += res.FindingsOmitted
	o.errors = append(o.errors, res.Errors...)
	o.noteIgnored(res.Ignored)
	switch {
	case o.mode == ModeEnforce:
		for _, f := range res.Findings {
			o.deny = append(o.deny, denial{finding: f, sizeLimit: limit, running: running})
		}
	case running:
		for _, f := range res.Findings {
			o.warn(o.subject.wouldCreate(f, runningHint(f)))
		}
	case o.mode == ModeAudit:
		for _, f := range res.Findings {
			o.warn(o.subject.wouldCreate(f, fixHint(f)))
		}
	case o.mode == ModeMutate:
		m = policy.Mutate(spec, res.Findings, limit, o.policy...)
		for _, a := range m.Added {
			o.warn(o.addedWarning(a, limit))
		}
		for _, sk := range m.Skipped {
			o.warn(o.subject.wouldCreate(sk.Finding, sk.Reason))
		}
		for _, d := range m.Denied {
			o.deny = append(o.deny, denial{finding: d.Finding, sizeLimit: limit, reason: d.Reason})
		}
		for _, u := range m.Unfixable {
			o.warn(o.subject.wouldCreate(u.Finding, unfixedHint(u)))
		}
	}
	for _, e := range res.Errors {
		// Audit never denies: it is how volumeguard is rolled out safely.
		if h.cfg.OnRegistryError == DenyOnRegistryError && o.mode != ModeAudit {
			o.deny = append(o.deny, denial{imageErr: e})
			continue
		}
		o.warn(o.subject.imageErrorWarning(e))
	}
	return m
}

// addedWarning says what mutation did, or, where this endpoint cannot
// mutate, what will or should have happened.
func (o *outcome) addedWarning(a policy.Added, limit resource.Quantity) string {
	switch {
	case !o.subject.isPod():
		return o.subject.willGet(a, limit)
	case o.endpoint == Mutating:
		return o.subject.added(a, limit)
	}
	// A pod on /validate in mode mutate should have been mutated already:
	// the mutating webhook is not installed, failed open or was skipped.
	return o.subject.wouldCreate(a.Finding, notMutatedHint(a.Finding))
}

// response turns o into the answer: allowed (possibly patched) unless
// something denies it, always with its warnings and audit annotations.
func (o *outcome) response(allowed admission.Response) admission.Response {
	resp := allowed
	if o.omitted > 0 {
		// First, so that the cap on warnings never drops it.
		o.warnings = append([]string{o.omittedNote()}, o.warnings...)
	}
	if len(o.deny) > 0 {
		resp = admission.Denied(capText(o.denialMessage(), maxDenialBytes))
	}
	resp = resp.WithWarnings(limitWarnings(o.warnings)...)
	resp.AuditAnnotations = o.auditAnnotations()
	return resp
}
