package integration

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/volumeguard/volumeguard/analysis"
	"github.com/volumeguard/volumeguard/imageinspect"
)

// clock is a settable time source for imageinspect.WithClock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestRequestCounts is the webhook's path for a Deployment scaling to 100
// replicas of a new tag: 100 pods admitted at once, each with its own
// keychain built from its pull secret, all through one Inspector.
func TestRequestCounts(t *testing.T) {
	cert := newTestCert(t)
	reg := startRegistry(t, cert)
	p := startProxy(t, reg.host, cert)
	reg.push(t, "burst/app:v2", "/data")
	image := p.host + "/burst/app:v2"

	src := startPullSecrets(t, pullSecret("prod", "regcred", p.host, regUser, regPass))
	const ttl = 5 * time.Minute
	clk := &clock{now: time.Now()}
	in := newInspector(t, imageinspect.WithRegistryCAs(cert.pool), imageinspect.WithKeychain(keychain{}),
		imageinspect.WithTagTTL(ttl), imageinspect.WithClock(clk.Now))
	analyzer := analysis.New(in, analysis.WithConcurrency(100))

	admit100 := func(findings int) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for k := range 100 {
			wg.Go(func() {
				spec := &corev1.PodSpec{
					ImagePullSecrets: refs("regcred"),
					Containers:       []corev1.Container{{Name: fmt.Sprintf("app-%d", k), Image: image}},
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				kc, err := src.Keychain(ctx, "prod", spec)
				if err != nil {
					errs <- err
					return
				}
				res := analyzer.Analyze(ctx, spec, analysis.WithKeychain(kc))
				if len(res.Errors) > 0 {
					errs <- res.Errors[0]
				} else if len(res.Findings) != findings {
					errs <- fmt.Errorf("findings %v, want %d", res.Findings, findings)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}

	for _, step := range []struct {
		name     string
		advance  time.Duration
		repush   bool
		findings int
		want     map[string]int // requests by "METHOD kind"; pings apart
	}{
		{name: "100 pods naming a new tag", findings: 1, want: map[string]int{"GET manifest": 1, "GET blob": 1}},
		{name: "100 more within the TTL", findings: 1, want: map[string]int{}},
		{name: "100 more after the TTL, tag unchanged", advance: ttl, findings: 1, want: map[string]int{"HEAD manifest": 1}},
		{name: "re-pushed, within the TTL: the cached digest", repush: true, findings: 1, want: map[string]int{}},
		// One HEAD sees the new digest; its manifest and config come by digest.
		{name: "100 more after the TTL, tag re-pushed", advance: ttl, findings: 2, want: map[string]int{"HEAD manifest": 1, "GET manifest": 1, "GET blob": 1}},
	} {
		if step.repush {
			reg.push(t, "burst/app:v2", "/data", "/logs")
		}
		clk.advance(step.advance)
		admit100(step.findings)
		got := p.take()
		pings := got["GET ping"]
		delete(got, "GET ping")
		t.Logf("%s: registry requests %v, plus %d ping(s)", step.name, got, pings)
		if fmt.Sprint(got) != fmt.Sprint(step.want) {
			t.Errorf("%s: requests %v, want %v", step.name, got, step.want)
		}
		if pings > 1 {
			t.Errorf("%s: %d pings, want at most 1 (authenticated transports are reused)", step.name, pings)
		}
	}

	if s := in.Stats(); s.SharedFetches == 0 {
		t.Errorf("Stats %+v: no lookup was coalesced", s)
	}
}

// newInspector is imageinspect.New, failing the test on an option it
// refuses.
func newInspector(t testing.TB, opts ...imageinspect.Option) *imageinspect.Inspector {
	t.Helper()
	in, err := imageinspect.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return in
}
