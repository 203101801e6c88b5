// Package analysis joins registry facts to pod specs: it looks up the images a
// pod spec names, on the platforms the pod can run on, and hands the facts to
// policy. It is the one engine behind check, serve and audit.
package analysis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/policy"
)

// Inspector reads the declared volumes of an image, with per-inspection
// options (a pod's credentials, its tenant); *imageinspect.Inspector is the
// real one.
type Inspector interface {
	Inspect(ctx context.Context, ref string, platform *imageinspect.Platform, opts ...imageinspect.InspectOption) (*imageinspect.Image, error)
}

// ImageError is an image of a container that could not be evaluated.
type ImageError struct {
	Container     string
	ContainerType policy.ContainerType
	Image         string
	Err           error
}

func (e *ImageError) Error() string {
	return fmt.Sprintf("%s %q: %v", e.ContainerType, e.Container, e.Err)
}

func (e *ImageError) Unwrap() error { return e.Err }

// Result is the analysis of one pod spec.
type Result struct {
	Findings []policy.Finding
	// FindingsOmitted counts the findings past MaxFindings, not in Findings.
	FindingsOmitted int
	// Ignored are the findings WithPolicy's ignore options dropped from
	// Findings: exceptions are shown and counted, never silent.
	Ignored []policy.Finding
	// Errors name the containers whose image could not be read. Their
	// volumes are unknown: never read this as "no finding".
	Errors []*ImageError
	// Images holds the facts that were read, by image string as written.
	Images map[string]policy.ImageFacts
	// CredentialsErr is why the pod's pull secrets could not be read
	// (AnalyzePod): its images were then read with the Inspector's own
	// credentials, and those these could not read are among Errors.
	CredentialsErr error
}

// Analyzer is safe for concurrent use. It bounds nothing across analyses:
// registry work is bounded where it happens, per registry host and per
// tenant, by the Inspector (imageinspect.WithHostConcurrency,
// imageinspect.WithTenantConcurrency), so that a lookup the cache answers
// never waits behind lookups of a registry that hangs.
type Analyzer struct {
	inspector       Inspector
	defaultPlatform *imageinspect.Platform
	perAnalysis     int            // distinct images one analysis looks up at once
	lookupTimeout   time.Duration  // 0: the caller's context alone
	scanner         ContentScanner // nil: content is not scanned
}

// Option configures an Analyzer.
type Option func(*Analyzer)

// WithDefaultPlatform evaluates pods that pin no platform as if they ran on p
// (the platform of the target cluster's nodes), instead of the union over
// every linux platform of an image.
func WithDefaultPlatform(p imageinspect.Platform) Option {
	return func(a *Analyzer) { a.defaultPlatform = &p }
}

// WithConcurrency bounds the distinct images one analysis (one pod spec)
// looks up at once (default 8); n < 1 means 1. Across analyses, the
// Inspector bounds the requests per registry host and per tenant.
func WithConcurrency(n int) Option {
	return func(a *Analyzer) { a.perAnalysis = max(n, 1) }
}

// WithLookupTimeout gives each image lookup at most d (default 0: only the
// caller's deadline), so that a registry that never answers, or trickles
// its answer, costs a one-shot command d per image rather than the
// transport's own bounds per request and retry.
func WithLookupTimeout(d time.Duration) Option {
	return func(a *Analyzer) {
		if d >= 0 {
			a.lookupTimeout = d
		}
	}
}

