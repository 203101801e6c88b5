package policy

import (
	"fmt"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Problem says in one sentence what is wrong, naming container, image and path.
func (f Finding) Problem() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q (image %q) declares VOLUME %s", f.ContainerType, f.Container, f.Image, QuotePath(f.Path))
	if len(f.Platforms) > 0 {
		fmt.Fprintf(&b, " on %s", f.PlatformNames())
	}
	if f.Relative {
		b.WriteString(", a relative path that no volumeMount can cover")
	} else {
		b.WriteString(" and no volumeMount of this container covers it")
	}
	b.WriteString(": the runtime creates an anonymous volume there that escapes ephemeral-storage limits")
	return b.String()
}

// Fix says how to fix a finding. Paths that a mount can cover get the YAML
// to add; the others get the only remedy that exists.
func (f Finding) Fix(sizeLimit resource.Quantity) string {
	switch {
	case f.Relative:
		return fmt.Sprintf("rebuild image %q with an absolute VOLUME path, or without the VOLUME", f.Image)
	case f.Unmountable() != "":
		return fmt.Sprintf("rebuild image %q without VOLUME %s: %s", f.Image, QuotePath(f.Path), f.Unmountable())
	case f.ContainerType == EphemeralContainer:
		return fmt.Sprintf("use an image without VOLUME %s for the ephemeral container, or mount an existing pod volume at %s", QuotePath(f.Path), QuotePath(path.Clean(f.Path)))
	}
	return "add an emptyDir with a sizeLimit mounted at " + QuotePath(path.Clean(f.Path)) + " to the pod spec:\n" + Indent(f.FixYAML(sizeLimit), "  ")
}

// FixYAML is the pod spec fragment that covers the finding.
func (f Finding) FixYAML(sizeLimit resource.Quantity) string {
	return FixYAML([]Finding{f}, sizeLimit)
}

// FixYAML is one pod spec fragment covering every fixable finding: the
// emptyDir volumes, then the mounts grouped by container, with the names
// Mutate would give them. It is "" when nothing is fixable. Every name and
// path is a YAML scalar that parses back to exactly itself, whatever the
// image or the manifest put in it.
func FixYAML(findings []Finding, sizeLimit resource.Quantity) string {
	type group struct {
		key    containerKey
		mounts strings.Builder
	}
	var volumes strings.Builder
	groups := map[containerKey]*group{}
	var order []*group
	for _, f := range findings {
		if !f.Fixable() {
			continue
		}
		mountPath := path.Clean(f.Path)
		name := yamlScalar(VolumeName(f.ContainerType, f.Container, mountPath))
		fmt.Fprintf(&volumes, "- name: %s\n  emptyDir:\n    sizeLimit: %s\n", name, sizeLimit.String())
		k := containerKey{f.ContainerType, f.Container}
		g := groups[k]
		if g == nil {
			g = &group{key: k}
			groups[k] = g
			order = append(order, g)
		}
		fmt.Fprintf(&g.mounts, "  - name: %s\n    mountPath: %s\n", name, yamlScalar(mountPath))
	}
	if volumes.Len() == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("volumes:\n" + volumes.String())
	for _, list := range []struct {
		t   ContainerType
		key string
	}{{InitContainer, "initContainers"}, {Container, "containers"}} {
		header := false
		for _, g := range order {
			if g.key.t != list.t {
				continue
			}
			if !header {
				b.WriteString(list.key + ":\n")
				header = true
			}
			b.WriteString("- name: " + yamlScalar(g.key.name) + "\n  volumeMounts:\n" + g.mounts.String())
		}
	}
	return b.String()
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
