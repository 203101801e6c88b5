package webhook

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/policy"
)

// Kubernetes truncates each warning to 256 runes once a response's warnings
// pass 4 KiB; kubectl prints one per line. So a warning is one line of at
// most maxWarningRunes, and a response has at most maxWarnings of them:
// 10 x 256 stays well under the total even with the other webhooks' warnings.
const (
	maxWarnings      = 10
	maxWarningRunes  = 256
	maxDeniedDetails = 10
)

// subject is what the findings are about: the pod of the request (kind
// empty), or the pods a workload will create.
type subject struct {
	kind, name string
}

func (s subject) isPod() bool { return s.kind == "" }

// container names a finding's container and image. The warnings of a
// mutated answer are concatenated, not formatted with fmt: the same text
// (%q is strconv.Quote) at a fraction of the cost (docs/benchmarks.md).
func container(f policy.Finding) string {
	return string(f.ContainerType) + " " + strconv.Quote(f.Container) + " (image " + strconv.Quote(shortImage(f.Image)) + ")"
}

// maxImageRunes keeps a long image reference from pushing the path out of a
// warning's 256 runes.
const maxImageRunes = 96

// shortImage cuts the middle of a long image reference: its registry and
// its name and tag or digest are what a reader recognizes.
func shortImage(image string) string {
	r := []rune(image)
	if len(r) <= maxImageRunes {
		return image
	}
	return string(r[:40]) + "…" + string(r[len(r)-(maxImageRunes-41):])
}

// anonymousAt says where the runtime creates the anonymous volume.
func anonymousAt(f policy.Finding) string {
	where := "an anonymous volume at " + policy.QuotePath(f.Path)
	if f.Relative {
		where = "an anonymous volume for the relative VOLUME " + policy.QuotePath(f.Path)
	}
	if len(f.Platforms) > 0 {
		where += " on " + f.PlatformNames()
	}
	return where
}

// wouldCreate is the warning for a finding that stays: who would create
// which anonymous volume, and the hint that says how to fix it.
func (s subject) wouldCreate(f policy.Finding, hint string) string {
	if s.isPod() {
		return "volumeguard: " + container(f) + " would create " + anonymousAt(f) + "; " + hint
	}
	return fmt.Sprintf("volumeguard: pods of %s %q would create %s (%s); %s", s.kind, s.name, anonymousAt(f), container(f), hint)
}

// added is the warning for an emptyDir that /mutate added to the pod.
func (s subject) added(a policy.Added, limit resource.Quantity) string {
	return "volumeguard: added emptyDir " + strconv.Quote(a.VolumeName) + " (sizeLimit " + limit.String() + ") at " +
		policy.QuotePath(a.MountPath) + " to " + container(a.Finding) + ", which declares VOLUME " + policy.QuotePath(a.Finding.Path) +
		nearMissNote(a.Finding)
}

// nearMissNote is what a warning about an added emptyDir adds for a near
// miss: the emptyDir bounds the disk, but what the container writes
// outside its own mount is lost with the pod as it would have been with
// the anonymous volume.
func nearMissNote(f policy.Finding) string {
	near := f.NearMiss()
	if near == "" {
		return ""
	}
	return "; " + near + "; the emptyDir bounds the disk but does not make that data persistent"
}

// willGet is the warning for a workload whose pods /mutate will change.
func (s subject) willGet(a policy.Added, limit resource.Quantity) string {
	return fmt.Sprintf("volumeguard: pods of %s %q will get an emptyDir (sizeLimit %s) at %s (%s declares VOLUME %s)",
		s.kind, s.name, limit.String(), policy.QuotePath(a.MountPath), container(a.Finding), policy.QuotePath(a.Finding.Path))
}

func (s subject) imageErrorWarning(e *analysis.ImageError) string {
	who := ""
	if !s.isPod() {
		who = fmt.Sprintf("pods of %s %q: ", s.kind, s.name)
	}
	return fmt.Sprintf("volumeguard: %scould not check image %q (%s %q) for VOLUMEs (%s): %v",
		who, shortImage(e.Image), e.ContainerType, e.Container, errorReason(e.Err), e.Err)
}

// fixHint is the short fix of a finding in a pod that is being created.
func fixHint(f policy.Finding) string {
	switch {
	case f.Relative:
		return "no volumeMount can cover a relative VOLUME; fix: rebuild the image with an absolute VOLUME path"
	case f.Unmountable() != "":
		return "no volumeMount can cover it (" + f.Unmountable() + "); fix: rebuild the image without this VOLUME"
	case f.ContainerType == policy.EphemeralContainer:
		return "volumes cannot be added to a running pod; fix: mount an existing pod volume at " + policy.QuotePath(path.Clean(f.Path)) + ", or use an image without this VOLUME"
	}
	if near := f.NearMiss(); near != "" {
		return near
	}
	if hides := f.Hides(); hides != "" {
		return "fix: mount a volume holding what the image ships at " + policy.QuotePath(path.Clean(f.Path)) + " (" + hides + ")"
	}
	return "fix: mount an emptyDir with a sizeLimit at " + policy.QuotePath(path.Clean(f.Path))
}

