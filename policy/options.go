package policy

import (
	"fmt"
	"slices"
)

// PopulatedPolicy is what Mutate does with a VOLUME path the image ships
// files under (the contract's --populated-volumes and the
// volumeguard.io/populated-volumes annotation).
type PopulatedPolicy string

const (
	// PopulatedSkip leaves the path to the runtime, with a Skipped entry
	// saying why: an emptyDir would start empty and hide the files.
	PopulatedSkip PopulatedPolicy = "skip"
	// PopulatedCopy adds the emptyDir and init containers that copy the
	// image's content into it first, as the runtime's copy-up would.
	PopulatedCopy PopulatedPolicy = "copy"
	// PopulatedDeny reports a Denied entry: the pod must be refused.
	PopulatedDeny PopulatedPolicy = "deny"
)

// UnknownPolicy is what Mutate does with a path whose content is not known
// (the scan has not finished, or could not): the contract's
// --populated-unknown.
type UnknownPolicy string

const (
	// UnknownSkip leaves the path to the runtime, with a Skipped entry.
	UnknownSkip UnknownPolicy = "skip"
	// UnknownMutate covers it with a plain emptyDir, as if it were empty.
	UnknownMutate UnknownPolicy = "mutate"
)

// ParsePopulatedPolicy reads a flag or annotation value.
func ParsePopulatedPolicy(s string) (PopulatedPolicy, error) {
	p := PopulatedPolicy(s)
	if !slices.Contains([]PopulatedPolicy{PopulatedSkip, PopulatedCopy, PopulatedDeny}, p) {
		return "", fmt.Errorf("populated-volumes must be skip, copy or deny, not %q", s)
	}
	return p, nil
}

// ParseUnknownPolicy reads a flag or annotation value.
func ParseUnknownPolicy(s string) (UnknownPolicy, error) {
	p := UnknownPolicy(s)
	if p != UnknownSkip && p != UnknownMutate {
		return "", fmt.Errorf("populated-unknown must be skip or mutate, not %q", s)
	}
	return p, nil
}

// Option configures Findings, Mutate, FixYAML and Fix. Build one list per
// namespace and pass it to all of them: Findings needs the copier images to
// recognise the init containers Mutate adds.
type Option func(*options)

type options struct {
	populated    PopulatedPolicy
	unknown      UnknownPolicy
	copierImage  string
	copierImages []string // every image trusted as the copier's
	ignore       ignoreSet
	onlyIgnored  bool // IgnoredFindings: keep what ignore drops, drop the rest
}

// makeOptions applies opts over the defaults: skip and skip, because an
// emptyDir over content the image ships can break the application, while
// leaving the path to the runtime only leaves things as they were.
func makeOptions(opts []Option) options {
	o := options{populated: PopulatedSkip, unknown: UnknownSkip}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithPopulated sets what Mutate does with populated paths (default
// PopulatedSkip; an unknown value reads as the default).
func WithPopulated(p PopulatedPolicy) Option {
	return func(o *options) {
		if _, err := ParsePopulatedPolicy(string(p)); err == nil {
			o.populated = p
		}
	}
}

// WithUnknown sets what Mutate does with paths of unknown content (default
// UnknownSkip; an unknown value reads as the default).
func WithUnknown(u UnknownPolicy) Option {
	return func(o *options) {
		if _, err := ParseUnknownPolicy(string(u)); err == nil {
			o.unknown = u
		}
	}
}

// WithCopierImage is volumeguard's own image (the binary at /volumeguard),
// which PopulatedCopy's install init container runs. Without it,
// PopulatedCopy skips populated paths, saying why. Findings trusts init
// containers shaped as Mutate makes them only when they install the copier
// from this image (or one of WithKnownCopierImages).
func WithCopierImage(image string) Option {
	return func(o *options) {
		o.copierImage = image
		if image != "" && !slices.Contains(o.copierImages, image) {
			o.copierImages = append(o.copierImages, image)
		}
	}
}

// WithKnownCopierImages adds images that Findings trusts as the copier's
// besides WithCopierImage's: the images earlier releases injected, so that
// pods mutated before an upgrade are not reported for volumeguard's own
// init containers.
func WithKnownCopierImages(images ...string) Option {
	return func(o *options) {
		for _, image := range images {
			if image != "" && !slices.Contains(o.copierImages, image) {
				o.copierImages = append(o.copierImages, image)
			}
		}
	}
}
