package imageinspect

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/volumeguard/volumeguard/imageinspect/internal/transport"
)

// pingCounter counts registry pings (GET /v2/) reaching the registry.
type pingCounter struct {
	next  http.Handler
	pings atomic.Int64
}

func (p *pingCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v2/" {
		p.pings.Add(1)
	}
	p.next.ServeHTTP(w, r)
}

func TestPingIsAskedOncePerRegistry(t *testing.T) {
	tests := []struct {
		name    string
		auth    bool
		advance time.Duration
		want    int64
	}{
		{name: "open registry, many repositories", want: 1},
		{name: "registry demanding basic auth: the challenge is reused", auth: true, want: 1},
		{name: "after the TTL the registry is asked again", advance: transport.PingTTL + time.Second, want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counter := &pingCounter{}
			host := startRegistry(t, func(h http.Handler) http.Handler {
				if tt.auth {
					h = requireBasicAuth(h)
				}
				counter.next = h
				return counter
			})
			repos := []string{"a/one:v1", "a/two:v1", "b/three:v1", "b/four:v1"}
			for _, r := range repos {
				pushImage(t, host, r, imageSpec{volumes: []string{"/data"}})
			}
			counter.pings.Store(0)

			clk := newClock()
			kc := staticKeychain{}
			if tt.auth {
				kc = staticKeychain{host: host, user: testUser, pass: testPass}
			}
			in := mustNew(t, WithKeychain(kc), WithClock(clk.Now))
			for i, r := range repos {
				if i == len(repos)/2 {
					clk.advance(tt.advance)
				}
				if _, err := in.Inspect(context.Background(), host+"/"+r, nil); err != nil {
					t.Fatalf("inspecting %s: %v", r, err)
				}
			}
			if got := counter.pings.Load(); got != tt.want {
				t.Errorf("registry pinged %d times for %d repositories, want %d", got, len(repos), tt.want)
			}
		})
	}
}

func TestConcurrentLookupsShareOnePing(t *testing.T) {
	counter := &pingCounter{}
	host := startRegistry(t, func(h http.Handler) http.Handler { counter.next = h; return counter })
	const repos = 16
	for i := range repos {
		pushImage(t, host, fmt.Sprintf("app/r%d:v1", i), imageSpec{volumes: []string{"/data"}})
	}
	counter.pings.Store(0)
	in := newTestInspector(t)
	var wg sync.WaitGroup
	for i := range repos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := in.Inspect(context.Background(), fmt.Sprintf("%s/app/r%d:v1", host, i), nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := counter.pings.Load(); got != 1 {
		t.Errorf("%d concurrent lookups of new repositories pinged %d times, want 1", repos, got)
	}
}
