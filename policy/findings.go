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
// skipped (the caller reports why it could not be read). The init containers
// Mutate added for PopulatedCopy are skipped too, recognised by their exact
// shape and WithCopierImage (see injectedInitContainers); pass the options
// given to Mutate.
func Findings(spec *corev1.PodSpec, images map[string]ImageFacts, opts ...Option) []Finding {
	out, _ := FindingsUpTo(spec, images, -1, opts...)
	return out
}

// FindingsUpTo is Findings building at most limit findings (limit < 0: all)
// and counting the rest in omitted without building them.
//
// Why: findings grow with containers x declared VOLUMEs. A pod of 4,000
// containers of an image at the 256-VOLUME cap is 200 KB, and its million
// findings took an admission a gigabyte and seconds past its deadline;
// counted, they cost time linear in them and no memory.
func FindingsUpTo(spec *corev1.PodSpec, images map[string]ImageFacts, limit int, opts ...Option) (findings []Finding, omitted int) {
	return findingsWith(spec, images, limit, makeOptions(opts))
}

func findingsWith(spec *corev1.PodSpec, images map[string]ImageFacts, limit int, o options) (findings []Finding, omitted int) {
	constraint := ConstraintOf(spec)
	ours := injectedInitContainers(spec, o.copierImages)
	// The volumes an image declares are the same for every container
	// running it: computed once per image, not once per container.
	declaredBy := map[string]imageVolumes{}
	var out []Finding
	for i, c := range Containers(spec) {
		facts, ok := images[c.Image]
		if !ok || (c.Type == InitContainer && ours[i]) {
			continue
		}
		iv, seen := declaredBy[c.Image]
		if !seen {
			iv = imageVolumesOf(facts, constraint)
			declaredBy[c.Image] = iv
		}
		room := len(iv.volumes)
		if limit >= 0 {
			room = min(room, limit-len(out))
		}
		first := len(out)
		var rest int
		out, rest = containerFindings(out, c, facts.Digest, o.kept(c.Image, iv), room)
		omitted += rest
		if len(out) > first && i < len(spec.InitContainers)+len(spec.Containers) {
			from := sourceOf(commonContainer(spec, i))
			for k := first; k < len(out); k++ {
				out[k].copyFrom = from
			}
		}
	}
	return out, omitted
}

// kept is iv without the paths the ignore options drop (or, for
// IgnoredFindings, only those).
func (o options) kept(image string, iv imageVolumes) imageVolumes {
	if o.ignore.empty() {
		return iv
	}
	var vs []declared
	for _, d := range iv.volumes {
		if o.ignore.covers(image, d.path) == o.onlyIgnored {
			vs = append(vs, d)
		}
	}
	return imageVolumes{volumes: vs, platforms: iv.platforms}
}

// commonContainer is the i-th container of Containers(spec), for i below
// the count of init containers and containers.
func commonContainer(spec *corev1.PodSpec, i int) *corev1.Container {
	if i < len(spec.InitContainers) {
		return &spec.InitContainers[i]
	}
	return &spec.Containers[i-len(spec.InitContainers)]
}

// declared is one volume path, the platforms declaring it and what they
// ship there.
type declared struct {
	path      string
	platforms []Platform
	contents  []Content
	unscanned bool // some platform declaring it has no Content map
}

// content merges what the platforms ship at the path, or nil when none
// was scanned. A platform that was not scanned while others were counts
// as unknown.
func (d declared) content() *Content {
	if len(d.contents) == 0 {
		return nil
	}
	cs := d.contents
	if d.unscanned {
		cs = append(slices.Clip(cs), Content{State: ContentUnknown, Reason: "some platforms of the image were not scanned"})
	}
	c := mergeContent(cs)
	return &c
}

// imageVolumes is what an image declares on the platforms a pod may run on.
type imageVolumes struct {
	volumes   []declared
	platforms int // how many platforms were considered
}

func imageVolumesOf(facts ImageFacts, constraint PlatformConstraint) imageVolumes {
	platforms := selectPlatforms(facts.Platforms, constraint)
	return imageVolumes{volumes: declaredVolumes(platforms), platforms: len(platforms)}
}

// containerFindings appends to out at most room findings of container c,
// and counts the ones past room in omitted.
func containerFindings(out []Finding, c ContainerRef, digest string, iv imageVolumes, room int) (_ []Finding, omitted int) {
	if len(iv.volumes) == 0 {
		return out, 0
	}
	mounted := mountedPaths(c.Mounts)
	var near *nearIndex
	for _, d := range iv.volumes {
		relative := !path.IsAbs(d.path)
		if !relative && mounted[path.Clean(d.path)] {
			continue
		}
		if room <= 0 {
			omitted++
			continue
		}
		room--
		f := Finding{
			Container:     c.Name,
			ContainerType: c.Type,
			Image:         c.Image,
			Digest:        digest,
			Path:          d.path,
			Relative:      relative,
			Content:       d.content(),
		}
		if len(d.platforms) < iv.platforms {
			// Shared by the findings of every container of the image:
			// read-only, like the rest of a Finding.
			f.Platforms = d.platforms
		}
		if !relative && len(c.Mounts) > 0 {
			if near == nil {
				near = newNearIndex(mounted)
			}
			f.NearMounts = near.around(path.Clean(d.path))
		}
		out = append(out, f)
	}
	return out, omitted
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
			if p.Content == nil {
				out[i].unscanned = true
				continue
			}
			c, ok := p.Content[v]
			if !ok {
				// volumecontent names its answers by the clean absolute path.
				c, ok = p.Content[path.Clean("/"+v)]
			}
			if !ok {
				c = Content{State: ContentUnknown, Reason: "the scan gave no answer for this path"}
			}
			out[i].contents = append(out[i].contents, c)
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