// New returns an Analyzer reading images through inspector.
func New(inspector Inspector, opts ...Option) *Analyzer {
	// Eight images at once: a pod's images are read in parallel (its
	// latency is that of the slowest), and a pod with a hundred containers
	// does not start a hundred lookups.
	a := &Analyzer{inspector: inspector, perAnalysis: 8}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Analyze looks up every distinct image of spec in parallel and returns the
// findings of policy.Findings, plus the images that could not be read. opts
// apply to this analysis alone (WithKeychain, ForTenant).
func (a *Analyzer) Analyze(ctx context.Context, spec *corev1.PodSpec, opts ...AnalyzeOption) Result {
	o := makeAnalyzeOptions(opts)
	platform := a.platformFor(spec)
	containers := policy.Containers(spec)

	type lookup struct {
		facts   policy.ImageFacts
		digests []string // manifest digest of each of facts.Platforms
		err     error
	}
	lookups := map[string]*lookup{}
	var images []string
	for _, c := range containers {
		if _, seen := lookups[c.Image]; seen || c.Image == "" {
			continue
		}
		lookups[c.Image] = &lookup{}
		images = append(images, c.Image)
	}
	// Distinct images are looked up in parallel, perAnalysis at a time,
	// one worker on this goroutine, so the common pod with one image
	// starts no goroutine.
	var next atomic.Int64
	work := func() {
		for k := int(next.Add(1)) - 1; k < len(images); k = int(next.Add(1)) - 1 {
			l := lookups[images[k]]
			if err := ctx.Err(); err != nil {
				l.err = fmt.Errorf("inspecting image %q: %w", images[k], err)
				continue
			}
			l.facts, l.digests, l.err = a.inspect(ctx, images[k], platform, o.inspect)
		}
	}
	var wg sync.WaitGroup
	for range min(a.perAnalysis, len(images)) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()

	res := Result{Images: map[string]policy.ImageFacts{}}
	digests := map[string][]string{}
	for _, c := range containers {
		if c.Image == "" {
			res.Errors = append(res.Errors, &ImageError{c.Name, c.Type, c.Image, errors.New("the container names no image")})
			continue
		}
		if l := lookups[c.Image]; l.err != nil {
			res.Errors = append(res.Errors, &ImageError{c.Name, c.Type, c.Image, l.err})
			continue
		}
		res.Images[c.Image] = lookups[c.Image].facts
		digests[c.Image] = lookups[c.Image].digests
	}
	limit := -1
	if o.maxFindings > 0 {
		limit = o.maxFindings
	}
	res.Findings, res.FindingsOmitted = policy.FindingsUpTo(spec, res.Images, limit, o.policy...)
	if a.scanner != nil && len(res.Findings) > 0 {
		// Findings first, so that only the images and paths no mount
		// covers are scanned; then again, to carry what the scan found.
		a.scanContent(ctx, res.Findings, res.Images, digests, o.inspect)
		res.Findings, res.FindingsOmitted = policy.FindingsUpTo(spec, res.Images, limit, o.policy...)
	}
	res.Ignored = policy.IgnoredFindings(spec, res.Images, o.policy...)
	return res
}

// platformFor narrows the lookup to one platform when the pod pins exactly
// one, which saves fetching the configs of every other platform of an index.
// A pod pinning only its operating system gets that system's images: a
// Windows pod must not be judged by the linux images of an index (policy
// then finds nothing, as the rule covers linux paths only).
func (a *Analyzer) platformFor(spec *corev1.PodSpec) *imageinspect.Platform {
	constraint := policy.ConstraintOf(spec)
	if p, ok := constraint.Pinned(); ok {
		return &imageinspect.Platform{OS: p.OS, Architecture: p.Architecture}
	}
	if constraint.OS == nil && constraint.Arch == nil {
		return a.defaultPlatform
	}
	if len(constraint.OS) == 1 && constraint.OS[0] != "linux" {
		return &imageinspect.Platform{OS: constraint.OS[0]}
	}
	return nil
}

func (a *Analyzer) inspect(ctx context.Context, image string, platform *imageinspect.Platform, opts []imageinspect.InspectOption) (policy.ImageFacts, []string, error) {
	if a.lookupTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.lookupTimeout)
		defer cancel()
	}
	img, err := a.inspector.Inspect(ctx, image, platform, opts...)
	if err != nil {
		return policy.ImageFacts{}, nil, err
	}
	digests := make([]string, len(img.Platforms))
	for k, p := range img.Platforms {
		digests[k] = p.ManifestDigest
	}
	return Facts(img), digests, nil
}

// Facts converts what the registry said into what policy reads.
func Facts(img *imageinspect.Image) policy.ImageFacts {
	facts := policy.ImageFacts{Digest: img.Digest}
	for _, p := range img.Platforms {
		facts.Platforms = append(facts.Platforms, policy.PlatformVolumes{
			Platform: policy.Platform{OS: p.Platform.OS, Architecture: p.Platform.Architecture, Variant: p.Platform.Variant},
			Volumes:  p.Volumes,
		})
	}
	return facts
}
