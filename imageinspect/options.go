package imageinspect

import (
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/volumeguard/volumeguard/imageinspect/internal/transport"
)

const (
	mib = 1 << 20

	// Real manifests and configs are a few KiB; even a large multi-platform
	// index stays far below 1 MiB. 4 MiB is what containerd and distribution
	// accept for manifests, so nothing real is refused and a hostile registry
	// cannot make us buffer more.
	defaultMaxManifestBytes = 4 * mib
	defaultMaxConfigBytes   = 4 * mib

	// Real images declare a handful of VOLUMEs (the most seen in public
	// images is some dozens). Each becomes a finding per container, a line
	// of a denial and in mutate mode a volume, so a config declaring
	// thousands could make one admission hold and send megabytes.
	defaultMaxVolumes = 256

	// A cluster runs some hundreds to a few thousand distinct images; 10,000
	// entries (a tag, a manifest or a config each) hold them all. Entries are
	// small (what is kept of a manifest or config, not its bytes), so 64 MiB
	// only binds when a registry serves huge indexes.
	defaultCacheSize  = 10000
	defaultCacheBytes = 64 * mib

	// "Not found" is remembered briefly: long enough that a crash-looping
	// controller recreating pods with a typo does not send a request per pod,
	// short enough that an image pushed a moment later is seen.
	defaultNotFoundTTL = 30 * time.Second

	// An expired tag whose revalidation fails is served stale for at most
	// an hour: an outage or rate limit of minutes does not fail admissions,
	// and a registry gone for good does not freeze a tag forever.
	defaultMaxStale = time.Hour

	// Concurrent platform lookups within one index: enough to hide latency,
	// few enough not to trip registry rate limits.
	defaultPlatformJobs = 4

	defaultUserAgent = "volumeguard"

	// Eight requests in flight per registry host: what one Analyzer allowed
	// for all registries together before, enough to hide a registry's
	// latency, few enough not to trip its rate limits or hold many
	// connections to a host that hangs.
	defaultHostConcurrency = 8

	// Four lookups in flight per tenant: one index lookup at full speed
	// (defaultPlatformJobs), and half a host's slots, so that one tenant
	// alone never holds all of a shared registry's.
	defaultTenantConcurrency = 4
)

// Five failures in a row, each already retried, is a host that is down or
// hangs, not a dropped connection; failed fast for 10 s (about one
// admission deadline) it costs one probe per 10 s instead of a request per
// lookup, and is back within seconds of recovering.
var defaultBreaker = breakerPolicy{failures: 5, cooldown: 10 * time.Second}

// Three tries, 100 ms then 200 ms apart, and only while the deadline leaves
// a try at least 100 ms: a dropped connection or a registry restarting behind
// its load balancer is covered, and an admission request is never held past
// its deadline by sleeping. A Retry-After up to 10 s is honoured when the
// deadline allows (a CLI without deadline waits it); a longer one fails at
// once, saying when to retry.
var defaultRetry = transport.RetryPolicy{Attempts: 3, Backoff: 100 * time.Millisecond, MaxWait: 10 * time.Second, MinLeft: 100 * time.Millisecond}

// Option configures an Inspector.
type Option func(*options)

type options struct {
	keychain         authn.Keychain
	insecure         map[string]bool // registry host -> plain HTTP or unverified TLS
	transport        http.RoundTripper
	maxManifestBytes int64
	maxConfigBytes   int64
	maxVolumes       int
	logger           logr.Logger
	userAgent        string
	tagTTL           time.Duration // 0: tags resolve once per Inspector
	notFoundTTL      time.Duration // 0: "not found" is not remembered
	maxStale         time.Duration // 0: an expired tag is never served
	cacheSize        int
	cacheBytes       int64
	platformJobs     int
	now              func() time.Time
	metrics          Metrics
	retry            transport.RetryPolicy
	network          networkOptions

	hostConcurrency   int
	tenantConcurrency int
	breaker           breakerPolicy
	failureTTL        time.Duration // 0: failures are not remembered
}

