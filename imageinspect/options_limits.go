package imageinspect

import "time"

// WithHostConcurrency bounds the requests in flight to one registry host
// (default 8); more wait for a free slot, in order, until their context
// ends. Each host, mirrors included, has its own slots, so that a registry
// that hangs holds only its own. Answers from the cache take no slot.
func WithHostConcurrency(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.hostConcurrency = n
		}
	}
}

// WithTenantConcurrency bounds the lookups in flight of one tenant
// (ForTenant) that the cache could not answer (default 4); more wait for
// their tenant's free slot, in order, until their context ends. Keep it
// below WithHostConcurrency, so that one tenant never holds all of a
// shared registry's slots.
func WithTenantConcurrency(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.tenantConcurrency = n
		}
	}
}

// WithCircuitBreaker sets when a registry host is failed fast, for the
// tenant (ForTenant) whose lookups failed: after
// failures consecutive failures that say it is unwell (no answer in time,
// connection refused or reset, 5xx after the retries; not a 401, 404 or
// 429), every request to it fails at once with ErrUnavailable, saying why
// and until when, for cooldown; then one request at a time probes it, and
// the first answer closes the circuit while a failure opens it again.
// Defaults: 5 failures, 10 s. failures 0 turns the breaker off.
func WithCircuitBreaker(failures int, cooldown time.Duration) Option {
	return func(o *options) {
		if failures >= 0 {
			o.breaker.failures = failures
		}
		if cooldown > 0 {
			o.breaker.cooldown = cooldown
		}
	}
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
	return func(o *options) {
		if d >= 0 {
			o.failureTTL = d
		}
	}
}
