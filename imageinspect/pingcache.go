package imageinspect

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// pingTTL is how long a registry's answer to GET /v2/ is reused. The answer
// only says how to authenticate (none, Basic, or a Bearer realm), which a
// registry does not change between two admissions; without this every new
// repository costs one more request than its manifest and config.
const pingTTL = 5 * time.Minute

// maxPingBody bounds what is kept of a ping answer; real ones are "{}".
const maxPingBody = 64 << 10

// pingCache answers go-containerregistry's registry ping from memory after
// the first one per scheme and host. Other requests pass through.
type pingCache struct {
	inner http.RoundTripper
	now   func() time.Time

	group   singleflight.Group
	mu      sync.Mutex
	answers map[string]pingAnswer
}

type pingAnswer struct {
	status  int
	header  http.Header
	body    []byte
	expires time.Time
}

func newPingCache(inner http.RoundTripper, now func() time.Time) *pingCache {
	return &pingCache{inner: inner, now: now, answers: map[string]pingAnswer{}}
}

func (p *pingCache) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.URL.Path != "/v2/" || req.Header.Get("Authorization") != "" {
		return p.inner.RoundTrip(req)
	}
	key := req.URL.Scheme + "://" + req.URL.Host
	p.mu.Lock()
	a, ok := p.answers[key]
	if ok && p.now().After(a.expires) {
		delete(p.answers, key)
		ok = false
	}
	p.mu.Unlock()
	if ok {
		return a.response(req), nil
	}

	// Lookups that start together share one ping: the first asks, the
	// others wait for its answer. An answer that is not kept (an error, a
	// 5xx) is asked again by each of them.
	v, err, _ := p.group.Do(key, func() (any, error) { return p.ask(req, key) })
	if err != nil {
		return nil, err
	}
	if a, ok := v.(pingAnswer); ok {
		return a.response(req), nil
	}
	return p.inner.RoundTrip(req)
}

// ask pings the registry and keeps the answer when it describes the
// registry: open (200) or a challenge (401). Anything else returns a nil
// answer, and the caller asks on its own.
func (p *pingCache) ask(req *http.Request, key string) (any, error) {
	resp, err := p.inner.RoundTrip(req)
	if err != nil {
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
	a := pingAnswer{status: resp.StatusCode, header: resp.Header.Clone(), body: body, expires: p.now().Add(pingTTL)}
	p.mu.Lock()
	p.answers[key] = a
	p.mu.Unlock()
	return a, nil
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
