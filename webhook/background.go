package webhook

import (
	"context"
	"sync"

	"github.com/go-logr/logr"
)

// background runs the goroutines of a server: Run waits for all of them
// before it returns, and the first error one of them returns before its
// context is done is fatal, on the channel fatal.
type background struct {
	wg    sync.WaitGroup
	fatal chan error
	log   logr.Logger
}

func newBackground(log logr.Logger) *background {
	return &background{fatal: make(chan error, 1), log: log}
}

// run runs f(ctx) in a goroutine. An error after ctx is done is the end
// Run asked for, not a failure.
func (b *background) run(ctx context.Context, f func(context.Context) error) {
	b.wg.Go(func() {
		err := f(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		select {
		case b.fatal <- err:
		default:
			// Run stops on the first; this one would be lost otherwise.
			b.log.Error(err, "another fatal error")
		}
	})
}

func (b *background) wait() { b.wg.Wait() }
