package transport

import (
	"net"
	"net/http"
	"net/netip"
	"syscall"
)

// blockedNetwork is a range the webhook must never connect to, and why.
type blockedNetwork struct {
	prefix netip.Prefix
	why    string
}

// defaultBlocked are the link-local ranges and the cloud metadata endpoints.
// An image reference is written by whoever writes the pod spec; without this
// guard "169.254.169.254/latest/meta-data:x" would make the webhook, with its
// node's cloud identity, send requests there. No registry lives at these
// addresses. Private ranges (10/8, ...) stay allowed: in-cluster registries
// live there.
var defaultBlocked = []blockedNetwork{
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address, where cloud metadata endpoints live"},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "the AWS instance metadata endpoint"},
	{netip.MustParsePrefix("fd00:ec2::23/128"), "the AWS time sync endpoint"},
	{netip.MustParsePrefix("100.100.100.200/32"), "the Alibaba Cloud metadata endpoint"},
	{netip.MustParsePrefix("168.63.129.16/32"), "the Azure WireServer endpoint"},
}

// Guard decides which addresses may be connected to: never to the
// link-local ranges and cloud metadata endpoints unless AllowLinkLocal, and
// never to Blocked.
type Guard struct {
	AllowLinkLocal bool // drops the default ranges, keeps Blocked
	Blocked        []netip.Prefix
}

// check returns why addr is refused, or "" when it is allowed.
// IPv4-mapped IPv6 addresses (::ffff:169.254.169.254) are judged as IPv4,
// and zones are dropped (netip.Prefix.Contains is false for "fe80::1%eth0").
func (g *Guard) check(addr netip.Addr) string {
	addr = addr.Unmap().WithZone("")
	if !g.AllowLinkLocal {
		for _, b := range defaultBlocked {
			if b.prefix.Contains(addr) {
				return b.why
			}
		}
	}
	for _, p := range g.Blocked {
		if p.Contains(addr) {
			return "in a blocked network (" + p.String() + ")"
		}
	}
	return ""
}

// control is a net.Dialer Control hook: it runs after name resolution and
// before connect, for each address tried, so that a name resolving to a
// blocked address (DNS rebinding included) is refused before any packet is
// sent to it.
func (g *Guard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil // not an IP socket address: nothing to judge
	}
	if why := g.check(ap.Addr()); why != "" {
		return &NotAllowedError{Target: address, Why: why}
	}
	return nil
}

// guardLiterals refuses requests whose URL host is a blocked IP literal
// before they reach any transport. The dial hook covers everything dialed
// directly; this also covers requests sent through an HTTP proxy, which
// would otherwise dial the address for us.
type guardLiterals struct {
	guard *Guard
	inner http.RoundTripper
}

func (t *guardLiterals) RoundTrip(req *http.Request) (*http.Response, error) {
	host := req.URL.Hostname()
	if ip := net.ParseIP(host); ip != nil {
		if addr, ok := netip.AddrFromSlice(ip); ok {
			if why := t.guard.check(addr); why != "" {
				closeBody(req)
				return nil, &NotAllowedError{Target: req.URL.Host, Why: why}
			}
		}
	}
	return t.inner.RoundTrip(req)
}

// closeBody honours the RoundTripper contract on early returns.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
