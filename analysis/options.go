package analysis

import (
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/volumeguard/volumeguard/imageinspect"
	"github.com/volumeguard/volumeguard/policy"
)

// AnalyzeOption configures one analysis.
type AnalyzeOption func(*analyzeOptions)

type analyzeOptions struct {
	inspect     []imageinspect.InspectOption
	maxFindings int // 0: every finding is built
	policy      []policy.Option
}

func makeAnalyzeOptions(opts []AnalyzeOption) analyzeOptions {
	var o analyzeOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithKeychain reads the images of this analysis with the credentials of kc
// instead of the Inspector's own. AnalyzePod reads a pod's with this.
func WithKeychain(kc authn.Keychain) AnalyzeOption {
	return func(o *analyzeOptions) {
		if kc != nil {
			o.inspect = append(o.inspect, imageinspect.UsingKeychain(kc))
		}
	}
}

// ForTenant counts the registry work of this analysis against tenant (the
// webhook passes the pod's namespace): see imageinspect.ForTenant. One
// tenant's slow or failing lookups then wait in that tenant's own queue.
func ForTenant(tenant string) AnalyzeOption {
	return func(o *analyzeOptions) {
		if tenant != "" {
			o.inspect = append(o.inspect, imageinspect.ForTenant(tenant))
		}
	}
}

// MaxFindings builds at most n findings of this analysis (n < 1: all) and
// only counts the rest, in Result.FindingsOmitted: the webhook bounds the
// work and memory of one admission by it, whatever the pod's containers
// times its images' VOLUMEs (policy.FindingsUpTo).
func MaxFindings(n int) AnalyzeOption {
	return func(o *analyzeOptions) { o.maxFindings = max(n, 0) }
}

// WithPolicy judges this analysis with opts: the namespace's policy
// options, so that the init containers a copy mutation added (from a
// trusted copier image) are not judged as the pod's own, and the ignore
// options of an exception (policy.WithIgnoredPaths, WithIgnoredImagePaths).
func WithPolicy(opts ...policy.Option) AnalyzeOption {
	return func(o *analyzeOptions) { o.policy = append(o.policy, opts...) }
}
