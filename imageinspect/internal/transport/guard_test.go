package transport

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"sync/atomic"
	"testing"
)

// These tests judge addresses; nothing here connects to them.

func TestAddressGuardDecision(t *testing.T) {
	extra := []netip.Prefix{netip.MustParsePrefix("10.96.0.0/12")}
	for _, tc := range []struct {
		addr           string
		blocked        bool // by default
		allowLinkLocal bool // with AllowLinkLocal
	}{
		{addr: "169.254.169.254", blocked: true, allowLinkLocal: true},
		{addr: "169.254.170.2", blocked: true, allowLinkLocal: true}, // ECS task metadata
		{addr: "169.254.0.1", blocked: true, allowLinkLocal: true},
		{addr: "::ffff:169.254.169.254", blocked: true, allowLinkLocal: true}, // IPv4-mapped
		{addr: "fe80::1", blocked: true, allowLinkLocal: true},
		{addr: "fe80::1%eth0", blocked: true, allowLinkLocal: true}, // zoned
		{addr: "fd00:ec2::254", blocked: true, allowLinkLocal: true},
		{addr: "100.100.100.200", blocked: true, allowLinkLocal: true},
		{addr: "168.63.129.16", blocked: true, allowLinkLocal: true},
		{addr: "10.96.0.1", blocked: true}, // extra network: blocked either way
		{addr: "127.0.0.1", allowLinkLocal: true},
		{addr: "::1", allowLinkLocal: true},
		{addr: "10.0.0.5", allowLinkLocal: true},
		{addr: "192.168.1.10", allowLinkLocal: true},
		{addr: "172.16.0.1", allowLinkLocal: true},
		{addr: "100.100.100.201", allowLinkLocal: true},
		{addr: "fd00:ec2::253", allowLinkLocal: true},
		{addr: "203.0.113.7", allowLinkLocal: true},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			addr := netip.MustParseAddr(tc.addr)
			def := &Guard{Blocked: extra}
			if got := def.check(addr) != ""; got != tc.blocked {
				t.Errorf("default: blocked = %v, want %v (%q)", got, tc.blocked, def.check(addr))
			}
			open := &Guard{AllowLinkLocal: true, Blocked: extra}
			if got := open.check(addr) == ""; got != tc.allowLinkLocal {
				t.Errorf("link-local allowed: allowed = %v, want %v", got, tc.allowLinkLocal)
			}
		})
	}
}

func TestAddressGuardControl(t *testing.T) {
	g := &Guard{}
	for _, tc := range []struct {
		address string
		refused bool
	}{
		{"169.254.169.254:80", true},
		{"[fd00:ec2::254]:80", true},
		{"[fe80::1%eth0]:443", true},
		{"127.0.0.1:5000", false},
		{"/run/socket", false}, // not an IP socket
	} {
		err := g.control("tcp", tc.address, nil)
		if (err != nil) != tc.refused {
			t.Errorf("control(%s) = %v, want refused %v", tc.address, err, tc.refused)
		}
		if err != nil && !errors.Is(err, ErrRegistryNotAllowed) {
			t.Errorf("control(%s) = %v, not ErrRegistryNotAllowed", tc.address, err)
		}
	}
}

func TestDefaultDialerCallsTheGuard(t *testing.T) {
	// The dialer of the default transport: its Control hook, called as the
	// dialer would call it between resolving and connecting.
	d := newDialer(&Guard{})
	if d.Control == nil {
		t.Fatal("the default dialer has no Control hook")
	}
	if err := d.Control("tcp4", "169.254.169.254:80", nil); !errors.Is(err, ErrRegistryNotAllowed) {
		t.Errorf("Control(169.254.169.254:80) = %v, want ErrRegistryNotAllowed", err)
	}
	if err := newDialer(&Guard{AllowLinkLocal: true}).Control("tcp4", "169.254.169.254:80", nil); err != nil {
		t.Errorf("with AllowLinkLocal: %v", err)
	}
}

// failTransport fails the test if a request reaches it.
type failTransport struct{ called atomic.Int64 }

func (f *failTransport) RoundTrip(*http.Request) (*http.Response, error) {
	f.called.Add(1)
	return nil, errors.New("a request reached the network")
}

// TestBlockedLiteralsNeverReachTheBase: a request to a blocked IP literal
// is refused before the base transport, which may be a proxy's, dials it.
func TestBlockedLiteralsNeverReachTheBase(t *testing.T) {
	for _, url := range []string{
		"https://169.254.169.254/v2/",
		"https://[fd00:ec2::254]/v2/x/manifests/1",
		"http://[fe80::1]:5000/v2/x/blobs/sha256:0",
	} {
		t.Run(url, func(t *testing.T) {
			base := &failTransport{}
			rt := New(Config{Base: base, Retry: RetryPolicy{Attempts: 3}})
			req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = rt.RoundTrip(req)
			if !errors.Is(err, ErrRegistryNotAllowed) {
				t.Errorf("RoundTrip = %v, want ErrRegistryNotAllowed", err)
			}
			if n := base.called.Load(); n != 0 {
				t.Errorf("%d requests reached the base transport", n)
			}
		})
	}
}
