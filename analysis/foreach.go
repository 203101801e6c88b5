package analysis

import (
	"sync"
	"sync/atomic"
)

// ForEach calls fn(i) for every i in [0, n), concurrency calls at a time,
// and progress (when not nil) after each call with the count done so far.
// check and audit analyse their pod specs through it.
func ForEach(n, concurrency int, progress func(done, total int), fn func(i int)) {
	next := make(chan int)
	var done atomic.Int64
	var wg sync.WaitGroup
	for range max(concurrency, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
				if d := done.Add(1); progress != nil {
					progress(int(d), n)
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
