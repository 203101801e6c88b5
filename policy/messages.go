package policy

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Problem says in one sentence what is wrong, naming container, image and
// path, what the image ships there when known, and the near-miss mounts.
func (f Finding) Problem() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q (image %q) declares VOLUME %s", f.ContainerType, f.Container, f.Image, QuotePath(f.Path))
	if len(f.Platforms) > 0 {
		fmt.Fprintf(&b, " on %s", f.PlatformNames())
	}
	if c := f.Content; c != nil {
		switch c.State {
		case ContentPopulated, ContentEmpty, ContentAbsent:
			fmt.Fprintf(&b, ", where the image %s,", c.shipsWhat())
		default:
			b.WriteString(", where what the image ships is not known,")
		}
	}
	if f.Relative {
		b.WriteString(" a relative path that no volumeMount can cover")
	} else {
		b.WriteString(" and no volumeMount of this container covers it")
	}
	b.WriteString(": the runtime creates an anonymous volume there that escapes ephemeral-storage limits")
	if near := f.NearMiss(); near != "" {
		b.WriteString("; " + near)
	}
	return b.String()
}

// Fix says how to fix a finding. Paths that a mount can cover get the YAML
// to add; the others get the only remedy that exists. A populated path gets
// what an emptyDir would hide and the alternatives, and with
// WithCopierImage among opts the YAML of the copy too. A near miss gets the
// mount that keeps the data first.
func (f Finding) Fix(sizeLimit resource.Quantity, opts ...Option) string {
	switch {
	case f.Relative:
		return fmt.Sprintf("rebuild image %q with an absolute VOLUME path, or without the VOLUME", f.Image)
	case f.Unmountable() != "":
		return fmt.Sprintf("rebuild image %q without VOLUME %s: %s", f.Image, QuotePath(f.Path), f.Unmountable())
	case f.Content != nil && f.Content.NotDirectory():
		return fmt.Sprintf("rebuild image %q without VOLUME %s: %s", f.Image, QuotePath(f.Path), notDirectory)
	case f.ContainerType == EphemeralContainer:
		return fmt.Sprintf("use an image without VOLUME %s for the ephemeral container, or mount an existing pod volume at %s", QuotePath(f.Path), QuotePath(path.Clean(f.Path)))
	}
	at := QuotePath(path.Clean(f.Path))
	keep := ""
	if len(f.NearMounts) > 0 {
		keep = "to keep what the container writes there, mount your volume at " + at + " itself; otherwise "
	}
	if hides := f.Hides(); hides != "" {
		fix := keep + hides + ": " + f.copyAlternative()
		if makeOptions(opts).copierImage == "" {
			return fix
		}
		copyOpts := append(slices.Clip(opts), WithPopulated(PopulatedCopy))
		return fix + "; the copy, in the pod spec:\n" + Indent(FixYAML([]Finding{f}, sizeLimit, copyOpts...), "  ")
	}
	// Whatever opts say of populated or unknown paths, the fix offered for
	// this one is the plain emptyDir.
	plain := []Option{WithUnknown(UnknownMutate)}
	return keep + "add an emptyDir with a sizeLimit mounted at " + at + " to the pod spec:\n" + Indent(f.FixYAML(sizeLimit, plain...), "  ")
}

// FixYAML is the pod spec fragment that covers the finding.
func (f Finding) FixYAML(sizeLimit resource.Quantity, opts ...Option) string {
	return FixYAML([]Finding{f}, sizeLimit, opts...)
}

// Note is what a warning about an added emptyDir must say besides where it
// is: that the image's content was copied into it, and for a near miss that
// an emptyDir bounds the disk but does not make the data persistent. "" when
// neither applies.
func (a Added) Note() string {
	var notes []string
	if a.CopiedBy != "" {
		what := "the image's content"
		if c := a.Finding.Content; c != nil && c.State == ContentPopulated {
			what = "the image's " + c.Files() + " (" + HumanBytes(c.Bytes) + ")"
		}
		notes = append(notes, fmt.Sprintf("%s copied into it first by init container %q", what, a.CopiedBy))
	}
	if len(a.Finding.NearMounts) > 0 {
		at := QuotePath(a.MountPath)
		inside, above := a.Finding.nearSplit()
		where := "under " + at
		switch {
		case len(inside) > 0:
			where += " outside " + theVolumes(inside)
		case len(above) > 0:
			where += " (not on " + theVolumes(above) + ")"
		}
		notes = append(notes, "an emptyDir bounds the disk but does not make data persistent: what the container writes "+where+
			" is lost with the pod; to keep it, mount your volume at "+at+" itself")
	}
	return strings.Join(notes, "; ")
}

// Indent prefixes every non-empty line of s, to nest FixYAML in a message.
func Indent(s, prefix string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if line != "" {
			b.WriteString(prefix + line)
		}
	}
	return b.String()
}
