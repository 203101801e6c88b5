package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/volumeguard/volumeguard/internal/lru"
)

// PingTTL is how long a registry's answer to GET /v2/ is reused. The answer
// only says how to authenticate (none, Basic, or a Bearer realm), which a
// registry does not change between two admissions; without this every new
// repository costs one more request than its manifest and config.
const PingTTL = 5 * time.Minute

// maxPingBody bounds what is kept of a ping answer; real ones are "{}".
const maxPingBody = 64 << 10

// maxPingHosts bounds the hosts whose ping answer is kept: hosts come from
// pod specs, which anyone creating pods writes. A cluster pulls from a
// handful; past the bound the least recently used is asked again.
const maxPingHosts = 1024

// maxPingCacheBytes bounds the answers kept (a real one is a few hundred
// bytes of headers and "{}").
const maxPingCacheBytes = 8 << 20

// pingCache answers go-containerregistry's registry ping from memory after
// the first one per scheme and host. Other requests pass through.
type pingCache struct {
	inner   http.RoundTripper
	group   singleflight.Group
	answers lru.Cache[pingAnswer] // by scheme://host
}

type pingAnswer struct {
	status int
	header http.Header
	body   []byte
}

// errSpeaksPlainHTTP is why a registry known to answer over plain HTTP is
// not pinged over HTTPS.
var errSpeaksPlainHTTP = errors.New("the registry failed a ping over HTTPS and answered one over plain HTTP within the last PingTTL")

// httpsFailed prefixes the key of a host whose HTTPS ping failed: an entry
// with no answer, kept PingTTL.
const httpsFailed = "https-failed://"

func newPingCache(inner http.RoundTripper, now func() time.Time) *pingCache {
	return &pingCache{inner: inner, answers: lru.New[pingAnswer](maxPingHosts, maxPingCacheBytes, now)}
}

func (p *pingCache) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.URL.Path != "/v2/" || req.Header.Get("Authorization") != "" {
		return p.inner.RoundTrip(req)
	}
	key := req.URL.Scheme + "://" + req.URL.Host
	if a, ok := p.answers.Get(key); ok {
		return a.response(req), nil
	}
	if req.URL.Scheme == "https" {
		// go-containerregistry pings a registry it may reach over plain
		// HTTP (loopback, private addresses, --insecure-registry) over
		// HTTPS first, for every repository, and falls back when that
		// fails. When it failed within the TTL and plain HTTP answered,
		// fail it again without a connection that the registry can only
		// refuse. A plain HTTP answer alone says nothing: it also wins
		// when HTTPS is merely slower than go-containerregistry's
		// fallbackDelay, and refusing HTTPS then would downgrade every
		// later lookup of the host to plain HTTP, credentials included.
		_, failed := p.answers.Get(httpsFailed + req.URL.Host)
		if _, plain := p.answers.Get("http://" + req.URL.Host); failed && plain {
			return nil, fmt.Errorf("pinging %s over HTTPS: %w", req.URL.Host, errSpeaksPlainHTTP)
		}
	}

	// Lookups that start together share one ping: the first asks, the
	// others wait for its answer, each no longer than its own context. An
	// answer that is not kept (a 5xx), or a ping whose asker gave up, is
	// asked again by each of them.
	ctx := req.Context()
	ch := p.group.DoChan(key, func() (any, error) { return p.ask(req, key) })
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		askerGaveUp := errors.Is(r.Err, context.Canceled) || errors.Is(r.Err, context.DeadlineExceeded)
		switch {
		case r.Err != nil && !(askerGaveUp && ctx.Err() == nil):
			return nil, r.Err
		case r.Err == nil && r.Val != nil:
			return r.Val.(pingAnswer).response(req), nil
		}
		return p.inner.RoundTrip(req)
	}
}

// ask pings the registry and keeps the answer when it describes the
// registry: open (200) or a challenge (401). Anything else returns a nil
// answer, and the caller asks on its own.
func (p *pingCache) ask(req *http.Request, key string) (any, error) {
	resp, err := p.inner.RoundTrip(req)
	if err != nil {
		// A ping cancelled (the plain HTTP try won the race) or out of
		// time says nothing about whether the registry speaks HTTPS.
		if req.URL.Scheme == "https" && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			p.answers.Add(httpsFailed+req.URL.Host, pingAnswer{}, int64(len(req.URL.Host)), PingTTL)
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPingBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxPingBody {
		return nil, nil
	}
	a := pingAnswer{status: resp.StatusCode, header: resp.Header.Clone(), body: body}
	p.answers.Add(key, a, a.size(), PingTTL)
	return a, nil
}

// size estimates the bytes a kept answer holds.
func (a pingAnswer) size() int64 {
	n := int64(len(a.body))
	for k, vs := range a.header {
		n += int64(len(k))
		for _, v := range vs {
			n += int64(len(v) + 16)
		}
	}
	return n
}

func (a pingAnswer) response(req *http.Request) *http.Response {
	return &http.Response{
		Status:        http.StatusText(a.status),
		StatusCode:    a.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        a.header.Clone(),
		Body:          io.NopCloser(bytes.NewReader(a.body)),
		ContentLength: int64(len(a.body)),
		Request:       req,
	}
}
