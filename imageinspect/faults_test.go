package imageinspect

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fault answers the first n matching requests itself, then lets them through.
type fault struct {
	plan atomic.Pointer[faultPlan]
	n    atomic.Int64
}

type faultPlan struct {
	match func(*http.Request) bool
	do    func(http.ResponseWriter, *http.Request)
}

func (f *fault) set(match func(*http.Request) bool, do func(http.ResponseWriter, *http.Request), times int64) {
	f.n.Store(times)
	f.plan.Store(&faultPlan{match: match, do: do})
}

func (f *fault) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := f.plan.Load(); p != nil && p.match(r) && f.n.Add(-1) >= 0 {
			p.do(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func manifestGet(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/")
}

func blobGet(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:")
}

func tooMany(retryAfter string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}`))
	}
}

// truncate sends half of what it promises, then drops the connection.
func truncate(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Length", "1000")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(strings.Repeat("{", 500)))
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// reset closes the connection with a TCP RST instead of answering.
func reset(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	conn.Close()
}

func TestFaults(t *testing.T) {
	f := &fault{}
	host := startRegistry(t, f.wrap)
	pushImage(t, host, "app:1", imageSpec{platform: Platform{"linux", "amd64", ""}, volumes: []string{"/data"}})

	for _, tc := range []struct {
		name  string
		match func(*http.Request) bool
		times int64
		do    func(http.ResponseWriter, *http.Request)
		kind  error // nil: succeeds
		says  []string
	}{
		{name: "429 with a short Retry-After is waited out", match: manifestGet, times: 1, do: tooMany("1")},
		{name: "429 with a Retry-After past the deadline fails at once", match: manifestGet, times: 1, do: tooMany("120"),
			kind: ErrRateLimited, says: []string{"rate-limited", "asks to wait 2m0s", "longer than the deadline leaves"}},
		{name: "429 with a Retry-After as a date", match: manifestGet, times: 1, do: tooMany(time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)),
			kind: ErrRateLimited, says: []string{"asks to wait 59m", "longer than the deadline leaves"}},
		{name: "429 without Retry-After, every time", match: manifestGet, times: 100, do: tooMany(""),
			kind: ErrRateLimited, says: []string{"429 Too Many Requests", "kept answering 429 after 3 tries"}},
		// The case: waited out, retried, and still 429.
		{name: "429 with a short Retry-After, every time", match: manifestGet, times: 100, do: tooMany("1"),
			kind: ErrRateLimited, says: []string{"kept answering 429 after 3 tries, the last time it asks to wait 1s"}},
		{name: "a truncated config is fetched again", match: blobGet, times: 1, do: truncate},
		{name: "a config truncated every time", match: blobGet, times: 100, do: truncate,
			kind: ErrUnavailable, says: []string{"truncated"}},
		{name: "a reset connection is retried", match: manifestGet, times: 1, do: reset},
		{name: "a connection reset every time", match: manifestGet, times: 100, do: reset,
			kind: ErrUnavailable, says: []string{"reset"}},
		{name: "a manifest not matching its Docker-Content-Digest", match: manifestGet, times: 100, kind: ErrDigestMismatch, says: []string{"manifest digest mismatch"},
			do: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("0", 64))
				w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
				w.Write([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}`))
			}},
		{name: "a 50 MiB config announced in Content-Length is refused unread", match: blobGet, times: 100, kind: ErrTooLarge, says: []string{"config is too large: 52428800 bytes"},
			do: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", strconv.Itoa(50<<20))
				w.WriteHeader(http.StatusOK)
				w.Write(make([]byte, 64<<10)) // and then nothing: it must not be waited for
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.set(tc.match, tc.do, tc.times)
			defer f.plan.Store(nil)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := newTestInspector(t).Inspect(ctx, host+"/app:1", nil)
			if tc.kind == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			assertErr(t, err, tc.kind, tc.says...)
			if strings.Contains(err.Error(), "longer than") && strings.Contains(err.Error(), "kept answering") {
				t.Errorf("error %q gives two reasons", err)
			}
			if ctx.Err() != nil {
				t.Errorf("returned only at the deadline: %v", err)
			}
		})
	}
}

func TestRateLimitedWithoutDeadline(t *testing.T) {
	// A CLI lookup has no deadline: a Retry-After over the longest wait is
	// refused for that, not for a deadline.
	f := &fault{}
	host := startRegistry(t, f.wrap)
	pushImage(t, host, "app:1", imageSpec{platform: Platform{"linux", "amd64", ""}})
	f.set(manifestGet, tooMany("30"), 1)
	_, err := newTestInspector(t).Inspect(context.Background(), host+"/app:1", nil)
	assertErr(t, err, ErrRateLimited, "asks to wait 30s", "longer than the 10s a lookup waits at most")
}

func TestInspectRetries(t *testing.T) {
	// remote's default would sleep 1s then 3s; ours waits 100ms then 200ms,
	// and only while the deadline leaves time.
	var failures atomic.Int64
	host := startRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodGet && failures.Add(-1) >= 0 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	pushImage(t, host, "flaky:1", imageSpec{platform: Platform{"linux", "amd64", ""}})

	for _, tc := range []struct {
		name     string
		failures int64
		timeout  time.Duration
		ok       bool
		gets     int64
	}{
		{name: "one 503 is retried", failures: 1, ok: true, gets: 2},
		{name: "two 503s are retried", failures: 2, ok: true, gets: 3},
		{name: "a third 503 is returned", failures: 100, gets: 3},
		// The 2s backoff does not fit in the 1s deadline: returned at once.
		{name: "no retry without time left for it", failures: 100, timeout: time.Second, gets: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			failures.Store(tc.failures)
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			ct := newCountingTransport()
			backoff := 100 * time.Millisecond
			if tc.timeout > 0 {
				backoff = 2 * time.Second
			}
			_, err := newTestInspector(t, WithTransport(ct), WithRetries(3, backoff)).Inspect(ctx, host+"/flaky:1", nil)
			if tc.ok && err != nil {
				t.Fatal(err)
			}
			if !tc.ok {
				assertErr(t, err, ErrUnavailable, "503")
			}
			if n := ct.manifests.Load(); n != tc.gets {
				t.Errorf("sent %d manifest GETs, want %d", n, tc.gets)
			}
		})
	}
}
