package imageinspect

import (
	"context"
	"errors"
)

// shared runs fn once for concurrent callers with the same key
// (singleflight), while each caller stays bounded by its own ctx. fn runs with
// the first caller's ctx; if that one ends while ours has not, we try again.
func (i *Inspector) shared(ctx context.Context, key string, fn func(context.Context) (any, error)) (any, error) {
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
