// Package policy decides, without any I/O, which image-declared volumes a pod
// leaves uncovered and how to cover them. It follows the container runtimes'
// rule exactly (DESIGN.md section 1): a pod mount covers an image volume only
// when both paths are equal after filepath.Clean, and only within the same
// container.
package policy

import "strings"

// Platform is an image platform such as linux/arm64/v8.
type Platform struct {
	OS           string
	Architecture string
	Variant      string
}

// String renders the platform the way image tools print it: "linux/amd64".
func (p Platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// PlatformVolumes is what one platform of an image declares.
type PlatformVolumes struct {
	Platform Platform
	// Volumes are the config.Volumes keys exactly as the image declares them.
	Volumes []string
	// Content is what this platform's image ships at each declared path,
	// keyed by the path as it is in Volumes (a cleaned absolute key, as
	// volumecontent.Content.Path gives it, is looked up too). nil means not
	// scanned: findings then carry no Content and Mutate covers them as it
	// always did. A path missing from a non-nil map is unknown.
	Content map[string]Content
}

// ImageFacts is what the registry told us about one image reference.
type ImageFacts struct {
	// Digest is the digest the reference resolved to (an index digest for a
	// multi-platform image).
	Digest string
	// Platforms holds one entry per platform that may run the container. For
	// a pod pinned to a platform it holds just that one.
	Platforms []PlatformVolumes
}

// ContainerType says in which list of the pod spec a container is.
type ContainerType string

const (
	Container          ContainerType = "container"
	InitContainer      ContainerType = "initContainer"
	EphemeralContainer ContainerType = "ephemeralContainer"
)

// Finding is one image-declared volume path that no mount of its container covers.
type Finding struct {
	Container     string
	ContainerType ContainerType
	Image         string
	Digest        string
	// Path is the volume path as the image declares it.
	Path string
	// Relative is set for a relative VOLUME ("data"): runtimes compare it
	// before making it absolute, so no mount can ever cover it.
	Relative bool
	// Platforms lists the platforms that declare Path, set only when some of
	// the considered platforms do not.
	Platforms []Platform
	// Content is what the image ships at Path, merged over the considered
	// platforms that declare it (mergeContent); nil when not scanned.
	Content *Content
	// NearMounts are the mount paths of the same container strictly inside
	// or strictly above Path (made absolute and clean, as the kubelet sends
	// them), sorted: near misses, whose data the anonymous volume takes.
	NearMounts []string

	// copyFrom is what a copy init container takes from this finding's
	// container, so that FixYAML shows what Mutate would add; nil when the
	// container sets none of it.
	copyFrom *copySource
}

// PlatformNames joins Platforms for messages: "linux/amd64, linux/arm64".
func (f Finding) PlatformNames() string {
	names := make([]string, len(f.Platforms))
	for i, p := range f.Platforms {
		// Platform fields come from the image too.
		names[i] = QuotePath(p.String())
	}
	return strings.Join(names, ", ")
}
