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
	return "add an emptyDir with a sizeLimit mounted at " + path.Clean(f.Path) + ":\n" + f.FixYAML(sizeLimit)
}

// FixYAML is the pod spec fragment that covers the finding.
func (f Finding) FixYAML(sizeLimit resource.Quantity) string {
	mountPath := path.Clean(f.Path)
	name := VolumeName(f.ContainerType, f.Container, mountPath)
	list := "containers"
	if f.ContainerType == InitContainer {
		list = "initContainers"
	}
	return fmt.Sprintf(`  volumes:
  - name: %s
    emptyDir:
      sizeLimit: %s
  %s:
  - name: %s
    volumeMounts:
    - name: %s
      mountPath: %s
`, name, sizeLimit.String(), list, f.Container, name, mountPath)
}
