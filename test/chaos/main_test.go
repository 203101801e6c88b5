// Package chaos breaks what `volumeguard serve` depends on while it is
// under load, behind a real kube-apiserver: two replicas behind a TCP
// balancer (balancer_test.go) stand for the Deployment and its Service.
// A replica is killed (SIGKILL) or stopped (SIGTERM), the registry is
// killed mid-burst, the API server is restarted. It takes a minute or two:
// `make chaos` (VOLUMEGUARD_CHAOS=1).
package chaos

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/volumeguard/volumeguard/test/internal/harness"
)

type suite struct {
	bin string
	cp  *harness.ControlPlane
}

var s *suite

// webhookTimeout is the webhook configurations' timeoutSeconds: short, so
// that the scenarios end quickly.
const webhookTimeout = 5 * time.Second

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if os.Getenv("VOLUMEGUARD_CHAOS") == "" {
		fmt.Fprintln(os.Stderr, "chaos: skipped: set VOLUMEGUARD_CHAOS=1 (make chaos)")
		return 0
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		fmt.Fprintln(os.Stderr, "chaos: KUBEBUILDER_ASSETS is not set; run `make chaos`")
		return 1
	}
	work, err := os.MkdirTemp("", "volumeguard-chaos-")
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
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return 1
	}
	defer cp.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, mode := range []string{"audit", "enforce"} {
		if err := cp.Namespace(ctx, "chaos-"+mode, mode); err != nil {
			fmt.Fprintln(os.Stderr, "chaos:", err)
			return 1
		}
	}
	s = &suite{bin: bin, cp: cp}
	return m.Run()
}

// replicas starts n `volumeguard serve` replicas on free ports, with args,
// behind a balancer on the address the webhook configurations point at.
func replicas(t *testing.T, n int, args ...string) ([]*harness.Serve, *balancer) {
	t.Helper()
	var rs []*harness.Serve
	for range n {
		rs = append(rs, harness.StartServe(t, s.bin, s.cp, harness.FreeAddr(t), args...))
	}
	return rs, startBalancer(t, s.cp.ServingAddr(), rs...)
}

// setPolicy sets the validating webhook's failurePolicy for the test, and
// Fail again after it.
func setPolicy(t *testing.T, p admissionregistrationv1.FailurePolicyType) {
	t.Helper()
	ctx := context.Background()
	if err := s.cp.SetValidateFailurePolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.cp.SetValidateFailurePolicy(ctx, admissionregistrationv1.Fail); err != nil {
			t.Error(err)
		}
	})
}

// outcome of one admission.
type outcome struct {
	start, end time.Time
	ns         string
	denied     bool
	err        error // other than volumeguard's denial
	message    string
}

func (o outcome) took() time.Duration { return o.end.Sub(o.start) }

// load creates pods (dry run) from workers clients until stopped; pod
// gives the namespace and pod of the ith admission.
type load struct {
	mu       sync.Mutex
	outcomes []outcome
	stop     chan struct{}
	wg       sync.WaitGroup
}

func startLoad(workers int, pod func(i int) (string, *corev1.Pod)) *load {
	l := &load{stop: make(chan struct{})}
	var next sync.Mutex
	i := 0
	for range workers {
		l.wg.Go(func() {
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				next.Lock()
				n := i
				i++
				next.Unlock()
				ns, p := pod(n)
				o := outcome{start: time.Now(), ns: ns}
				// Twice the webhooks' timeout: both may be called.
				ctx, cancel := context.WithTimeout(context.Background(), 4*webhookTimeout)
				_, err := s.cp.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
				cancel()
				o.end = time.Now()
				switch {
				case harness.IsVolumeguardDenial(err):
					o.denied, o.message = true, err.Error()
				case err != nil:
					o.err = err
				}
				l.mu.Lock()
				l.outcomes = append(l.outcomes, o)
				l.mu.Unlock()
			}
		})
	}
	return l
}

// finish stops the load and returns every outcome.
func (l *load) finish() []outcome {
	close(l.stop)
	l.wg.Wait()
	return l.outcomes
}

// errorsOf returns the admissions that failed otherwise than by a denial.
func errorsOf(outcomes []outcome) []outcome {
	var out []outcome
	for _, o := range outcomes {
		if o.err != nil {
			out = append(out, o)
		}
	}
	return out
}

func describe(outcomes []outcome) string {
	var b strings.Builder
	for i, o := range outcomes {
		if i == 5 {
			fmt.Fprintf(&b, "\n... and %d more", len(outcomes)-i)
			break
		}
		fmt.Fprintf(&b, "\n%s +%s %s: %v", o.start.Format("15:04:05.000"), o.took().Round(time.Millisecond), o.ns, o.err)
	}
	return b.String()
}

func slowest(outcomes []outcome) time.Duration {
	var m time.Duration
	for _, o := range outcomes {
		m = max(m, o.took())
	}
	return m
}
