package integration

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// proxy is an HTTPS server on 127.0.0.1 in front of a registry. It counts
// what it is asked, and answers requests matching its fault itself.
type proxy struct {
	host     string // 127.0.0.1:port
	upstream string
	client   *http.Client
	stop     chan struct{} // ends hanging handlers

	mu     sync.Mutex
	counts map[string]int // "GET manifest", "HEAD manifest", "GET blob", "GET ping", ...
	fault  *fault
}

// fault answers requests that match instead of the registry, times times.
type fault struct {
	match    func(*http.Request) bool
	limit    int64
	answered atomic.Int64
	serve    func(p *proxy, w http.ResponseWriter, r *http.Request)
}

func newFault(match func(*http.Request) bool, times int64, serve func(*proxy, http.ResponseWriter, *http.Request)) *fault {
	return &fault{match: match, limit: times, serve: serve}
}

func startProxy(t *testing.T, upstream string, cert *testCert) *proxy {
	t.Helper()
	p := &proxy{
		upstream: upstream,
		// Redirects and errors go back to the client as they come.
		client: &http.Client{Transport: cert.clientTransport(), CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		stop:   make(chan struct{}),
		counts: map[string]int{},
	}
	srv := httptest.NewUnstartedServer(p)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert.tls}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(p.stop) }) // runs first: hanging handlers return, Close can finish
	p.host = strings.TrimPrefix(srv.URL, "https://")
	return p
}

func kindOf(r *http.Request) string {
	switch {
	case r.URL.Path == "/v2/" || r.URL.Path == "/v2":
		return "ping"
	case strings.Contains(r.URL.Path, "/manifests/"):
		return "manifest"
	case strings.Contains(r.URL.Path, "/blobs/"):
		return "blob"
	}
	return "other"
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.counts[r.Method+" "+kindOf(r)]++
	f := p.fault
	p.mu.Unlock()
	if f != nil && f.match(r) {
		if f.answered.Add(1) <= f.limit {
			f.serve(p, w, r)
			return
		}
		f.answered.Add(-1)
	}
	resp, body, err := p.forward(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	copyHeader(w, resp)
	w.WriteHeader(resp.StatusCode)
	w.Write(body)
}

// forward asks the registry the same question.
func (p *proxy) forward(r *http.Request) (*http.Response, []byte, error) {
	out, err := http.NewRequestWithContext(r.Context(), r.Method, "https://"+p.upstream+r.URL.RequestURI(), nil)
	if err != nil {
		return nil, nil, err
	}
	for _, h := range []string{"Authorization", "Accept", "User-Agent"} {
		out.Header[h] = r.Header[h]
	}
	resp, err := p.client.Do(out)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func copyHeader(w http.ResponseWriter, resp *http.Response) {
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
}

func (p *proxy) setFault(f *fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault = f
}

// take returns the counts so far and starts new ones.
func (p *proxy) take() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.counts
	p.counts = map[string]int{}
	return c
}

func manifestGET(r *http.Request) bool { return r.Method == http.MethodGet && kindOf(r) == "manifest" }
func blobGET(r *http.Request) bool     { return r.Method == http.MethodGet && kindOf(r) == "blob" }

// hang never answers: it waits for the client to give up.
func hang(p *proxy, _ http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-p.stop:
	}
}

func status(code int, header map[string]string) func(*proxy, http.ResponseWriter, *http.Request) {
	return func(_ *proxy, w http.ResponseWriter, _ *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(code)
	}
}

// reset closes the connection with a TCP RST instead of answering.
func reset(_ *proxy, w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	// Close the TCP connection under TLS, so that no close_notify goes
	// first: the client reads a reset, not an orderly end.
	if tc, ok := conn.(*tls.Conn); ok {
		conn = tc.NetConn()
	}
	if raw, ok := conn.(*net.TCPConn); ok {
		raw.SetLinger(0)
	}
	conn.Close()
}

// truncated forwards the response, announces its full length and sends
// half of it, then drops the connection.
func truncated(p *proxy, w http.ResponseWriter, r *http.Request) {
	resp, body, err := p.forward(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	copyHeader(w, resp)
	w.WriteHeader(resp.StatusCode)
	w.Write(body[:len(body)/2])
	w.(http.Flusher).Flush()
	if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
		conn.Close()
	}
}

// corrupted forwards the response with one byte changed: same length,
// other digest.
func corrupted(p *proxy, w http.ResponseWriter, r *http.Request) {
	resp, body, err := p.forward(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if len(body) > 0 {
		body[len(body)/2] ^= 0x01
	}
	copyHeader(w, resp)
	w.WriteHeader(resp.StatusCode)
	w.Write(body)
}

// huge streams zeros as a config of size bytes until the client stops
// reading, counting what it managed to send.
func huge(size int64, announce bool, sent *atomic.Int64) func(*proxy, http.ResponseWriter, *http.Request) {
	return func(p *proxy, w http.ResponseWriter, r *http.Request) {
		if announce {
			w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusOK)
		chunk := make([]byte, 64<<10)
		for left := size; left > 0; left -= int64(len(chunk)) {
			n, err := w.Write(chunk[:min(int64(len(chunk)), left)])
			sent.Add(int64(n))
			if err != nil {
				return
			}
			select {
			case <-p.stop:
				return
			default:
			}
		}
	}
}

// redirectLoop answers every request with a redirect to itself.
func redirectLoop(_ *proxy, w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, r.URL.RequestURI(), http.StatusFound)
}

// redirectChain redirects to a new URL each time, without end.
func redirectChain(_ *proxy, w http.ResponseWriter, r *http.Request) {
	hop, _ := strconv.Atoi(r.URL.Query().Get("hop"))
	http.Redirect(w, r, r.URL.Path+"?hop="+strconv.Itoa(hop+1), http.StatusTemporaryRedirect)
}
