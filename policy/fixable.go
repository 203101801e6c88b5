package policy

import (
	"path"
	"strings"
	"unicode/utf8"
)

// Fixable reports whether a volumeMount can cover the finding at all.
func (f Finding) Fixable() bool {
	return f.unfixableReason() == ""
}

// Unmountable says why no volumeMount can be placed at the finding's path,
// in any container, or "" when one can. Image configs are untrusted, so the
// path may be anything.
func (f Finding) Unmountable() string {
	if f.Relative {
		return "a relative VOLUME is compared before it is made absolute, so no mount can cover it"
	}
	clean := path.Clean(f.Path)
	switch {
	case clean == "/":
		return "a mount at / would hide the container's whole filesystem"
	case strings.ContainsRune(clean, 0):
		// The kernel ends a path at NUL: the runtime cannot mount there.
		return "the path holds a NUL character, which no mount path can hold"
	case !utf8.ValidString(clean):
		// The pod travels as JSON, whose encoders replace invalid bytes, so
		// the mount would land on another path.
		return "the path is not valid UTF-8, so a pod spec cannot name it exactly"
	}
	return ""
}

// unfixableReason says why Mutate cannot cover the finding whatever the pod
// spec holds, or "" when it can.
func (f Finding) unfixableReason() string {
	switch {
	case f.Relative:
		return "the image declares a relative VOLUME, which runtimes compare before making it absolute, so no mount can cover it; rebuild the image with an absolute VOLUME path"
	case f.Unmountable() != "":
		return "no volumeMount can cover this VOLUME: " + f.Unmountable() + "; rebuild the image without it"
	case f.Content != nil && f.Content.NotDirectory():
		return notDirectory
	case f.ContainerType == EphemeralContainer:
		return "ephemeral containers are added to running pods, whose volumes cannot change; mount an existing pod volume at this path or use an image without the VOLUME"
	}
	return ""
}

// notDirectory: what a non-directory at the VOLUME path does, whatever the
// pod mounts (test/runtime shows containerd's refusal).
const notDirectory = "the image has a non-directory at this VOLUME path, so no runtime can create the container (containerd: \"source is not directory\"), with or without a volumeMount there; rebuild the image without this VOLUME"
