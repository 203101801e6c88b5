package analysis

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"

	"github.com/volumeguard/volumeguard/policy"
)

// ForEach calls fn(i) for i in [0, n), starting them in order of i, at most
// concurrency calls at a time, and progress (when not nil) after each call
// with the count done so far. check and audit analyse their pod specs
// through it.
//
// It starts no more goroutines than calls, and no call once ctx is done. It
// returns how many calls it started: fn(i) ran for every i below that and
// for none above, so the caller can report the rest as not analysed
// (Skipped).
func ForEach(ctx context.Context, n, concurrency int, progress func(done, total int), fn func(i int)) (started int) {
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for range min(max(concurrency, 1), n) {
		wg.Go(func() {
			// An index is taken only after ctx was seen alive, so every
			// index taken below n is a call made.
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
				if d := done.Add(1); progress != nil {
					progress(int(d), n)
				}
			}
		})
	}
	wg.Wait()
	return min(int(next.Load()), n)
}

// Skipped is the result of a pod spec that was not analysed because of
// cause (the context's, when ForEach stopped): every container's image is
// an error, so that a spec left out is never read as one without findings.
func Skipped(spec *corev1.PodSpec, cause error) Result {
	var res Result
	for _, c := range policy.Containers(spec) {
		res.Errors = append(res.Errors, &ImageError{
			Container: c.Name, ContainerType: c.Type, Image: c.Image,
			Err: fmt.Errorf("not analysed: %w", cause),
		})
	}
	return res
}
