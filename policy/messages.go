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
	fmt.Fprintf(&b, "%s %q (image %q) declares VOLUME %s", f.ContainerType, f.Container, f.Image, f.Path)
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
	case f.ContainerType == EphemeralContainer:
		return fmt.Sprintf("use an image without VOLUME %s for the ephemeral container, or mount an existing pod volume at %s", f.Path, path.Clean(f.Path))
	}
	return "add an emptyDir with a sizeLimit mounted at " + path.Clean(f.Path) + " to the pod spec:\n" + Indent(f.FixYAML(sizeLimit), "  ")
}

// FixYAML is the pod spec fragment that covers the finding.
func (f Finding) FixYAML(sizeLimit resource.Quantity) string {
	return FixYAML([]Finding{f}, sizeLimit)
}

// Fixable reports whether a volumeMount can cover the finding at all.
func (f Finding) Fixable() bool {
	return !f.Relative && f.ContainerType != EphemeralContainer
}

// FixYAML is one pod spec fragment covering every fixable finding: the
// emptyDir volumes, then the mounts grouped by container, with the names
// Mutate would give them. It is "" when nothing is fixable.
func FixYAML(findings []Finding, sizeLimit resource.Quantity) string {
	var volumes strings.Builder
	mounts := map[ContainerType]map[string]*strings.Builder{}
	var order [][2]string
	for _, f := range findings {
		if !f.Fixable() {
			continue
		}
		mountPath := path.Clean(f.Path)
		name := VolumeName(f.ContainerType, f.Container, mountPath)
		fmt.Fprintf(&volumes, "- name: %s\n  emptyDir:\n    sizeLimit: %s\n", name, sizeLimit.String())
		if mounts[f.ContainerType] == nil {
			mounts[f.ContainerType] = map[string]*strings.Builder{}
		}
		b := mounts[f.ContainerType][f.Container]
		if b == nil {
			b = &strings.Builder{}
			mounts[f.ContainerType][f.Container] = b
			order = append(order, [2]string{string(f.ContainerType), f.Container})
		}
		fmt.Fprintf(b, "  - name: %s\n    mountPath: %s\n", name, mountPath)
	}
	if volumes.Len() == 0 {
		return ""
	}
	out := "volumes:\n" + volumes.String()
	for _, list := range []ContainerType{InitContainer, Container} {
		key := "containers"
		if list == InitContainer {
			key = "initContainers"
		}
		header := false
		for _, o := range order {
			if o[0] != string(list) {
				continue
			}
			if !header {
				out += key + ":\n"
				header = true
			}
			out += "- name: " + o[1] + "\n  volumeMounts:\n" + mounts[list][o[1]].String()
		}
	}
	return out
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
