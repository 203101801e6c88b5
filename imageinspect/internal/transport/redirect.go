package transport

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// redirectGuard bounds the redirects followed for one request.
//
// Why a RoundTripper rather than http.Client.CheckRedirect: the clients that
// ping registries and fetch tokens are built inside go-containerregistry,
// where CheckRedirect cannot be set. Every hop of a redirect comes back down
// through the transport with req.Response set to the redirect that caused
// it, so the chain is visible here, for every client.
type redirectGuard struct {
	max   int
	inner http.RoundTripper
}

func (t *redirectGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	hops := 0
	for prev := req.Response; prev != nil && prev.Request != nil; prev = prev.Request.Response {
		hops++
		if prev.Request.URL.String() == req.URL.String() {
			closeBody(req)
			return nil, &redirectError{why: fmt.Sprintf("redirect loop: %s redirects back to itself", redactURL(req.URL))}
		}
	}
	if hops > t.max {
		closeBody(req)
		return nil, &redirectError{why: fmt.Sprintf("more than %d redirects (the last one to %s)", t.max, redactURL(req.URL))}
	}
	return t.inner.RoundTrip(req)
}

// redactURL drops what may carry secrets (the query of a signed storage URL,
// user info) and keeps what identifies the endpoint.
func redactURL(u *url.URL) string {
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return r.String()
}

// RedactError rewrites the URL of a *url.Error at the top of err: an
// http.Client reports the URL of the failing hop, which for a redirected blob
// is a signed storage URL.
func RedactError(err error) error {
	var uerr *url.Error
	if !errors.As(err, &uerr) || uerr != err {
		return err
	}
	if u, perr := url.Parse(uerr.URL); perr == nil {
		return &url.Error{Op: uerr.Op, URL: redactURL(u), Err: uerr.Err}
	}
	return &url.Error{Op: uerr.Op, URL: "(unparsable URL)", Err: uerr.Err}
}
