package imageinspect

import (
	"io"
	"net/http"
	"strings"
)

// manifestLimitTransport caps the bodies of manifest responses.
//
// Why a RoundTripper: remote.Get reads manifests with a fixed 100 MiB limit
// that cannot be configured, and learning the size first would cost a HEAD per
// lookup. Capping below remote lets it keep doing what it does well (auth,
// error decoding, digest verification of references by digest) while what it
// reads is cut at our limit: refused up front when Content-Length is over it,
// and cut while reading otherwise, since registries may omit or lie about it.
// Config blobs are capped in fetchConfig instead: their size is known from the
// manifest before they are requested.
type manifestLimitTransport struct {
	inner http.RoundTripper
	max   int64
}

func (t *manifestLimitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.inner.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK || !isManifestGet(req) {
		return resp, err
	}
	if resp.ContentLength > t.max {
		resp.Body.Close()
		return nil, &tooLargeError{what: "manifest", size: resp.ContentLength, limit: t.max}
	}
	resp.Body = &cappedBody{rc: resp.Body, left: t.max, what: "manifest", limit: t.max}
	return resp, nil
}

// isManifestGet reports whether req, or the request it was redirected from,
// is a GET of /v2/<repository>/manifests/<reference>.
func isManifestGet(req *http.Request) bool {
	first := req
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	p := first.URL.Path
	return first.Method == http.MethodGet && strings.HasPrefix(p, "/v2/") && strings.Contains(p, "/manifests/")
}

// cappedBody fails with ErrTooLarge once more than limit bytes come.
type cappedBody struct {
	rc    io.ReadCloser
	left  int64
	what  string
	limit int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// At the limit: any further byte means the body is over it.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, &tooLargeError{what: b.what, size: -1, limit: b.limit}
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }

// readCapped reads all of r, failing with ErrTooLarge past limit bytes
// instead of buffering whatever a registry sends.
func readCapped(r io.Reader, what string, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &tooLargeError{what: what, size: -1, limit: limit}
	}
	return b, nil
}
