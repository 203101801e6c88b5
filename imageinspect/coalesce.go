package imageinspect

import (
	"context"
	"errors"
)

// shared runs fn once for concurrent callers with the same key
// (singleflight), while each caller stays bounded by its own ctx. fn runs with
// the first caller's ctx; if that one ends while ours has not, we try again.
//
// Only lookups the cache could not answer come here: this is where a
// tenant's lookup takes one of its slots (ForTenant), before joining or
// leading a flight, so that a flight never waits in any tenant's queue.
func (i *Inspector) shared(ctx context.Context, key string, fn func(context.Context) (any, error)) (any, error) {
	ctx, release, err := i.tenantSlot(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	for attempt := 0; ; attempt++ {
		led := false
		ch := i.group.DoChan(key, func() (any, error) {
			led = true
			return fn(ctx)
		})
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case r := <-ch:
			if !led {
				i.stats.sharedFetches.Add(1)
			}
			leaderGaveUp := errors.Is(r.Err, context.Canceled) || errors.Is(r.Err, context.DeadlineExceeded)
			if r.Err != nil && !led && leaderGaveUp && ctx.Err() == nil && attempt < 2 {
				continue
			}
			return r.Val, r.Err
		}
	}
}
