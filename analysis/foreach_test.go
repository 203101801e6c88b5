package analysis

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestForEach(t *testing.T) {
	for _, concurrency := range []int{0, 1, 3, 50} {
		var calls [20]atomic.Int64
		var running, peak atomic.Int64
		var mu sync.Mutex
		var reported []int
		ForEach(len(calls), concurrency, func(done, total int) {
			mu.Lock()
			defer mu.Unlock()
			if total != len(calls) {
				t.Errorf("progress total %d, want %d", total, len(calls))
			}
			reported = append(reported, done)
		}, func(i int) {
			if r := running.Add(1); r > peak.Load() {
				peak.Store(r)
			}
			calls[i].Add(1)
			running.Add(-1)
		})
		for i := range calls {
			if calls[i].Load() != 1 {
				t.Errorf("concurrency %d: item %d called %d times", concurrency, i, calls[i].Load())
			}
		}
		if len(reported) != len(calls) {
			t.Errorf("concurrency %d: progress reported %d times, want %d", concurrency, len(reported), len(calls))
		}
		if limit := int64(max(concurrency, 1)); peak.Load() > limit {
			t.Errorf("concurrency %d: %d calls ran at once", concurrency, peak.Load())
		}
	}
}
