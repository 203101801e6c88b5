package imageinspect

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestMaxStale(t *testing.T) {
	const ttl = 5 * time.Minute
	type step struct {
		advance time.Duration
		failing bool
		ok      bool // else a lookup error
		says    []string
	}
	for _, tc := range []struct {
		name  string
		opts  []Option
		steps []step
	}{
		{name: "default: an hour past the TTL, then the revalidation's error", steps: []step{
			{advance: ttl, failing: true, ok: true},
			{advance: 59 * time.Minute, failing: true, ok: true},
			{advance: 2 * time.Minute, failing: true, says: []string{"503", "the registry last confirmed the tag 1h6m0s ago", "at most 1h0m0s"}},
			{failing: true, says: []string{"503"}},
			{ok: true}, // the registry back: read again
		}},
		{name: "0: never stale", opts: []Option{WithMaxStale(0)}, steps: []step{
			{advance: ttl, failing: true, says: []string{"503", "at most 0s"}},
			{ok: true},
		}},
		{name: "10 minutes", opts: []Option{WithMaxStale(10 * time.Minute)}, steps: []step{
			{advance: ttl + 9*time.Minute, failing: true, ok: true},
			{advance: 2 * time.Minute, failing: true, says: []string{"at most 10m0s"}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var failing atomic.Bool
			host := startRegistry(t, func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if failing.Load() && strings.Contains(r.URL.Path, "/manifests/") {
						w.WriteHeader(http.StatusServiceUnavailable)
						return
					}
					next.ServeHTTP(w, r)
				})
			})
			pushImage(t, host, "app:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/data"}})
			clk := newClock()
			in := newTestInspector(t, append([]Option{WithTagTTL(ttl), WithClock(clk.Now), WithRetries(1, 0)}, tc.opts...)...)
			if _, err := in.Inspect(context.Background(), host+"/app:1", nil); err != nil {
				t.Fatal(err)
			}
			for k, s := range tc.steps {
				clk.advance(s.advance)
				failing.Store(s.failing)
				_, err := in.Inspect(context.Background(), host+"/app:1", nil)
				if s.ok {
					if err != nil {
						t.Fatalf("step %d: %v", k, err)
					}
					continue
				}
				assertErr(t, err, ErrUnavailable, s.says...)
			}
		})
	}
}
