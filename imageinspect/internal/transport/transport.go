// Package transport is what every HTTP request of imageinspect to a
// registry goes through below authentication: the redirect bound, the dial
// guard (and its check of IP literals for requests through a proxy),
// retries within the caller's deadline with bounded bodies, the ping cache,
// the request counter and the user agent. New builds it.
//
// It knows images only as far as the registry API's paths say what a
// request is for (a manifest, a config blob, a ping), to bound bodies and
// count requests by kind.
package transport

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	ggcrtransport "github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Config is what New builds the stack from. Every field is used as it is:
// the caller (imageinspect's options) holds the defaults and their reasons.
type Config struct {
	// Base is the transport the stack sends requests through; nil: one
	// http.Transport of New's (remote.DefaultTransport's settings, the dial
	// guard, RootCAs, and a twin that does not verify Insecure hosts).
	// RootCAs, Insecure's TLS part and the dial hook of Guard belong to the
	// default and go with it.
	Base     http.RoundTripper
	RootCAs  *x509.CertPool  // nil: the system's
	Insecure map[string]bool // "host[:port]" spoken to without verifying its certificate
	Guard    Guard
	// MaxRedirects bounds the redirects followed per request; a loop is
	// refused at once.
	MaxRedirects int
	Retry        RetryPolicy
	Caps         BodyCaps
	UserAgent    string
	// Now tells the time of the ping cache's expiries (nil: time.Now).
	Now func() time.Time
	// Log gets the retries, at V(1).
	Log logr.Logger
	// OnRequest, when set, is called for each request sent, each try of a
	// retried one included; code is the status, 0 when none came.
	OnRequest func(kind RequestKind, code int)
}

// New layers, over cfg.Base, what every request to a registry goes
// through, outermost first: the user agent, the ping cache, the redirect
// bound, the blocked IP literals, retries with bounded bodies, and the
// request counter. Authentication goes on top, per repository and
// credentials.
func New(cfg Config) http.RoundTripper {
	base := cfg.Base
	if base == nil {
		base = defaultBase(cfg)
	}
	var rt http.RoundTripper = &requestCounter{onRequest: cfg.OnRequest, inner: base}
	rt = &retryTransport{policy: cfg.Retry, caps: cfg.Caps, inner: rt, log: cfg.Log}
	rt = &guardLiterals{guard: &cfg.Guard, inner: rt}
	rt = &redirectGuard{max: cfg.MaxRedirects, inner: rt}
	rt = newPingCache(rt, cfg.Now)
	return ggcrtransport.NewUserAgent(rt, cfg.UserAgent)
}

// defaultBase is go-containerregistry's remote.DefaultTransport plus the
// dial guard, the registry CAs and a bound on waiting for response
// headers, so that a caller without a deadline is not held forever by a
// stuck registry. One per Inspector: connections to each registry are
// reused across inspections (50 idle per host). Insecure registries get a
// twin that does not verify certificates.
func defaultBase(cfg Config) http.RoundTripper {
	verified := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           newDialer(&cfg.Guard).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   50,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: time.Minute,
		TLSClientConfig:       &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
	}
	if len(cfg.Insecure) == 0 {
		return verified
	}
	unverified := verified.Clone()
	unverified.TLSClientConfig.InsecureSkipVerify = true //nolint:gosec // only for --insecure-registry hosts
	return &hostRouter{insecure: cfg.Insecure, verified: verified, unverified: unverified}
}

// newDialer dials as remote.DefaultTransport does, through guard.
func newDialer(guard *Guard) *net.Dialer {
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