// runningHint is the short fix of a finding in a pod that exists already.
func runningHint(f policy.Finding) string {
	if !f.Fixable() {
		return fixHint(f)
	}
	return "volumes cannot be added to a running pod; fix: add an emptyDir at " + policy.QuotePath(path.Clean(f.Path)) + " to the pod's template and recreate the pod"
}

// unfixedHint is the hint for a finding Mutate left uncovered: why, when
// the pod itself stood in the way (a volumeDevice there, too many paths),
// else the finding's own fix.
func unfixedHint(u policy.Unfixable) string {
	if u.Finding.Fixable() {
		return u.Reason
	}
	return fixHint(u.Finding)
}

func notMutatedHint(f policy.Finding) string {
	return "the volumeguard mutating webhook did not cover it; " + fixHint(f)
}

// denialMessage names, for each reason to deny, the container, the image,
// the path and the fix (as pod spec YAML), or the image that could not be
// read and why.
func (o *outcome) denialMessage() string {
	var b strings.Builder
	what := "this pod"
	if !o.subject.isPod() {
		what = fmt.Sprintf("%s %q: its pods would create anonymous volumes", o.subject.kind, o.subject.name)
	}
	fmt.Fprintf(&b, "volumeguard (mode %s) denies %s:", o.mode, what)
	if o.reason != "" {
		fmt.Fprintf(&b, " %s:", o.reason)
	}
	var fixable []policy.Finding
	var limit resource.Quantity
	for i, d := range o.deny {
		if i == maxDeniedDetails {
			more := len(o.deny) - i
			if o.mode == ModeEnforce {
				more += o.omitted // counted, not built: denied all the same
			}
			fmt.Fprintf(&b, "\n... and %d more", more)
			break
		}
		if e := d.imageErr; e != nil {
			fmt.Fprintf(&b, "\n- could not check image %q of %s %q for VOLUMEs (%s): %v\n  fix: make the image readable (name, tag, registry access) and retry",
				e.Image, e.ContainerType, e.Container, errorReason(e.Err), e.Err)
			continue
		}
		b.WriteString("\n- " + d.finding.Problem())
		if d.reason != "" {
			// populated-volumes=deny: what the image ships there, and the fixes.
			b.WriteString("\n  " + d.reason)
			continue
		}
		if d.running && d.finding.Fixable() {
			b.WriteString("\n  volumes cannot be added to a running pod: change the pod's template (Deployment, StatefulSet, ...) and recreate the pod")
		}
		if !d.finding.Fixable() || d.finding.Hides() != "" || len(d.finding.NearMounts) > 0 {
			// Its own fix: a plain emptyDir would hide what the image
			// ships there, or the mount belongs at the path itself.
			b.WriteString("\n  fix: " + d.finding.Fix(d.sizeLimit))
			continue
		}
		fixable = append(fixable, d.finding)
		limit = d.sizeLimit
	}
	// One YAML fragment for every path a mount can cover, grouped by
	// container, rather than one per path.
	if fix := policy.FixYAML(fixable, limit); fix != "" {
		b.WriteString("\nfix: cover each path with an emptyDir that has a sizeLimit, in the pod spec:\n")
		b.WriteString(strings.TrimRight(policy.Indent(fix, "  "), "\n"))
	}
	return b.String()
}

// omittedNote says that findings past maxFindingsPerPod were counted, not
// listed or covered.
func (o *outcome) omittedNote() string {
	return fmt.Sprintf("volumeguard: %d uncovered VOLUME paths past the first %d of a pod spec are counted, not listed or covered; run `volumeguard check` on the manifest for the full list",
		o.omitted, maxFindingsPerPod)
}

// limitWarnings makes each warning one short line, drops repeats and caps
// the count with a final "... and N more".
func limitWarnings(ws []string) []string {
	var seen map[string]bool // past a few warnings only: a map per answer showed in profiles
	if len(ws) > 16 {
		seen = make(map[string]bool, len(ws))
	}
	var out []string
	for i, w := range ws {
		if seen != nil && seen[w] || seen == nil && slices.Contains(ws[:i], w) {
			continue
		}
		if seen != nil {
			seen[w] = true
		}
		out = append(out, oneLine(w, maxWarningRunes))
	}
	if len(out) > maxWarnings {
		more := len(out) - (maxWarnings - 1)
		out = append(out[:maxWarnings-1:maxWarnings-1],
			fmt.Sprintf("volumeguard: ... and %d more; run `volumeguard check` on the manifest for the full list", more))
	}
	return out
}

// oneLine replaces control characters (newlines of wrapped errors) with
// spaces and cuts s to max runes, marking the cut.
func oneLine(s string, max int) string {
	if len(s) <= max && printableASCII(s) {
		return s // the usual warning: nothing to replace or cut
	}
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max-1]) + "…"
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
