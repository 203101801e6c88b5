package transport

import (
	"net/http"
	"strings"
)

// RequestKind names what an HTTP request to a registry was for.
type RequestKind string

const (
	RequestManifest     RequestKind = "manifest"      // GET of a manifest or index
	RequestManifestHead RequestKind = "manifest_head" // HEAD revalidating a tag
	RequestConfig       RequestKind = "config"        // GET of a config blob (and its redirects)
	RequestLayer        RequestKind = "layer"         // streamed GET of a layer blob (and its redirects)
	RequestOther        RequestKind = "other"         // pings and token requests
)

// requestCounter reports every request that goes out on the wire.
type requestCounter struct {
	onRequest func(RequestKind, int)
	inner     http.RoundTripper
}

func (t *requestCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.inner.RoundTrip(req)
	if t.onRequest != nil {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		t.onRequest(requestKind(req), code)
	}
	return resp, err
}

func requestKind(req *http.Request) RequestKind {
	first := firstRequest(req)
	p := first.URL.Path
	switch {
	case !strings.HasPrefix(p, "/v2/"):
		return RequestOther
	case strings.Contains(p, "/manifests/") && first.Method == http.MethodHead:
		return RequestManifestHead
	case strings.Contains(p, "/manifests/"):
		return RequestManifest
	case strings.Contains(p, "/blobs/") && isStreamed(req):
		return RequestLayer
	case strings.Contains(p, "/blobs/"):
		return RequestConfig
	}
	return RequestOther
}
