package imageinspect

import (
	"fmt"
	"time"
)

// WithMaxManifestBytes caps the size of a manifest or index (default 4 MiB).
func WithMaxManifestBytes(n int64) Option {
	return positive("WithMaxManifestBytes", n, func(o *options) *int64 { return &o.maxManifestBytes })
}

// WithMaxConfigBytes caps the size of an image config (default 4 MiB).
func WithMaxConfigBytes(n int64) Option {
	return positive("WithMaxConfigBytes", n, func(o *options) *int64 { return &o.maxConfigBytes })
}

// WithMaxVolumes caps the VOLUMEs one image config may declare (default
// 256). A config declaring more, or a VOLUME path longer than 4096 bytes
// (PATH_MAX), is an image error (ErrTooLarge) that names the count and the
// limit; the paths are counted before any is decoded, so such a config
// costs no more memory than its bytes.
func WithMaxVolumes(n int) Option {
	return positive("WithMaxVolumes", n, func(o *options) *int { return &o.maxVolumes })
}

// WithHostConcurrency bounds the requests in flight to one registry host
// (default 8); more wait for a free slot, in order, until their context
// ends. Each host, mirrors included, has its own slots, so that a registry
// that hangs holds only its own. Answers from the cache take no slot.
func WithHostConcurrency(n int) Option {
	return positive("WithHostConcurrency", n, func(o *options) *int { return &o.hostConcurrency })
}

// WithTenantConcurrency bounds the lookups in flight of one tenant
// (ForTenant) that the cache could not answer (default 4); more wait for
// their tenant's free slot, in order, until their context ends. Keep it
// below WithHostConcurrency, so that one tenant never holds all of a
// shared registry's slots.
func WithTenantConcurrency(n int) Option {
	return positive("WithTenantConcurrency", n, func(o *options) *int { return &o.tenantConcurrency })
}

// WithRetries sets how many times in all a failed request is tried (default
// 3, at least 1) and the wait before the second try (default, and what 0
// keeps, 100 ms, doubling after). Retries happen only while the caller's
// deadline leaves time for them.
func WithRetries(attempts int, backoff time.Duration) Option {
	return func(o *options) error {
		if attempts < 1 || backoff < 0 {
			return fmt.Errorf("imageinspect.WithRetries(%d, %s): want 1 or more tries, and a backoff of 0 (the default) or more", attempts, backoff)
		}
		o.retry.Attempts = attempts
		if backoff > 0 {
			o.retry.Backoff = backoff
		}
		return nil
	}
}

// WithCircuitBreaker sets when a registry host is failed fast, for the
// tenant (ForTenant) whose lookups failed: after
// failures consecutive failures that say it is unwell (no answer in time,
// connection refused or reset, 5xx after the retries; not a 401, 404 or
// 429), every request to it fails at once with ErrUnavailable, saying why
// and until when, for cooldown; then one request at a time probes it, and
// the first answer closes the circuit while a failure opens it again.
// Defaults: 5 failures, 10 s (what a cooldown of 0 keeps). failures 0
// turns the breaker off.
func WithCircuitBreaker(failures int, cooldown time.Duration) Option {
	return func(o *options) error {
		if failures < 0 || cooldown < 0 {
			return fmt.Errorf("imageinspect.WithCircuitBreaker(%d, %s): want 0 (off) or more failures, and a cooldown of 0 (the default) or more", failures, cooldown)
		}
		o.breaker.failures = failures
		if cooldown > 0 {
			o.breaker.cooldown = cooldown
		}
		return nil
	}
}
