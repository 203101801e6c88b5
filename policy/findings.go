package policy

import (
	"path"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ContainerRef is one container of a pod spec, whatever list it is in.
type ContainerRef struct {
	Type   ContainerType
	Name   string
	Image  string
	Mounts []corev1.VolumeMount
}

// Containers lists every container of a pod spec in a stable order:
// init containers, containers, ephemeral containers.
func Containers(spec *corev1.PodSpec) []ContainerRef {
	var out []ContainerRef
	for _, c := range spec.InitContainers {
		out = append(out, ContainerRef{InitContainer, c.Name, c.Image, c.VolumeMounts})
	}
	for _, c := range spec.Containers {
		out = append(out, ContainerRef{Container, c.Name, c.Image, c.VolumeMounts})
	}
	for _, c := range spec.EphemeralContainers {
		out = append(out, ContainerRef{EphemeralContainer, c.Name, c.Image, c.VolumeMounts})
	}
	return out
}

// Findings returns every declared volume of every container that no mount of
// that same container covers. images maps an image string, exactly as written
// in the spec, to its facts; containers whose image is missing from it are
// skipped (the caller reports why it could not be read).
func Findings(spec *corev1.PodSpec, images map[string]ImageFacts) []Finding {
	constraint := ConstraintOf(spec)
	var out []Finding
	for _, c := range Containers(spec) {
		facts, ok := images[c.Image]
		if !ok {
			continue
		}
		out = append(out, containerFindings(c, facts, constraint)...)
	}
	return out
}

// declared is one volume path and the platforms declaring it.
type declared struct {
	path      string
	platforms []Platform
}

func containerFindings(c ContainerRef, facts ImageFacts, constraint PlatformConstraint) []Finding {
	platforms := selectPlatforms(facts.Platforms, constraint)
	volumes := declaredVolumes(platforms)
	if len(volumes) == 0 {
		return nil
	}
	mounted := mountedPaths(c.Mounts)
	out := make([]Finding, 0, len(volumes))
	for _, d := range volumes {
		relative := !path.IsAbs(d.path)
		if !relative && mounted[path.Clean(d.path)] {
			continue
		}
		f := Finding{
			Container:     c.Name,
			ContainerType: c.Type,
			Image:         c.Image,
			Digest:        facts.Digest,
			Path:          d.path,
			Relative:      relative,
		}
		if len(d.platforms) < len(platforms) {
			f.Platforms = d.platforms
		}
		out = append(out, f)
	}
	return out
}

// selectPlatforms keeps the linux platforms the pod can run on. When the pin
// matches nothing the image offers, it keeps every linux platform: the pull
// will fail anyway, and guessing "no volumes" would hide a finding.
func selectPlatforms(all []PlatformVolumes, c PlatformConstraint) []PlatformVolumes {
	var linux, allowed []PlatformVolumes
	for _, p := range all {
		// Windows paths (C:\data) follow other rules; the design covers linux.
		if p.Platform.OS != "linux" {
			continue
		}
		linux = append(linux, p)
		if c.Allows(p.Platform) {
			allowed = append(allowed, p)
		}
	}
	if len(allowed) == 0 {
		return linux
	}
	return allowed
}

// declaredVolumes unions the volume paths of the platforms, keyed by their
// cleaned form (runtimes clean before comparing), sorted by path.
func declaredVolumes(platforms []PlatformVolumes) []declared {
	var out []declared
	index := map[string]int{}
	for _, p := range platforms {
		for _, v := range p.Volumes {
			key := v
			if path.IsAbs(v) {
				key = path.Clean(v)
			}
			i, seen := index[key]
			if !seen {
				i = len(out)
				index[key] = i
				out = append(out, declared{path: v})
			}
			if !slices.Contains(out[i].platforms, p.Platform) {
				out[i].platforms = append(out[i].platforms, p.Platform)
			}
		}
	}
	slices.SortFunc(out, func(a, b declared) int { return strings.Compare(a.path, b.path) })
	return out
}

// mountedPaths applies the runtimes' exact rule: a mount covers a volume
// only when the cleaned paths are equal (a mount on a parent directory does
// not). Indexing the cleaned mount paths once keeps a container linear in
// its mounts plus its declared volumes.
func mountedPaths(mounts []corev1.VolumeMount) map[string]bool {
	out := make(map[string]bool, len(mounts))
	for _, m := range mounts {
		out[MountTarget(m.MountPath)] = true
	}
	return out
}

// MountTarget is where the runtime mounts a volumeMount: the kubelet makes a
// mountPath absolute and clean before the CRI sees it (volumeutil.
// MakeAbsolutePath: "data" is "/data"), and the API server accepts relative
// mountPaths, so "data" covers a VOLUME /data (test/runtime shows it).
func MountTarget(mountPath string) string {
	return path.Clean("/" + mountPath)
}
