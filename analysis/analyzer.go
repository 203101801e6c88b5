// Package analysis joins registry facts to pod specs: it looks up the images a
// pod spec names, on the platforms the pod can run on, and hands the facts to
// policy. It is the one engine behind check, serve and audit.
package analysis

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"

	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/policy"
)

// Inspector reads the declared volumes of an image; *imageinspect.Inspector
// is the real one.
type Inspector interface {
	Inspect(ctx context.Context, ref string, platform *imageinspect.Platform) (*imageinspect.Image, error)
}

// OptionInspector is an Inspector that takes per-inspection options, such as
// the credentials of a pod; *imageinspect.Inspector is one. An Inspector
// that is not one is called without them.
type OptionInspector interface {
	InspectWith(ctx context.Context, ref string, platform *imageinspect.Platform, opts ...imageinspect.InspectOption) (*imageinspect.Image, error)
}

// AnalyzeOption configures one analysis.
type AnalyzeOption func(*analyzeOptions)

type analyzeOptions struct {
	inspect []imageinspect.InspectOption
}

// WithKeychain reads the images of this analysis with the credentials of kc:
// the pod's pull secrets (package pullsecrets) chained before the webhook's
// own.
func WithKeychain(kc authn.Keychain) AnalyzeOption {
	return func(o *analyzeOptions) {
		if kc != nil {
			o.inspect = append(o.inspect, imageinspect.UsingKeychain(kc))
		}
	}
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
	// Errors name the containers whose image could not be read. Their
	// volumes are unknown: never read this as "no finding".
	Errors []*ImageError
	// Images holds the facts that were read, by image string as written.
	Images map[string]policy.ImageFacts
}

// Analyzer is safe for concurrent use.
type Analyzer struct {
	inspector       Inspector
	defaultPlatform *imageinspect.Platform
	// slots bounds the registry lookups in flight across all analyses.
	slots chan struct{}
}

// Option configures an Analyzer.
type Option func(*Analyzer)

// WithDefaultPlatform evaluates pods that pin no platform as if they ran on p
// (the platform of the target cluster's nodes), instead of the union over
// every linux platform of an image.
func WithDefaultPlatform(p imageinspect.Platform) Option {
	return func(a *Analyzer) { a.defaultPlatform = &p }
}

// WithConcurrency bounds the image lookups in flight at once; n < 1 means 1.
func WithConcurrency(n int) Option {
	return func(a *Analyzer) { a.slots = make(chan struct{}, max(n, 1)) }
}

// New returns an Analyzer reading images through inspector.
func New(inspector Inspector, opts ...Option) *Analyzer {
	// Eight lookups at once keep a few registries busy without opening
	// hundreds of connections from one CI job or webhook replica.
	a := &Analyzer{inspector: inspector, slots: make(chan struct{}, 8)}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Analyze looks up every distinct image of spec in parallel and returns the
// findings of policy.Findings, plus the images that could not be read.
func (a *Analyzer) Analyze(ctx context.Context, spec *corev1.PodSpec) Result {
	return a.AnalyzeWith(ctx, spec)
}

// AnalyzeWith is Analyze with per-analysis options (WithKeychain).
func (a *Analyzer) AnalyzeWith(ctx context.Context, spec *corev1.PodSpec, opts ...AnalyzeOption) Result {
	var o analyzeOptions
	for _, opt := range opts {
		opt(&o)
	}
	platform := a.platformFor(spec)
	containers := policy.Containers(spec)

	type lookup struct {
		facts policy.ImageFacts
		err   error
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
	// Distinct images are looked up in parallel; the last one on this
	// goroutine, so the common pod with one image starts no goroutine.
	var wg sync.WaitGroup
	for i, image := range images {
		l := lookups[image]
		if i == len(images)-1 {
			l.facts, l.err = a.inspect(ctx, image, platform, o.inspect)
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.facts, l.err = a.inspect(ctx, image, platform, o.inspect)
		}()
	}
	wg.Wait()

	res := Result{Images: map[string]policy.ImageFacts{}}
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
	}
	res.Findings = policy.Findings(spec, res.Images)
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

func (a *Analyzer) inspect(ctx context.Context, image string, platform *imageinspect.Platform, opts []imageinspect.InspectOption) (policy.ImageFacts, error) {
	select {
	case a.slots <- struct{}{}:
		defer func() { <-a.slots }()
	case <-ctx.Done():
		return policy.ImageFacts{}, fmt.Errorf("waiting to inspect image %q: %w", image, ctx.Err())
	}
	var img *imageinspect.Image
	var err error
	if oi, ok := a.inspector.(OptionInspector); ok && len(opts) > 0 {
		img, err = oi.InspectWith(ctx, image, platform, opts...)
	} else {
		img, err = a.inspector.Inspect(ctx, image, platform)
	}
	if err != nil {
		return policy.ImageFacts{}, err
	}
	return Facts(img), nil
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
