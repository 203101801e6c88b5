package webhook

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/policy"
	settingsfile "github.com/volumeguard/volumeguard/settings"
)

// LabelAllowIgnore on a Namespace, set to "true", lets its pods and
// workloads exempt paths with the volumeguard.io/ignore annotation.
//
// Why a namespace label: whoever can create a pod can annotate it, so an
// annotation honoured everywhere would let any tenant opt out of enforce.
// The namespace's owner (who sets volumeguard.io/mode too) decides. The
// settings file's rules (--config) always apply: the cluster's operator
// wrote them.
const LabelAllowIgnore = "volumeguard.io/allow-ignore"

// Audit annotation keys of the findings exceptions dropped.
const (
	AuditIgnored        = "ignored"
	AuditIgnoredOmitted = "ignored-omitted"
)

// maxIgnoredListed bounds the paths one warning about exceptions names.
const maxIgnoredListed = 8

// exceptions returns the ignore options of spec: the settings file's for
// its images, and the annotations' where the namespace allows them. what
// names the object ("pod", "pod template") in the warning sent when its
// annotation is not honoured.
func (h *Handler) exceptions(s settings, namespace, what string, spec *corev1.PodSpec, annotations ...map[string]string) (opts []policy.Option, warning string) {
	if !s.allowIgnore {
		if settingsHasIgnore(annotations) {
			warning = fmt.Sprintf("volumeguard: the %s's %s annotation is not honoured: namespace %q does not allow exceptions (its owner can label it %s=true)",
				what, policy.IgnoreAnnotation, namespace, LabelAllowIgnore)
		}
		annotations = nil
	}
	return h.cfg.Settings.PolicyOptions(spec, annotations...), warning
}

// warnUnusedIgnores warns of the paths the honoured ignore annotations
// name that dropped no finding (a typo): the pod gets what they meant to
// exempt it from, and the warning says why. Not when an image could not
// be read (the path may be its), nor for a running pod, whose analysis
// saw only its changed containers.
func (o *outcome) warnUnusedIgnores(s settings, what string, res analysis.Result, annotations ...map[string]string) {
	if !s.allowIgnore || len(res.Errors) > 0 {
		return
	}
	if note := settingsfile.UnusedIgnoresNote(settingsfile.UnusedIgnores(res.Ignored, annotations...)); note != "" {
		o.warn(oneLine("volumeguard: the "+what+"'s "+note, maxWarningRunes))
	}
}

func settingsHasIgnore(annotations []map[string]string) bool {
	return settingsfile.HasIgnoreAnnotation(annotations...)
}

// noteIgnored records the findings exceptions dropped, for the audit
// annotations, and says so in one warning: an exception is visible, not
// silent.
func (o *outcome) noteIgnored(ignored []policy.Finding) {
	if len(ignored) == 0 {
		return
	}
	o.ignored = append(o.ignored, ignored...)
	var b strings.Builder
	for k, f := range ignored {
		if k == maxIgnoredListed {
			fmt.Fprintf(&b, " and %d more", len(ignored)-k)
			break
		}
		if k > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "container %q %s", f.Container, f.Path)
	}
	o.warn(oneLine(fmt.Sprintf("volumeguard: not reported, by exception (%s): %s", policy.IgnoreAnnotation+" or the settings file", b.String()), maxWarningRunes))
}

// ignoredAudit adds the ignored findings to the audit annotations a.
func (o *outcome) ignoredAudit(a map[string]string) {
	if len(o.ignored) == 0 {
		return
	}
	setBounded(a, AuditIgnored, AuditIgnoredOmitted, len(o.ignored), func(buf []byte, i int) []byte {
		return appendAuditFinding(buf, &o.ignored[i])
	})
}
