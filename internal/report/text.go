package report

import (
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/volumeguard/volumeguard/policy"
)

// Container is one container's part of a text report: its findings (one
// image), and what the command adds about where they are.
type Container struct {
	Findings []Finding
	// Where follows the container's line ("3 pods on node-1"), and
	// PathWhere[i] the line of Findings[i] ("1 pod on node-1"), when set.
	Where     string
	PathWhere []string
	// FixIn names what the fix goes in: "pod spec" or "pod template".
	FixIn     string
	SizeLimit resource.Quantity
}

// WriteContainer writes c for people: the container and its image, each
// uncovered path and why, and the fix, as one YAML fragment for the paths a
// mount can cover. Paths and platforms come from the image and are quoted
// where they hold anything but plain text.
func WriteContainer(w io.Writer, c Container) {
	first := c.Findings[0]
	digest, where := "", ""
	if first.Digest != "" {
		digest = " @ " + first.Digest
	}
	if c.Where != "" {
		where = ": " + c.Where
	}
	fmt.Fprintf(w, "  %s %q, image %s%s%s\n", first.ContainerType, first.Container, first.Image, digest, where)
	var fixable []policy.Finding
	for i, f := range c.Findings {
		pathWhere := ""
		if i < len(c.PathWhere) && c.PathWhere[i] != "" {
			pathWhere = " (" + c.PathWhere[i] + ")"
		}
		fmt.Fprintf(w, "    VOLUME %s: %s%s%s\n", policy.QuotePath(f.Path), f.source.UncoveredReason(), pathWhere, contentWords(f.Content))
		if near := f.source.NearMiss(); near != "" {
			fmt.Fprintf(w, "      near miss: %s\n", near)
		}
		if !f.source.Fixable() || f.source.Hides() != "" || len(f.NearMounts) > 0 {
			// Said for this path alone: a plain emptyDir would hide what
			// the image ships, or the mount belongs at the path itself.
			// A fix with YAML (a near miss) spans lines: they go under
			// "fix:", as the shared fragment goes under its own.
			fix := strings.TrimSuffix(f.source.Fix(c.SizeLimit), "\n")
			fmt.Fprintf(w, "      fix: %s\n", strings.ReplaceAll(fix, "\n", "\n      "))
			continue
		}
		fixable = append(fixable, f.source)
	}
	if len(fixable) > 0 {
		fmt.Fprintf(w, "    fix: cover each path with an emptyDir that has a sizeLimit, in the %s:\n", c.FixIn)
		fmt.Fprint(w, policy.Indent(policy.FixYAML(fixable, c.SizeLimit), "      "))
	}
}

// contentWords says what the image ships at the path, when it was scanned:
// "; the image ships 3 files, 1.1 KiB there".
func contentWords(c *policy.Content) string {
	switch {
	case c == nil:
		return ""
	case c.State == policy.ContentUnknown && c.Reason != "":
		return "; what the image ships there is not known (" + c.Reason + ")"
	case c.State == policy.ContentUnknown:
		return "; what the image ships there is not known"
	case c.State == policy.ContentAbsent:
		return "; the image ships nothing there"
	case c.State == policy.ContentEmpty || c.NotDirectory():
		// Summary says "there" itself for these.
		return "; the image " + c.Summary()
	}
	return "; the image " + c.Summary() + " there"
}

// Plural is "1 finding", "2 findings".
func Plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// IgnoredNote says how many findings exceptions dropped, for the notes of
// check, fix and audit: an exception is visible in every run, never silent.
func IgnoredNote(n int) string {
	if n == 1 {
		return "1 finding ignored by an exception (volumeguard.io/ignore annotation or settings file)"
	}
	return fmt.Sprintf("%d findings ignored by exceptions (volumeguard.io/ignore annotations or settings file)", n)
}
