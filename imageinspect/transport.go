package imageinspect

import (
	"crypto/tls"
	"net"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// newHTTPTransport is go-containerregistry's remote.DefaultTransport plus
// the dial guard, the registry CAs and a bound on waiting for response
// headers, so that a caller without a deadline is not held forever by a
// stuck registry. One per Inspector: connections to each registry are
// reused across inspections (50 idle per host). Insecure registries get a
// twin that does not verify certificates.
func newHTTPTransport(o *options) http.RoundTripper {
	dialer := newDialer(&o.network.guard)
	verified := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   50,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: time.Minute,
		TLSClientConfig:       &tls.Config{RootCAs: o.network.rootCAs, MinVersion: tls.VersionTLS12},
	}
	if len(o.insecure) == 0 {
		return verified
	}
	unverified := verified.Clone()
	unverified.TLSClientConfig.InsecureSkipVerify = true //nolint:gosec // only for --insecure-registry hosts
	return &hostRouter{insecure: o.insecure, verified: verified, unverified: unverified}
}

// newDialer dials as remote.DefaultTransport does, through guard.
func newDialer(guard *addressGuard) *net.Dialer {
	return &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: guard.control}
}

// hostRouter sends requests for insecure registries through a transport
// that does not verify certificates, and the rest through one that does.
type hostRouter struct {
	insecure             map[string]bool
	verified, unverified http.RoundTripper
}

func (r *hostRouter) RoundTrip(req *http.Request) (*http.Response, error) {
	if r.insecure[req.URL.Host] {
		return r.unverified.RoundTrip(req)
	}
	return r.verified.RoundTrip(req)
}

// newStack layers, over base, what every request to a registry goes
// through, outermost first: the redirect bound, the blocked IP literals,
// retries with bounded bodies, and the request metrics. Authentication goes
// on top, per repository and credentials (endpoint).
func newStack(o *options, base http.RoundTripper) http.RoundTripper {
	var rt http.RoundTripper = &requestCounter{metrics: &o.metrics, inner: base}
	rt = &retryTransport{
		policy: o.retry,
		caps:   bodyCaps{manifest: o.maxManifestBytes, config: o.maxConfigBytes},
		inner:  rt,
		log:    o.logger,
	}
	rt = &guardLiterals{guard: &o.network.guard, inner: rt}
	rt = &redirectGuard{max: o.network.maxRedirects, inner: rt}
	rt = newPingCache(rt, o.now)
	return transport.NewUserAgent(rt, o.userAgent)
}
