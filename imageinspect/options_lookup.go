package imageinspect

import (
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/authn"
)

// WithKeychain sets where registry credentials come from when an inspection
// brings none (UsingKeychain). It is asked once per repository and
// inspection: give one that caches what it resolves when resolving costs.
// The default, and what nil keeps, is the docker config of the user
// (authn.DefaultKeychain), kept a minute per registry and read again at
// once after a registry refuses it.
func WithKeychain(k authn.Keychain) Option {
	return func(o *options) error {
		if k != nil {
			o.keychain = k
		}
		return nil
	}
}

// WithTransport sets the base HTTP transport (tests, proxies); nil keeps
// the default. Retries, size limits, the redirect bound and authentication
// are layered on top of it; the dial guard, WithRegistryCAs and
// WithInsecureRegistries' TLS part belong to the default transport and are
// replaced with it. The default is one http.Transport per Inspector, so
// that connections to each registry are reused across inspections.
func WithTransport(rt http.RoundTripper) Option {
	return func(o *options) error {
		o.transport = rt
		return nil
	}
}

// WithLogger sets where debug logs go (V(1): fetches, retries, cache
// decisions). Credentials are never logged. The default discards everything.
func WithLogger(l logr.Logger) Option {
	return func(o *options) error {
		o.logger = l
		return nil
	}
}

// WithUserAgent sets the product sent in the User-Agent header (default,
// and what "" keeps, "volumeguard"); go-containerregistry appends its own.
func WithUserAgent(ua string) Option {
	return func(o *options) error {
		if ua != "" {
			o.userAgent = ua
		}
		return nil
	}
}

// WithMetrics sets the callbacks that count cache lookups, registry requests
// and inspections (default: none).
func WithMetrics(m Metrics) Option {
	return func(o *options) error {
		o.metrics = m
		return nil
	}
}

// WithClock sets the time source of the caches' expiry (tests,
// simulations). The default, and what nil keeps, is time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now != nil {
			o.now = now
		}
		return nil
	}
}

// WithTagTTL sets how long a tag stays resolved to the digest it pointed to.
// 0, the default, keeps it for the Inspector's lifetime, which suits one-shot
// commands; a long-running webhook sets minutes so that re-pushed tags are
// seen. An expired tag is revalidated with a HEAD: if it still points to the
// same digest, nothing else is fetched. Digests never expire: their content
// cannot change.
func WithTagTTL(d time.Duration) Option {
	return nonNegative("WithTagTTL", d, func(o *options) *time.Duration { return &o.tagTTL })
}

// WithMaxStale bounds how long an expired tag is served while revalidating
// it fails (registry down, rate-limited, slow): default 1 hour past its
// TTL. Within it, the expired digest is served and the registry asked again
// 30 s later; past it, the lookup fails with the revalidation's error. 0
// never serves an expired tag. Tags without a TTL (WithTagTTL 0) never
// expire, so this does not apply to them.
func WithMaxStale(d time.Duration) Option {
	return nonNegative("WithMaxStale", d, func(o *options) *time.Duration { return &o.maxStale })
}

// WithNotFoundTTL sets how long a "not found" answer is remembered (default
// 30 s); 0 asks the registry every time.
func WithNotFoundTTL(d time.Duration) Option {
	return nonNegative("WithNotFoundTTL", d, func(o *options) *time.Duration { return &o.notFoundTTL })
}

// WithFailureTTL remembers, for d, a lookup that failed because the
// registry timed out, failed or rate-limited it, and answers the same
// lookup (image, platform, credentials and tenant) with that failure
// without asking again. A one-shot command sets its run's length, so that
// an image that cannot be read costs one lookup per run, not one per pod
// spec. The default, 0, remembers nothing: a long-running server relies
// on the circuit breaker, which stops a failing host for everyone without
// keeping an image unreadable after its registry recovered.
func WithFailureTTL(d time.Duration) Option {
	return nonNegative("WithFailureTTL", d, func(o *options) *time.Duration { return &o.failureTTL })
}

// WithCacheSize caps the number of cached entries (tags, manifests, configs
// and "not found" answers together; default 10,000). The least recently
// used go first.
func WithCacheSize(n int) Option {
	return positive("WithCacheSize", n, func(o *options) *int { return &o.cacheSize })
}
