package imageinspect

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"

	"github.com/volumeguard/volumeguard/imageinspect/internal/transport"
)

// maxPlatformImages bounds the platform images read per index: each costs a
// manifest and a config request. Real images have a dozen linux platforms
// at most; a pod that pins its platform reads one.
const maxPlatformImages = 32

// inspectIndex reads the volumes of the platforms of idx that want selects,
// a few platforms at a time.
func (i *Inspector) inspectIndex(ctx context.Context, lk *lookup, ref name.Reference, idx *manifest, want *Platform) ([]PlatformVolumes, error) {
	entries := selectEntries(idx.entries, want)
	if len(entries) == 0 {
		return nil, noMatchError(ref, idx.entries, want)
	}
	if len(entries) > maxPlatformImages {
		// Reading some would miss the volumes of the others.
		return nil, fmt.Errorf("selecting a platform of %q: %w", ref.Name(), &limitError{fmt.Sprintf(
			"the index has %d images for %s, over the limit of %d read per index; pin the pod's platform (kubernetes.io/os and kubernetes.io/arch node selector)",
			len(entries), wanted(want, entries), maxPlatformImages)})
	}
	out := make([]PlatformVolumes, len(entries))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(i.opts.platformJobs)
	for k, d := range entries {
		g.Go(func() error {
			pv, err := i.inspectEntry(gctx, lk, ref, d)
			out[k] = pv
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// inspectEntry reads one platform image of an index: its manifest by digest,
// then its config.
func (i *Inspector) inspectEntry(ctx context.Context, lk *lookup, ref name.Reference, d v1.Descriptor) (PlatformVolumes, error) {
	p := platformOf(d.Platform)
	if d.Size > i.opts.maxManifestBytes {
		// Refused before asking: the index says how big it is.
		return PlatformVolumes{}, fmt.Errorf("reading %s manifest %s of %q: %w", p, d.Digest, ref.Name(),
			&transport.TooLargeError{What: "manifest", Size: d.Size, Limit: i.opts.maxManifestBytes})
	}
	m, err := i.manifest(ctx, lk, ref.Context().Digest(d.Digest.String()))
	if err != nil {
		return PlatformVolumes{}, fmt.Errorf("reading %s image of %q: %w", p, ref.Name(), err)
	}
	if m.isIndex() {
		return PlatformVolumes{}, fmt.Errorf("reading %s image of %q: %w: index entry %s is itself an index", p, ref.Name(), ErrUnsupportedMediaType, d.Digest)
	}
	cfg, err := i.config(ctx, lk, ref, m.config)
	if err != nil {
		return PlatformVolumes{}, err
	}
	return PlatformVolumes{
		Platform:       p,
		ManifestDigest: d.Digest.String(),
		ConfigDigest:   m.config.Digest.String(),
		Volumes:        cloneStrings(cfg.volumes),
	}, nil
}

// selectEntries picks the runnable images of an index that want selects; with
// want nil, all of them, but only the linux ones when there are any, since
// that is what a Kubernetes linux node can run.
func selectEntries(entries []v1.Descriptor, want *Platform) []v1.Descriptor {
	var runnable []v1.Descriptor
	hasLinux := false
	for _, d := range entries {
		// Entries without a platform are artifacts (signatures, SBOMs), not images.
		if d.Platform == nil || isAttestation(d) || !isImageManifest(d.MediaType) {
			continue
		}
		if want != nil && !want.matches(platformOf(d.Platform)) {
			continue
		}
		hasLinux = hasLinux || d.Platform.OS == "linux"
		runnable = append(runnable, d)
	}
	if want != nil || !hasLinux {
		return runnable
	}
	linux := runnable[:0:0]
	for _, d := range runnable {
		if d.Platform.OS == "linux" {
			linux = append(linux, d)
		}
	}
	return linux
}

// noMatchError names the platforms the index does have, so that the user
// sees at once whether the image or the pod's node selector is wrong.
func noMatchError(ref name.Reference, entries []v1.Descriptor, want *Platform) error {
	if d, ok := nestedIndex(entries, want); ok {
		what := "an entry"
		if d.Platform != nil {
			what = "the entry for " + platformOf(d.Platform).String()
		}
		return fmt.Errorf("selecting a platform of %q: %w: %s (%s) is itself an index; nested indexes are not read: name the inner index or an image instead",
			ref.Name(), ErrUnsupportedMediaType, what, d.Digest)
	}
	var have []string
	for _, d := range selectEntries(entries, nil) {
		have = append(have, platformOf(d.Platform).String())
	}
	if len(have) == 0 {
		for _, d := range entries {
			if d.Platform != nil && !isAttestation(d) {
				have = append(have, platformOf(d.Platform).String())
			}
		}
	}
	sort.Strings(have)
	available := "none"
	if len(have) > 0 {
		available = strings.Join(have, ", ")
	}
	return fmt.Errorf("selecting a platform of %q: %w: the index has no image for %s (it has: %s)", ref.Name(), ErrNoMatchingPlatform, wanted(want, nil), available)
}

// nestedIndex finds an entry that is itself an index where an image for
// want would have been: containerd would descend into it, we do not.
func nestedIndex(entries []v1.Descriptor, want *Platform) (v1.Descriptor, bool) {
	for _, d := range entries {
		if !d.MediaType.IsIndex() || isAttestation(d) {
			continue
		}
		if want == nil || d.Platform == nil || want.matches(platformOf(d.Platform)) {
			return d, true
		}
	}
	return v1.Descriptor{}, false
}

// wanted says which platforms were looked for: want, or for want nil the
// linux ones when selected holds any.
func wanted(want *Platform, selected []v1.Descriptor) string {
	if want != nil {
		return "platform " + Platform{OS: or(want.OS, "*"), Architecture: or(want.Architecture, "*"), Variant: want.Variant}.String()
	}
	for _, d := range selected {
		if d.Platform.OS == "linux" {
			return "linux"
		}
	}
	return "any platform"
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
