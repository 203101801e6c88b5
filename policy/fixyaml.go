package policy

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// FixYAML is one pod spec fragment covering the findings as Mutate would
// with the same opts: the emptyDir volumes (and the copier's tools volume),
// the init containers PopulatedCopy adds, then the mounts grouped by
// container, with the names Mutate would give them. It is "" when Mutate
// would add nothing (no finding fixable, or every one skipped or denied by
// opts). Every name and path is a YAML scalar that parses back to exactly
// itself, whatever the image or the manifest put in it.
//
// It is Mutate itself, run on a pod holding only the findings' containers:
// what the two say cannot drift apart. A copy container takes its app
// container's securityContext, resources and imagePullPolicy from the
// findings, as Findings recorded them.
func FixYAML(findings []Finding, sizeLimit resource.Quantity, opts ...Option) string {
	spec := skeleton(findings)
	m := Mutate(spec, findings, sizeLimit, opts...)
	if len(m.Added) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("volumes:\n")
	for _, v := range spec.Volumes {
		fmt.Fprintf(&b, "- name: %s\n  emptyDir:\n    sizeLimit: %s\n", yamlScalar(v.Name), v.EmptyDir.SizeLimit.String())
	}
	injected := len(m.InitContainers)
	header := false
	for i, c := range spec.InitContainers {
		if i >= injected && len(c.VolumeMounts) == 0 {
			continue
		}
		if !header {
			b.WriteString("initContainers:\n")
			header = true
		}
		if i < injected {
			writeContainer(&b, c)
		} else {
			writeMounts(&b, c)
		}
	}
	header = false
	for _, c := range spec.Containers {
		if len(c.VolumeMounts) == 0 {
			continue
		}
		if !header {
			b.WriteString("containers:\n")
			header = true
		}
		writeMounts(&b, c)
	}
	return b.String()
}

// skeleton is a pod holding, in the order the findings name them, the
// containers they name, with their images and what copy containers take.
func skeleton(findings []Finding) *corev1.PodSpec {
	spec := &corev1.PodSpec{}
	seen := map[containerKey]bool{}
	for _, f := range findings {
		k := containerKey{f.ContainerType, f.Container}
		if seen[k] || (k.t != InitContainer && k.t != Container) {
			continue
		}
		seen[k] = true
		c := corev1.Container{Name: f.Container, Image: f.Image}
		if s := f.copyFrom; s != nil {
			c.SecurityContext, c.ImagePullPolicy = s.securityContext.DeepCopy(), s.pullPolicy
			s.resources.DeepCopyInto(&c.Resources)
		}
		if k.t == InitContainer {
			spec.InitContainers = append(spec.InitContainers, c)
		} else {
			spec.Containers = append(spec.Containers, c)
		}
	}
	return spec
}

// writeMounts writes a container of the fragment: its name and mounts.
func writeMounts(b *strings.Builder, c corev1.Container) {
	b.WriteString("- name: " + yamlScalar(c.Name) + "\n")
	writeVolumeMounts(b, c.VolumeMounts)
}

func writeVolumeMounts(b *strings.Builder, mounts []corev1.VolumeMount) {
	b.WriteString("  volumeMounts:\n")
	for _, m := range mounts {
		fmt.Fprintf(b, "  - name: %s\n    mountPath: %s\n", yamlScalar(m.Name), yamlScalar(m.MountPath))
		if m.ReadOnly {
			b.WriteString("    readOnly: true\n")
		}
	}
}

// writeContainer writes an init container Mutate adds, whole. The
// securityContext and resources come from the user's container and are
// written by the YAML encoder, which quotes what needs quoting.
func writeContainer(b *strings.Builder, c corev1.Container) {
	b.WriteString("- name: " + yamlScalar(c.Name) + "\n  image: " + yamlScalar(c.Image) + "\n")
	if c.ImagePullPolicy != "" {
		b.WriteString("  imagePullPolicy: " + yamlScalar(string(c.ImagePullPolicy)) + "\n")
	}
	b.WriteString("  command:\n")
	for _, arg := range c.Command {
		b.WriteString("  - " + yamlScalar(arg) + "\n")
	}
	writeVolumeMounts(b, c.VolumeMounts)
	writeObject(b, "securityContext", c.SecurityContext, c.SecurityContext != nil)
	writeObject(b, "resources", c.Resources, len(c.Resources.Limits) > 0 || len(c.Resources.Requests) > 0)
}

func writeObject(b *strings.Builder, key string, v any, present bool) {
	if !present {
		return
	}
	out, err := yaml.Marshal(v)
	if err != nil {
		// These API types always marshal; say so rather than drop it.
		fmt.Fprintf(b, "  # %s: %v\n", key, err)
		return
	}
	b.WriteString("  " + key + ":\n" + Indent(string(out), "    "))
}
