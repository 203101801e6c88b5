package integration

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/volumeguard/volumeguard/imageinspect"
)

// deadline is what each lookup gets, as an admission request would; the
// calls must return within it (plus the little the last try overruns),
// well before the test's own bound.
const deadline = 2 * time.Second

func TestFaults(t *testing.T) {
	cert := newTestCert(t)
	reg := startRegistry(t, cert)
	reg.push(t, "faulty/app:1", "/data")
	p := startProxy(t, reg.host, cert)
	image := p.host + "/faulty/app:1"
	var sent atomic.Int64 // bytes the huge configs got out

	for _, tc := range []struct {
		name   string
		fault  *fault
		kind   error // nil: the lookup succeeds
		says   []string
		tries  int    // requests the fault answered
		extra  int    // and up to this many more: net/http itself resends a GET once when a reused connection dies
		policy string // what the configured policy does
	}{
		{
			name: "a registry hanging past the deadline", fault: newFault(manifestGET, 100, hang),
			kind: imageinspect.ErrTimeout, says: []string{"did not answer in time", p.host}, tries: 1,
			policy: "give up at the caller's deadline",
		},
		{
			name: "429 with a Retry-After that fits", fault: newFault(manifestGET, 1, status(http.StatusTooManyRequests, map[string]string{"Retry-After": "1"})),
			tries: 1, policy: "wait it out, then succeed",
		},
		{
			name: "429 with a Retry-After past the deadline", fault: newFault(manifestGET, 100, status(http.StatusTooManyRequests, map[string]string{"Retry-After": "30"})),
			kind: imageinspect.ErrRateLimited, says: []string{"rate-limited", "429 Too Many Requests", "asks to wait 30s", "longer than the deadline leaves"}, tries: 1,
			policy: "fail at once, saying when to retry",
		},
		{
			name: "500 once", fault: newFault(manifestGET, 1, status(http.StatusInternalServerError, nil)),
			tries: 1, policy: "retry, succeed",
		},
		{
			name: "500 every time", fault: newFault(manifestGET, 100, status(http.StatusInternalServerError, nil)),
			kind: imageinspect.ErrUnavailable, says: []string{"500 Internal Server Error", "on every attempt"}, tries: 3,
			policy: "3 tries, 100 ms then 200 ms apart",
		},
		{
			name: "connection reset every time", fault: newFault(manifestGET, 100, reset),
			kind: imageinspect.ErrUnavailable, says: []string{"connection was reset"}, tries: 3, extra: 3,
			policy: "3 tries",
		},
		{
			name: "truncated config every time", fault: newFault(blobGET, 100, truncated),
			kind: imageinspect.ErrUnavailable, says: []string{"truncated"}, tries: 3,
			policy: "3 tries",
		},
		{
			name: "truncated config once", fault: newFault(blobGET, 1, truncated),
			tries: 1, policy: "retry, succeed",
		},
		{
			name: "config not matching its digest", fault: newFault(blobGET, 100, corrupted),
			kind: imageinspect.ErrDigestMismatch, says: []string{"config digest mismatch", "sha256:"}, tries: 1,
			policy: "refuse, no retry: the content is wrong, not the network",
		},
		{
			name: "a 50 MiB config, announced", fault: newFault(blobGET, 100, huge(50<<20, true, &sent)),
			kind: imageinspect.ErrTooLarge, says: []string{"config is too large", "52428800 bytes"}, tries: 1,
			policy: "refuse on the Content-Length, unread",
		},
		{
			name: "a 50 MiB config, streamed", fault: newFault(blobGET, 100, huge(50<<20, false, &sent)),
			kind: imageinspect.ErrTooLarge, says: []string{"config is too large", "4194304 byte limit"}, tries: 1,
			policy: "refuse past the 4 MiB cap",
		},
		{
			name: "a redirect loop", fault: newFault(manifestGET, 100, redirectLoop),
			kind: imageinspect.ErrRedirectRefused, says: []string{"redirect loop"}, tries: 1,
			policy: "refuse the first hop back, unsent",
		},
		{
			name: "a redirect chain", fault: newFault(manifestGET, 100, redirectChain),
			kind: imageinspect.ErrRedirectRefused, says: []string{"more than 5 redirects"}, tries: 6,
			policy: "follow 5 redirects, refuse the 6th",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A new Inspector each time: nothing cached from the last case.
			in := newInspector(t, imageinspect.WithRegistryCAs(cert.pool), imageinspect.WithKeychain(keychain{p.host: creds()}))
			p.setFault(tc.fault)
			defer p.setFault(nil)
			sent.Store(0)
			start := time.Now()
			_, err := within(t, 30*time.Second, func() (*imageinspect.Image, error) {
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				defer cancel()
				return in.Inspect(ctx, image, nil)
			})
			took := time.Since(start)
			t.Logf("%s -> %v in %s (%s)", tc.name, err, took.Round(time.Millisecond), tc.policy)
			if tc.kind == nil {
				if err != nil {
					t.Fatalf("want success (%s): %v", tc.policy, err)
				}
				if got := tc.fault.answered.Load(); got != int64(tc.tries) {
					t.Errorf("the fault answered %d requests, want %d", got, tc.tries)
				}
				return
			}
			assertErr(t, err, tc.kind, tc.says...)
			assertErr(t, err, tc.kind, image)
			if got := tc.fault.answered.Load(); got < int64(tc.tries) || got > int64(tc.tries+tc.extra) {
				t.Errorf("the fault answered %d requests, want %d (+%d) (%s)", got, tc.tries, tc.extra, tc.policy)
			}
			if n := sent.Load(); n >= 50<<20 {
				t.Errorf("the whole 50 MiB was sent (%d bytes)", n)
			}
		})
	}
}