func makeOptions(opts ...Option) *options {
	o := &options{
		// The keychain docker, crane and kubectl users already have.
		keychain:         authn.DefaultKeychain,
		insecure:         map[string]bool{},
		maxManifestBytes: defaultMaxManifestBytes,
		maxConfigBytes:   defaultMaxConfigBytes,
		maxVolumes:       defaultMaxVolumes,
		logger:           logr.Discard(),
		userAgent:        defaultUserAgent,
		notFoundTTL:      defaultNotFoundTTL,
		maxStale:         defaultMaxStale,
		cacheSize:        defaultCacheSize,
		cacheBytes:       defaultCacheBytes,
		platformJobs:     defaultPlatformJobs,
		now:              time.Now,
		retry:            defaultRetry,
		network:          defaultNetworkOptions(),

		hostConcurrency:   defaultHostConcurrency,
		tenantConcurrency: defaultTenantConcurrency,
		breaker:           defaultBreaker,
	}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// WithKeychain sets where registry credentials come from when an inspection
// brings none (UsingKeychain). The default is authn.DefaultKeychain (the
// docker config of the user). What it resolves is kept 5 minutes, and read
// again at once after a registry refuses it.
func WithKeychain(k authn.Keychain) Option {
	return func(o *options) {
		if k != nil {
			o.keychain = k
		}
	}
}

// WithTransport sets the base HTTP transport (tests, proxies). Retries,
// size limits, the redirect bound and authentication are layered on top of
// it; the dial guard, WithRegistryCAs and WithInsecureRegistries' TLS part
// belong to the default transport and are replaced with it. The default is
// one http.Transport per Inspector, so that connections to each registry are
// reused across inspections.
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

// WithMaxVolumes caps the VOLUMEs one image config may declare (default
// 256). A config declaring more, or a VOLUME path longer than 4096 bytes
// (PATH_MAX), is an image error (ErrTooLarge) that names the count and the
// limit; the paths are counted before any is decoded, so such a config
// costs no more memory than its bytes.
func WithMaxVolumes(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxVolumes = n
		}
	}
}

// WithLogger sets where debug logs go (V(1): fetches, retries, cache
// decisions). Credentials are never logged. The default discards everything.
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
// seen. An expired tag is revalidated with a HEAD: if it still points to the
// same digest, nothing else is fetched. Digests never expire: their content
// cannot change.
func WithTagTTL(d time.Duration) Option {
	return func(o *options) {
		if d >= 0 {
			o.tagTTL = d
		}
	}
}

// WithMaxStale bounds how long an expired tag is served while revalidating
// it fails (registry down, rate-limited, slow): default 1 hour past its
// TTL. Within it, the expired digest is served and the registry asked again
// 30 s later; past it, the lookup fails with the revalidation's error. 0
// never serves an expired tag. Tags without a TTL (WithTagTTL 0) never
// expire, so this does not apply to them.
func WithMaxStale(d time.Duration) Option {
	return func(o *options) {
		if d >= 0 {
			o.maxStale = d
		}
	}
}

// WithNotFoundTTL sets how long a "not found" answer is remembered (default
// 30 s); 0 asks the registry every time.
func WithNotFoundTTL(d time.Duration) Option {
	return func(o *options) {
		if d >= 0 {
			o.notFoundTTL = d
		}
	}
}

// WithCacheSize caps the number of cached entries (tags, manifests, configs
// and "not found" answers together; default 10,000). The least recently
// used go first.
func WithCacheSize(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.cacheSize = n
		}
	}
}

// WithCacheBytes caps the estimated memory of the cache (default 64 MiB).
func WithCacheBytes(n int64) Option {
	return func(o *options) {
		if n > 0 {
			o.cacheBytes = n
		}
	}
}

// WithRetries sets how many times in all a failed request is tried (default
// 3) and the wait before the second try (default 100 ms, doubling after).
// Retries happen only while the caller's deadline leaves time for them.
func WithRetries(attempts int, backoff time.Duration) Option {
	return func(o *options) {
		if attempts > 0 {
			o.retry.Attempts = attempts
		}
		if backoff > 0 {
			o.retry.Backoff = backoff
		}
	}
}

// WithMetrics sets the callbacks that count cache lookups, registry requests
// and inspections (default: none).
func WithMetrics(m Metrics) Option {
	return func(o *options) {
		o.metrics = m
	}
}

// WithClock sets the time source of the caches' expiry (tests, simulations).
// The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}
