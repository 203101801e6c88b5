package imageinspect

import (
	"context"
	"net/http"
	"sort"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/singleflight"
)

// PlatformVolumes is what one platform's image config declares.
type PlatformVolumes struct {
	Platform       Platform
	ManifestDigest string   // digest of that platform's image manifest
	ConfigDigest   string   // digest of its config
	Volumes        []string // config.Volumes keys exactly as declared (not cleaned), sorted
}

// Image is the result of inspecting one reference.
type Image struct {
	// Reference is fully qualified and normalized:
	// "index.docker.io/library/zookeeper:3.4.13" or "...@sha256:...".
	Reference string
	// Digest is what the reference resolved to: the index digest for a
	// multi-platform image.
	Digest    string
	MediaType string
	Platforms []PlatformVolumes // sorted by Platform.String()
}

// Stats counts what an Inspector really did.
type Stats struct {
	ManifestFetches int64 // manifest GETs sent
	ConfigFetches   int64 // config blob GETs sent
	CacheHits       int64 // manifests and configs taken from the cache
	SharedFetches   int64 // lookups that waited for an identical one in flight instead of sending their own
}

type counters struct {
	manifestFetches, configFetches, cacheHits, sharedFetches atomic.Int64
}

// Inspector reads declared volumes from registries. It caches what it reads
// and is safe for concurrent use; make one and share it.
type Inspector struct {
	opts    *options
	log     logr.Logger
	pullers *pullers
	cache   *lru
	group   singleflight.Group
	stats   counters
}

// New returns an Inspector configured by opts.
func New(opts ...Option) *Inspector {
	o := makeOptions(opts...)
	base := o.transport
	if base == nil {
		base = defaultTransport()
	}
	return &Inspector{
		opts:    o,
		log:     o.logger,
		pullers: newPullers(o, base),
		cache:   newLRU(o.cacheSize),
	}
}

// defaultTransport is remote's, cloned so that each Inspector owns its
// connection pool, with a bound on waiting for response headers so that a
// caller without a deadline is not held forever by a stuck registry.
func defaultTransport() http.RoundTripper {
	t, ok := remote.DefaultTransport.(*http.Transport)
	if !ok {
		return remote.DefaultTransport
	}
	t = t.Clone()
	t.ResponseHeaderTimeout = time.Minute
	return t
}

// Inspect resolves ref and returns the volumes its image config declares.
//
// For an index and platform nil: every platform image except attestations
// (os/arch "unknown"), only the linux ones when the index has any. For
// platform set: the images matching it (os and architecture, and variant,
// each compared when both sides set it); none is an error wrapping
// ErrNoMatchingPlatform. A single-manifest image yields one PlatformVolumes
// whose platform comes from its config, even if it does not match platform:
// runtimes run single-platform images anyway.
func (i *Inspector) Inspect(ctx context.Context, ref string, platform *Platform) (*Image, error) {
	r, err := parseReference(ref, i.opts.insecure)
	if err != nil {
		return nil, err
	}
	m, err := i.manifest(ctx, r)
	if err != nil {
		return nil, err
	}
	img := &Image{Reference: r.Name(), Digest: m.digest, MediaType: string(m.mediaType)}
	if m.isIndex() {
		if img.Platforms, err = i.inspectIndex(ctx, r, m, platform); err != nil {
			return nil, err
		}
	} else {
		cfg, err := i.config(ctx, r, m.config)
		if err != nil {
			return nil, err
		}
		img.Platforms = []PlatformVolumes{{
			Platform:       cfg.platform,
			ManifestDigest: m.digest,
			ConfigDigest:   m.config.Digest.String(),
			Volumes:        cloneStrings(cfg.volumes),
		}}
	}
	sort.SliceStable(img.Platforms, func(a, b int) bool {
		return img.Platforms[a].Platform.String() < img.Platforms[b].Platform.String()
	})
	return img, nil
}

// Stats returns a snapshot of the Inspector's counters.
func (i *Inspector) Stats() Stats {
	return Stats{
		ManifestFetches: i.stats.manifestFetches.Load(),
		ConfigFetches:   i.stats.configFetches.Load(),
		CacheHits:       i.stats.cacheHits.Load(),
		SharedFetches:   i.stats.sharedFetches.Load(),
	}
}

// cloneStrings copies cached slices so that callers cannot change the cache,
// and returns an empty, not nil, slice so that JSON says [] rather than null.
func cloneStrings(s []string) []string {
	return append(make([]string, 0, len(s)), s...)
}
