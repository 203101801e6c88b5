package imageinspect

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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
		{name: "after the TTL the registry is asked again", advance: pingTTL + time.Second, want: 2},
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
			in := New(WithKeychain(kc), WithClock(clk.Now))
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
	in := newTestInspector()
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

// pingStub answers pings itself; when gate is set, it waits for it first.
type pingStub struct {
	asked   atomic.Int64
	started chan struct{} // gets a value when a ping arrives, if not nil
	gate    chan struct{}
}

func (s *pingStub) RoundTrip(req *http.Request) (*http.Response, error) {
	s.asked.Add(1)
	if s.started != nil {
		s.started <- struct{}{}
	}
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
}

func ping(ctx context.Context, t *testing.T, p *pingCache, host string) error {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+host+"/v2/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
	}
	return err
}

func TestPingCacheIsBounded(t *testing.T) {
	stub := &pingStub{}
	p := newPingCache(stub, newClock().Now)
	const hosts = maxPingHosts + 100
	for k := range hosts {
		if err := ping(context.Background(), t, p, fmt.Sprintf("r%d.example", k)); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := p.answers.usage(); n != maxPingHosts {
		t.Errorf("%d answers kept after pinging %d hosts, want %d", n, hosts, maxPingHosts)
	}
	// The most recent host is answered from memory, the first was pushed out.
	for _, tc := range []struct {
		host  string
		asked int64
	}{{fmt.Sprintf("r%d.example", hosts-1), 0}, {"r0.example", 1}} {
		before := stub.asked.Load()
		if err := ping(context.Background(), t, p, tc.host); err != nil {
			t.Fatal(err)
		}
		if got := stub.asked.Load() - before; got != tc.asked {
			t.Errorf("pinging %s again asked the registry %d times, want %d", tc.host, got, tc.asked)
		}
	}
}

func TestPingWaitersKeepTheirOwnContext(t *testing.T) {
	t.Run("a waiter whose context ends returns without waiting for the ping", func(t *testing.T) {
		stub := &pingStub{started: make(chan struct{}, 1), gate: make(chan struct{})}
		p := newPingCache(stub, newClock().Now)
		first := make(chan error, 1)
		go func() { first <- ping(context.Background(), t, p, "slow.example") }()
		<-stub.started // the first lookup's ping is in flight, and hangs

		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		waiter := make(chan error, 1)
		go func() { waiter <- ping(ctx, t, p, "slow.example") }()
		select {
		case err := <-waiter:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("waiter with an ended context got %v, want context.Canceled", err)
			}
		case <-time.After(30 * time.Second): // a hang guard: the ping never ends by itself
			t.Error("the waiter waited for the first lookup's ping despite its ended context")
		}
		close(stub.gate)
		if err := <-first; err != nil {
			t.Errorf("the first lookup: %v", err)
		}
	})
	t.Run("the asker giving up does not fail the waiters", func(t *testing.T) {
		stub := &pingStub{started: make(chan struct{}, 2), gate: make(chan struct{})}
		p := newPingCache(stub, newClock().Now)
		askerCtx, giveUp := context.WithCancel(context.Background())
		asker := make(chan error, 1)
		go func() { asker <- ping(askerCtx, t, p, "slow.example") }()
		<-stub.started

		waiter := make(chan error, 1)
		go func() { waiter <- ping(context.Background(), t, p, "slow.example") }()
		giveUp()
		if err := <-asker; !errors.Is(err, context.Canceled) {
			t.Errorf("asker got %v, want context.Canceled", err)
		}
		// The waiter asks on its own: its ping arrives, and is let through.
		<-stub.started
		close(stub.gate)
		if err := <-waiter; err != nil {
			t.Errorf("waiter got %v, want its own answer", err)
		}
	})
}
