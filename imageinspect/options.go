package imageinspect

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/volumeguard/volumeguard/imageinspect/internal/transport"
	"github.com/volumeguard/volumeguard/internal/keychain"
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

	// A cluster runs some hundreds to ten thousand distinct images. An
	// image takes three entries (its tag, manifest and config; an index
	// two more per platform), so 50,000 entries hold 10,000 images: 10,000
	// entries held 3,300, and a cluster cycling through more re-read every
	// image on every admission (test/bench/memory, docs/benchmarks.md).
	// Entries are small (what is kept of a manifest or config, not its
	// bytes), so 64 MiB only binds when a registry serves huge indexes.
	defaultCacheSize  = 50000
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

// Option configures an Inspector. An option given a value it cannot use (a
// negative size, an invalid mirror or pattern) says so, naming the value,
// and New fails with it: nothing is silently ignored.
type Option func(*options) error

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
	platformJobs     int
	now              func() time.Time
	metrics          Metrics
	retry            transport.RetryPolicy
	network          networkOptions

	hostConcurrency   int
	tenantConcurrency int
	breaker           breakerPolicy
	failureTTL        time.Duration // 0: failures are not remembered

	persistent PersistentStore // nil: nothing outlives the Inspector
	offline    bool            // answer from persistent alone

	contentBudget int64 // compressed layer bytes per ScanContent
}

// makeOptions applies opts over the defaults, and returns what every
// option that failed said, in the order given.
func makeOptions(opts ...Option) (*options, error) {
	o := &options{
		// The keychain docker, crane and kubectl users already have, read
		// once a minute per registry.
		keychain:         keychain.Own(),
		insecure:         map[string]bool{},
		maxManifestBytes: defaultMaxManifestBytes,
		maxConfigBytes:   defaultMaxConfigBytes,
		maxVolumes:       defaultMaxVolumes,
		logger:           logr.Discard(),
		userAgent:        defaultUserAgent,
		notFoundTTL:      defaultNotFoundTTL,
		maxStale:         defaultMaxStale,
		cacheSize:        defaultCacheSize,
		platformJobs:     defaultPlatformJobs,
		now:              time.Now,
		retry:            defaultRetry,
		network:          defaultNetworkOptions(),

		hostConcurrency:   defaultHostConcurrency,
		tenantConcurrency: defaultTenantConcurrency,
		breaker:           defaultBreaker,
		contentBudget:     defaultContentBudget,
	}
	var errs []error
	for _, opt := range opts {
		if err := opt(o); err != nil {
			errs = append(errs, err)
		}
	}
	return o, errors.Join(errs...)
}

// positive is an option setting a count or a size, which must be more
// than 0; option names it in errors.
func positive[T int | int64](option string, n T, field func(*options) *T) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("imageinspect.%s(%d): want more than 0", option, n)
		}
		*field(o) = n
		return nil
	}
}

// nonNegative is an option setting a duration, for which 0 means "none"
// and a negative value nothing.
func nonNegative(option string, d time.Duration, field func(*options) *time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("imageinspect.%s(%s): want 0 or more", option, d)
		}
		*field(o) = d
		return nil
	}
}
