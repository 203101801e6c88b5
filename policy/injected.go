package policy

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// injectedInitContainers returns the indexes of the init containers that
// PopulatedCopy added: the install container and the copy containers.
//
// Why so strict. A copy container runs the app's image, which declares the
// VOLUMEs, so the runtime gives it anonymous volumes too: if Findings
// reported them, every reinvocation would add more. It may skip them only
// because what runs there is volumeguard's copier, which writes nothing but
// the staging emptyDirs: the anonymous volumes then hold the runtime's copy
// of the image's content and never grow. A pod's author could otherwise
// name any init container "vg-copy-..." and write without bound into its
// anonymous volumes. So a copy container is trusted only when all of this
// holds:
//   - its name, command (the installed copier, `copy-up`, pairs of clean
//     absolute paths whose destinations are the staging paths in order),
//     mounts (the tools volume read-only at CopierToolsDir, one emptyDir per
//     staging path, no subPath) are exactly what copyContainer makes, and it
//     has no args, env, devices, probes, lifecycle or restartPolicy;
//   - the tools volume is an emptyDir that an earlier install container
//     fills: named so, running exactly a trusted copier image (WithCopierImage,
//     WithKnownCopierImages) with exactly installCommand, mounting only the
//     tools volume;
//   - no other container of the pod mounts the tools volume writable, so
//     nothing but that copier's binary can be in it.
//
// Without a trusted copier image nothing is recognised, and every container
// is judged: never fewer findings than the pod deserves.
func injectedInitContainers(spec *corev1.PodSpec, trusted []string) map[int]bool {
	if len(trusted) == 0 || len(spec.InitContainers) == 0 {
		return nil
	}
	emptyDirs := map[string]bool{}
	for _, v := range spec.Volumes {
		emptyDirs[v.Name] = v.EmptyDir != nil
	}
	installAt := map[string]int{} // tools volume -> its install container
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		if isInstall(c, trusted, emptyDirs) {
			if _, seen := installAt[c.VolumeMounts[0].Name]; !seen {
				installAt[c.VolumeMounts[0].Name] = i
			}
		}
	}
	if len(installAt) == 0 {
		return nil
	}
	copyTools := map[int]string{}
	for i := range spec.InitContainers {
		if tools, ok := copyShape(&spec.InitContainers[i], emptyDirs); ok {
			copyTools[i] = tools
		}
	}
	ours := map[int]bool{}
	for tools, at := range installAt {
		if !onlyInstallWrites(spec, tools, at, copyTools) {
			continue
		}
		ours[at] = true
		for i, t := range copyTools {
			if t == tools && i > at {
				ours[i] = true
			}
		}
	}
	return ours
}

// isInstall reports whether c is exactly installContainer's shape with a
// trusted image.
func isInstall(c *corev1.Container, trusted []string, emptyDirs map[string]bool) bool {
	if !strings.HasPrefix(c.Name, installPrefix) || !slices.Contains(trusted, c.Image) ||
		!slices.Equal(c.Command, installCommand()) || !plainContainer(c) || len(c.VolumeMounts) != 1 {
		return false
	}
	m := c.VolumeMounts[0]
	return m.MountPath == CopierToolsDir && !m.ReadOnly && plainMount(m) && emptyDirs[m.Name]
}

// copyShape reports whether c is exactly copyContainer's shape, and its
// tools volume.
func copyShape(c *corev1.Container, emptyDirs map[string]bool) (string, bool) {
	args := c.Command
	if !strings.HasPrefix(c.Name, copyPrefix) || !plainContainer(c) || len(args) < 4 || len(args)%2 != 0 ||
		args[0] != installedCopier || args[1] != "copy-up" {
		return "", false
	}
	pairs := (len(args) - 2) / 2
	if len(c.VolumeMounts) != 1+pairs {
		return "", false
	}
	tools := c.VolumeMounts[0]
	if tools.MountPath != CopierToolsDir || !tools.ReadOnly || !plainMount(tools) {
		return "", false
	}
	for k := range pairs {
		// Every argument starts with "/": none can be read as a flag.
		src, dst := args[2+2*k], args[3+2*k]
		m := c.VolumeMounts[1+k]
		if !cleanAbsolute(src) || dst != stagingPath(k) || m.MountPath != dst || m.ReadOnly || !plainMount(m) || !emptyDirs[m.Name] {
			return "", false
		}
	}
	return tools.Name, true
}

// onlyInstallWrites reports whether the install container at index at is the
// only container of the pod mounting tools writable, and only recognised
// copy containers mount it read-only.
func onlyInstallWrites(spec *corev1.PodSpec, tools string, at int, copyTools map[int]string) bool {
	for i := range spec.InitContainers {
		if i == at {
			continue
		}
		if mountsVolume(spec.InitContainers[i].VolumeMounts, tools) && copyTools[i] != tools {
			return false
		}
	}
	for i := range spec.Containers {
		if mountsVolume(spec.Containers[i].VolumeMounts, tools) {
			return false
		}
	}
	for i := range spec.EphemeralContainers {
		if mountsVolume(spec.EphemeralContainers[i].VolumeMounts, tools) {
			return false
		}
	}
	return true
}

func mountsVolume(mounts []corev1.VolumeMount, name string) bool {
	return slices.ContainsFunc(mounts, func(m corev1.VolumeMount) bool { return m.Name == name })
}

// plainContainer: nothing that could run anything but the command, or feed
// it anything but its arguments.
func plainContainer(c *corev1.Container) bool {
	return len(c.Args) == 0 && len(c.Env) == 0 && len(c.EnvFrom) == 0 && len(c.VolumeDevices) == 0 &&
		c.Lifecycle == nil && c.LivenessProbe == nil && c.ReadinessProbe == nil && c.StartupProbe == nil &&
		c.RestartPolicy == nil && len(c.RestartPolicyRules) == 0
}

func plainMount(m corev1.VolumeMount) bool {
	return m.SubPath == "" && m.SubPathExpr == "" && m.MountPropagation == nil
}

// NamedAsInjected reports whether an init container of spec bears a name
// that the copy mutation gives its init containers. A caller that decoded
// only part of a pod (the webhook) must then decode it whole: whether they
// are volumeguard's own depends on their every field (injectedInitContainers).
func NamedAsInjected(spec *corev1.PodSpec) bool {
	for _, c := range spec.InitContainers {
		if strings.HasPrefix(c.Name, installPrefix) || strings.HasPrefix(c.Name, copyPrefix) {
			return true
		}
	}
	return false
}
