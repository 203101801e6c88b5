package analysis

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/volumeguard/volumeguard/policy"
)

func TestForEach(t *testing.T) {
	tests := []struct {
		name        string
		n           int
		concurrency int
	}{
		{"concurrency 0 means 1", 20, 0},
		{"one at a time", 20, 1},
		{"three at a time", 20, 3},
		{"more workers than jobs", 20, 50},
		{"no job", 0, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := make([]atomic.Int64, tt.n)
			var running, peak atomic.Int64
			var mu sync.Mutex
			var reported []int
			started := ForEach(context.Background(), tt.n, tt.concurrency, func(done, total int) {
				mu.Lock()
				defer mu.Unlock()
				if total != tt.n {
					t.Errorf("progress total %d, want %d", total, tt.n)
				}
				reported = append(reported, done)
			}, func(i int) {
				r := running.Add(1)
				for p := peak.Load(); r > p && !peak.CompareAndSwap(p, r); p = peak.Load() {
				}
				calls[i].Add(1)
				running.Add(-1)
			})
			if started != tt.n {
				t.Errorf("started %d, want %d", started, tt.n)
			}
			for i := range calls {
				if calls[i].Load() != 1 {
					t.Errorf("item %d called %d times", i, calls[i].Load())
				}
			}
			if len(reported) != tt.n {
				t.Errorf("progress reported %d times, want %d", len(reported), tt.n)
			}
			if limit := int64(max(tt.concurrency, 1)); peak.Load() > limit {
				t.Errorf("%d calls ran at once, limit %d", peak.Load(), limit)
			}
		})
	}
}

// TestForEachStartsNoMoreGoroutinesThanJobs: --concurrency 100000000 once
// started that many goroutines for one pod spec.
func TestForEachStartsNoMoreGoroutinesThanJobs(t *testing.T) {
	before := runtime.NumGoroutine()
	var during int
	ForEach(context.Background(), 1, 100_000, nil, func(int) { during = runtime.NumGoroutine() })
	if during > before+1 {
		t.Errorf("%d goroutines during one job, %d before: want at most one more", during, before)
	}
}

func TestForEachStopsStartingOnCancel(t *testing.T) {
	cause := errors.New("interrupted")
	tests := []struct {
		name        string
		concurrency int
		cancelAt    int // the call that cancels; -1: cancelled before
		wantStarted int // -1: any, checked against the calls made
	}{
		{"cancelled before: nothing starts", 4, -1, 0},
		{"one at a time: nothing after the cancelling call", 1, 2, 3},
		{"several at a time: the calls made are those reported", 4, 5, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 100
			ctx, cancel := context.WithCancelCause(context.Background())
			if tt.cancelAt < 0 {
				cancel(cause)
			}
			calls := make([]atomic.Bool, n)
			started := ForEach(ctx, n, tt.concurrency, nil, func(i int) {
				calls[i].Store(true)
				switch {
				case i == tt.cancelAt:
					cancel(cause)
				case i > tt.cancelAt:
					// Calls after the cancelling one cannot all finish
					// before it: the others in flight wait for it.
					<-ctx.Done()
				}
			})
			if tt.wantStarted >= 0 && started != tt.wantStarted {
				t.Errorf("started %d, want %d", started, tt.wantStarted)
			}
			if limit := tt.cancelAt + max(tt.concurrency, 1); started > limit {
				t.Errorf("started %d, want at most %d: the calls in flight when it was cancelled", started, limit)
			}
			for i := range calls {
				if calls[i].Load() != (i < started) {
					t.Errorf("call %d made: %v, but %d reported started", i, calls[i].Load(), started)
				}
			}
		})
	}
}

func TestSkipped(t *testing.T) {
	cause := errors.New("the overall timeout expired")
	spec := &corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init", Image: "busybox"}},
		Containers:     []corev1.Container{{Name: "zk", Image: "zookeeper:3.4.13"}},
	}
	res := Skipped(spec, cause)
	if len(res.Findings) != 0 || len(res.Errors) != 2 {
		t.Fatalf("result %+v, want an error per container and no finding", res)
	}
	for i, want := range []struct {
		name string
		typ  policy.ContainerType
	}{{"init", policy.InitContainer}, {"zk", policy.Container}} {
		e := res.Errors[i]
		if e.Container != want.name || e.ContainerType != want.typ || !errors.Is(e, cause) {
			t.Errorf("error %d = %+v (%v), want container %q (%s) carrying the cause", i, e, e, want.name, want.typ)
		}
	}
}
