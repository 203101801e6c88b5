package imageinspect

import (
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/authn"
)

const (
	mib = 1 << 20

	// Real manifests and configs are a few KiB; even a large multi-platform
	// index stays far below 1 MiB. 4 MiB is what containerd and distribution
	// accept for manifests, so nothing real is refused and a hostile registry
	// cannot make us buffer more.
	defaultMaxManifestBytes = 4 * mib
	defaultMaxConfigBytes   = 4 * mib

	// A cluster runs some hundreds to a few thousand distinct images; 10,000
	// entries (a tag, a manifest or a config each) hold them all in a few MiB.
	defaultCacheSize = 10000

	// Concurrent platform lookups within one index: enough to hide latency,
	// few enough not to trip registry rate limits.
	defaultPlatformJobs = 4

	defaultUserAgent = "volumeguard"
)

// Option configures an Inspector.
type Option func(*options)

type options struct {
	keychain         authn.Keychain
	insecure         map[string]bool // registry host -> plain HTTP
	transport        http.RoundTripper
	maxManifestBytes int64
	maxConfigBytes   int64
	logger           logr.Logger
	userAgent        string
	tagTTL           time.Duration // 0: tags resolve once per Inspector
	cacheSize        int
	platformJobs     int
}

func makeOptions(opts ...Option) *options {
	o := &options{
		// The keychain docker, crane and kubectl users already have.
		keychain:         authn.DefaultKeychain,
		insecure:         map[string]bool{},
		maxManifestBytes: defaultMaxManifestBytes,
		maxConfigBytes:   defaultMaxConfigBytes,
		logger:           logr.Discard(),
		userAgent:        defaultUserAgent,
		cacheSize:        defaultCacheSize,
		platformJobs:     defaultPlatformJobs,
	}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// WithKeychain sets where registry credentials come from.
// The default is authn.DefaultKeychain (the docker config of the user).
func WithKeychain(k authn.Keychain) Option {
	return func(o *options) {
		if k != nil {
			o.keychain = k
		}
	}
}

// WithInsecureRegistries makes the given registry hosts ("host" or
// "host:port") be spoken to over plain HTTP. Loopback registries (localhost,
// 127.0.0.1, [::1]) already are, as in go-containerregistry.
func WithInsecureRegistries(hosts ...string) Option {
	return func(o *options) {
		for _, h := range hosts {
			o.insecure[normalizeHost(h)] = true
		}
	}
}

// WithTransport sets the base HTTP transport (tests, proxies). Authentication,
// retries and size limits are layered on top of it. The default is a clone of
// go-containerregistry's remote.DefaultTransport, one per Inspector, so that
// connections are reused across inspections.
func WithTransport(rt http.RoundTripper) Option {
	return func(o *options) {
		o.transport = rt
	}
}

// WithMaxManifestBytes caps the size of a manifest or index (default 4 MiB).
func WithMaxManifestBytes(n int64) Option {
	return func(o *options) {
		if n > 0 {
			o.maxManifestBytes = n
		}
	}
}

// WithMaxConfigBytes caps the size of an image config (default 4 MiB).
func WithMaxConfigBytes(n int64) Option {
	return func(o *options) {
		if n > 0 {
			o.maxConfigBytes = n
		}
	}
}

// WithLogger sets where debug logs go (V(1): fetches and cache decisions).
// Credentials are never logged. The default discards everything.
func WithLogger(l logr.Logger) Option {
	return func(o *options) {
		o.logger = l
	}
}

// WithUserAgent sets the product sent in the User-Agent header
// (default "volumeguard"); go-containerregistry appends its own.
func WithUserAgent(ua string) Option {
	return func(o *options) {
		if ua != "" {
			o.userAgent = ua
		}
	}
}

// WithTagTTL sets how long a tag stays resolved to the digest it pointed to.
// 0, the default, keeps it for the Inspector's lifetime, which suits one-shot
// commands; a long-running webhook sets minutes so that re-pushed tags are
// seen. Digests never expire: their content cannot change.
func WithTagTTL(d time.Duration) Option {
	return func(o *options) {
		if d >= 0 {
			o.tagTTL = d
		}
	}
}

// WithCacheSize caps the number of cached entries (tags, manifests and
// configs together; default 10,000). The least recently used go first.
func WithCacheSize(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.cacheSize = n
		}
	}
}
