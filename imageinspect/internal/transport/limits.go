package transport

import (
	"net/http"
	"strings"
)

const (
	// Registry error documents are a few hundred bytes; go-containerregistry
	// reads at most 64 KiB of them too.
	maxErrorBody = 64 << 10
	// Pings and token responses: tokens are a few KiB (go-containerregistry
	// refuses more than 64 KiB).
	maxOtherBody = 1 << 20
)

// BodyCaps are the largest bodies read, by what was asked for: manifests
// and indexes, and config blobs. Other responses (pings, tokens) are capped
// at 1 MiB, registry error documents cut at 64 KiB.
//
// Why in the transport: every response is read whole there (retryTransport)
// so that a body cut short can be retried; capping while reading refuses a
// hostile or broken registry's 50 MiB "config" after at most the cap, and
// up front when Content-Length already says so.
type BodyCaps struct {
	Manifest, Config int64
}

// of returns the cap for the response to req and what it is called in errors.
// A redirected request is judged by the request that started the chain: a
// blob redirected to a storage URL is still a config.
func (c BodyCaps) of(req *http.Request) (int64, string) {
	p := firstRequest(req).URL.Path
	switch {
	case strings.HasPrefix(p, "/v2/") && strings.Contains(p, "/manifests/"):
		return c.Manifest, "manifest"
	case strings.HasPrefix(p, "/v2/") && strings.Contains(p, "/blobs/"):
		return c.Config, "config"
	}
	return maxOtherBody, "response"
}

func firstRequest(req *http.Request) *http.Request {
	for req.Response != nil && req.Response.Request != nil {
		req = req.Response.Request
	}
	return req
}
