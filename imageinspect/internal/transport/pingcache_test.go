package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

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
	p := newPingCache(stub, nil)
	const hosts = maxPingHosts + 100
	for k := range hosts {
		if err := ping(context.Background(), t, p, fmt.Sprintf("r%d.example", k)); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := p.answers.Usage(); n != maxPingHosts {
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
		p := newPingCache(stub, nil)
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
		p := newPingCache(stub, nil)
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

// TestPlainHTTPRegistryIsPingedOverHTTPSOnce: go-containerregistry pings
// a loopback registry over HTTPS before falling back to plain HTTP, for each
// repository; once plain HTTP answered, the HTTPS try is refused without a
// connection. Every image after the first then costs its two GETs on the
// connection kept open, and no other connection.
func TestPlainHTTPRegistryIsPingedOverHTTPSOnce(t *testing.T) {
	srv := httptest.NewUnstartedServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	var conns atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")

	var refs []name.Reference
	for i := range 5 {
		ref, err := name.ParseReference(fmt.Sprintf("%s/repo-%d:v1", host, i))
		if err != nil {
			t.Fatal(err)
		}
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	before := conns.Load() // the writes' connections are not rt's to reuse

	rt := New(testConfig())
	for _, ref := range refs {
		if _, err := remote.Get(ref, remote.WithTransport(rt)); err != nil {
			t.Fatalf("getting %s: %v", ref, err)
		}
	}
	// The first image: an HTTPS try, then the plain HTTP connection.
	if got := conns.Load() - before; got != 2 {
		t.Errorf("%d connections for %d images, want 2 (the first image's HTTPS try and one kept)", got, len(refs))
	}
}

// schemeStub is a registry that speaks both schemes on one host (a proxy
// on a private address serving ports 80 and 443): plain HTTP answers at
// once, HTTPS answers when httpsGate is closed, or with httpsErr when set.
type schemeStub struct {
	httpsGate chan struct{}
	httpsErr  error
	httpsAsks atomic.Int64
}

func (s *schemeStub) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "https" {
		s.httpsAsks.Add(1)
		if s.httpsErr != nil {
			return nil, s.httpsErr
		}
		select {
		case <-s.httpsGate:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
}

func pingScheme(ctx context.Context, t *testing.T, p *pingCache, scheme, host string) error {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+host+"/v2/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
	}
	return err
}

// TestPingCacheRefusesHTTPSOnlyAfterHTTPSFailed: go-containerregistry races
// plain HTTP against a slow HTTPS ping (fallbackDelay) and cancels the
// loser. An HTTPS ping that was only slower than plain HTTP once says
// nothing against HTTPS: the next ones still go to the registry, or every
// later lookup of the host would be downgraded to plain HTTP (credentials
// and tokens in clear) for PingTTL. An HTTPS ping that failed is refused
// again while plain HTTP answers.
func TestPingCacheRefusesHTTPSOnlyAfterHTTPSFailed(t *testing.T) {
	const host = "10.1.2.3"
	t.Run("HTTPS slower than plain HTTP once", func(t *testing.T) {
		stub := &schemeStub{httpsGate: make(chan struct{})}
		p := newPingCache(stub, nil)
		// The race: HTTPS hangs, plain HTTP answers, the HTTPS try is cancelled.
		ctx, cancel := context.WithCancel(context.Background())
		primary := make(chan error, 1)
		go func() { primary <- pingScheme(ctx, t, p, "https", host) }()
		if err := pingScheme(context.Background(), t, p, "http", host); err != nil {
			t.Fatal(err)
		}
		cancel()
		<-primary

		close(stub.httpsGate) // HTTPS answers from now on
		asked := stub.httpsAsks.Load()
		if err := pingScheme(context.Background(), t, p, "https", host); err != nil {
			t.Errorf("the next HTTPS ping: %v; want the registry's answer", err)
		}
		if stub.httpsAsks.Load() == asked {
			t.Error("the next HTTPS ping did not reach the registry")
		}
	})
	t.Run("HTTPS refused, plain HTTP answered", func(t *testing.T) {
		stub := &schemeStub{httpsErr: errors.New("http: server gave HTTP response to HTTPS client")}
		p := newPingCache(stub, nil)
		if err := pingScheme(context.Background(), t, p, "https", host); err == nil {
			t.Fatal("the first HTTPS ping succeeded")
		}
		if err := pingScheme(context.Background(), t, p, "http", host); err != nil {
			t.Fatal(err)
		}
		asked := stub.httpsAsks.Load()
		if err := pingScheme(context.Background(), t, p, "https", host); !errors.Is(err, errSpeaksPlainHTTP) {
			t.Errorf("the next HTTPS ping: %v; want %v", err, errSpeaksPlainHTTP)
		}
		if got := stub.httpsAsks.Load() - asked; got != 0 {
			t.Errorf("the next HTTPS ping reached the registry %d times, want 0", got)
		}
	})
}
