package report

import (
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Rule is a kind of row, as CI formats name it (SARIF rules, GitHub
// annotation titles, GitLab check names). IDs are part of the contract:
// code-scanning alerts and baselines are keyed on them.
type Rule struct {
	ID, Name string
	// Short is one line; Help says how to fix it.
	Short, Help string
}

// IDs of the rules. A new kind of row gets the next ID; an ID is never
// reused.
const (
	RuleUncoveredVolume    = "VG001"
	RuleNearMissMount      = "VG002"
	RuleImageUnreadable    = "VG003"
	RuleUncoverableVolume  = "VG004"
	RuleManifestUnreadable = "VG005"
)

// Rules lists every rule in ID order, for formats that declare them up
// front.
func Rules() []Rule {
	return []Rule{
		{ID: RuleUncoveredVolume, Name: "uncovered-image-volume",
			Short: "An image VOLUME that no volumeMount of the container covers",
			Help: "The image declares a VOLUME that no volumeMount of this container covers by exact path, so the container runtime " +
				"creates an anonymous volume on the node there: writes escape ephemeral-storage limits and can fill the node's disk. " +
				"Fix: add an emptyDir with a sizeLimit (or another volume) mounted at exactly that path, as the result's message shows, " +
				"or run `volumeguard fix` on the manifest."},
		{ID: RuleNearMissMount, Name: "near-miss-mount",
			Short: "An image VOLUME with a volumeMount above or inside it but none at it",
			Help: "A volumeMount of this container lies above or inside the image VOLUME but not at it; runtimes match mounts by exact " +
				"path, so an anonymous volume is still created at the VOLUME path and takes what the container writes there. " +
				"Fix: mount your volume at exactly the VOLUME path."},
		{ID: RuleImageUnreadable, Name: "image-unreadable",
			Short: "An image whose config could not be read",
			Help: "The image's config could not be read from its registry, so its VOLUMEs are unknown and a finding may hide there. " +
				"Fix: check the reference, the credentials (docker config, --registry-* flags) and that the registry is reachable."},
		{ID: RuleUncoverableVolume, Name: "uncoverable-image-volume",
			Short: "An image VOLUME that no volumeMount can cover",
			Help: "The image declares a VOLUME no volumeMount can cover (a relative path, /, a path no pod spec can name): the runtime " +
				"always creates an anonymous volume there. Fix: rebuild the image without that VOLUME, or use another image."},
		{ID: RuleManifestUnreadable, Name: "manifest-unreadable",
			Short: "A manifest that could not be read or evaluated",
			Help: "A file or document could not be read, decoded or evaluated in time, so its pod specs were not checked. " +
				"Fix: correct the manifest (the message names the document), or raise --timeout."},
	}
}

// ruleByID is the rule of a known ID.
func ruleByID(id string) Rule {
	for _, r := range Rules() {
		if r.ID == id {
			return r
		}
	}
	return Rule{ID: id}
}

// FindingRule is the rule a finding breaks.
func FindingRule(f Finding) Rule {
	switch {
	case f.source.Relative || f.source.Unmountable() != "":
		return ruleByID(RuleUncoverableVolume)
	case len(f.source.NearMounts) > 0:
		return ruleByID(RuleNearMissMount)
	}
	return ruleByID(RuleUncoveredVolume)
}

// ProblemRule is the rule of a problem: an image, or the input itself.
func ProblemRule(p Problem) Rule {
	if p.Image != "" {
		return ruleByID(RuleImageUnreadable)
	}
	return ruleByID(RuleManifestUnreadable)
}

// FailsGate reports whether a row makes the exit code non-zero. Today
// every finding (exit 1) and every problem (exit 2) does, as
// Summary.ExitCode decides; formats ask here, so that a row that does not
// (a finding kept for information) gets a milder level in every format.
func FailsGate(Row) bool { return true }

// findingMessage is what CI formats say of a finding: the object, the
// problem in one sentence, and the fix.
func findingMessage(r Row, sizeLimit resource.Quantity) string {
	f := r.Shared()
	return objectName(r.Subject()) + ": " + f.source.Problem() + ".\nFix: " + f.source.Fix(f.SizeLimit(sizeLimit))
}

func problemMessage(p ProblemRow) string {
	if name := objectName(p.Subject()); strings.TrimSpace(name) != "" {
		return name + ": " + p.Shared().Message
	}
	return p.Shared().Message
}

// objectName is "Deployment default/zk (from chart/templates/x.yaml)".
func objectName(s Subject) string {
	return Subject{Kind: s.Kind, Namespace: s.Namespace, Name: s.Name, Template: s.Template}.String()
}
