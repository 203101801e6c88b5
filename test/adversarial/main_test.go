// Package adversarial attacks the built volumeguard binary from outside, as
// a hostile tenant would (issue 8): hostile registries on loopback, pods
// built to amplify work, clients that trickle their bodies, floods of pods
// naming a registry that hangs, and `check` against registries that never
// answer. `volumeguard serve` runs behind a real kube-apiserver (envtest);
// most attacks post AdmissionReviews to it directly over TLS, as the API
// server does, which is enough and fast; the flood goes through the API
// server. Every answer must arrive before the caller's timeout, and the
// process's RSS and goroutines stay bounded. It runs with `make test`, in
// seconds.
package adversarial

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"

	"github.com/volumeguard/volumeguard/test/internal/harness"
)

// suite is built once in TestMain and read-only afterwards.
type suite struct {
	bin string
	cp  *harness.ControlPlane
}

var s *suite

// webhookTimeout is the webhook configurations' timeoutSeconds: short, so
// that attacks that hold a request until its deadline end quickly.
const webhookTimeout = 4 * time.Second

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		if os.Getenv("VOLUMEGUARD_REQUIRE_TOOLS") != "" {
			fmt.Fprintln(os.Stderr, "adversarial: KUBEBUILDER_ASSETS is not set; run `make test` (hack/build-tools.sh envtest-dir)")
			return 1
		}
		fmt.Fprintln(os.Stderr, "adversarial: skipped: KUBEBUILDER_ASSETS is not set (make test sets it)")
		return 0
	}
	work, err := os.MkdirTemp("", "volumeguard-adversarial-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(work)
	bin, err := harness.Build(work)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cp, err := harness.StartControlPlane(assets, harness.Webhooks{
		TimeoutSeconds: int32(webhookTimeout / time.Second),
		Validate:       admissionregistrationv1.Fail,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "adversarial:", err)
		return 1
	}
	defer cp.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, mode := range []string{"off", "audit", "mutate", "enforce"} {
		if err := cp.Namespace(ctx, "adv-"+mode, mode); err != nil {
			fmt.Fprintln(os.Stderr, "adversarial:", err)
			return 1
		}
	}
	s = &suite{bin: bin, cp: cp}
	return m.Run()
}

// Bounds every attack must stay within. The manifests give the container
// 512Mi; half of it is what one attack may make the process hold.
const (
	maxRSS = 256 << 20
	// goroutineSlack is what the process may hold over its idle count once
	// an attack is over: idle keep-alive connections, informer watches.
	goroutineSlack = 30
)

// startServe runs `volumeguard serve` for one test, on the address the
// webhook configurations point at when throughAPI, on a free port
// otherwise, and returns it with its idle sample.
func startServe(t *testing.T, throughAPI bool, args ...string) (*harness.Serve, harness.Sample) {
	t.Helper()
	addr := harness.FreeAddr(t)
	if throughAPI {
		addr = s.cp.ServingAddr()
	}
	srv := harness.StartServe(t, s.bin, s.cp, addr, args...)
	idle, err := srv.Sample()
	if err != nil {
		t.Fatal(err)
	}
	return srv, idle
}

// reviewer posts to srv as the API server would.
func reviewer(srv *harness.Serve) *harness.Reviewer {
	return harness.NewReviewer(s.cp.Webhook.LocalServingCAData, srv.Addr)
}

// watch samples srv every 100 ms until the returned stop is called, which
// returns the largest RSS and goroutine count seen.
func watch(t *testing.T, srv *harness.Serve) (stop func() harness.Sample) {
	t.Helper()
	done := make(chan struct{})
	peak := make(chan harness.Sample, 1)
	go func() {
		var max harness.Sample
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if m, err := srv.Sample(); err == nil {
				max.RSS = maxOf(max.RSS, m.RSS)
				max.Goroutines = maxOf(max.Goroutines, m.Goroutines)
			}
			select {
			case <-done:
				peak <- max
				return
			case <-tick.C:
			}
		}
	}()
	return func() harness.Sample {
		close(done)
		return <-peak
	}
}

func maxOf[T int | int64](a, b T) T {
	if a > b {
		return a
	}
	return b
}

// assertBounded checks the peak RSS of an attack, and that srv goes back
// to within goroutineSlack of its idle goroutines once it is over (held
// connections end at their deadline, so this waits up to 20 s).
func assertBounded(t *testing.T, srv *harness.Serve, idle, peak harness.Sample) {
	t.Helper()
	if peak.RSS > maxRSS {
		t.Errorf("peak RSS %d MiB, over %d MiB", peak.RSS>>20, maxRSS>>20)
	}
	var after harness.Sample
	deadline := time.Now().Add(20 * time.Second)
	for {
		var err error
		if after, err = srv.Sample(); err != nil {
			t.Fatalf("sampling volumeguard serve after the attack: %v; logs:\n%s", err, srv.Logs())
		}
		if after.Goroutines <= idle.Goroutines+goroutineSlack || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if after.Goroutines > idle.Goroutines+goroutineSlack {
		t.Errorf("%d goroutines 20 s after the attack, over the idle %d + %d", after.Goroutines, idle.Goroutines, goroutineSlack)
	}
	if srv.Exited() {
		t.Errorf("volumeguard serve exited during the attack (%v); logs:\n%s", srv.ExitErr(), srv.Logs())
	}
	t.Logf("idle: %s; peak: %s; after: %s", idle, peak, after)
}

// warned reports whether a warning names all of parts.
func warned(warnings []string, parts ...string) bool {
	for _, w := range warnings {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(w, p)
		}
		if all {
			return true
		}
	}
	return false
}
