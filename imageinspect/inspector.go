package imageinspect

import (
	"context"
	"fmt"
	"net/http"
	"sort"

	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/sync/singleflight"

	"github.com/volumeguard/volumeguard/imageinspect/internal/transport"
	"github.com/volumeguard/volumeguard/imageinspect/volumecontent"
	"github.com/volumeguard/volumeguard/internal/lru"
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

// Inspector reads declared volumes from registries. It caches what it reads
// and is safe for concurrent use; make one and share it.
type Inspector struct {
	opts  *options
	log   logr.Logger
	stack http.RoundTripper // to registries, below authentication
	// What was read, bounded together (WithCacheSize): tags, manifests and
	// configs, and "not found" answers.
	tags       lru.Cache[tagEntry]
	manifests  lru.Cache[*manifest]
	configs    lru.Cache[*configInfo]
	notFound   lru.Cache[error]
	transports lru.Cache[http.RoundTripper] // authenticated, by repository and credentials
	group      singleflight.Group
	stats      counters
	hosts      *keyed[*hostGate] // slots per registry host
	breakers   *keyed[*breaker]  // circuit breaker per registry host and tenant
	tenants    *keyed[*slots]    // slots per tenant (ForTenant)
	failures   lru.Cache[error]  // recent transient failures (WithFailureTTL)
	// scanner reads layers for ScanContent; its cache of layer tables, by
	// digest, is shared by every image and caller.
	scanner *volumecontent.Scanner
}

// New returns an Inspector configured by opts, or what the options that
// could not apply their values said.
func New(opts ...Option) (*Inspector, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	cache := lru.NewStore(o.cacheSize, defaultCacheBytes, o.now)
	return &Inspector{
		opts: o,
		log:  o.logger,
		stack: transport.New(transport.Config{
			Base: o.transport, RootCAs: o.network.rootCAs, Insecure: o.insecure, Guard: o.network.guard,
			MaxRedirects: o.network.maxRedirects, Retry: o.retry,
			Caps:      transport.BodyCaps{Manifest: o.maxManifestBytes, Config: o.maxConfigBytes},
			UserAgent: o.userAgent, Now: o.now, Log: o.logger, OnRequest: o.metrics.Request,
		}),
		tags:       lru.In[tagEntry](cache, "tag"),
		manifests:  lru.In[*manifest](cache, "manifest"),
		configs:    lru.In[*configInfo](cache, "config"),
		notFound:   lru.In[error](cache, "notfound"),
		transports: lru.New[http.RoundTripper](1024, 64<<20, o.now),
		hosts:      newHostGates(o),
		breakers:   newBreakers(),
		tenants:    newKeyed(maxIdleTenants, func() *slots { return newSlots(o.tenantConcurrency) }),
		failures:   lru.New[error](maxRememberedFailures, maxRememberedFailureBytes, o.now),
		scanner:    volumecontent.NewScanner(volumecontent.WithByteBudget(o.contentBudget)),
	}, nil
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
//
// opts apply to this inspection alone (UsingKeychain, ForTenant).
func (i *Inspector) Inspect(ctx context.Context, ref string, platform *Platform, opts ...InspectOption) (img *Image, err error) {
	defer func() { i.opts.metrics.inspected(err) }()
	o, r, lk, err := i.begin(ref, "inspecting", opts)
	if err != nil {
		return nil, err
	}
	return i.inspectRemembering(withTenant(ctx, o.tenant), lk, r, platform)
}

// begin is what Inspect and ScanContent do first: apply opts, parse ref,
// refuse a registry the network policy forbids (before any request), and
// choose the credentials.
func (i *Inspector) begin(ref, verb string, opts []InspectOption) (inspectOptions, name.Reference, *lookup, error) {
	var o inspectOptions
	for _, opt := range opts {
		opt(&o)
	}
	r, err := parseReference(ref, i.opts.insecure)
	if err != nil {
		return o, nil, nil, err
	}
	if err := i.opts.network.admit(r.Context()); err != nil {
		return o, nil, nil, fmt.Errorf("%s %q: %w", verb, r.Name(), err)
	}
	lk := &lookup{keychain: i.opts.keychain}
	if o.keychain != nil {
		lk = &lookup{keychain: o.keychain}
	}
	return o, r, lk, nil
}

func (i *Inspector) inspect(ctx context.Context, lk *lookup, r name.Reference, platform *Platform) (*Image, error) {
	m, err := i.manifest(ctx, lk, r)
	if err != nil {
		return nil, err
	}
	img := &Image{Reference: r.Name(), Digest: m.digest, MediaType: string(m.mediaType)}
	if m.isIndex() {
		if img.Platforms, err = i.inspectIndex(ctx, lk, r, m, platform); err != nil {
			return nil, err
		}
	} else {
		cfg, err := i.config(ctx, lk, r, m.config)
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
	return i.stats.snapshot()
}

// cloneStrings copies cached slices so that callers cannot change the cache,
// and returns an empty, not nil, slice so that JSON says [] rather than null.
func cloneStrings(s []string) []string {
	return append(make([]string, 0, len(s)), s...)
}
