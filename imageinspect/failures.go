package imageinspect

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
)

// Remembered failures (WithFailureTTL) are few and small: one per image a
// run could not read. These bounds only bind when a flood of made-up image
// names fails.
const (
	maxRememberedFailures     = 4096
	maxRememberedFailureBytes = 4 << 20
)

// inspectRemembering is inspect, answered with the failure of the same
// lookup (image, platform, credentials, tenant) if one was remembered, and
// remembering a transient one.
func (i *Inspector) inspectRemembering(ctx context.Context, lk *lookup, r name.Reference, platform *Platform) (*Image, error) {
	if i.opts.failureTTL <= 0 {
		return i.inspect(ctx, lk, r, platform)
	}
	fp, err := i.fingerprintFor(ctx, lk, r.Context())
	if err != nil {
		return i.inspect(ctx, lk, r, platform) // which says why credentials fail
	}
	want := "*"
	if platform != nil {
		want = platform.String()
	}
	key := "failed\x00" + r.Name() + "\x00" + want + "\x00" + fp + "\x00" + tenantName(ctx)
	failed, ok := i.failures.Get(key)
	i.opts.metrics.cacheLookup(CacheFailure, ok)
	if ok {
		i.stats.failureHits.Add(1)
		return nil, fmt.Errorf("%w (remembered: the same lookup failed less than %s ago)", failed, i.opts.failureTTL)
	}
	img, err := i.inspect(ctx, lk, r, platform)
	if err != nil && transient(err) {
		i.failures.Add(key, err, int64(len(err.Error())), i.opts.failureTTL)
	}
	return img, err
}

// transient: the registry timed out (or did not free a slot in time),
// failed or rate-limited us. Not the caller leaving, nor a wait in the
// tenant's own queue, which says nothing of the registry.
func transient(err error) bool {
	var wait *slotWaitError
	if errors.Is(err, context.Canceled) || (errors.As(err, &wait) && wait.kind == SlotTenant) {
		return false
	}
	switch Reason(err) {
	case "timeout", "unavailable", "rate_limited":
		return true
	}
	return false
}
