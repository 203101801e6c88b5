package imageinspect

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// At most one quick retry. remote's default (sleep 1s, then 3s) would hold an
// admission request past its deadline; one retry after 100ms covers a dropped
// connection or a registry restarting behind its load balancer, and overruns
// a caller's deadline by at most that sleep (the retried request itself
// carries ctx and stops at the deadline).
var quickRetry = remote.Backoff{Duration: 100 * time.Millisecond, Factor: 1, Jitter: 0.1, Steps: 2}

// Blob fetches in flight per Inspector. remote's default of 4 is sized for
// layers; configs are a few KiB and a webhook may look many up at once.
const blobJobs = 32

// retryable retries network flakes and registry 502/503/504, never a caller's
// deadline or cancellation, nor content over our limits.
func retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrTooLarge) {
		return false
	}
	var temp interface{ Temporary() bool }
	if errors.As(err, &temp) && temp.Temporary() {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// pullers hands out the remote.Puller an Inspector fetches with.
//
// A remote.Puller pings a repository's registry and exchanges credentials
// once, then reuses that authenticated transport: without it every lookup
// would pay a ping and a token request on top of its GETs. It never forgets a
// repository nor re-reads credentials, so it is replaced after an auth
// failure (credentials rotate: ECR tokens last 12 hours) and once it has
// served maxRepos repositories, which bounds its memory.
type pullers struct {
	opts     []remote.Option
	maxRepos int

	mu    sync.Mutex
	cur   *remote.Puller
	repos map[string]struct{}
}

func newPullers(o *options, base http.RoundTripper) *pullers {
	return &pullers{
		opts: []remote.Option{
			remote.WithTransport(&manifestLimitTransport{inner: base, max: o.maxManifestBytes}),
			remote.WithAuthFromKeychain(o.keychain),
			remote.WithUserAgent(o.userAgent),
			remote.WithJobs(blobJobs),
			remote.WithRetryBackoff(quickRetry),
			remote.WithRetryPredicate(retryable),
			remote.WithRetryStatusCodes(http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout),
		},
		maxRepos: o.cacheSize,
	}
}

// get returns the Puller to use for repo.
func (p *pullers) get(repo string) (*remote.Puller, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, seen := p.repos[repo]; !seen && len(p.repos) >= p.maxRepos {
		p.cur = nil
	}
	if p.cur == nil {
		pl, err := remote.NewPuller(p.opts...)
		if err != nil {
			return nil, err
		}
		p.cur, p.repos = pl, map[string]struct{}{}
	}
	p.repos[repo] = struct{}{}
	return p.cur, nil
}

// forget drops pl, if still current, so that credentials are read again.
func (p *pullers) forget(pl *remote.Puller) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == pl {
		p.cur = nil
	}
}
